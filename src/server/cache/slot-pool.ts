// KV slots: engine Sequences kept between requests so each request evaluates only the tokens after
// the longest prefix it shares with what a slot already holds.
//
// Completion slots are picked by that shared prefix (so they end up one per document, and
// switching files finds each file's cache intact); chat slots belong to one conversation. All
// slots share one KV budget (the model's context): before a request runs, least recently used
// idle slots are evicted until its prompt and output fit.
import type { Model, Sequence } from '../../engine/api';
import { commonPrefixLength } from '../../engine/generate';

export type SlotKind = 'completion' | 'chat';

export interface Slot {
  readonly id: number;
  readonly kind: SlotKind;
  /** Document uri (completion) or session id (chat) that last used the slot. */
  key: string;
  readonly seq: Sequence;
  lastUsed: number;
  busy: boolean;
  /**
   * While busy: the length the running request may grow the slot to (set by makeRoom). Other
   * requests count it as taken, so two requests running interleaved never both plan on the same
   * free blocks.
   */
  reserved: number;
}

export interface SlotPick {
  slot: Slot;
  /** Prompt tokens already in the slot's cache. */
  sharedTokens: number;
}

export class SlotPool {
  private readonly slots: Slot[] = [];
  private nextId = 1;
  private clock = 0;
  evictions = 0;

  constructor(
    private readonly model: Model,
    private maxCompletionSlots: number,
  ) {}

  setMaxCompletionSlots(n: number): void {
    this.maxCompletionSlots = Math.max(1, n);
  }

  get all(): readonly Slot[] {
    return this.slots;
  }

  /**
   * The completion slot for `prompt` in document `docKey`: the document's own slot when it has an
   * idle one (switching files finds each file's cache intact); else a new slot while there are
   * fewer than the limit; else the least recently used idle slot, which is overwritten. Another
   * document's slot is never taken while it is not the least recent, even when it shares the
   * repo-level header: stealing it would cost that file its whole cache on the next switch.
   */
  pickCompletionSlot(docKey: string, prompt: readonly number[], reuse: boolean): SlotPick {
    const idle = this.slots.filter((s) => s.kind === 'completion' && !s.busy);
    const own = idle.filter((s) => s.key === docKey);
    let slot: Slot;
    if (own.length > 0) slot = this.mostShared(own, prompt);
    else if (this.count('completion') < this.maxCompletionSlots || idle.length === 0) slot = this.create('completion', docKey);
    else slot = this.leastRecent(idle);
    const sharedTokens = reuse ? commonPrefixLength(slot.seq.tokens, prompt) : 0;
    return this.touch({ slot, sharedTokens }, docKey);
  }

  /** The chat slot of a conversation, created on first use. */
  chatSlot(sessionId: string): Slot {
    const found = this.slots.find((s) => s.kind === 'chat' && s.key === sessionId);
    const slot = found ?? this.create('chat', sessionId);
    slot.lastUsed = ++this.clock;
    return slot;
  }

  /**
   * Evicts least recently used idle slots (other than `keep`) until `keep` can grow to `total`
   * tokens. Returns the most tokens `keep` may hold afterwards: at least `total` when it fits,
   * less when busy slots hold the rest. Counted in whole KV blocks, as the engine allocates them.
   */
  makeRoom(keep: Slot, total: number): number {
    // The engine's cache hands out whole blocks per sequence, so a budget counted in tokens alone
    // would overcommit.
    const { capacity, blockTokens } = this.model.kvUsage();
    const blocksFor = (tokens: number): number => Math.ceil(tokens / blockTokens);
    const capacityBlocks = Math.floor(capacity / blockTokens);
    const held = (s: Slot): number => blocksFor(Math.max(s.seq.tokens.length, s.busy ? s.reserved : 0));
    const freeBlocks = (): number => capacityBlocks - this.slots.reduce((n, s) => (s === keep ? n : n + held(s)), 0);
    while (blocksFor(total) > freeBlocks()) {
      const victims = this.slots.filter((s) => s !== keep && !s.busy && s.seq.tokens.length > 0);
      if (victims.length === 0) break;
      this.evict(this.leastRecent(victims));
    }
    const limit = Math.max(0, freeBlocks()) * blockTokens;
    keep.reserved = Math.min(total, limit);
    return limit;
  }

  /** Marks a slot in use by a request, or free again (its reservation ends). */
  setBusy(slot: Slot, busy: boolean): void {
    slot.busy = busy;
    slot.reserved = 0;
  }

  /** Drops a slot and frees its KV. */
  evict(slot: Slot): void {
    const i = this.slots.indexOf(slot);
    if (i < 0) return;
    this.slots.splice(i, 1);
    this.evictions++;
    slot.seq.dispose();
  }

  /** Evicts every slot that no request is using; returns how many went. */
  evictIdle(): number {
    const idle = this.slots.filter((s) => !s.busy);
    for (const s of idle) this.evict(s);
    return idle.length;
  }

  /** Drops the chat slot of a conversation (the client started over). */
  dropChat(sessionId: string): void {
    const slot = this.slots.find((s) => s.kind === 'chat' && s.key === sessionId && !s.busy);
    if (slot) this.evict(slot);
  }

  disposeAll(): void {
    for (const s of this.slots.splice(0)) {
      try {
        s.seq.dispose();
      } catch {
        // The model is going away; its sequences go with it.
      }
    }
  }

  /** The slot sharing the longest prefix with `prompt` (ties: the most recent). */
  private mostShared(slots: Slot[], prompt: readonly number[]): Slot {
    let best = slots[0];
    let bestShared = commonPrefixLength(best.seq.tokens, prompt);
    for (const s of slots.slice(1)) {
      const shared = commonPrefixLength(s.seq.tokens, prompt);
      if (shared > bestShared || (shared === bestShared && s.lastUsed > best.lastUsed)) {
        best = s;
        bestShared = shared;
      }
    }
    return best;
  }

  private count(kind: SlotKind): number {
    return this.slots.filter((s) => s.kind === kind).length;
  }

  private leastRecent(slots: Slot[]): Slot {
    return slots.reduce((a, b) => (b.lastUsed < a.lastUsed ? b : a));
  }

  private create(kind: SlotKind, key: string): Slot {
    const slot: Slot = { id: this.nextId++, kind, key, seq: this.model.createSequence(), lastUsed: ++this.clock, busy: false, reserved: 0 };
    this.slots.push(slot);
    return slot;
  }

  private touch(pick: SlotPick, key: string): SlotPick {
    pick.slot.key = key;
    pick.slot.lastUsed = ++this.clock;
    return pick;
  }
}
