// How many generation requests the HTTP server holds at once, running or waiting for the engine.
// One engine serves them one step at a time, so a longer line only makes everyone wait longer
// and holds memory for their bodies and prompts; past the limit a request is refused at once with
// 429 and a Retry-After estimate, which OpenAI client libraries honour when they retry.
import { ApiError } from './errors';

/** Used for Retry-After before any request has finished. */
const FIRST_ESTIMATE_MS = 2000;

export class RequestAdmission {
  private pending = 0;
  /** Moving average of how long admitted requests took, for Retry-After. */
  private averageMs = FIRST_ESTIMATE_MS;

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`the request limit must be a positive integer, got ${limit}`);
  }

  /** Requests admitted and not yet finished. */
  get count(): number {
    return this.pending;
  }

  /**
   * Admits one request, or throws 429 when `limit` are already held. Call the returned function
   * once when the request has ended, however it ended.
   */
  enter(): () => void {
    if (this.pending >= this.limit) {
      // Roughly when the next held request will have finished.
      const seconds = Math.min(60, Math.max(1, Math.ceil(this.averageMs / 1000)));
      throw new ApiError(
        429,
        `the server is busy: ${this.pending} requests are already running or waiting (its limit, --max-queue, is ${this.limit}); retry in about ${seconds} s`,
        'rate_limit_error',
        null,
        { code: 'queue_full', headers: { 'retry-after': String(seconds) } },
      );
    }
    this.pending++;
    const started = performance.now();
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.pending--;
      this.averageMs = 0.8 * this.averageMs + 0.2 * (performance.now() - started);
    };
  }
}
