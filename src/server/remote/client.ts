// A minimal client for any OpenAI-compatible server (our own `serve --http`, a team's vLLM or
// llama.cpp server): chat and plain completions, streaming or not. The language server uses it in
// place of the local engine when settings.remoteUrl is set; fill-in-the-middle prompts are laid
// out by src/server/completion/fim-layout.ts, the same layout the local engine gets.
//
// Built on fetch with an AbortSignal per request, so cancelling an editor request closes the HTTP
// connection and a well-behaved server stops generating.
import { readSseData } from './sse';

export interface RemoteClientOptions {
  /** Base URL: http://host:port or http://host:port/v1 (both work). */
  baseUrl: string;
  apiKey?: string;
  /** Model name sent with each request; servers with one model usually ignore it. */
  model?: string;
  /** Per-request timeout in ms when the caller gives no signal of its own (default 120 s). */
  timeoutMs?: number;
}

export interface RemoteGenerateOptions {
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  stop?: string[];
  seed?: number;
  signal?: AbortSignal;
  /** When given, the request streams and each text delta is passed here as it arrives. */
  onDelta?: (text: string) => void;
}

export interface RemoteUsage {
  promptTokens: number;
  completionTokens: number;
}

export interface RemoteResult {
  text: string;
  finishReason: string | null;
  usage: RemoteUsage | null;
}

export interface RemoteChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** An error answer from the remote server, with its status and message. */
export class RemoteApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'RemoteApiError';
  }
}

type Json = Record<string, unknown>;

function usageFrom(v: unknown): RemoteUsage | null {
  if (typeof v !== 'object' || v === null) return null;
  const u = v as Json;
  if (typeof u.prompt_tokens !== 'number' || typeof u.completion_tokens !== 'number') return null;
  return { promptTokens: u.prompt_tokens, completionTokens: u.completion_tokens };
}

/** `url` with any user name or password (an API key) removed, for messages and logs. */
export function urlWithoutKey(url: string): string {
  try {
    const u = new URL(url);
    if (!u.username && !u.password) return url;
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return url;
  }
}

export class OpenAICompatibleClient {
  private readonly base: string;
  private readonly apiKey: string | undefined;

