// startHttpServer: an OpenAI-compatible HTTP API over the engine, so other tools (editors, scripts,
// OpenAI client libraries) can use the same local model. Listens on 127.0.0.1 by default: the API
// has no authentication, and a model on someone's laptop should not be reachable from the network
// unless they ask for it.
//
// Endpoints: GET /v1/models, POST /v1/completions, POST /v1/chat/completions (JSON or SSE with
// "stream": true), GET /health. The model may still be loading when the server starts (pass a
// promise): generation endpoints then answer 503 until it is ready.
import * as http from 'http';
import { AddressInfo } from 'net';
import * as path from 'path';
import type { Model } from '../engine/api';
import { EngineRunner } from './engine-runner';
import { ApiError, badRequest, sendError } from './errors';
import { handleGeneration, HandlerContext, RequestRecord } from './handlers';
import { JobQueue } from './job-queue';
import { GenerationRequest, parseChatRequest, parseCompletionRequest } from './protocol';

export interface HttpServerOptions {
  /** The loaded model, or a promise of it (requests get 503 while it loads). */
  model: Model | Promise<Model>;
  host?: string;
  /** 0 or undefined = any free port (see the returned url). */
  port?: number;
  /** The id reported by /v1/models and in responses; defaults to the GGUF file name without extension. */
  modelId?: string;
  /** Largest accepted request body (default 8 MiB). */
  maxBodyBytes?: number;
  /** Called after each generation request (a log line for the CLI; tests check stop reasons). */
  onRequestDone?: (record: RequestRecord) => void;
}

export interface HttpServerHandle {
  /** Base URL, e.g. http://127.0.0.1:8080 (the API lives under /v1). */
  url: string;
  port: number;
  /** Stops accepting requests, cancels running generations, and frees the server's KV sequence. */
  close(): Promise<void>;
}

function isPromise<T>(v: T | Promise<T>): v is Promise<T> {
  return typeof (v as Promise<T>)?.then === 'function';
}

function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new ApiError(413, `the request body is larger than ${limit} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

async function readJson(req: http.IncomingMessage, limit: number): Promise<unknown> {
  const body = (await readBody(req, limit)).toString('utf8');
  if (body.trim() === '') throw badRequest('the request body is empty; send a JSON object');
  try {
    return JSON.parse(body);
  } catch (e) {
    throw badRequest(`invalid JSON in the request body: ${(e as Error).message}`);
  }
}

export async function startHttpServer(opts: HttpServerOptions): Promise<HttpServerHandle> {
  const host = opts.host ?? '127.0.0.1';
  const maxBody = opts.maxBodyBytes ?? 8 * 1024 * 1024;
  const queue = new JobQueue();
  const inFlight = new Set<AbortController>();
  let ctx: HandlerContext | null = null;
  let loadError: Error | null = null;

  const ready = (model: Model): void => {
    const modelId = opts.modelId ?? path.basename(model.info.path).replace(/\.gguf$/i, '');
    ctx = { runner: new EngineRunner(model), queue, modelId, onRequestDone: opts.onRequestDone };
  };
  if (isPromise(opts.model)) {
    opts.model.then(ready, (e: unknown) => {
      loadError = e instanceof Error ? e : new Error(String(e));
    });
  } else {
    ready(opts.model);
  }

  /** The handler context, or a 503 explaining why there is none yet. */
  const requireModel = (): HandlerContext => {
    if (ctx) return ctx;
    if (loadError) throw new ApiError(503, `the model failed to load: ${loadError.message}`, 'service_unavailable');
    throw new ApiError(503, 'the model is still loading; try again in a moment', 'service_unavailable');
  };

  const route = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const pathname = url.pathname.replace(/\/+$/, '') || '/';
    const method = req.method ?? 'GET';

    if (pathname === '/health') {
      const state = ctx ? 'ok' : loadError ? 'error' : 'loading';
      const body = JSON.stringify({ status: state, ...(loadError ? { message: loadError.message } : {}) });
      res.writeHead(ctx ? 200 : 503, { 'content-type': 'application/json' });
      res.end(body);
      return;
    }
    if (pathname === '/v1/models' || pathname === '/models') {
      if (method !== 'GET') throw new ApiError(405, `${method} is not allowed on ${pathname}; use GET`);
      const c = requireModel();
      const body = JSON.stringify({
        object: 'list',
        data: [{ id: c.modelId, object: 'model', created: Math.floor(Date.now() / 1000), owned_by: 'qwen-local' }],
      });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body);
      return;
    }
    const parsers: Record<string, (b: unknown) => GenerationRequest> = {
      '/v1/chat/completions': parseChatRequest,
      '/chat/completions': parseChatRequest,
      '/v1/completions': parseCompletionRequest,
      '/completions': parseCompletionRequest,
    };
    const parse = parsers[pathname];
    if (!parse) throw new ApiError(404, `unknown endpoint: ${method} ${pathname}`, 'not_found_error');
    if (method !== 'POST') throw new ApiError(405, `${method} is not allowed on ${pathname}; use POST`);
    const request = parse(await readJson(req, maxBody));
    const c = requireModel();

    // The client going away (closing the connection before the response finished) cancels.
    const controller = new AbortController();
    inFlight.add(controller);
    res.on('close', () => {
      if (!res.writableFinished) controller.abort();
      inFlight.delete(controller);
    });
    await handleGeneration(c, request, res, controller.signal);
  };

  const server = http.createServer((req, res) => {
    route(req, res).catch((e: unknown) => sendError(res, e));
  });
  // Generations can take minutes; Node's default request timeout would cut long streams.
  server.requestTimeout = 0;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const shownHost = host.includes(':') ? `[${host}]` : host;

  return {
    url: `http://${shownHost}:${port}`,
    port,
    async close(): Promise<void> {
      for (const c of inFlight) c.abort();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      // Wait for the running job (it stops at the next token), then free the sequence.
      await queue.run(async () => undefined).catch(() => undefined);
      (ctx as HandlerContext | null)?.runner.dispose();
      server.closeAllConnections();
      await closed;
    },
  };
}
