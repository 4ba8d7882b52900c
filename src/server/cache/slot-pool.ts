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
}

export interface SlotPick {
  slot: Slot;
  /** Prompt tokens already in the slot's cache. */
  sharedTokens: number;
}

/** A shared prefix worth keeping a slot for: at least this many tokens, or half the prompt. */
const MIN_USEFUL_SHARE = 32;

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

  /** Tokens held by all slots (our own count; the engine's snapshot can lag during an eval). */
  usedTokens(): number {
    return this.slots.reduce((n, s) => n + s.seq.tokens.length, 0);
  }

  /**
   * The completion slot for `prompt`: the idle one sharing the longest prefix (ties go to the
   * slot of the same document, then the most recent); a new slot when none shares much and there
   * is room for one; otherwise the least recently used idle slot, which will be overwritten.
   */
  pickCompletionSlot(docKey: string, prompt: readonly number[], reuse: boolean): SlotPick {
    const idle = this.slots.filter((s) => s.kind === 'completion' && !s.busy);
    let best: SlotPick | undefined;
    for (const slot of idle) {
      const shared = reuse ? commonPrefixLength(slot.seq.tokens, prompt) : 0;
      if (
        !best ||
        shared > best.sharedTokens ||
        (shared === best.sharedTokens && this.better(slot, best.slot, docKey))
      ) {
        best = { slot, sharedTokens: shared };
      }
    }
    const useful = best && (best.sharedTokens >= MIN_USEFUL_SHARE || best.sharedTokens * 2 >= prompt.length);
    let pick: SlotPick;
    if (best && useful) pick = best;
    else if (this.count('completion') < this.maxCompletionSlots) pick = { slot: this.create('completion', docKey), sharedTokens: 0 };
    else if (best) pick = { slot: this.leastRecent(idle), sharedTokens: 0 };
    else pick = { slot: this.create('completion', docKey), sharedTokens: 0 }; // every slot busy
    if (!useful && reuse) pick.sharedTokens = commonPrefixLength(pick.slot.seq.tokens, prompt);
    return this.touch(pick, docKey);
  }

  /** The chat slot of a conversation, created on first use. */
  chatSlot(sessionId: string): Slot {
    const found = this.slots.find((s) => s.kind === 'chat' && s.key === sessionId);
    const slot = found ?? this.create('chat', sessionId);
    slot.lastUsed = ++this.clock;
    return slot;
  }

  /**
   * Evicts least recently used idle slots (other than `keep`) until `needed` more tokens fit
   * next to what `keep` retains. Returns false when they cannot fit even with every other idle
   * slot gone.
   */
  makeRoom(keep: Slot, keepTokens: number, needed: number): boolean {
    const capacity = this.model.kvUsage().capacity;
    const fits = (): boolean => this.usedTokens() - keep.seq.tokens.length + keepTokens + needed <= capacity;
    while (!fits()) {
      const victims = this.slots.filter((s) => s !== keep && !s.busy && s.seq.tokens.length > 0);
      if (victims.length === 0) return false;
      this.evict(this.leastRecent(victims));
    }
    return true;
  }

  /** Drops a slot and frees its KV. */
  evict(slot: Slot): void {
    const i = this.slots.indexOf(slot);
    if (i < 0) return;
    this.slots.splice(i, 1);
    this.evictions++;
    slot.seq.dispose();
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

  private better(a: Slot, b: Slot, docKey: string): boolean {
    if ((a.key === docKey) !== (b.key === docKey)) return a.key === docKey;
    return a.lastUsed > b.lastUsed;
  }

  private count(kind: SlotKind): number {
    return this.slots.filter((s) => s.kind === kind).length;
  }

  private leastRecent(slots: Slot[]): Slot {
    return slots.reduce((a, b) => (b.lastUsed < a.lastUsed ? b : a));
  }

  private create(kind: SlotKind, key: string): Slot {
    const slot: Slot = { id: this.nextId++, kind, key, seq: this.model.createSequence(), lastUsed: ++this.clock, busy: false };
    this.slots.push(slot);
    return slot;
  }

  private touch(pick: SlotPick, key: string): SlotPick {
    pick.slot.key = key;
    pick.slot.lastUsed = ++this.clock;
    return pick;
  }
}
