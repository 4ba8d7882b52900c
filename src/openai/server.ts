// startHttpServer: an OpenAI-compatible HTTP API over the engine, so other tools (editors, scripts,
// OpenAI client libraries) can use the same local model. Listens on 127.0.0.1 by default, and
// refuses a non-loopback address without an API key unless told the network is trusted.
//
// Endpoints: GET /v1/models, POST /v1/completions, POST /v1/chat/completions (JSON or SSE with
// "stream": true), GET /health. The model may still be loading when the server starts (pass a
// promise): generation endpoints then answer 503 until it is ready.
//
// Every request passes, in order: the Host check (DNS rebinding), the Origin check (web pages),
// CORS preflight, the API key (all but /health), then the route; generation bodies must be JSON
// within the size and time limits, and the request is admitted only while the server holds fewer
// than its limit. See access-policy.ts, request-body.ts, request-admission.ts.
import * as http from 'http';
import { AddressInfo } from 'net';
import * as path from 'path';
import type { Model } from '../engine/api';
import { AbortFan, AbortReasons } from '../server/scheduler/abort';
import { AccessPolicy, checkBindSecurity } from './access-policy';
import { answerPreflight, setCorsHeaders } from './cors';
import { EngineRunner, RunnerStats } from './engine-runner';
import { ApiError, sendError } from './errors';
import { handleGeneration, HandlerContext, RequestRecord } from './handlers';
import { GenerationRequest, parseChatRequest, parseCompletionRequest } from './protocol';
import { RequestAdmission } from './request-admission';
import { readJsonBody } from './request-body';

export interface HttpServerOptions {
  /** The loaded model, or a promise of it (requests get 503 while it loads). */
  model: Model | Promise<Model>;
  host?: string;
  /** 0 or undefined = any free port (see the returned url). */
  port?: number;
  /** The id reported by /v1/models and in responses; defaults to the GGUF file name without extension. */
  modelId?: string;
  /** Requests need `Authorization: Bearer <apiKey>` on every route but /health. */
  apiKey?: string;
  /** Allows a non-loopback `host` without an API key. */
  insecureNoAuth?: boolean;
  /** Names (or addresses) accepted in the Host header besides loopback ones and the bound address. */
  allowHosts?: readonly string[];
  /** Origins whose web pages may call the API (none by default). */
  corsOrigins?: readonly string[];
  /** Largest accepted request body (default 8 MiB). */
  maxBodyBytes?: number;
  /** Generation requests held at once, running or waiting; more get 429 (default 16). */
  maxQueue?: number;
  /** The most tokens one request may generate (default: the context size). */
  maxTokens?: number;
  /** Longest silence while a request arrives, in ms (default 30 s). */
  idleTimeoutMs?: number;
  /** Longest one generation request may take, waiting included, in ms (default 10 min). */
  requestTimeoutMs?: number;
  /** Called after each generation request (a log line for the CLI; tests check stop reasons). */
  onRequestDone?: (record: RequestRecord) => void;
}

export interface HttpServerHandle {
  /** Base URL, e.g. http://127.0.0.1:8080 (the API lives under /v1). */
  url: string;
  port: number;
  /** Names besides loopback ones that the Host check accepts (for the startup log). */
  extraHosts: string[];
  /**
   * What the engine side holds (null until the model is ready), for tests and the load
   * benchmark; `dropIdleCaches` first frees the KV of every slot no request uses.
   */
  debugStats(opts?: { dropIdleCaches?: boolean }): (RunnerStats & { admitted: number }) | null;
  /** Stops accepting requests, cancels running generations, and frees the KV slots. */
  close(): Promise<void>;
}

function isPromise<T>(v: T | Promise<T>): v is Promise<T> {
  return typeof (v as Promise<T>)?.then === 'function';
}

const PARSERS: Record<string, (b: unknown) => GenerationRequest> = {
  '/v1/chat/completions': parseChatRequest,
  '/chat/completions': parseChatRequest,
  '/v1/completions': parseCompletionRequest,
  '/completions': parseCompletionRequest,
};

/** The KV-slot owner of a request: its address, and the OpenAI `user` field when the client sends one. */
function clientKey(req: http.IncomingMessage, body: GenerationRequest): string {
  const address = req.socket.remoteAddress ?? 'unknown';
  return body.user ? `${address} ${body.user}` : address;
}

