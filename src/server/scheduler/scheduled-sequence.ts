// A Sequence that asks the scheduler for the engine before every eval, so a long chat can be
// paused between steps. The engine's generate() drives it like any Sequence: each decoded token
// is one eval (one lease), and a long prompt is split into chunks of `chunkTokens` (one lease
// each, logits only for the last), so even a chat prefill makes a waiting completion wait for
// at most one chunk.
import type { LogitsMode, SamplingOptions, Sequence } from '../../engine/api';
import type { EngineScheduler, JobPriority } from './engine-scheduler';

export class ScheduledSequence implements Sequence {
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
    return this.inner.tokens;
  }

  truncate(n: number): void {
    this.inner.truncate(n);
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
      return await this.inner.eval(tokens, { logits, signal });
    } finally {
      // The engine starts its next queued job on a later macrotask, so the caller's synchronous
      // sample() right after this resolves still finds the model idle even if a completion is
      // granted the lease now.
      lease.release();
    }
  }
}
