// Starts and stops llama.cpp's llama-server (built by bench/build-llama-cpp.sh) on a loopback
// port for the benchmarks, and reads the build record the build script writes next to it.
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';

/** bench/build-llama-cpp.sh's build-info.json: what the peer is (commit, cmake flags, compiler, CPU). */
export interface LlamaCppBuildInfo {
  project: string;
  commit: string;
  source: string;
  cmakeFlags: string[];
  compiler: string;
  cpu: string;
  cpuFlags: string;
  builtAt: string;
}

const HOW_TO_BUILD =
  'build it with `bash bench/build-llama-cpp.sh` (llama.cpp from the source node-llama-cpp ships, CPU only, Release; ' +
  'it writes build/llama.cpp/bin/llama-server and build/llama.cpp/build-info.json), or pass --llama-server PATH';

/** Checks the binary and its build-info.json (in the folder above bin/); throws saying how to build them. */
export function llamaServerBuild(binary: string): LlamaCppBuildInfo {
  if (!fs.existsSync(binary)) throw new Error(`llama-server not found at ${binary}: ${HOW_TO_BUILD}`);
  const infoFile = path.join(path.dirname(path.dirname(path.resolve(binary))), 'build-info.json');
  if (!fs.existsSync(infoFile)) {
    throw new Error(`${infoFile} is missing, so the peer's commit and flags cannot be recorded: ${HOW_TO_BUILD}`);
  }
  const info = JSON.parse(fs.readFileSync(infoFile, 'utf8')) as LlamaCppBuildInfo;
  if (typeof info.commit !== 'string' || !Array.isArray(info.cmakeFlags)) throw new Error(`${infoFile} lacks commit or cmakeFlags`);
  return info;
}

/** A free loopback TCP port (asked of the kernel, then released for the server to take). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The last bytes of a child's output, for error messages. */
class OutputTail {
  private text = '';
  constructor(private readonly limit = 8000) {}
  add(chunk: Buffer): void {
    this.text = (this.text + chunk.toString()).slice(-this.limit);
  }
  toString(): string {
    return this.text;
  }
}

const running = new Set<ChildProcess>();
// A benchmark that throws must not leave servers behind holding cores.
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export class LlamaServerProcess {
  private constructor(
    readonly proc: ChildProcess,
    readonly baseUrl: string,
    readonly args: readonly string[],
    private readonly output: OutputTail,
  ) {}

  /** Spawns `binary -m model --host 127.0.0.1 --port P ...extraArgs` and waits until /health answers 200. */
  static async start(binary: string, model: string, extraArgs: readonly string[], timeoutMs = 180000): Promise<LlamaServerProcess> {
    const port = await freePort();
    const args = ['-m', model, '--host', '127.0.0.1', '--port', String(port), ...extraArgs];
    const proc = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(proc);
    proc.once('exit', () => running.delete(proc));
    const output = new OutputTail();
    proc.stdout!.on('data', (d: Buffer) => output.add(d));
    proc.stderr!.on('data', (d: Buffer) => output.add(d));
    const server = new LlamaServerProcess(proc, `http://127.0.0.1:${port}`, args, output);
    const started = Date.now();
    for (;;) {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        throw new Error(`llama-server exited (${proc.exitCode ?? proc.signalCode}) before it was ready:\n${output}`);
      }
      try {
        const res = await fetch(`${server.baseUrl}/health`);
        if (res.status === 200) return server;
      } catch {
        // Not listening yet.
      }
      if (Date.now() - started > timeoutMs) {
        await server.stop();
        throw new Error(`llama-server was not ready within ${timeoutMs} ms:\n${output}`);
      }
      await sleep(100);
    }
  }

  /** POSTs JSON and returns the parsed answer; a non-200 answer throws with its body. */
  async post<T>(route: string, body: unknown): Promise<T> {
    const res = await fetch(`${this.baseUrl}${route}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`llama-server ${route} answered ${res.status}: ${text.slice(0, 2000)}`);
    return JSON.parse(text) as T;
  }

  /** GET /props: slots, context size and the server's own build string, for the record. */
  async props(): Promise<Record<string, unknown>> {
    const res = await fetch(`${this.baseUrl}/props`);
    if (res.status !== 200) throw new Error(`llama-server /props answered ${res.status}`);
    return (await res.json()) as Record<string, unknown>;
  }

  log(): string {
    return this.output.toString();
  }

  async stop(): Promise<void> {
    const exited = new Promise<void>((r) => this.proc.once('exit', () => r()));
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.kill('SIGTERM');
    const killed = await Promise.race([exited.then(() => true), sleep(5000).then(() => false)]);
    if (!killed) {
      this.proc.kill('SIGKILL');
      await exited;
    }
  }
}
