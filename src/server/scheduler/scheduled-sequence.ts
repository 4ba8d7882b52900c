// A Sequence that asks the scheduler for the engine before every eval, so a long chat can be
// paused between steps. The engine's generate() drives it like any Sequence: each decoded token
// is one eval (one lease), and a long prompt is split into chunks of `chunkTokens` (one lease
// each, logits only for the last), so even a chat prefill makes a waiting completion wait for
// at most one chunk.
import type { LogitsMode, SamplingOptions, Sequence } from '../../engine/api';
import type { EngineScheduler, JobPriority } from './engine-scheduler';

export class ScheduledSequence implements Sequence {
  /**
   * A truncate asked for outside the lease, applied once the lease is held. Truncating the engine's
   * sequence while another job evaluates would only be queued natively, and a request cancelled
   * before its next eval would leave the KV cells held while `tokens` claimed them freed, so the
   * slot pool's budget would undercount. Until applied, `tokens` shows the truncated view and the
   * inner sequence keeps the truth.
   */
  private pendingTruncate: number | null = null;

  constructor(
    private readonly inner: Sequence,
    private readonly scheduler: EngineScheduler,
    private readonly priority: JobPriority,
    private readonly chunkTokens = 64,
  ) {}

  get id(): number {
    return this.inner.id;
  }

  get tokens(): readonly number[] {
    const all = this.inner.tokens;
    return this.pendingTruncate !== null && this.pendingTruncate < all.length ? all.slice(0, this.pendingTruncate) : all;
  }

  truncate(n: number): void {
    this.pendingTruncate = this.pendingTruncate === null ? n : Math.min(this.pendingTruncate, n);
  }

  async eval(tokens: readonly number[], opts: { logits?: LogitsMode; signal?: AbortSignal } = {}): Promise<Float32Array | null> {
    const mode = opts.logits ?? 'last';
    // 'all' needs one contiguous result; only the chunked path can split the work.
    if (mode === 'all' || tokens.length <= this.chunkTokens) return this.step(tokens, mode, opts.signal);
    let result: Float32Array | null = null;
    for (let start = 0; start < tokens.length; start += this.chunkTokens) {
      const chunk = tokens.slice(start, start + this.chunkTokens);
      const last = start + this.chunkTokens >= tokens.length;
      result = await this.step(chunk, last ? mode : 'none', opts.signal);
    }
    return result;
  }

  sample(opts: SamplingOptions, recentTokens?: readonly number[]): number {
    return this.inner.sample(opts, recentTokens);
  }

  dispose(): void {
    this.inner.dispose();
  }

  private async step(tokens: readonly number[], logits: LogitsMode, signal?: AbortSignal): Promise<Float32Array | null> {
    const lease = await this.scheduler.acquire(this.priority, signal);
    try {
      if (this.pendingTruncate !== null) {
        this.inner.truncate(this.pendingTruncate);
        this.pendingTruncate = null;
      }
      return await this.inner.eval(tokens, { logits, signal });
    } finally {
      // The engine starts its next queued job on a later macrotask, so the caller's synchronous
      // sample() right after this resolves still finds the model idle even if a completion is
      // granted the lease now.
      lease.release();
    }
  }
}
