// What `qwen-local serve --http` does: check that the address is safe to listen on (refusing a
// non-loopback one without an API key before loading anything), start listening at once, load
// the model in the background (requests get 503 until it is ready), log one line per request,
// and shut down cleanly on SIGINT/SIGTERM. Kept here, next to the server, so the CLI command is
// a few lines of wiring.
import type { DeviceSetting, Model } from '../engine/api';
import { loadModel } from '../engine/model';
import { AccessPolicy, checkBindSecurity, isLoopbackName } from './access-policy';
import { HttpServerHandle, HttpServerOptions, startHttpServer } from './server';

export interface ServeHttpOptions extends Pick<
  HttpServerOptions,
  'host' | 'port' | 'apiKey' | 'insecureNoAuth' | 'allowHosts' | 'corsOrigins' | 'maxQueue' | 'maxTokens' | 'idleTimeoutMs' | 'requestTimeoutMs'
> {
  modelPath: string;
  threads?: number;
  device?: DeviceSetting;
  contextSize?: number;
  /** Where log lines go (the CLI passes stderr). */
  log?: (line: string) => void;
}

export interface ServeHttpHandle extends HttpServerHandle {
  /** Resolves when the model is loaded (rejects with the load error). */
  model: Promise<Model>;
  /** Closes the server and frees the model. */
  shutdown(): Promise<void>;
}

export async function serveHttp(opts: ServeHttpOptions): Promise<ServeHttpHandle> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const host = opts.host ?? '127.0.0.1';
  // Before the model load: a refused start should not first spend seconds mapping weights.
  checkBindSecurity(host, opts.apiKey !== undefined, opts.insecureNoAuth === true);
  new AccessPolicy({ bindHost: host, allowHosts: opts.allowHosts, corsOrigins: opts.corsOrigins, apiKey: opts.apiKey });
  const model = loadModel(opts.modelPath, { threads: opts.threads ?? 0, device: opts.device, contextSize: opts.contextSize });
  // The failure is reported here and through 503 answers; this catch only keeps it from being unhandled.
  model.then(
    (m) => {
      const gpu = m.info.deviceReport.gpuUnavailable;
      const why = gpu && gpu.code !== 'cpu_requested' ? ` (GPU not used: ${gpu.message})` : '';
      log(`qwen-local: model ready: ${m.info.name}, context ${m.info.contextSize} tokens, ${m.info.backend}${why}`);
    },
    (e: unknown) => log(`qwen-local: cannot load ${opts.modelPath}: ${(e as Error).message}`),
  );
  let server: HttpServerHandle;
  try {
    server = await startHttpServer({
      ...opts,
      model,
      host,
      onRequestDone: (r) =>
        log(
          `qwen-local: ${r.kind}${r.stream ? ' (stream)' : ''}: ${r.promptTokens} prompt + ${r.completionTokens} generated tokens, ` +
            `${r.stopReason}, ${r.ms.toFixed(0)} ms`,
        ),
    });
  } catch (e) {
    // Could not listen (address in use or not on this machine): the model loading meanwhile goes too.
    void model.then(
      (m) => m.dispose(),
      () => undefined,
    );
    throw e;
  }
  log(`qwen-local: OpenAI-compatible API on ${server.url}/v1 (POST /v1/chat/completions, /v1/completions; GET /v1/models)`);
  log(
    `qwen-local: ${opts.apiKey !== undefined ? 'requests need "Authorization: Bearer KEY"' : 'no API key'}; ` +
      `Host names answered: localhost, loopback addresses${server.extraHosts.length ? `, ${server.extraHosts.join(', ')}` : ''}; ` +
      `web page origins allowed: ${opts.corsOrigins?.length ? opts.corsOrigins.join(', ') : 'none'}`,
  );
  if (!isLoopbackName(host) && opts.apiKey === undefined) {
    log(`qwen-local: warning: listening on ${host} without an API key (--insecure-no-auth): anyone who can reach this address can use the model`);
  }
  let closing: Promise<void> | null = null;
  const shutdown = (): Promise<void> =>
    (closing ??= (async () => {
      await server.close();
      const m = await model.catch(() => null);
      if (m) await m.dispose();
    })());
  return { ...server, close: server.close, model, shutdown };
}

/**
 * Runs until SIGINT/SIGTERM, then shuts down; what the CLI's `serve --http` awaits. A model that
 * cannot be loaded ends the command with that error: a server that can only answer 503 is no use
 * to someone who just started it by hand.
 */
export async function serveHttpUntilSignal(opts: ServeHttpOptions): Promise<void> {
  const handle = await serveHttp(opts);
  let stop: () => void = () => undefined;
  const signalled = new Promise<void>((resolve) => {
    stop = (): void => resolve();
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  try {
    await Promise.race([signalled, handle.model.then(() => signalled)]);
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await handle.shutdown();
  }
}
