// Serializes the work a model does on its worker thread. The native model runs one eval at a
// time; rather than making callers coordinate, every eval (and every sequence operation that has
// to wait for the model to be idle) is a job in this FIFO queue.
//
// The next job starts on a later macrotask (setImmediate), never in the same microtask chain as
// the previous job's settlement. That gives the caller awaiting a job the chance to run its
// synchronous follow-up first — generate() samples right after its eval resolves, and sampling
// needs the model idle.

import { abortError } from '../common/abort-error';

interface Job {
  start: () => Promise<void>;
  abort: (err: Error) => void;
}

export class EvalQueue {
  private readonly waiting: Job[] = [];
  private running = false;
  private idleWaiters: Array<() => void> = [];

  /** True while a job runs or waits. */
  get busy(): boolean {
    return this.running || this.waiting.length > 0;
  }

  /**
   * Queues `work`. If `signal` aborts before the job starts, the job is dropped and the promise
   * rejects with an AbortError; once started, `work` itself is responsible for reacting to it.
   */
  run<T>(work: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) return Promise.reject(abortError());
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void => {
        const i = this.waiting.indexOf(job);
        if (i >= 0) {
          this.waiting.splice(i, 1);
          reject(abortError());
          this.notifyIdle();
        }
      };
      const job: Job = {
        start: async () => {
          signal?.removeEventListener('abort', onAbort);
          try {
            resolve(await work());
          } catch (e) {
            reject(e);
          }
        },
        abort: reject,
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(job);
      this.pump();
    });
  }

  /** Resolves once nothing runs or waits. */
  whenIdle(): Promise<void> {
    if (!this.busy) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Rejects every job that has not started yet (used when the model is disposed). */
  rejectWaiting(err: Error): void {
    const jobs = this.waiting.splice(0);
    for (const job of jobs) job.abort(err);
    this.notifyIdle();
  }

  private pump(): void {
    if (this.running) return;
    const job = this.waiting.shift();
    if (!job) {
      this.notifyIdle();
      return;
    }
    this.running = true;
    void job.start().finally(() => {
      setImmediate(() => {
        this.running = false;
        this.pump();
      });
    });
  }

  private notifyIdle(): void {
    if (this.busy) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
