// The reference llama.cpp: a native llama-bench, by default the one bench/build-llama-cpp.sh builds
// from the llama.cpp source node-llama-cpp ships (build/llama.cpp/bin/llama-bench, with its
// build-info.json next to bin/), or any binary passed as --llama-bench PATH.
// Prefill and decode: one repetition per process (-r 1, with llama-bench's own warm-up) and peak
// RSS from GNU time. Small batches: their own process with several repetitions, whose per-sample
// rates' median is taken (an 8-token batch takes 15-30 ms, so one sample is at the mercy of a
// moment's noise on a shared machine; qwen-local's are taken the same way).
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { median } from './run-json-child';

export interface NativeSample {
  prefill: number;
  decode: number;
  peakRss: number;
}

/** What bench/build-llama-cpp.sh records about the reference build (build-info.json). */
export interface ReferenceBuild {
  binary: string;
  commit?: string;
  cmakeFlags?: string[];
  compiler?: string;
  cpu?: string;
  cpuFlags?: string;
  builtAt?: string;
  /** Where the record came from, or why there is none. */
  buildInfo: string;
}

interface LlamaBenchRow {
  n_prompt: number;
  n_gen: number;
  avg_ts: number;
  /** Tokens per second of each repetition. */
  samples_ts: number[];
}

const GNU_TIME = '/usr/bin/time';

/** The build record of a llama-bench binary: OUT/build-info.json for OUT/bin/llama-bench. */
export function referenceBuild(binary: string): ReferenceBuild {
  const info = path.join(path.dirname(path.dirname(path.resolve(binary))), 'build-info.json');
  if (!fs.existsSync(info)) return { binary, buildInfo: `none (${info} does not exist: not built by bench/build-llama-cpp.sh)` };
  const j = JSON.parse(fs.readFileSync(info, 'utf8')) as Omit<ReferenceBuild, 'binary' | 'buildInfo'>;
  return { binary, commit: j.commit, cmakeFlags: j.cmakeFlags, compiler: j.compiler, cpu: j.cpu, cpuFlags: j.cpuFlags, builtAt: j.builtAt, buildInfo: info };
}

/** Runs `command args` (llama-bench, or GNU time wrapping it) and parses llama-bench's JSON rows. */
function runLlamaBench(command: string, args: string[], timeoutMs: number): Promise<{ rows: LlamaBenchRow[]; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) {
        reject(new Error(`llama-bench exited with ${code}:\n${err.slice(-2000)}`));
        return;
      }
      try {
        resolve({ rows: JSON.parse(out) as LlamaBenchRow[], stderr: err });
      } catch {
        reject(new Error(`llama-bench printed no JSON:\n${out.slice(-2000)}`));
      }
    });
  });
}

const promptRow = (rows: LlamaBenchRow[], n: number) => rows.find((r) => r.n_prompt === n && r.n_gen === 0);

export async function measureLlamaBenchNative(
  binary: string,
  file: string,
  o: { prefill: number; decode: number; threads: number },
  timeoutMs: number,
): Promise<NativeSample> {
  if (!fs.existsSync(binary)) throw new Error(`--llama-bench ${binary}: no such file`);
  if (!fs.existsSync(GNU_TIME)) throw new Error(`${GNU_TIME} is needed to measure llama-bench's peak RSS`);
  const args = ['-f', 'QWEN_MAXRSS_KB=%M', binary, '-m', file, '-p', String(o.prefill), '-n', String(o.decode)];
  args.push('-t', String(o.threads), '-r', '1', '-o', 'json');
  const { rows, stderr } = await runLlamaBench(GNU_TIME, args, timeoutMs);
  const rss = /QWEN_MAXRSS_KB=(\d+)/.exec(stderr);
  const pp = promptRow(rows, o.prefill);
  const tg = rows.find((r) => r.n_gen === o.decode && r.n_prompt === 0);
  if (!pp || !tg || !rss) {
    const lacks = [pp ? '' : `pp${o.prefill}`, tg ? '' : 'the tg row', rss ? '' : 'the RSS line'].filter(Boolean);
    throw new Error(`llama-bench output lacks ${lacks.join(', ')}:\n${JSON.stringify(rows)}\n${stderr.slice(-500)}`);
  }
  return { prefill: pp.avg_ts, decode: tg.avg_ts, peakRss: Number(rss[1]) * 1024 };
}

/** Small batches in one llama-bench process, `reps` repetitions each: the median rate per size. */
export async function measureLlamaBenchSmallBatches(
  binary: string,
  file: string,
  o: { threads: number; batches: number[]; reps: number },
  timeoutMs: number,
): Promise<Record<number, number>> {
  if (!fs.existsSync(binary)) throw new Error(`--llama-bench ${binary}: no such file`);
  const args = ['-m', file, '-p', o.batches.join(','), '-n', '0', '-t', String(o.threads), '-r', String(o.reps), '-o', 'json'];
  const { rows } = await runLlamaBench(binary, args, timeoutMs);
  const small: Record<number, number> = {};
  for (const n of o.batches) {
    const row = promptRow(rows, n);
    if (!row || row.samples_ts?.length !== o.reps) {
      throw new Error(`llama-bench printed no ${o.reps} samples for pp${n}:\n${JSON.stringify(rows)}`);
    }
    small[n] = median(row.samples_ts);
  }
  return small;
}
