// Remote mode for the language server: when settings.remoteUrl names an OpenAI-compatible server,
// chat and inline completions go there instead of to the local engine. This adapter speaks the
// language server's own types (ChatParams -> ChatResult, FIM text -> completion text + stats) so
// the server needs one early branch per request kind, nothing more.
//
// Without the model's tokenizer the FIM context is cut by characters (about 3 per token for code),
// and stats count what the remote server reports (usage), not local KV-cache reuse.
import type { ChatParams, ChatResult, GenerationStats } from '../protocol';
import { OpenAICompatibleClient, RemoteResult } from './client';

export interface RemoteFimRequest {
  prefix: string;
  suffix: string;
  maxTokens: number;
  temperature: number;
  /** Token budget of the prompt; converted to characters for the prefix and suffix. */
  contextTokens: number;
  signal: AbortSignal;
  /** Streams text; returning false stops generation (stop reason 'callerStop'). */
  onText?: (text: string) => boolean | void;
}

export interface RemoteFimResult {
  text: string;
  stopReason: string;
  stats: GenerationStats & { elapsedMs: number };
}

const CHARS_PER_TOKEN = 3;
// Qwen2.5-Coder's end-of-file markers: a completion never continues past them.
const FIM_STOPS = ['<|file_sep|>', '<|endoftext|>', '<|fim_pad|>'];

function stopReasonOf(r: RemoteResult, callerStopped: boolean): string {
  if (callerStopped) return 'callerStop';
  if (r.finishReason === 'length') return 'maxTokens';
  return r.finishReason === 'stop' ? 'eos' : r.finishReason ?? 'unknown';
}

function statsOf(r: RemoteResult, elapsedMs: number, generatedFallback: number): GenerationStats & { elapsedMs: number } {
  const generated = r.usage?.completionTokens ?? generatedFallback;
  const prompt = r.usage?.promptTokens ?? 0;
  return {
    promptTokens: prompt,
    cachedTokens: 0,
    evaluatedTokens: prompt,
    generatedTokens: generated,
    tokensPerSecond: elapsedMs > 0 ? (generated * 1000) / elapsedMs : 0,
    prefillMs: 0,
    decodeMs: elapsedMs,
    elapsedMs,
  };
}

export class RemoteBackend {
  readonly client: OpenAICompatibleClient;

  /** `setting` is qwenLocal.remoteUrl as the user wrote it (it may carry a key). */
  constructor(readonly setting: string, apiKey?: string) {
    this.client = new OpenAICompatibleClient({ baseUrl: setting, apiKey });
  }

  /** The server's address without any key, for messages and logs. */
  get baseUrl(): string {
    return this.client.baseUrl;
  }

  /**
   * A chat reply, always streamed so a cancelled reply keeps what arrived (stop reason 'aborted',
   * as with the local engine); deltas go to onDelta when given.
   */
  async chat(
    params: ChatParams,
    defaults: { maxTokens: number; temperature: number; topP: number },
    signal: AbortSignal,
    onDelta?: (text: string) => void,
  ): Promise<ChatResult> {
    const started = performance.now();
    let text = '';
    let pieces = 0;
    try {
      const r = await this.client.chat(params.messages, {
        maxTokens: params.maxTokens ?? defaults.maxTokens,
        temperature: params.temperature ?? defaults.temperature,
        topP: params.topP ?? defaults.topP,
        signal,
        onDelta: (d) => {
          text += d;
          pieces++;
          onDelta?.(d);
        },
      });
      const { elapsedMs: _elapsed, ...stats } = statsOf(r, performance.now() - started, pieces);
      return { text: r.text, stopReason: stopReasonOf(r, false), stats };
    } catch (e) {
      if (!signal.aborted) throw e;
      const partial: RemoteResult = { text, finishReason: null, usage: null };
      const { elapsedMs: _elapsed, ...stats } = statsOf(partial, performance.now() - started, pieces);
      return { text, stopReason: 'aborted', stats };
    }
  }

  /** A fill-in-the-middle completion at the cursor, streamed so the caller can stop it early. */
  async completeFim(req: RemoteFimRequest): Promise<RemoteFimResult> {
    const chars = Math.max(256, req.contextTokens * CHARS_PER_TOKEN);
    // Most of the budget before the cursor: it says more about what comes next than the suffix.
    const prefix = req.prefix.slice(-Math.floor(chars * 0.75));
    const suffix = req.suffix.slice(0, Math.floor(chars * 0.25));
    const local = new AbortController();
    const onOuterAbort = (): void => local.abort(req.signal.reason);
    req.signal.addEventListener('abort', onOuterAbort, { once: true });
    if (req.signal.aborted) local.abort(req.signal.reason);
    let text = '';
    let callerStopped = false;
    let pieces = 0;
    const started = performance.now();
    try {
      const r = await this.client.fim(prefix, suffix, {
        maxTokens: req.maxTokens,
        temperature: req.temperature,
        stop: FIM_STOPS,
        signal: local.signal,
        onDelta: (d) => {
          if (callerStopped) return;
          text += d;
          pieces++;
          if (req.onText && req.onText(d) === false) {
            callerStopped = true;
            local.abort();
          }
        },
      });
      return { text: r.text, stopReason: stopReasonOf(r, false), stats: statsOf(r, performance.now() - started, pieces) };
    } catch (e) {
      // Stopped by the caller (enough text) or by the outer signal (cancelled, time budget):
      // what arrived so far is the answer, as with the local engine.
      if (local.signal.aborted) {
        const partial: RemoteResult = { text, finishReason: null, usage: null };
        return {
          text,
          stopReason: callerStopped ? 'callerStop' : 'aborted',
          stats: statsOf(partial, performance.now() - started, pieces),
        };
      }
      throw e;
    } finally {
      req.signal.removeEventListener('abort', onOuterAbort);
    }
  }
}

let cached: RemoteBackend | null = null;

/** The backend for settings.remoteUrl, or null when it is empty (use the local engine). */
export function remoteBackendFor(settings: { remoteUrl?: string }): RemoteBackend | null {
  const url = (settings.remoteUrl ?? '').trim();
  if (url === '') return null;
  if (!cached || cached.setting !== url) cached = new RemoteBackend(url);
  return cached;
}
