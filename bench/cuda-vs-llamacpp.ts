// GPU speed of qwen-local's CUDA backend against llama.cpp's CUDA build (node-llama-cpp's prebuilt
// @node-llama-cpp/linux-x64-cuda, all layers offloaded) on the same synthetic GGUF files, in one run:
//   node out/bench/cuda-vs-llamacpp.js [--reps 3] [-p 512] [-n 128] [--shapes 1.5b,7b]
//                                      [--types Q4_K_M,Q8_0] [--bandwidth-tbs T] [--out FILE]
// Each measurement runs in a fresh child process (this same script with --child ours|llama), the
// engines alternate, and medians are compared. Ours loads through the real device path
// (device 'cuda': probe, load, self-check; the self-check's numbers are recorded). Prefill is P
// tokens in one evaluation; decode is N single-token evaluations from an empty cache, each
// computing the next token's logits (the output head included) in both engines, as llama-bench's
// tg and bench/cpu-vs-llamacpp.ts do. Decode is also reported as bytes read per token (weights
// plus the KV cache read, bench/lib/bytes-per-token.ts) and the fraction of the GPU's memory
// bandwidth that reaches (the GPU's own figure from the CUDA probe, or --bandwidth-tbs).
// Where no usable CUDA GPU is present it says why and exits 0 without measuring anything.
import { spawnSync } from 'child_process';
import type * as Nlc from 'node-llama-cpp';
import * as fs from 'fs';
import * as path from 'path';
import { getTestModel, repoRoot, type TestShape } from '../test/helpers/models';
import { decodeBytes, meanDecodeBytesPerToken } from './lib/bytes-per-token';
import { median, runJsonChild } from './lib/run-json-child';

interface Options {
  shapes: TestShape[];
  types: string[];
  reps: number;
  prefill: number;
  decode: number;
  /** TB/s; 0 = the GPU's own peak from the CUDA probe. */
  bandwidthTBs: number;
  out: string;
  /** --ours-only: llama.cpp's CUDA build is not installed; measure ours alone. */
  oursOnly: boolean;
}
interface Sample {
  prefill: number;
  decode: number;
  backend: string;
  selfCheck?: string;
}
type Engine = 'ours' | 'llama';

const TIMEOUT_MS = 20 * 60 * 1000;

// node-llama-cpp is an ES module and this file compiles to CommonJS, where tsc would turn a plain
// import() into require(); a Function-built import() stays a real dynamic import.
const importEsm = new Function('specifier', 'return import(specifier)') as (s: string) => Promise<unknown>;

function parseOptions(argv: string[]): Options {
  const value = (flag: string): string | undefined => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const num = (flag: string, fallback: number): number => {
    const v = value(flag);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`${flag} must be a positive number, got ${v}`);
    return n;
  };
  const list = (flag: string, fallback: string[]) =>
    value(flag)
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean) ?? fallback;
  return {
    shapes: list('--shapes', ['1.5b', '7b']) as TestShape[],
    types: list('--types', ['Q4_K_M', 'Q8_0']),
    reps: Math.round(num('--reps', 3)),
    prefill: Math.round(num('-p', 512)),
    decode: Math.round(num('-n', 128)),
    bandwidthTBs: value('--bandwidth-tbs') === undefined ? 0 : num('--bandwidth-tbs', 0),
    out: value('--out') ?? path.join(repoRoot(), 'build', 'bench', 'cuda-vs-llamacpp.json'),
    oursOnly: argv.includes('--ours-only'),
  };
}

/** The CUDA probe of our addon (the one loadModel uses): why no GPU is usable, or its facts. */
function gpuProbe(): { why: string | null; name: string; peakBytesPerSec: number } {
  const smi = spawnSync('nvidia-smi', ['-L'], { encoding: 'utf8' });
  if (smi.error) return { why: 'nvidia-smi not found (no NVIDIA driver installed)', name: '', peakBytesPerSec: 0 };
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { loadNative } = require('../src/engine/native') as typeof import('../src/engine/native');
  const g = loadNative().gpuInfo();
  return { why: g.usable ? null : `${g.reasonCode}: ${g.reason}`, name: g.deviceName, peakBytesPerSec: g.peakBandwidthBytesPerSec };
}

