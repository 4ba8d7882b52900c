// Remote mode for the language server: when settings.remoteUrl names an OpenAI-compatible server,
// chat and inline completions go there instead of to the local engine. This adapter speaks the
// language server's own types (ChatParams -> ChatResult, FIM prompt -> completion text + stats) so
// the server needs one early branch per request kind, nothing more.
//
// The FIM prompt arrives laid out (src/server/completion/fim-layout.ts, as for the local engine);
// stats count what the remote server reports (usage), not local KV-cache reuse.
import type { ChatParams, ChatResult, GenerationStats } from '../../protocol';
import { StopStringMatcher } from '../../engine/stop-strings';
import { OpenAICompatibleClient, RemoteResult } from './client';

export interface RemoteFimRequest {
  /** The whole prompt, control tokens spelled out (fimPromptText). */
  prompt: string;
  maxTokens: number;
  temperature: number;
  topP?: number;
  /** Text that ends the completion; cut here whatever the server does with `stop`. */
  stopTexts: readonly string[];
  signal: AbortSignal;
  /** Streams text; returning false stops generation (stop reason 'callerStop'). */
  onText?: (text: string) => boolean | void;
}

export interface RemoteFimResult {
  text: string;
  stopReason: string;
  stats: GenerationStats & { elapsedMs: number };
}

/** OpenAI's API (and our `serve --http`) takes at most this many stop sequences. */
const MAX_SERVER_STOPS = 4;

function stopReasonOf(r: RemoteResult, callerStopped: boolean): string {
  if (callerStopped) return 'callerStop';
  if (r.finishReason === 'length') return 'maxTokens';
  return r.finishReason === 'stop' ? 'eos' : (r.finishReason ?? 'unknown');
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
  constructor(
    readonly setting: string,
    apiKey?: string,
  ) {
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

  /**
   * A fill-in-the-middle completion at the cursor, streamed so the caller can stop it early. The
   * server gets the first stop texts it accepts; the whole set is applied here to what it sends.
   */
  async completeFim(req: RemoteFimRequest): Promise<RemoteFimResult> {
    const local = new AbortController();
    const onOuterAbort = (): void => local.abort(req.signal.reason);
    req.signal.addEventListener('abort', onOuterAbort, { once: true });
    if (req.signal.aborted) local.abort(req.signal.reason);
    const matcher = new StopStringMatcher([...req.stopTexts]);
    let text = '';
    let ended: 'callerStop' | 'stopString' | null = null;
    let pieces = 0;
    const keep = (piece: string): void => {
      if (piece.length === 0 || ended) return;
      text += piece;
      if (req.onText && req.onText(piece) === false) ended = 'callerStop';
    };
    const started = performance.now();
    try {
      const r = await this.client.complete(req.prompt, {
        maxTokens: req.maxTokens,
        temperature: req.temperature,
        topP: req.topP,
        stop: req.stopTexts.slice(0, MAX_SERVER_STOPS),
        signal: local.signal,
        onDelta: (d) => {
          if (ended) return;
          pieces++;
          const cut = matcher.push(d);
          keep(cut.text);
          if (cut.stopped && !ended) ended = 'stopString';
          if (ended) local.abort();
        },
      });
      if (!ended) keep(matcher.flush());
      const stopReason = ended ?? stopReasonOf(r, false);
      return { text, stopReason, stats: statsOf(r, performance.now() - started, pieces) };
    } catch (e) {
      // Stopped here (enough text, a stop text) or by the outer signal (cancelled, time budget):
      // what arrived so far is the answer, as with the local engine.
      if (local.signal.aborted) {
        const partial: RemoteResult = { text, finishReason: null, usage: null };
        return { text, stopReason: ended ?? 'aborted', stats: statsOf(partial, performance.now() - started, pieces) };
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
