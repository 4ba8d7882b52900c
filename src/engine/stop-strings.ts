// Stop strings over streamed text. Text is released as soon as it cannot be the start of a stop
// string; a tail that might still grow into one is held back until the next piece decides it.
// When a stop string appears, everything before it is released and the rest (the stop string
// included) is dropped.

export interface StopCheck {
  /** Text that is safe to show now. */
  text: string;
  /** True when a stop string was found; `text` ends right before it. */
  stopped: boolean;
}

export class StopStringMatcher {
  private readonly stops: string[];
  private pending = '';
  private done = false;

  constructor(stopStrings: readonly string[]) {
    this.stops = stopStrings.filter((s) => s.length > 0);
  }

  /** Adds decoded text; returns what may be released. After a stop, always returns nothing. */
  push(piece: string): StopCheck {
    if (this.done) return { text: '', stopped: true };
    this.pending += piece;
    if (this.stops.length === 0) {
      const text = this.pending;
      this.pending = '';
      return { text, stopped: false };
    }
    let first = -1;
    for (const s of this.stops) {
      const i = this.pending.indexOf(s);
      if (i >= 0 && (first < 0 || i < first)) first = i;
    }
    if (first >= 0) {
      const text = this.pending.slice(0, first);
      this.pending = '';
      this.done = true;
      return { text, stopped: true };
    }
    const hold = this.heldBackLength();
    const text = this.pending.slice(0, this.pending.length - hold);
    this.pending = this.pending.slice(this.pending.length - hold);
    return { text, stopped: false };
  }

  /** Releases the held-back tail (generation ended without completing a stop string). */
  flush(): string {
    const text = this.done ? '' : this.pending;
    this.pending = '';
    return text;
  }

  /** The longest suffix of `pending` that is a proper prefix of some stop string. */
  private heldBackLength(): number {
    let best = 0;
    for (const s of this.stops) {
      const max = Math.min(s.length - 1, this.pending.length);
      for (let k = max; k > best; k--) {
        if (this.pending.endsWith(s.slice(0, k))) {
          best = k;
          break;
        }
      }
    }
    return best;
  }
}