/** Deterministic ids from the ordinary part of the vocabulary, like llama-bench's random tokens. */
function tokens(n: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % 150000;
  });
}

const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

/** Child: one measurement of our CUDA backend through the engine API. */
async function childOurs(file: string, p: number, n: number): Promise<Sample> {
  // Required lazily so the parent (and a machine without the addon) never loads it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const engine = require('../src/engine') as typeof import('../src/engine');
  const model = await engine.loadModel(file, { device: 'cuda', contextSize: p + n + 64 });
  if (model.info.device !== 'cuda') throw new Error(`the engine loaded ${file} on ${model.info.backend}, not on CUDA`);
  const selfCheck = model.info.deviceReport.selfCheck?.summary;
  const warm = model.createSequence();
  await warm.eval(tokens(16, 1), { logits: 'none' });
  warm.dispose();
  const pp = model.createSequence();
  let t0 = nowMs();
  await pp.eval(tokens(p, 2), { logits: 'keep' });
  const prefillMs = nowMs() - t0;
  pp.dispose();
  const tg = model.createSequence();
  const ids = tokens(n, 3);
  t0 = nowMs();
  for (const id of ids) await tg.eval([id], { logits: 'keep' });
  const decodeMs = nowMs() - t0;
  tg.dispose();
  const backend = model.info.backend;
  await model.dispose();
  return { prefill: (p * 1000) / prefillMs, decode: (n * 1000) / decodeMs, backend, selfCheck };
}

/** Child: the same measurement on llama.cpp's CUDA build with every layer on the GPU. */
async function childLlama(file: string, p: number, n: number): Promise<Sample> {
  const nlc = (await importEsm('node-llama-cpp')) as typeof Nlc;
  // Prebuilt CUDA binary only (@node-llama-cpp/linux-x64-cuda): never build or download here.
  const llama = await nlc.getLlama({
    gpu: 'cuda',
    build: 'never',
    usePrebuiltBinaries: true,
    skipDownload: true,
    progressLogs: false,
    logLevel: nlc.LlamaLogLevel.error,
  });
  const model = await llama.loadModel({ modelPath: file, gpuLayers: 'max' });
  const ctx = await model.createContext({ contextSize: p + n + 64, batchSize: p, sequences: 1 });
  const seq = ctx.getSequence();
  await seq.evaluateWithoutGeneratingNewTokens(tokens(16, 1) as Nlc.Token[]);
  await seq.clearHistory();
  let t0 = nowMs();
  await seq.evaluateWithoutGeneratingNewTokens(tokens(p, 2) as Nlc.Token[]);
  const prefillMs = nowMs() - t0;
  await seq.clearHistory();
  // Each step computes the next token's logits (evaluateWithoutGeneratingNewTokens would skip the
  // output head); node-llama-cpp then also picks the greedy token, as ours keeps the row for sampling.
  t0 = nowMs();
  for (const id of tokens(n, 3)) await seq.controlledEvaluate([[id as Nlc.Token, { generateNext: { token: true } }]]);
  const decodeMs = nowMs() - t0;
  const backend = `llama.cpp ${llama.gpu} (${(await llama.getGpuDeviceNames()).join(', ')})`;
  await ctx.dispose();
  await model.dispose();
  await llama.dispose();
  return { prefill: (p * 1000) / prefillMs, decode: (n * 1000) / decodeMs, backend };
}

async function childMain(argv: string[]): Promise<void> {
  const get = (flag: string) => argv[argv.indexOf(flag) + 1];
  const who = get('--child') as Engine;
  const file = get('--model'),
    p = Number(get('-p')),
    n = Number(get('-n'));
  const s = who === 'ours' ? await childOurs(file, p, n) : await childLlama(file, p, n);
  process.stdout.write(JSON.stringify(s) + '\n');
}

