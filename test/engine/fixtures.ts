// Shared by the engine tests: the tiny synthetic model (256 hidden, 2 layers, real Qwen2.5
// vocabulary, random weights) and a way to run the CLI as a user would.
import { spawn } from 'child_process';
import * as path from 'path';
import type { Model } from '../../src/engine/api';
import { loadModel } from '../../src/engine/model';
import { getTestModel, repoRoot } from '../helpers/models';

export function tinyModelPath(): Promise<string> {
  return getTestModel('tiny', 'F32');
}

/** One thread: results must not depend on how the work was split, and CI has two cores. */
export async function loadTiny(contextSize = 1024): Promise<Model> {
  return loadModel(await tinyModelPath(), { threads: 1, contextSize, device: 'cpu' });
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node bin/qwen-local.js ...args` and collects its output. */
export function runCli(args: readonly string[], opts: { input?: string; timeoutMs?: number; env?: Record<string, string> } = {}): Promise<CliResult> {
  const root = repoRoot();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(root, 'bin', 'qwen-local.js'), ...args], {
      cwd: root,
      env: { ...process.env, QWEN_DEBUG: '', ...opts.env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`qwen-local ${args.join(' ')} did not finish in ${opts.timeoutMs ?? 60000} ms\n${stderr}`));
    }, opts.timeoutMs ?? 60000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** Largest absolute difference between two equally long arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length mismatch: ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
