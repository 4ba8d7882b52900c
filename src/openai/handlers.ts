// The two generation endpoints, POST /v1/chat/completions and POST /v1/completions, in their
// JSON and server-sent-events forms. Both validate the body, tokenize and check the context before
// anything is sent (so errors get proper status codes), then wait their turn in the job queue.
// The request's AbortSignal fires when the client disconnects; generation then stops between
// tokens and the engine is free for the next request.
import { randomUUID } from 'crypto';
import type { ServerResponse } from 'http';
import type { GenerateResult } from '../engine/api';
import type { EngineRunner } from './engine-runner';
import { ApiError, toApiError } from './errors';
import type { JobQueue } from './job-queue';
import { finishReason, GenerationRequest } from './protocol';

/** One finished (or failed, or cancelled) generation, for logs and tests. */
export interface RequestRecord {
  kind: 'chat' | 'completion';
  stream: boolean;
  promptTokens: number;
  completionTokens: number;
  /** The engine's stop reason ('eos', 'maxTokens', 'aborted', ...), or 'error'. */
  stopReason: string;
  ms: number;
}

export interface HandlerContext {
  runner: EngineRunner;
  queue: JobQueue;
  modelId: string;
  onRequestDone?: (record: RequestRecord) => void;
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

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
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
        id, object: 'chat.completion', created, model,
        choices: [{ index: 0, message: { role: 'assistant', content: text }, logprobs: null, finish_reason: finish }],
        usage: usageOf(r), timings: timingsOf(r),
      }),
      chunk: (delta: Record<string, string>, finish: string | null) => ({
        id, object: 'chat.completion.chunk', created, model,
        choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
      }),
      textDelta: (text: string): Record<string, string> => ({ content: text }),
      firstDelta: { role: 'assistant', content: '' } as Record<string, string> | null,
      usageChunk: (r: GenerateResult) => ({ id, object: 'chat.completion.chunk', created, model, choices: [], usage: usageOf(r) }),
    };
  }
  return {
    full: (text: string, finish: string, r: GenerateResult) => ({
      id, object: 'text_completion', created, model,
      choices: [{ index: 0, text, logprobs: null, finish_reason: finish }],
      usage: usageOf(r), timings: timingsOf(r),
    }),
    chunk: (delta: Record<string, string>, finish: string | null) => ({
      id, object: 'text_completion', created, model,
      choices: [{ index: 0, text: delta.content ?? '', logprobs: null, finish_reason: finish }],
    }),
    textDelta: (text: string): Record<string, string> => ({ content: text }),
    firstDelta: null as Record<string, string> | null,
    usageChunk: (r: GenerateResult) => ({ id, object: 'text_completion', created, model, choices: [], usage: usageOf(r) }),
  };
}

/**
 * Serves one generation request end to end. `signal` aborts when the client disconnects or the
 * server closes. Never throws: every failure becomes an OpenAI-style error response (or, once a
 * stream has started, an error event).
 */
export async function handleGeneration(
  ctx: HandlerContext,
  req: GenerationRequest,
  res: ServerResponse,
  signal: AbortSignal,
): Promise<void> {
  const shape = shapes(req, ctx.modelId);
  const started = performance.now();
  const record = (r: GenerateResult | null): void => {
    ctx.onRequestDone?.({
      kind: req.kind,
      stream: req.stream,
      promptTokens: r?.promptTokens ?? 0,
      completionTokens: r?.tokens.length ?? 0,
      stopReason: r ? r.stopReason : signal.aborted ? 'aborted' : 'error',
      ms: performance.now() - started,
    });
  };
  let prepared: { tokens: number[]; maxTokens: number };
  try {
    prepared = ctx.runner.prepare(req);
  } catch (e) {
    sendJsonError(res, e);
    return;
  }

  if (!req.stream) {
    try {
      const { result } = await ctx.queue.run(() => ctx.runner.run(req, prepared, signal), signal);
      record(result);
      if (signal.aborted) return; // the client is gone: nobody to answer
      sendJson(res, 200, shape.full(result.text, finishReason(result.stopReason), result));
    } catch (e) {
      record(null);
      if (!signal.aborted) sendJsonError(res, e);
    }
    return;
  }

  // Streaming: the headers go out now, so the client sees the stream open while it waits in the queue.
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
  res.flushHeaders();
  try {
    const { result } = await ctx.queue.run(() => {
      if (shape.firstDelta) writeEvent(res, shape.chunk(shape.firstDelta, null));
      return ctx.runner.run(req, prepared, signal, (text) => writeEvent(res, shape.chunk(shape.textDelta(text), null)));
    }, signal);
    record(result);
    if (signal.aborted) return;
    writeEvent(res, shape.chunk(req.kind === 'chat' ? {} : { content: '' }, finishReason(result.stopReason)));
    if (req.includeUsageInStream) writeEvent(res, shape.usageChunk(result));
    writeEvent(res, '[DONE]');
    res.end();
  } catch (e) {
    record(null);
    if (!signal.aborted) writeEvent(res, toApiError(e).toJSON());
    res.end();
  }
}

function sendJsonError(res: ServerResponse, e: unknown): void {
  const err = toApiError(e);
  if (!(e instanceof ApiError) && e instanceof RangeError) {
    // Engine range checks (context, token limits) are the caller's request being too big.
    sendJson(res, 400, new ApiError(400, e.message).toJSON());
    return;
  }
  sendJson(res, err.status, err.toJSON());
}