async function parentMain(argv: string[]): Promise<void> {
  const gpu = gpuProbe();
  if (gpu.why) {
    process.stdout.write(`cuda-vs-llamacpp: skipped, no usable CUDA GPU on this machine (${gpu.why}). Nothing was measured.\n`);
    return;
  }
  const o = parseOptions(argv);
  const bandwidth = o.bandwidthTBs > 0 ? o.bandwidthTBs * 1e12 : gpu.peakBytesPerSec;
  const rows: string[] = [
    `| model | type | GiB | pp${o.prefill} ours | pp${o.prefill} llama.cpp | ratio | tg${o.decode} ours | tg${o.decode} llama.cpp | ratio | MB read per token | ours % of bandwidth | llama.cpp % |`,
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  const raw: unknown[] = [];
  for (const shape of o.shapes) {
    for (const type of o.types) {
      process.stderr.write(`preparing ${shape} ${type} ...\n`);
      const file = await getTestModel(shape, type);
      const bytes = fs.statSync(file).size;
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { loadNative } = require('../src/engine/native') as typeof import('../src/engine/native');
      const perToken = meanDecodeBytesPerToken(decodeBytes(loadNative().readGguf(file)), 0, o.decode);
      const samples: Record<Engine, Sample[]> = { ours: [], llama: [] };
      for (let rep = 0; rep < o.reps; rep++) {
        const order: Engine[] = o.oursOnly ? ['ours'] : rep % 2 === 0 ? ['ours', 'llama'] : ['llama', 'ours'];
        for (const who of order) {
          const s = await runJsonChild<Sample>(__filename, ['--child', who, '--model', file, '-p', String(o.prefill), '-n', String(o.decode)], TIMEOUT_MS);
          samples[who].push(s);
          process.stderr.write(`  ${shape} ${type} rep ${rep + 1} ${who.padEnd(5)} pp ${s.prefill.toFixed(1)} tg ${s.decode.toFixed(1)} t/s (${s.backend})\n`);
        }
      }
      const med = (who: Engine, k: 'prefill' | 'decode') => median(samples[who].map((s) => s[k]));
      // Share of the GPU's memory bandwidth that decode reaches: bytes read per token x tokens/s.
      const pct = (tps: number) => `${((100 * tps * perToken) / bandwidth).toFixed(0)}%`;
      const [ppO, ppL, tgO, tgL] = [med('ours', 'prefill'), med('llama', 'prefill'), med('ours', 'decode'), med('llama', 'decode')];
      rows.push(
        `| ${shape} | ${type} | ${(bytes / 2 ** 30).toFixed(2)} | ${ppO.toFixed(0)} | ${ppL.toFixed(0)} | ${(ppO / ppL).toFixed(2)}x | ` +
          `${tgO.toFixed(1)} | ${tgL.toFixed(1)} | ${(tgO / tgL).toFixed(2)}x | ${(perToken / 1e6).toFixed(0)} | ${pct(tgO)} | ${pct(tgL)} |`,
      );
      raw.push({
        shape,
        type,
        bytes,
        bytesPerToken: perToken,
        samples,
        medians: { prefillOurs: ppO, prefillLlama: ppL, decodeOurs: tgO, decodeLlama: tgL },
        bandwidthFraction: { ours: (tgO * perToken) / bandwidth, llama: (tgL * perToken) / bandwidth },
      });
      // After every model, so a run cut short (scripts/gpu-check.sh's time budget) keeps its rows.
      fs.mkdirSync(path.dirname(o.out), { recursive: true });
      fs.writeFileSync(
        o.out,
        JSON.stringify(
          { date: new Date().toISOString(), gpu: gpu.name, bandwidthBytesPerSec: bandwidth, options: o, raw, table: rows, complete: false },
          null,
          2,
        ),
      );
    }
  }
  const note =
    `${gpu.name}; medians of ${o.reps} alternated repetitions in fresh processes; tokens/s; ` +
    `bandwidth ${(bandwidth / 1e12).toFixed(2)} TB/s (${o.bandwidthTBs > 0 ? '--bandwidth-tbs' : "the GPU's memory clock x bus width"}).`;
  process.stdout.write(`${rows.join('\n')}\n\n${note}\n`);
  fs.mkdirSync(path.dirname(o.out), { recursive: true });
  fs.writeFileSync(
    o.out,
    JSON.stringify(
      { date: new Date().toISOString(), gpu: gpu.name, bandwidthBytesPerSec: bandwidth, options: o, raw, table: rows, note, complete: true },
      null,
      2,
    ),
  );
}

const argv = process.argv.slice(2);
(argv.includes('--child') ? childMain(argv) : parentMain(argv)).catch((e) => {
  process.stderr.write(`cuda-vs-llamacpp: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