  constructor(private readonly opts: RemoteClientOptions) {
    let u: URL;
    try {
      u = new URL(opts.baseUrl);
    } catch {
      throw new Error(`remote server URL is not valid: '${opts.baseUrl}'`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`remote server URL must be http or https: '${opts.baseUrl}'`);
    // The setting is one URL, so a key for a server that wants one rides in it
    // (https://:KEY@host/v1, or KEY@host). fetch refuses URLs with credentials, so it becomes
    // the Bearer header instead and leaves the URL.
    const keyInUrl = decodeURIComponent(u.password || u.username);
    u.username = '';
    u.password = '';
    this.apiKey = opts.apiKey || keyInUrl || undefined;
    // Accept both ".../v1" and the bare server address.
    const trimmed = u.toString().replace(/\/+$/, '');
    this.base = /\/v1$/.test(trimmed) ? trimmed : `${trimmed}/v1`;
  }

  /** The base URL requests go to (without any key), e.g. http://127.0.0.1:8080/v1. */
  get baseUrl(): string {
    return this.base;
  }

  /** Model ids the server offers. */
  async listModels(signal?: AbortSignal): Promise<string[]> {
    const res = await this.request('GET', '/models', undefined, signal);
    const body = (await res.json()) as Json;
    const data = Array.isArray(body.data) ? body.data : [];
    return data.map((m) => (typeof (m as Json).id === 'string' ? ((m as Json).id as string) : '')).filter((id) => id !== '');
  }

  chat(messages: RemoteChatMessage[], opts: RemoteGenerateOptions = {}): Promise<RemoteResult> {
    return this.generate('/chat/completions', { messages }, opts, 'chat');
  }

  complete(prompt: string, opts: RemoteGenerateOptions = {}): Promise<RemoteResult> {
    return this.generate('/completions', { prompt }, opts, 'completion');
  }

  private async generate(endpoint: string, payload: Json, opts: RemoteGenerateOptions, kind: 'chat' | 'completion'): Promise<RemoteResult> {
    const stream = opts.onDelta !== undefined;
    const body: Json = { ...payload, stream };
    if (this.opts.model) body.model = this.opts.model;
    if (opts.maxTokens !== undefined) body.max_tokens = opts.maxTokens;
    if (opts.temperature !== undefined) body.temperature = opts.temperature;
    if (opts.topP !== undefined) body.top_p = opts.topP;
    if (opts.stop && opts.stop.length > 0) body.stop = opts.stop;
    if (opts.seed !== undefined) body.seed = opts.seed;
    if (stream) body.stream_options = { include_usage: true };

    const res = await this.request('POST', endpoint, body, opts.signal);
    const pick = (choice: Json): string => {
      if (kind === 'completion') return typeof choice.text === 'string' ? choice.text : '';
      const holder = (choice.delta ?? choice.message) as Json | undefined;
      return typeof holder?.content === 'string' ? holder.content : '';
    };

    if (!stream) {
      const json = (await res.json()) as Json;
      const choice = (Array.isArray(json.choices) ? json.choices[0] : undefined) as Json | undefined;
      if (!choice) throw new RemoteApiError(res.status, `the server's answer has no choices: ${JSON.stringify(json).slice(0, 200)}`);
      return { text: pick(choice), finishReason: (choice.finish_reason as string | null) ?? null, usage: usageFrom(json.usage) };
    }

    let text = '';
    let finishReason: string | null = null;
    let usage: RemoteUsage | null = null;
    if (!res.body) throw new RemoteApiError(res.status, 'the server sent no stream body');
    for await (const data of readSseData(res.body as unknown as AsyncIterable<Uint8Array>)) {
      if (data.trim() === '[DONE]') break;
      let event: Json;
      try {
        event = JSON.parse(data) as Json;
      } catch {
        throw new RemoteApiError(res.status, `the server sent a stream event that is not JSON: ${data.slice(0, 200)}`);
      }
      if (event.error) {
        const err = event.error as Json;
        throw new RemoteApiError(res.status, `remote server error: ${typeof err.message === 'string' ? err.message : JSON.stringify(err)}`);
      }
      usage = usageFrom(event.usage) ?? usage;
      const choice = (Array.isArray(event.choices) ? event.choices[0] : undefined) as Json | undefined;
      if (!choice) continue;
      const delta = pick(choice);
      if (delta) {
        text += delta;
        opts.onDelta?.(delta);
      }
      if (choice.finish_reason) finishReason = choice.finish_reason as string;
    }
    return { text, finishReason, usage };
  }

  private async request(method: string, endpoint: string, body: unknown, signal?: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = { accept: body !== undefined ? 'application/json, text/event-stream' : 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.apiKey) headers.authorization = `Bearer ${this.apiKey}`;
    const url = `${this.base}${endpoint}`;
    const effective = signal ?? AbortSignal.timeout(this.opts.timeoutMs ?? 120_000);
    let res: Response;
    try {
      res = await fetch(url, { method, headers, body: body !== undefined ? JSON.stringify(body) : undefined, signal: effective });
    } catch (e) {
      if (effective.aborted) throw e;
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      throw new Error(`cannot reach the remote server at ${url}: ${cause?.code ?? cause?.message ?? (e as Error).message}`, { cause: e });
    }
    if (!res.ok) {
      let message = `${res.status} ${res.statusText}`;
      try {
        const err = ((await res.json()) as Json).error as Json | string | undefined;
        if (typeof err === 'string') message = err;
        else if (err && typeof err.message === 'string') message = err.message;
      } catch {
        // Not JSON: keep the status line.
      }
      throw new RemoteApiError(res.status, `remote server ${url} answered HTTP ${res.status}: ${message}`);
    }
    return res;
  }
}
