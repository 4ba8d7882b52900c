// One engine, one job at a time: an exclusive lease on the model, granted by priority.
//
// Completions are latency-critical (the user is waiting with the cursor still), chat is
// throughput work the user reads while it streams. So a completion takes the lease for its whole
// request, while a chat takes it one step at a time (one prefill chunk, or one decoded token) and
// gives it back in between; a completion that arrives meanwhile gets the very next grant, and the
// chat resumes afterwards with its KV intact. To keep chat from starving under a stream of
// keystrokes, a waiting chat is granted a turn after `chatTurnAfter` consecutive completion grants
// or once it has waited `maxChatWaitMs`.
//
// Below both is background work (warming a file's completion cache, finishing a long prompt that a
// request answered from a short window, prefetching the suggestion after an accepted one). It takes
// the lease one micro-batch at a time, and only while no foreground request is active: a chat
// between two of its steps, or a completion waiting for its model, still counts as active, so a
// background job never slips in between them and a real request waits for at most the one
// micro-batch already running.
import { abortError } from './abort';

export type JobPriority = 'completion' | 'chat' | 'background';

export interface Lease {
  /** Gives the engine back; safe to call more than once. */
  release(): void;
}

interface Waiter {
  priority: JobPriority;
  since: number;
  grant: (lease: Lease) => void;
  fail: (err: Error) => void;
}

export interface SchedulerOptions {
  chatTurnAfter: number;
  maxChatWaitMs: number;
}

export interface SchedulerCounters {
  completionGrants: number;
  chatGrants: number;
  /** Times a chat step waited because a completion went first. */
  chatYields: number;
  /** Micro-batches of background work granted. */
  backgroundGrants: number;
}

export class EngineScheduler {
  private holder: Waiter | null = null;
  private readonly waiting: Waiter[] = [];
  private completionsInARow = 0;
  /** Foreground requests (completions, chats) in progress, whether or not they hold the lease. */
  private foreground = 0;
  readonly counters: SchedulerCounters = { completionGrants: 0, chatGrants: 0, chatYields: 0, backgroundGrants: 0 };

  constructor(private options: SchedulerOptions) {}

  configure(options: SchedulerOptions): void {
    this.options = options;
  }

  get busy(): boolean {
    return this.holder !== null;
  }

  /** True while a completion or chat request is in progress (background work waits). */
  get foregroundActive(): boolean {
    return this.foreground > 0;
  }

  /**
   * Marks a foreground request as in progress until the returned function is called (once; later
   * calls do nothing). Background work is not granted the lease meanwhile.
   */
  beginForeground(): () => void {
    this.foreground++;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.foreground--;
      this.pump();
    };
  }

  /** Runs `work` as a foreground request (see beginForeground). */
  async whileForeground<T>(work: () => Promise<T>): Promise<T> {
    const end = this.beginForeground();
    try {
      return await work();
    } finally {
      end();
    }
  }

  /** Jobs waiting for the lease. */
  get waitingCount(): number {
    return this.waiting.length;
  }

  /** Waits for the lease; rejects with an AbortError if `signal` fires first. */
  acquire(priority: JobPriority, signal?: AbortSignal): Promise<Lease> {
    if (signal?.aborted) return Promise.reject(abortError());
    return new Promise<Lease>((resolve, reject) => {
      const onAbort = (): void => {
        const i = this.waiting.indexOf(waiter);
        if (i >= 0) {
          this.waiting.splice(i, 1);
          reject(abortError());
        }
      };
      const waiter: Waiter = {
        priority,
        since: Date.now(),
        grant: (lease) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(lease);
        },
        fail: reject,
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(waiter);
      this.pump();
    });
  }

  /** Runs `work` while holding the lease. */
  async withLease<T>(priority: JobPriority, signal: AbortSignal | undefined, work: () => Promise<T>): Promise<T> {
    const lease = await this.acquire(priority, signal);
    try {
      return await work();
    } finally {
      lease.release();
    }
  }

  /** Rejects everything that waits (the model is going away). */
  failWaiting(err: Error): void {
    for (const w of this.waiting.splice(0)) w.fail(err);
  }

  private pickNext(): Waiter | undefined {
    const firstCompletion = this.waiting.findIndex((w) => w.priority === 'completion');
    const firstChat = this.waiting.findIndex((w) => w.priority === 'chat');
    if (firstCompletion < 0 && firstChat < 0) {
      const firstBackground = this.waiting.findIndex((w) => w.priority === 'background');
      return firstBackground >= 0 && this.foreground === 0 ? this.waiting.splice(firstBackground, 1)[0] : undefined;
    }
    if (firstCompletion < 0) return this.waiting.splice(firstChat, 1)[0];
    if (firstChat >= 0) {
      const chat = this.waiting[firstChat];
      const starved = this.completionsInARow >= this.options.chatTurnAfter || Date.now() - chat.since >= this.options.maxChatWaitMs;
      if (starved) return this.waiting.splice(firstChat, 1)[0];
      this.counters.chatYields++;
    }
    return this.waiting.splice(firstCompletion, 1)[0];
  }

  private pump(): void {
    if (this.holder) return;
    const next = this.pickNext();
    if (!next) return;
    const chatWaiting = this.waiting.some((w) => w.priority === 'chat');
    if (next.priority === 'background') {
      this.counters.backgroundGrants++;
    } else if (next.priority === 'completion') {
      this.counters.completionGrants++;
      // Only completions that overtook a waiting chat count towards its guaranteed turn.
      this.completionsInARow = chatWaiting ? this.completionsInARow + 1 : 0;
    } else {
      this.counters.chatGrants++;
      this.completionsInARow = 0;
    }
    this.holder = next;
    let released = false;
    next.grant({
      release: () => {
        if (released) return;
        released = true;
        this.holder = null;
        this.pump();
      },
    });
  }
}
