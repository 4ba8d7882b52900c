// KV room for HTTP requests, on the language server's SlotPool. Each request gets a slot of its
// client (so a client's next request reuses the prefix its last one left in the cache) and
// reserves its prompt plus reply before it runs. Unlike the editor, an HTTP server sees many
// requests at once: one that does not fit while others run waits for them to finish, instead of
// failing or being cut short, and holds nothing while it waits (so two waiting requests can
// never wait on each other). Waiting requests are let in in order, completions before chats, and
// a later request never overtakes an earlier one that is still waiting.
import { commonPrefixLength } from '../engine/generate';
import type { Slot, SlotPool } from '../server/cache/slot-pool';
import { abortError } from '../common/abort-error';
import { ApiError } from './errors';

export type RequestKind = 'completion' | 'chat';

export interface Reservation {
  slot: Slot;
  /** The most tokens (prompt + reply) the slot may hold. */
  limit: number;
}

interface Waiter {
  kind: RequestKind;
  /** Tries to reserve; true when the waiter is done (reserved or failed). */
  attempt(): boolean;
  fail(err: Error): void;
}

export class KvReservations {
  private running = 0;
  private readonly waiters: Waiter[] = [];
  private chatKeys = 0;

  constructor(private readonly pool: SlotPool) {}

  /** Requests holding a reservation (running or about to). */
  get runningCount(): number {
    return this.running;
  }

  /** Requests waiting for KV room. */
  get waitingCount(): number {
    return this.waiters.length;
  }

  /**
   * A slot for `client` with room for `prompt` and up to `total` tokens. Resolves with less than
   * `total` only when nothing else runs (the context itself is smaller); rejects with 413 when not
   * even the prompt fits then, and with an AbortError when `signal` fires while waiting.
   */
  reserve(kind: RequestKind, client: string, prompt: readonly number[], total: number, signal: AbortSignal): Promise<Reservation> {
    if (signal.aborted) return Promise.reject(abortError());
    return new Promise<Reservation>((resolve, reject) => {
      const leave = (): void => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        signal.removeEventListener('abort', onAbort);
      };
      const waiter: Waiter = {
        kind,
        attempt: () => {
          let got: Reservation | null;
          try {
            got = this.tryReserve(kind, client, prompt, total);
          } catch (e) {
            waiter.fail(e as Error);
            return true;
          }
          if (!got) return false;
          leave();
          resolve(got);
          return true;
        },
        fail: (err) => {
          leave();
          reject(err);
        },
      };
      const onAbort = (): void => {
        waiter.fail(abortError());
        // The head leaving may let the next one in.
        this.admitWaiting();
      };
      // Completions go ahead of waiting chats; otherwise first come, first served.
      const at = kind === 'completion' ? this.waiters.findIndex((w) => w.kind === 'chat') : -1;
      this.waiters.splice(at < 0 ? this.waiters.length : at, 0, waiter);
      signal.addEventListener('abort', onAbort, { once: true });
      this.admitWaiting();
    });
  }

  /** Ends a reservation: the slot keeps its KV for the client's next request, unless it failed. */
  release(slot: Slot, failed: boolean): void {
    this.running--;
    this.pool.setBusy(slot, false);
    // A failed generation may leave the cache in any state; an empty slot is not worth keeping.
    if (failed || slot.seq.tokens.length === 0) this.pool.evict(slot);
    this.admitWaiting();
  }

  /** Rejects every waiting request (the server is closing). */
  failWaiting(err: Error): void {
    for (const w of this.waiters.slice()) w.fail(err);
  }

  /** Lets waiting requests in, in order, until one does not fit. */
  private admitWaiting(): void {
    while (this.waiters.length > 0 && this.waiters[0].attempt()) {
      // The head got in (or failed for good); the next may fit too.
    }
  }

  private tryReserve(kind: RequestKind, client: string, prompt: readonly number[], total: number): Reservation | null {
    const slot = kind === 'completion' ? this.pool.pickCompletionSlot(client, prompt, true).slot : this.chatSlot(client, prompt);
    this.pool.setBusy(slot, true);
    const limit = this.pool.makeRoom(slot, total);
    if (limit >= total || (this.running === 0 && limit > prompt.length)) {
      this.running++;
      return { slot, limit };
    }
    // Not now: hold nothing while waiting.
    this.pool.setBusy(slot, false);
    if (slot.seq.tokens.length === 0) this.pool.evict(slot);
    if (this.running > 0) return null;
    throw new ApiError(
      413,
      `the prompt has ${prompt.length} tokens and the KV cache has room for ${limit}; there is no room for a reply`,
      'context_length_exceeded',
      kind === 'chat' ? 'messages' : 'prompt',
    );
  }

  /** The client's idle chat slot sharing the most with `prompt`, or a new one. */
  private chatSlot(client: string, prompt: readonly number[]): Slot {
    const own = this.pool.all.filter((s) => s.kind === 'chat' && !s.busy && s.key.slice(0, s.key.lastIndexOf('#')) === client);
    let best: Slot | null = null;
    let bestShared = -1;
    for (const s of own) {
      const shared = commonPrefixLength(s.seq.tokens, prompt);
      if (shared > bestShared) {
        best = s;
        bestShared = shared;
      }
    }
    return this.pool.chatSlot(best ? best.key : `${client}#${++this.chatKeys}`);
  }
}
