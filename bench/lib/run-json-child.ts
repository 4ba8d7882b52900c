// Runs a measuring child process and returns the JSON it prints. Each measurement gets a fresh
// process so that page cache warm-up is shared but heap, thread pools and peak RSS are not.
import { spawn } from 'child_process';

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Spawns `node script args...`, waits up to timeoutMs, and parses stdout as JSON (the whole of it,
 * or failing that its last line). Rejects with the child's stderr when it fails.
 */
export function runJsonChild<T>(script: string, args: readonly string[], timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
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
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const what = `${script} ${args.join(' ')}`;
      if (code !== 0) {
        reject(new Error(`${what} exited with ${signal ?? code}:\n${err.slice(-2000)}`));
        return;
      }
      try {
        resolve(JSON.parse(out) as T);
      } catch {
        const last = out.trim().split('\n').pop() ?? '';
        try {
          resolve(JSON.parse(last) as T);
        } catch {
          reject(new Error(`${what} printed no JSON:\n${out.slice(-2000)}`));
        }
      }
    });
  });
}
