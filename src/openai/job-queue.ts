// One engine job at a time. The engine runs one sequence per request on a shared KV cache, and the
// CPU is saturated by a single generation anyway, so requests wait their turn in arrival order.
// A request whose client went away while it waited is dropped without ever touching the engine.

function abortError(): Error {
  const e = new Error('the request was cancelled while waiting for the engine');
  e.name = 'AbortError';
  return e;
}

export class JobQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private waiting = 0;
  private running = false;

  /** Jobs queued or running. */
  get depth(): number {
    return this.waiting + (this.running ? 1 : 0);
  }

  /**
   * Runs `job` after every job queued before it has settled. If `signal` aborts before the job
   * starts, the returned promise rejects with an AbortError and the job never runs.
   */
  run<T>(job: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    this.waiting++;
    const result = this.tail.then(async () => {
      this.waiting--;
      if (signal?.aborted) throw abortError();
      this.running = true;
      try {
        return await job();
      } finally {
        this.running = false;
      }
    });
    // The chain continues whether this job succeeded or failed.
    this.tail = result.catch(() => undefined);
    return result;
  }
}
