// The engine's recent prefill speed, so a completion can tell before it starts whether its prompt
// can be prefilled within the time budget. Measured on every prefill micro-batch the server runs
// (requests and background fills alike), smoothed so one slow batch under load does not swing it.

/** Batches shorter than this say more about per-call overhead than about throughput. */
const MIN_TOKENS = 8;
/** Weight of the newest measurement. */
const SMOOTHING = 0.3;

export class PrefillRate {
  private tokensPerMs: number | null = null;

  /** Records one prefill batch of `tokens` that took `ms`. */
  record(tokens: number, ms: number): void {
    if (tokens < MIN_TOKENS || !(ms > 0)) return;
    const rate = tokens / ms;
    this.tokensPerMs = this.tokensPerMs === null ? rate : (1 - SMOOTHING) * this.tokensPerMs + SMOOTHING * rate;
  }

  /** Tokens per second, or null before the first measurement. */
  get tokensPerSecond(): number | null {
    return this.tokensPerMs === null ? null : this.tokensPerMs * 1000;
  }

  /** Estimated milliseconds to prefill `tokens`, or null before the first measurement. */
  msFor(tokens: number): number | null {
    return this.tokensPerMs === null ? null : tokens / this.tokensPerMs;
  }

  /** Forgets the measurements (another model was loaded). */
  reset(): void {
    this.tokensPerMs = null;
  }
}
