// Starts `node bin/qwen-local.js serve --http ...` as users do, reads the address it prints, waits
// until the model is loaded, and stops it with SIGTERM. Used by the CLI, remote-mode and privacy
// tests, which all need a real OpenAI-compatible server on loopback.
import { ChildProcess, spawn } from 'child_process';
import * as path from 'path';

export interface ServeHttpProcess {
  proc: ChildProcess;
  /** http://127.0.0.1:PORT (the API lives under /v1). */
  url: string;
  port: number;
  /** Everything the server wrote to stderr so far (its log). */
  log(): string;
  /** SIGTERM, then the exit code (null when killed by a signal). */
  stop(): Promise<number | null>;
}

export function runCli(root: string, args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, [path.join(root, 'bin', 'qwen-local.js'), ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Resolves when `re` matches the accumulated stderr; rejects if the process exits first or on timeout. */
export function waitForLog(proc: ChildProcess, getLog: () => string, re: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    const check = (): boolean => {
      const m = getLog().match(re);
      if (m) {
        cleanup();
        resolve(m);
      }
      return m !== null;
    };
    const onData = (): void => void check();
    const onExit = (code: number | null): void => {
      cleanup();
      reject(new Error(`the server exited (code ${code}) before logging ${re}:\n${getLog()}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no ${re} in the server log within ${timeoutMs} ms:\n${getLog()}`));
    }, timeoutMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      proc.stderr!.off('data', onData);
      proc.off('exit', onExit);
    };
    proc.stderr!.on('data', onData);
    proc.once('exit', onExit);
    check();
  });
}

export async function startServeHttp(root: string, modelPath: string, extraArgs: string[] = []): Promise<ServeHttpProcess> {
  const proc = runCli(root, ['serve', '--http', '--model', modelPath, '--port', '0', '--threads', '1', '--ctx', '512', ...extraArgs]);
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const log = (): string => stderr;
  try {
    const m = await waitForLog(proc, log, /OpenAI-compatible API on (http:\/\/127\.0\.0\.1:(\d+))\/v1/, 30000);
    await waitForLog(proc, log, /model ready/, 60000);
    return {
      proc,
      url: m[1],
      port: Number(m[2]),
      log,
      stop: () =>
        new Promise((resolve) => {
          if (proc.exitCode !== null) return resolve(proc.exitCode);
          proc.once('exit', (code) => resolve(code));
          proc.kill('SIGTERM');
        }),
    };
  } catch (e) {
    proc.kill('SIGKILL');
    throw e;
  }
}
