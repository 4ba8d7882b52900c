// Runs normalized requests on the engine the way the language server does: one EngineScheduler
// decides who uses the model next (a completion takes it for its whole request, a chat one step
// at a time, so completions go first and a chat resumes after them), and the SlotPool keeps each
// client's KV between requests so a follow-up shares its prefix instead of recomputing it.
//
// Chat prompts take their control tokens from the chat template only: message contents are
// encoded as plain text (encodeChatPrompt, as the language server does), so a message holding
// "<|im_end|>" cannot end its turn. A legacy completion's prompt is the client's raw model input,
// so there <|im_start|> and the FIM markers are control tokens (as llama-server parses them).
// Either is checked against the context before anything runs.
import type { GenerateResult, Model } from '../engine/api';
import { encodeChatPrompt } from '../engine/chat-prompt-tokens';
import { renderChatPrompt } from '../engine/chat-template';
import { generate } from '../engine/generate';
import { SlotPool } from '../server/cache/slot-pool';
import { EngineScheduler } from '../server/scheduler/engine-scheduler';
import { ScheduledSequence } from '../server/scheduler/scheduled-sequence';
import { defaultSettings } from '../server/settings';
import { ApiError } from './errors';
import { KvReservations } from './kv-reservations';
import type { GenerationRequest } from './protocol';

export interface RunOutput {
  result: GenerateResult;
  promptTokens: number;
}

export interface PreparedRequest {
  tokens: number[];
  maxTokens: number;
}

export interface EngineRunnerOptions {
  /** The most tokens one request may ask to generate (default: the context size). */
  maxTokens?: number;
  /** Completion slots kept for prefix reuse (the language server's default: 4). */
  completionSlots?: number;
}

/** What the runner holds, for tests and the load benchmark. */
export interface RunnerStats {
  running: number;
  waitingForRoom: number;
  schedulerBusy: boolean;
  schedulerWaiting: number;
  slots: Array<{ id: number; kind: string; tokens: number; busy: boolean }>;
  kvUsedTokens: number;
  kvCapacity: number;
}

export class EngineRunner {
  /** The language server's defaults: a waiting chat gets a turn after that many completions or 2 s. */
  readonly scheduler = new EngineScheduler({ chatTurnAfter: defaultSettings.tuning.chatTurnAfterCompletions, maxChatWaitMs: 2000 });
  readonly pool: SlotPool;
  private readonly reservations: KvReservations;
  readonly maxTokens: number;

  constructor(
    readonly model: Model,
    opts: EngineRunnerOptions = {},
  ) {
    this.pool = new SlotPool(model, opts.completionSlots ?? 4);
    this.reservations = new KvReservations(this.pool);
    this.maxTokens = opts.maxTokens ?? model.info.contextSize;
  }

  /** The prompt's tokens: a completion's raw prompt, or the chat rendered with its template. */
  promptTokens(req: GenerationRequest): number[] {
    if (req.kind === 'completion') return this.model.tokenizer.encode(req.prompt, { special: true });
    try {
      return encodeChatPrompt(this.model.tokenizer, renderChatPrompt, this.model.chatTemplate, req.messages);
    } catch (e) {
      // The messages passed validation, so a failure here is the template refusing them.
      throw new ApiError(400, (e as Error).message, 'invalid_request_error', 'messages');
    }
  }

  /** Tokenizes and checks the limits: 413 when the prompt cannot fit, 400 for too large a max_tokens. */
  prepare(req: GenerationRequest): PreparedRequest {
    if (req.maxTokens !== undefined && req.maxTokens > this.maxTokens) {
      throw new ApiError(
        400,
        `max_tokens is ${req.maxTokens}, but this server generates at most ${this.maxTokens} tokens per request (--max-tokens)`,
        'invalid_request_error',
        'max_tokens',
      );
    }
    const tokens = this.promptTokens(req);
    if (tokens.length === 0) throw new ApiError(400, 'the prompt encodes to no tokens', 'invalid_request_error', 'prompt');
    const context = this.model.info.contextSize;
    // At least one token of room is needed to generate anything.
    if (tokens.length >= context) {
      throw new ApiError(
        413,
        `the prompt has ${tokens.length} tokens, but the model's context holds ${context} (and needs room for the reply)`,
        'context_length_exceeded',
        req.kind === 'chat' ? 'messages' : 'prompt',
      );
    }
    const room = context - tokens.length;
    // OpenAI's defaults: 16 tokens for legacy completions, "as much as fits" for chat.
    const requested = req.maxTokens ?? (req.kind === 'completion' ? 16 : this.maxTokens);
    return { tokens, maxTokens: Math.min(requested, room) };
  }

  /**
   * Generates for a prepared request on a slot of `client`, waiting for KV room and for the
   * engine as the scheduler says. `signal` stops it (while waiting, or between tokens).
   */
  async run(req: GenerationRequest, prepared: PreparedRequest, client: string, signal: AbortSignal, onText?: (text: string) => void): Promise<RunOutput> {
    const { slot, limit } = await this.reservations.reserve(req.kind, client, prepared.tokens, prepared.tokens.length + prepared.maxTokens, signal);
    let failed = true;
    try {
      const opts = {
        maxTokens: Math.min(prepared.maxTokens, limit - prepared.tokens.length),
        sampling: { temperature: req.temperature, topP: req.topP, seed: req.seed },
        stopStrings: req.stop,
        signal,
        onText: onText ? (text: string): void => onText(text) : undefined,
      };
      const result =
        req.kind === 'completion'
          ? await this.scheduler.withLease('completion', signal, () => generate(this.model, slot.seq, prepared.tokens, opts))
          : await generate(this.model, new ScheduledSequence(slot.seq, this.scheduler, 'chat'), prepared.tokens, opts);
      failed = false;
      return { result, promptTokens: prepared.tokens.length };
    } catch (e) {
      // Cancelled while waiting for the engine: the cache is as the last request left it.
      if (signal.aborted) failed = false;
      throw e;
    } finally {
      this.reservations.release(slot, failed);
    }
  }

  stats(): RunnerStats {
    const kv = this.model.kvUsage();
    return {
      running: this.reservations.runningCount,
      waitingForRoom: this.reservations.waitingCount,
      schedulerBusy: this.scheduler.busy,
      schedulerWaiting: this.scheduler.waitingCount,
      slots: this.pool.all.map((s) => ({ id: s.id, kind: s.kind, tokens: s.seq.tokens.length, busy: s.busy })),
      kvUsedTokens: kv.used,
      kvCapacity: kv.capacity,
    };
  }

  /** Frees the KV of every slot no request uses; returns how many went. */
  dropIdleCaches(): number {
    return this.pool.evictIdle();
  }

  /** Fails whatever still waits and frees every slot; call once no request runs any more. */
  dispose(): void {
    const closing = new Error('the server is shutting down');
    this.reservations.failWaiting(closing);
    this.scheduler.failWaiting(closing);
    this.pool.disposeAll();
  }
}
