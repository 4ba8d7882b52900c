// The reference llama.cpp: a native llama-bench, by default the one bench/build-llama-cpp.sh builds
// from the llama.cpp source node-llama-cpp ships (build/llama.cpp/bin/llama-bench, with its
// build-info.json next to bin/), or any binary passed as --llama-bench PATH.
// One repetition per process (-r 1, with llama-bench's own warm-up); every prompt size (the
// prefill test and the small batches) in that one process; peak RSS from GNU time.
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

export interface NativeSample {
  prefill: number;
  decode: number;
  peakRss: number;
  /** Tokens per second for each small batch size (one evaluation of that many tokens). */
  small: Record<number, number>;
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
}

const GNU_TIME = '/usr/bin/time';

/** The build record of a llama-bench binary: OUT/build-info.json for OUT/bin/llama-bench. */
export function referenceBuild(binary: string): ReferenceBuild {
  const info = path.join(path.dirname(path.dirname(path.resolve(binary))), 'build-info.json');
  if (!fs.existsSync(info)) return { binary, buildInfo: `none (${info} does not exist: not built by bench/build-llama-cpp.sh)` };
  const j = JSON.parse(fs.readFileSync(info, 'utf8')) as Omit<ReferenceBuild, 'binary' | 'buildInfo'>;
  return { binary, commit: j.commit, cmakeFlags: j.cmakeFlags, compiler: j.compiler, cpu: j.cpu, cpuFlags: j.cpuFlags, builtAt: j.builtAt, buildInfo: info };
}

export function measureLlamaBenchNative(
  binary: string,
  file: string,
  o: { prefill: number; decode: number; threads: number; batches: number[] },
  timeoutMs: number,
): Promise<NativeSample> {
  if (!fs.existsSync(binary)) return Promise.reject(new Error(`--llama-bench ${binary}: no such file`));
  if (!fs.existsSync(GNU_TIME)) return Promise.reject(new Error(`${GNU_TIME} is needed to measure llama-bench's peak RSS`));
  const prompts = [...new Set([o.prefill, ...o.batches])];
  const args = [
    '-f',
    'QWEN_MAXRSS_KB=%M',
    binary,
    '-m',
    file,
    '-p',
    prompts.join(','),
    '-n',
    String(o.decode),
    '-t',
    String(o.threads),
    '-r',
    '1',
    '-o',
    'json',
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(GNU_TIME, args, { stdio: ['ignore', 'pipe', 'pipe'] });
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
      const rss = /QWEN_MAXRSS_KB=(\d+)/.exec(err);
      let rows: LlamaBenchRow[];
      try {
        rows = JSON.parse(out) as LlamaBenchRow[];
      } catch {
        reject(new Error(`llama-bench printed no JSON:\n${out.slice(-2000)}`));
        return;
      }
      const pp = (n: number) => rows.find((r) => r.n_prompt === n && r.n_gen === 0);
      const tg = rows.find((r) => r.n_gen === o.decode && r.n_prompt === 0);
      const missing = prompts.filter((n) => !pp(n));
      if (missing.length > 0 || !tg || !rss) {
        reject(
          new Error(
            `llama-bench output lacks ${missing.length ? `pp${missing.join(', pp')}` : ''}${tg ? '' : ' the tg row'}${rss ? '' : ' the RSS line'}:\n${out}\n${err.slice(-500)}`,
          ),
        );
        return;
      }
      const small: Record<number, number> = {};
      for (const n of o.batches) small[n] = pp(n)!.avg_ts;
      resolve({ prefill: pp(o.prefill)!.avg_ts, decode: tg.avg_ts, peakRss: Number(rss[1]) * 1024, small });
    });
  });
}
