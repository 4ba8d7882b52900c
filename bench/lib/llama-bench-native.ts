// Optional third contestant: a native llama-bench binary the user built themselves (outside this
// repository; nothing here builds it), passed as --llama-bench PATH. It decodes faster than
// node-llama-cpp's prebuilt path, so the comparison is against llama.cpp at its best.
// One repetition per process (-r 1, with llama-bench's own warm-up); peak RSS from GNU time.
import { spawn } from 'child_process';
import * as fs from 'fs';

export interface NativeSample { prefill: number; decode: number; peakRss: number }

interface LlamaBenchRow { n_prompt: number; n_gen: number; avg_ts: number }

const GNU_TIME = '/usr/bin/time';

export function measureLlamaBenchNative(binary: string, file: string, o: { prefill: number; decode: number; threads: number }, timeoutMs: number): Promise<NativeSample> {
  if (!fs.existsSync(binary)) return Promise.reject(new Error(`--llama-bench ${binary}: no such file`));
  if (!fs.existsSync(GNU_TIME)) return Promise.reject(new Error(`${GNU_TIME} is needed to measure llama-bench's peak RSS`));
  const args = ['-f', 'QWEN_MAXRSS_KB=%M', binary, '-m', file, '-p', String(o.prefill), '-n', String(o.decode),
    '-t', String(o.threads), '-r', '1', '-o', 'json'];
  return new Promise((resolve, reject) => {
    const child = spawn(GNU_TIME, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) { reject(new Error(`llama-bench exited with ${code}:\n${err.slice(-2000)}`)); return; }
      const rss = /QWEN_MAXRSS_KB=(\d+)/.exec(err);
      let rows: LlamaBenchRow[];
      try {
        rows = JSON.parse(out) as LlamaBenchRow[];
      } catch {
        reject(new Error(`llama-bench printed no JSON:\n${out.slice(-2000)}`));
        return;
      }
      const pp = rows.find((r) => r.n_prompt === o.prefill && r.n_gen === 0);
      const tg = rows.find((r) => r.n_gen === o.decode && r.n_prompt === 0);
      if (!pp || !tg || !rss) { reject(new Error(`llama-bench output lacks pp/tg rows or the RSS line:\n${out}\n${err.slice(-500)}`)); return; }
      resolve({ prefill: pp.avg_ts, decode: tg.avg_ts, peakRss: Number(rss[1]) * 1024 });
    });
  });
}
