// The two generation endpoints, POST /v1/chat/completions and POST /v1/completions, in their
// JSON and server-sent-events forms. Both validate the body, tokenize and check the limits before
// anything is sent (so errors get proper status codes), are admitted or refused (429) while the
// server holds too many, then wait their turn for KV room and the engine. The request's AbortFan
// fires when the client disconnects (generation stops between tokens, and its slot and the engine
// are free for the next request at once) or when the request runs past the server's time limit.
import { randomUUID } from 'crypto';
import type { ServerResponse } from 'http';
import type { GenerateResult } from '../engine/api';
import { AbortFan, AbortReasons } from '../server/scheduler/abort';
import type { EngineRunner } from './engine-runner';
import { ApiError, toApiError } from './errors';
import { finishReason, GenerationRequest } from './protocol';
import type { RequestAdmission } from './request-admission';

/** One finished (or failed, or cancelled) generation, for logs and tests. */
export interface RequestRecord {
  kind: 'chat' | 'completion';
  stream: boolean;
  promptTokens: number;
  completionTokens: number;
  /**
   * The engine's stop reason ('eos', 'maxTokens', 'aborted', ...); 'timeout' past the time limit,
   * 'refused' when the server was full, 'error' for any other failure.
   */
  stopReason: string;
  ms: number;
}

export interface HandlerContext {
  runner: EngineRunner;
  admission: RequestAdmission;
  modelId: string;
  /** The total time limit for one request, for the message when it runs out. */
  requestTimeoutMs: number;
  onRequestDone?: (record: RequestRecord) => void;
}

/** One request's identity and cancellation. */
export interface RequestScope {
  /** Whose KV slots the request uses (address, and the body's `user` when given). */
  client: string;
  /** Fires with AbortReasons.client on disconnect, AbortReasons.timeBudget past the time limit. */
  fan: AbortFan;
}

interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number };
}

function usageOf(r: GenerateResult): Usage {
  return {
    prompt_tokens: r.promptTokens,
    completion_tokens: r.tokens.length,
    total_tokens: r.promptTokens + r.tokens.length,
    prompt_tokens_details: { cached_tokens: r.cachedTokens },
  };
}

