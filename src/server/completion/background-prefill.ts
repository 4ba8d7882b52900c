// Prefills completion prompts in the background, at the lowest priority: the prompt of a file
// that was just opened or focused (or where the cursor jumped), and the full prompt of a request
// that had to answer from a short window. Each job fills one completion slot, keyed like the
// requests that will use it, so the next request at that cursor finds all but its last few tokens
// cached.
//
// A job takes the engine one micro-batch at a time (EngineScheduler's 'background' priority, which
// waits while any completion or chat is in progress), so a real request waits for at most the
// micro-batch already running. Rules:
//  - a newer job for the same key replaces the older one (which stops; what it filled stays);
//  - a real request for the key stops the job first (preempt), and waits until the job has let
//    go of the slot, so the request finds the slot idle with what the job filled;
//  - a job uses only idle slots and makes room only by evicting idle slots (SlotPool.makeRoom),
//    never one a request is using; when there is no room it gives up.
import { commonPrefixLength } from '../../engine/generate';
import type { LoadedModel } from '../model-host';
import { abortError, isAbortError } from '../scheduler/abort';
import type { EngineScheduler } from '../scheduler/engine-scheduler';
import type { PrefillRate } from './prefill-rate';

export type FillKind = 'warmup' | 'longFill';

export interface FillRequest {
  /** Slot key: the document uri (or the short window's key). */
  key: string;
  /** The whole prompt; all but its last token are prefilled (a request evaluates that one itself). */
  tokens: readonly number[];
  /** Tokens to keep free after the prompt (the reply the next request will generate). */
  reserve: number;
  kind: FillKind;
}

export interface BackgroundCounters {
  warmups: number;
  warmupTokens: number;
  longFills: number;
  longFillTokens: number;
  superseded: number;
  preempted: number;
  completed: number;
}

interface Job {
  request: FillRequest;
  controller: AbortController;
  /** Why the job was stopped, if it was. */
  stoppedFor: 'superseded' | 'preempted' | null;
  /** Settles when the job no longer touches its slot. */
  done: Promise<void>;
}

export interface BackgroundPrefillDeps {
  scheduler: EngineScheduler;
  rate: PrefillRate;
  /** Tokens per micro-batch: the most a real request waits for. */
  microBatch: number;
  log?: (message: string) => void;
}

export class BackgroundPrefill {
  private readonly jobs = new Map<string, Job>();
  readonly counters: BackgroundCounters = { warmups: 0, warmupTokens: 0, longFills: 0, longFillTokens: 0, superseded: 0, preempted: 0, completed: 0 };

  constructor(private readonly deps: BackgroundPrefillDeps) {}

  /** Keys with a job running or waiting for the engine. */
  get pendingKeys(): string[] {
    return [...this.jobs.keys()];
  }

  /** Starts filling `request.key`'s slot, replacing any job for that key. Resolves when the job ends. */
  start(loaded: LoadedModel, request: FillRequest): Promise<void> {
    const old = this.jobs.get(request.key);
    if (old) this.stop(old, 'superseded');
    if (request.kind === 'warmup') this.counters.warmups++;
    else this.counters.longFills++;
    const controller = new AbortController();
    const job: Job = { request, controller, stoppedFor: null, done: Promise.resolve() };
    job.done = this.run(loaded, job)
      .catch((e: unknown) => {
        // A stopped job and a model going away end it quietly; anything else is worth a log line.
        if (!isAbortError(e) && !controller.signal.aborted) this.deps.log?.(`background prefill of ${request.key} failed: ${String(e)}`);
      })
      .finally(() => {
        if (this.jobs.get(request.key) === job) this.jobs.delete(request.key);
      });
    this.jobs.set(request.key, job);
    return job.done;
  }

  /**
   * A real request for `key` arrived: stops its job, if any, and resolves once the job has let go
   * of the slot (at most the micro-batch in flight).
   */
  preempt(key: string): Promise<void> {
    const job = this.jobs.get(key);
    if (!job) return Promise.resolve();
    this.stop(job, 'preempted');
    return job.done;
  }

  /** Stops every job (the model is going away, or warm-up was turned off). */
  stopAll(): void {
    for (const job of this.jobs.values()) this.stop(job, 'preempted');
  }

  private stop(job: Job, why: 'superseded' | 'preempted'): void {
    if (job.stoppedFor) return;
    job.stoppedFor = why;
    this.counters[why]++;
    this.jobs.delete(job.request.key);
    job.controller.abort();
  }

  private async run(loaded: LoadedModel, job: Job): Promise<void> {
    const { pool } = loaded;
    const { key, tokens, reserve, kind } = job.request;
    const signal = job.controller.signal;
    const target = tokens.length - 1;
    for (;;) {
      const lease = await this.deps.scheduler.acquire('background', signal);
      try {
        if (signal.aborted) throw abortError();
        // A request is using this key's slot: it owns the slot now.
        if (pool.all.some((s) => s.kind === 'completion' && s.key === key && s.busy)) return;
        // Picked again for every micro-batch: between two of them a request may have used, moved
        // or evicted the slot.
        const { slot } = pool.pickCompletionSlot(key, tokens, true);
        const shared = commonPrefixLength(slot.seq.tokens, tokens);
        if (shared >= target) {
          this.counters.completed++;
          return;
        }
        // Room for the prompt and the reply, taken only from idle slots; none means give up
        // rather than squeeze a request that runs later.
        const limit = pool.makeRoom(slot, tokens.length + reserve);
        if (limit < tokens.length + reserve) return;
        const batch = tokens.slice(shared, Math.min(target, shared + this.deps.microBatch));
        pool.setBusy(slot, true);
        try {
          slot.seq.truncate(shared);
          const t0 = performance.now();
          await slot.seq.eval(batch, { logits: 'none', signal });
          this.deps.rate.record(batch.length, performance.now() - t0);
          if (kind === 'warmup') this.counters.warmupTokens += batch.length;
          else this.counters.longFillTokens += batch.length;
        } finally {
          pool.setBusy(slot, false);
        }
      } finally {
        lease.release();
      }
    }
  }
}
