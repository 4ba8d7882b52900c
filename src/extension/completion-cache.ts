// A small cache of recent inline completions so the ghost text reappears at once, without asking
// the model again, when the user
//   - types characters that match the suggestion ("typing through" it: we show the rest),
//   - accepts part of it (next word / next line is the same as typing those characters),
//   - undoes or deletes back to where it was shown (we show the whole suggestion again).
// An entry remembers where the suggestion was made: the document, the cursor offset, the last
// `anchorChars` characters before the cursor, and the start of the text after it. A lookup matches
// an entry when the text before the old offset is unchanged and everything typed since then is a
// prefix of the suggestion. Edits elsewhere in the prefix change the anchor and miss, which is the
// safe direction: a stale suggestion is worse than a new request. Free of `vscode`.

export interface CacheEntry {
  documentKey: string; // uri + language, so two documents never share suggestions
  offset: number; // cursor offset (UTF-16 units) when the suggestion was made
  anchor: string; // up to `anchorChars` characters before `offset`
  suffixHead: string; // up to `suffixChars` characters after the cursor
  completion: string; // the suggestion text inserted at `offset`
  createdAt: number;
}

export interface CacheHit {
  /** What to show now: the part of the suggestion not typed yet. */
  remaining: string;
  /** How many characters of the suggestion were already typed. */
  typed: number;
  /** Characters after the cursor (auto-closed brackets) that the remaining text replaces. */
  replaceChars: number;
  entry: CacheEntry;
}

export interface CacheOptions {
  maxEntries: number;
  anchorChars: number;
  suffixChars: number;
  /** Entries older than this are ignored: the surrounding code has probably moved on. */
  maxAgeMs: number;
}

export const defaultCacheOptions: CacheOptions = {
  maxEntries: 64,
  anchorChars: 512,
  suffixChars: 256,
  maxAgeMs: 10 * 60_000,
};

/** The document state a lookup or store is made against. */
export interface CursorText {
  documentKey: string;
  /** The whole text before the cursor (only its tail is read). */
  prefix: string;
  /** The text after the cursor (only its head is read). */
  suffix: string;
}

export class CompletionCache {
  private entries: CacheEntry[] = [];
  private readonly options: CacheOptions;

  constructor(options: Partial<CacheOptions> = {}) {
    this.options = { ...defaultCacheOptions, ...options };
  }

  get size(): number {
    return this.entries.length;
  }

  /** Remembers a suggestion shown at the cursor. Empty suggestions are not worth keeping. */
  store(at: CursorText, completion: string, now: number): void {
    if (completion.length === 0) return;
    const entry: CacheEntry = {
      documentKey: at.documentKey,
      offset: at.prefix.length,
      anchor: at.prefix.slice(-this.options.anchorChars),
      suffixHead: at.suffix.slice(0, this.options.suffixChars),
      completion,
      createdAt: now,
    };
    // A newer suggestion at the same place replaces the older one.
    this.entries = this.entries.filter((e) => !(e.documentKey === entry.documentKey && e.offset === entry.offset && e.anchor === entry.anchor));
    this.entries.push(entry);
    if (this.entries.length > this.options.maxEntries) this.entries.shift();
  }

  /**
   * Finds a suggestion that the current text continues. Among several matches the one with the
   * least typed-through text wins (it was made closest to the cursor), then the newest.
   */
  lookup(at: CursorText, now: number): CacheHit | undefined {
    let best: CacheHit | undefined;
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const entry = this.entries[i];
      if (entry.documentKey !== at.documentKey) continue;
      if (now - entry.createdAt > this.options.maxAgeMs) continue;
      const hit = this.match(entry, at);
      if (hit && (!best || hit.typed < best.typed)) best = hit;
    }
    return best;
  }

  /** Forgets everything about one document (closed, or its text replaced wholesale). */
  forgetDocument(documentKey: string): void {
    this.entries = this.entries.filter((e) => e.documentKey !== documentKey);
  }

  clear(): void {
    this.entries = [];
  }

  private match(entry: CacheEntry, at: CursorText): CacheHit | undefined {
    const typed = at.prefix.length - entry.offset;
    // Typed all of it (nothing left to show) or moved before the suggestion's start: no hit.
    if (typed < 0 || typed >= entry.completion.length) return undefined;
    const anchorStart = entry.offset - entry.anchor.length;
    if (anchorStart < 0) return undefined;
    if (at.prefix.slice(anchorStart, entry.offset) !== entry.anchor) return undefined;
    const typedText = at.prefix.slice(entry.offset);
    if (!entry.completion.startsWith(typedText)) return undefined;
    const replaceChars = this.extraClosers(entry, at.suffix, typedText);
    if (replaceChars < 0) return undefined;
    return { remaining: entry.completion.slice(typed), typed, replaceChars, entry };
  }

  // The text after the cursor must be what it was, except that the editor may have auto-closed a
  // bracket or quote the user typed: `(` typed through `foo(x)` leaves `)` after the cursor. We accept
  // up to 4 such leading closers when the rest of the suggestion supplies them too; the hit then
  // replaces them (`replaceChars`) so the closer is not doubled. Returns -1 when the suffix differs.
  private extraClosers(entry: CacheEntry, suffix: string, typedText: string): number {
    const n = this.options.suffixChars;
    for (let k = 0; k <= 4 && k <= suffix.length; k++) {
      const inserted = suffix.slice(0, k);
      if (k > 0 && !/^[)\]}"'`>]+$/.test(inserted)) return -1;
      if (suffix.slice(k, k + n) !== entry.suffixHead) continue;
      if (k === 0 || entry.completion.slice(typedText.length).includes(inserted)) return k;
    }
    return -1;
  }
}