/** Engine timings, as llama.cpp's server reports them (extra field; OpenAI clients ignore it). */
function timingsOf(r: GenerateResult): Record<string, number> {
  return {
    prompt_n: r.evaluatedTokens,
    prompt_ms: r.prefillMs,
    predicted_n: r.tokens.length,
    predicted_ms: r.decodeMs,
    predicted_per_second: r.tokensPerSecond,
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function writeEvent(res: ServerResponse, data: unknown): void {
  if (!res.writableEnded && !res.destroyed) res.write(`data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
}

/** Builds the per-kind pieces of a response: ids, object names, and where the text goes. */
function shapes(req: GenerationRequest, modelId: string) {
  const id = `${req.kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomUUID().replace(/-/g, '')}`;
  const created = Math.floor(Date.now() / 1000);
  const model = modelId;
  if (req.kind === 'chat') {
    return {
      full: (text: string, finish: string, r: GenerateResult) => ({
        id,
        object: 'chat.completion',
        created,
        model,
        choices: [{ index: 0, message: { role: 'assistant', content: text }, logprobs: null, finish_reason: finish }],
        usage: usageOf(r),
        timings: timingsOf(r),
      }),
      chunk: (delta: Record<string, string>, finish: string | null) => ({
        id,
        object: 'chat.completion.chunk',
        created,
        model,
        choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
      }),
      textDelta: (text: string): Record<string, string> => ({ content: text }),
      firstDelta: { role: 'assistant', content: '' } as Record<string, string> | null,
      usageChunk: (r: GenerateResult) => ({ id, object: 'chat.completion.chunk', created, model, choices: [], usage: usageOf(r) }),
    };
  }
  return {
    full: (text: string, finish: string, r: GenerateResult) => ({
      id,
      object: 'text_completion',
      created,
      model,
      choices: [{ index: 0, text, logprobs: null, finish_reason: finish }],
      usage: usageOf(r),
      timings: timingsOf(r),
    }),
    chunk: (delta: Record<string, string>, finish: string | null) => ({
      id,
      object: 'text_completion',
      created,
      model,
      choices: [{ index: 0, text: delta.content ?? '', logprobs: null, finish_reason: finish }],
    }),
    textDelta: (text: string): Record<string, string> => ({ content: text }),
    firstDelta: null as Record<string, string> | null,
    usageChunk: (r: GenerateResult) => ({ id, object: 'text_completion', created, model, choices: [], usage: usageOf(r) }),
  };
}

/**
 * Serves one generation request end to end. Never throws: every failure becomes an OpenAI-style
 * error response (or, once a stream has started, an error event).
 */
export async function handleGeneration(ctx: HandlerContext, req: GenerationRequest, res: ServerResponse, scope: RequestScope): Promise<void> {
  const { fan } = scope;
  const signal = fan.signal;
  const shape = shapes(req, ctx.modelId);
  const started = performance.now();
  const timedOut = (): boolean => fan.reason === AbortReasons.timeBudget;
  const record = (r: GenerateResult | null, failure = 'error'): void => {
    const stopped = r ? r.stopReason : signal.aborted ? 'aborted' : failure;
    ctx.onRequestDone?.({
      kind: req.kind,
      stream: req.stream,
      promptTokens: r?.promptTokens ?? 0,
      completionTokens: r?.tokens.length ?? 0,
      stopReason: stopped === 'aborted' && timedOut() ? 'timeout' : stopped,
      ms: performance.now() - started,
    });
  };
  const timeoutError = (): ApiError =>
    new ApiError(
      504,
      `the request took longer than this server's limit of ${Math.round(ctx.requestTimeoutMs / 1000)} s (--request-timeout); ask for fewer tokens or retry when it is less busy`,
      'timeout_error',
      null,
      { code: 'request_timeout' },
    );

  let prepared: ReturnType<EngineRunner['prepare']>;
  let leave: () => void;
  try {
    prepared = ctx.runner.prepare(req);
    leave = ctx.admission.enter();
  } catch (e) {
    if (e instanceof ApiError && e.status === 429) record(null, 'refused');
    sendJsonError(res, e);
    return;
  }

  try {
    if (!req.stream) {
      try {
        const { result } = await ctx.runner.run(req, prepared, scope.client, signal);
        record(result);
        if (timedOut()) sendJsonError(res, timeoutError());
        else if (!signal.aborted) sendJson(res, 200, shape.full(result.text, finishReason(result.stopReason), result));
        // Otherwise the client is gone: nobody to answer.
      } catch (e) {
        record(null);
        if (timedOut()) sendJsonError(res, timeoutError());
        else if (!signal.aborted) sendJsonError(res, e);
      }
      return;
    }

    // Streaming: the headers go out now, so the client sees the stream open while it waits its turn.
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
    res.flushHeaders();
    let opened = false;
    const open = (): void => {
      if (opened) return;
      opened = true;
      if (shape.firstDelta) writeEvent(res, shape.chunk(shape.firstDelta, null));
    };
    try {
      const { result } = await ctx.runner.run(req, prepared, scope.client, signal, (text) => {
        open();
        writeEvent(res, shape.chunk(shape.textDelta(text), null));
      });
      record(result);
      if (timedOut()) writeEvent(res, timeoutError().toJSON());
      else if (!signal.aborted) {
        open();
        writeEvent(res, shape.chunk(req.kind === 'chat' ? {} : { content: '' }, finishReason(result.stopReason)));
        if (req.includeUsageInStream) writeEvent(res, shape.usageChunk(result));
        writeEvent(res, '[DONE]');
      }
    } catch (e) {
      record(null);
      if (timedOut()) writeEvent(res, timeoutError().toJSON());
      else if (!signal.aborted) writeEvent(res, toApiError(e).toJSON());
    }
    res.end();
  } finally {
    leave();
  }
}

function sendJsonError(res: ServerResponse, e: unknown): void {
  const err = toApiError(e);
  if (!(e instanceof ApiError) && e instanceof RangeError) {
    // Engine range checks (context, token limits) are the caller's request being too big.
    sendJson(res, 400, new ApiError(400, e.message).toJSON());
    return;
  }
  sendJson(res, err.status, err.toJSON(), err.headers);
}
