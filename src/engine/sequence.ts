// Sequence (api.ts) over the native model: one token stream with its KV cache entries.
//
// TypeScript keeps `tokens` in step with the native sequence: appended after a successful eval,
// and read back from the native length after a failed or cancelled one (the micro-batches that
// finished stay in the cache). Operations that need the native model idle — creating the native
// sequence, truncating, freeing — run at once when it is idle and otherwise wait in the model's
// queue, so callers never see "busy" errors from those.
import type { LogitsMode, SamplingOptions, Sequence } from './api';
import { abortError } from '../common/abort-error';
import { EvalQueue } from './eval-queue';
import { CANCELLED_CODE, NativeModel } from './native';

/** What a Sequence needs from the model that owns it. */
export interface SequenceHost {
  readonly native: NativeModel;
  readonly queue: EvalQueue;
  readonly nVocab: number;
  readonly contextSize: number;
  /** Called after every native state change so the host can refresh its KV usage snapshot. */
  onStateChange(): void;
  onDispose(seq: SequenceImpl): void;
}

function isCancelled(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: unknown }).code === CANCELLED_CODE;
}

export class SequenceImpl implements Sequence {
  private nativeId: number | null = null;
  private readonly cached: number[] = [];
  /** Native length to cut back to before the next native operation (truncate while busy). */
  private pendingTruncate: number | null = null;
  private disposed = false;
  /** True while this sequence's own eval runs natively. */
  private evaluating = false;

  constructor(
    private readonly host: SequenceHost,
    readonly id: number,
  ) {
    if (!host.native.isBusy()) this.ensureNative();
  }

  get tokens(): readonly number[] {
    return this.cached;
  }

  truncate(n: number): void {
    this.checkOpen('truncate');
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`truncate: length must be a non-negative integer, got ${n}`);
    if (this.evaluating) {
      // The running eval is about to append to both sides; cutting one of them now would leave
      // `tokens` out of step with the cache.
      throw new Error('truncate: an eval of this sequence is still running; await it (or abort it) first');
    }
    if (n >= this.cached.length) return;
    this.cached.length = n;
    this.pendingTruncate = n;
    if (!this.host.native.isBusy()) this.syncNative();
  }

  eval(tokens: readonly number[], opts: { logits?: LogitsMode; signal?: AbortSignal } = {}): Promise<Float32Array | null> {
    try {
      this.checkOpen('eval');
      this.validateTokens(tokens);
    } catch (e) {
      return Promise.reject(e);
    }
    const mode = opts.logits ?? 'last';
    const signal = opts.signal;
    const batch = Int32Array.from(tokens);
    return this.host.queue.run(async () => {
      this.checkOpen('eval');
      if (signal?.aborted) throw abortError();
      const native = this.host.native;
      const seq = this.syncNative();
      const onAbort = (): void => native.cancel(seq);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.evaluating = true;
      try {
        const logits = await native.eval(seq, batch, mode);
        for (const t of tokens) this.cached.push(t);
        return logits;
      } catch (e) {
        // Part of the batch may be in the cache; the native length is the truth.
        this.resyncLength(seq, tokens);
        if (isCancelled(e)) throw abortError('eval aborted');
        throw e;
      } finally {
        this.evaluating = false;
        signal?.removeEventListener('abort', onAbort);
        this.host.onStateChange();
      }
    }, signal);
  }

  sample(opts: SamplingOptions, recentTokens?: readonly number[]): number {
    this.checkOpen('sample');
    if (this.nativeId === null || this.cached.length === 0) {
      throw new Error('sample: the sequence has no evaluated tokens yet');
    }
    let recent: Int32Array | undefined;
    if (recentTokens && recentTokens.length > 0) {
      const window = opts.repeatLastN ?? 64;
      recent = Int32Array.from(window > 0 ? recentTokens.slice(-window) : recentTokens);
    }
    return this.host.native.sample(
      this.nativeId,
      {
        temperature: opts.temperature ?? 0,
        topK: opts.topK ?? 0,
        topP: opts.topP ?? 1,
        minP: opts.minP ?? 0,
        repeatPenalty: opts.repeatPenalty ?? 1,
        seed: opts.seed ?? 0,
      },
      recent,
    );
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.host.onDispose(this);
    const id = this.nativeId;
    if (id === null) return;
    const free = (): void => {
      try {
        this.host.native.freeSequence(id);
      } catch {
        // The model was closed meanwhile, which frees every sequence anyway.
      }
      this.host.onStateChange();
    };
    if (!this.host.native.isBusy()) free();
    else void this.host.queue.run(async () => free()).catch(() => undefined);
  }

  /** Frees the native side without touching the queue (the model is closing). */
  markDisposed(): void {
    this.disposed = true;
  }

  private checkOpen(fn: string): void {
    if (this.disposed) throw new Error(`${fn}: the sequence was disposed`);
  }

  private validateTokens(tokens: readonly number[]): void {
    if (tokens.length === 0) throw new RangeError('eval: no tokens to evaluate');
    const n = this.host.nVocab;
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i];
      if (!Number.isInteger(t) || t < 0 || t >= n) {
        throw new RangeError(`eval: token ${String(t)} at index ${i} is not a token id in [0, ${n})`);
      }
    }
  }

  private ensureNative(): number {
    if (this.nativeId === null) this.nativeId = this.host.native.createSequence();
    return this.nativeId;
  }

  /** Creates the native sequence and applies a deferred truncate; the model must be idle. */
  private syncNative(): number {
    const seq = this.ensureNative();
    if (this.pendingTruncate !== null) {
      const n = this.pendingTruncate;
      this.pendingTruncate = null;
      if (this.host.native.sequenceLength(seq) > n) this.host.native.truncate(seq, n);
      this.host.onStateChange();
    }
    return seq;
  }

  private resyncLength(seq: number, attempted: readonly number[]): void {
    let len: number;
    try {
      len = this.host.native.sequenceLength(seq);
    } catch {
      return;
    }
    const before = this.cached.length;
    for (let i = 0; before + i < len && i < attempted.length; i++) this.cached.push(attempted[i]);
    if (this.cached.length > len) this.cached.length = len;
  }
}
