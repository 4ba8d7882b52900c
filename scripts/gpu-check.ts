// The TypeScript half of scripts/gpu-check.sh (run as node out/scripts/gpu-check.js --out F
// --deadline EPOCH_S): our CUDA backend against our CPU backend, logits row by row, on the tiny,
// 0.5B- and 1.5B-shaped synthetic files in Q4_K_M, Q8_0, Q4_0 and F16 — a 300-token prefill
// (past 256, across two micro-batches), 20 single-token decode steps after it, and a prefix-reuse
// step (truncate to 200, evaluate 60 other tokens) — then the CUDA benchmark against llama.cpp's
// CUDA build (bench/cuda-vs-llamacpp.ts). Everything stops at the deadline; what did not fit is
// recorded as not reached, never silently left out.
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import type { Model } from '../src/engine/api';
import { loadModel } from '../src/engine/model';
import { loadNative } from '../src/engine/native';
import { getTestModel, repoRoot, type TestShape } from '../test/helpers/models';

const SHAPES: TestShape[] = ['tiny', '0.5b', '1.5b'];
const TYPES = ['Q4_K_M', 'Q8_0', 'Q4_0', 'F16'];

interface RowStats {
  rows: number;
  cosineMin: number;
  cosineMean: number;
  top1Agree: number;
  maxAbsDiffOverRange: number;
}

export function compareRows(cpu: Float32Array, gpu: Float32Array, nVocab: number): RowStats {
  const rows = cpu.length / nVocab;
  let cosMin = 1,
    cosSum = 0,
    agree = 0,
    worst = 0;
  for (let r = 0; r < rows; r++) {
    let dot = 0,
      na = 0,
      nb = 0,
      ba = 0,
      bb = 0,
      range = 0,
      diff = 0;
    for (let j = 0; j < nVocab; j++) {
      const a = cpu[r * nVocab + j],
        b = gpu[r * nVocab + j];
      dot += a * b;
      na += a * a;
      nb += b * b;
      if (a > cpu[r * nVocab + ba]) ba = j;
      if (b > gpu[r * nVocab + bb]) bb = j;
      range = Math.max(range, Math.abs(a));
      diff = Math.max(diff, Number.isFinite(b) ? Math.abs(a - b) : Infinity);
    }
    const cos = na > 0 && nb > 0 && Number.isFinite(dot) ? dot / Math.sqrt(na * nb) : -1;
    cosMin = Math.min(cosMin, cos);
    cosSum += cos;
    if (ba === bb) agree++;
    worst = Math.max(worst, diff / Math.max(range, 1e-9));
  }
  return { rows, cosineMin: cosMin, cosineMean: cosSum / rows, top1Agree: agree, maxAbsDiffOverRange: worst };
}

function tokens(n: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % 150000;
  });
}

/** The three phases on one model; returns the logits rows of each, concatenated per phase. */
async function phases(m: Model): Promise<Float32Array[]> {
  const seq = m.createSequence();
  const prefill = (await seq.eval(tokens(300, 7), { logits: 'all' })) as Float32Array;
  const decode: Float32Array[] = [];
  for (const t of tokens(20, 8)) decode.push((await seq.eval([t], { logits: 'last' })) as Float32Array);
  seq.truncate(200);
  const reuse = (await seq.eval(tokens(60, 9), { logits: 'all' })) as Float32Array;
  seq.dispose();
  const joined = new Float32Array(decode.length * m.info.nVocab);
  decode.forEach((d, i) => joined.set(d, i * m.info.nVocab));
  return [prefill, joined, reuse];
}

async function logitsCheck(file: string): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  let gpu: Model;
  try {
    gpu = await loadModel(file, { device: 'cuda', contextSize: 512 });
    out.selfCheck = gpu.info.deviceReport.selfCheck;
  } catch (e) {
    // The self-check refused the GPU: record why, and compare anyway to show where it differs.
    out.selfCheckRefused = (e as Error).message;
    gpu = await loadModel(file, { device: 'cuda', contextSize: 512, gpuSelfCheck: false });
  }
  out.gpuBackend = gpu.info.backend;
  const g = await phases(gpu);
  await gpu.dispose();
  const cpu = await loadModel(file, { device: 'cpu', contextSize: 512 });
  const c = await phases(cpu);
  const V = cpu.info.nVocab;
  await cpu.dispose();
  out.prefill300 = compareRows(c[0], g[0], V);
  out.decode20After300 = compareRows(c[1], g[1], V);
  out.prefixReuse200Plus60 = compareRows(c[2], g[2], V);
  return out;
}

function runBench(args: string[], timeoutMs: number): Promise<{ code: number | null; log: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(repoRoot(), 'out', 'bench', 'cuda-vs-llamacpp.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout.on('data', (d: Buffer) => {
      log += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      log += d.toString();
      process.stderr.write(d);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), Math.max(1000, timeoutMs));
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, log: log.slice(-4000) });
    });
  });
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const arg = (f: string) => (argv.includes(f) ? argv[argv.indexOf(f) + 1] : undefined);
  const outFile = arg('--out') ?? path.join(repoRoot(), 'build', 'gpu-check-ts.json');
  const deadline = Number(arg('--deadline') ?? Date.now() / 1000 + 400) * 1000;
  const left = () => deadline - Date.now();
  const result: Record<string, unknown> = { gpu: loadNative().gpuInfo(), logits: [] as unknown[], bench: null };
  const save = () => fs.writeFileSync(outFile, JSON.stringify(result, null, 2));
  save();
  // Logits first (they decide whether the backend is right), leaving ~40% of the time to the benchmark.
  const benchReserve = Math.max(60_000, 0.4 * left());
  for (const shape of SHAPES) {
    for (const type of TYPES) {
      const entry: Record<string, unknown> = { shape, type };
      (result.logits as unknown[]).push(entry);
      if (left() < benchReserve) {
        entry.notReached = 'time budget';
        continue;
      }
      const t0 = Date.now();
      try {
        const file = await getTestModel(shape, type);
        Object.assign(entry, await logitsCheck(file));
      } catch (e) {
        entry.error = (e as Error).message;
      }
      entry.seconds = (Date.now() - t0) / 1000;
      process.stderr.write(`gpu-check: logits ${shape} ${type}: ${JSON.stringify(entry)}\n`);
      save();
    }
  }
  const llamaCuda = fs.existsSync(path.join(repoRoot(), 'node_modules', '@node-llama-cpp', 'linux-x64-cuda'));
  const benchFile = `${outFile}.bench.json`;
  const benchArgs = ['--shapes', '0.5b,1.5b', '--types', TYPES.join(','), '--reps', '1', '-p', '512', '-n', '128', '--out', benchFile];
  if (!llamaCuda) benchArgs.push('--ours-only');
  const run = await runBench(benchArgs, left() - 5000);
  result.bench = {
    llamaCppCuda: llamaCuda
      ? 'node_modules/@node-llama-cpp/linux-x64-cuda'
      : 'not installed: @node-llama-cpp/linux-x64-cuda is missing, so only our numbers were measured',
    exitCode: run.code,
    results: fs.existsSync(benchFile) ? JSON.parse(fs.readFileSync(benchFile, 'utf8')) : null,
    log: run.log,
  };
  save();
}

if (require.main === module) {
  main().catch((e) => {
    process.stderr.write(`gpu-check: ${(e as Error).stack ?? e}\n`);
    process.exit(1);
  });
}