export async function startHttpServer(opts: HttpServerOptions): Promise<HttpServerHandle> {
  const host = opts.host ?? '127.0.0.1';
  checkBindSecurity(host, opts.apiKey !== undefined, opts.insecureNoAuth === true);
  const policy = new AccessPolicy({ bindHost: host, allowHosts: opts.allowHosts, corsOrigins: opts.corsOrigins, apiKey: opts.apiKey });
  const bodyLimits = { maxBytes: opts.maxBodyBytes ?? 8 * 1024 * 1024, idleMs: opts.idleTimeoutMs ?? 30_000 };
  const requestTimeoutMs = opts.requestTimeoutMs ?? 600_000;
  const admission = new RequestAdmission(opts.maxQueue ?? 16);
  const inFlight = new Set<AbortFan>();
  const running = new Set<Promise<void>>();
  let ctx: HandlerContext | null = null;
  let loadError: Error | null = null;
  let closing = false;

  const ready = (model: Model): void => {
    if (closing) return;
    const modelId = opts.modelId ?? path.basename(model.info.path).replace(/\.gguf$/i, '');
    const runner = new EngineRunner(model, { maxTokens: opts.maxTokens });
    ctx = { runner, admission, modelId, requestTimeoutMs, onRequestDone: opts.onRequestDone };
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

  const sendJson = (res: http.ServerResponse, status: number, body: unknown): void => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };

  const route = async (req: http.IncomingMessage, res: http.ServerResponse, fan: AbortFan): Promise<void> => {
    policy.checkHost(req.headers.host);
    const origin = policy.checkOrigin(req.headers.origin);
    if (origin !== null) setCorsHeaders(res, origin);
    const method = req.method ?? 'GET';
    if (method === 'OPTIONS') {
      answerPreflight(req, res, origin);
      return;
    }

    const url = new URL(req.url ?? '/', 'http://localhost');
    const pathname = url.pathname.replace(/\/+$/, '') || '/';
    if (pathname === '/health') {
      const state = ctx ? 'ok' : loadError ? 'error' : 'loading';
      sendJson(res, ctx ? 200 : 503, { status: state, ...(loadError ? { message: (loadError as Error).message } : {}) });
      return;
    }
    policy.checkApiKey(req.headers.authorization);
    if (pathname === '/v1/models' || pathname === '/models') {
      if (method !== 'GET') throw new ApiError(405, `${method} is not allowed on ${pathname}; use GET`);
      const c = requireModel();
      sendJson(res, 200, {
        object: 'list',
        data: [{ id: c.modelId, object: 'model', created: Math.floor(Date.now() / 1000), owned_by: 'qwen-local' }],
      });
      return;
    }
    const parse = PARSERS[pathname];
    if (!parse) throw new ApiError(404, `unknown endpoint: ${method} ${pathname}`, 'not_found_error');
    if (method !== 'POST') throw new ApiError(405, `${method} is not allowed on ${pathname}; use POST`);
    const request = parse(await readJsonBody(req, bodyLimits, fan.signal));
    const c = requireModel();
    await handleGeneration(c, request, res, { client: clientKey(req, request), fan });
  };

  const server = http.createServer((req, res) => {
    const fan = new AbortFan();
    // The time limit counts from arrival: waiting for the body, KV room and the engine use it too.
    fan.abortAfter(requestTimeoutMs, AbortReasons.timeBudget);
    // The client going away (closing the connection before the response finished) cancels.
    res.on('close', () => {
      if (!res.writableFinished) fan.abort(AbortReasons.client);
      fan.dispose();
      inFlight.delete(fan);
    });
    inFlight.add(fan);
    const done = route(req, res, fan)
      .catch((e: unknown) => sendError(res, e))
      .finally(() => running.delete(done));
    running.add(done);
  });
  // Headers must arrive within the idle limit (Node answers 408 itself); bodies are timed by
  // readJsonBody. Node's requestTimeout only covers receiving the request, never a long stream.
  server.headersTimeout = bodyLimits.idleMs;
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
    extraHosts: policy.extraHosts,
    debugStats(o = {}) {
      const c = ctx as HandlerContext | null;
      if (!c) return null;
      if (o.dropIdleCaches) c.runner.dropIdleCaches();
      return { ...c.runner.stats(), admitted: admission.count };
    },
    async close(): Promise<void> {
      closing = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      for (const f of inFlight) f.abort('server shutting down');
      // Running generations stop at their next token; then the slots can go.
      await Promise.allSettled([...running]);
      (ctx as HandlerContext | null)?.runner.dispose();
      server.closeAllConnections();
      await closed;
    },
  };
}
