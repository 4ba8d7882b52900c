// Byte-level BPE over token ids. A piece of text starts as one token per UTF-8 byte; then the
// adjacent pair with the lowest merge rank is merged, the leftmost one first when a pair occurs
// more than once, until no adjacent pair has a merge. That is the order Hugging Face tokenizers
// (and transformers.js) apply merges in, so the ids come out identical.
//
// Everything works on numeric ids: a pair (a, b) is looked up as the number a * 2^21 + b (exact
// in a double because ids are below 2^21), which avoids building strings in the hot loop.
// Short pieces use a simple scan (fastest for the usual 1-10 bytes); long pieces (CJK paragraphs,
// long symbol runs) use a heap over a linked list so they cost O(n log n) instead of O(n^2).

import { BYTE_TO_CHAR, encodeUtf8Into } from './byte-level';

const ID_LIMIT = 1 << 21;
const LONG_PIECE = 48; // bytes; above this the heap version is used
const CACHE_LIMIT = 50_000; // cached pieces; the cache is simply cleared when it fills
const CACHE_MAX_PIECE = 256; // longer pieces are rarely repeated and would bloat the cache

export class BpeModel {
  /** pair key -> merge rank */
  private readonly pairRank = new Map<number, number>();
  /** merge rank -> id of the merged token */
  private readonly mergedId: Int32Array;
  /** byte -> id of its single-byte token */
  private readonly byteId = new Int32Array(256);
  private readonly cache = new Map<string, number[]>();
  private readonly scratchBytes: number[] = [];

  /**
   * @param tokenToId vocabulary string -> id (byte-level strings for normal tokens)
   * @param merges merge rules "left right" in rank order (rank = index)
   */
  constructor(tokenToId: ReadonlyMap<string, number>, merges: readonly string[], source: string) {
    for (let b = 0; b < 256; b++) {
      const id = tokenToId.get(BYTE_TO_CHAR[b]);
      if (id === undefined) throw new Error(`${source}: the vocabulary has no token for byte 0x${b.toString(16)} ("${BYTE_TO_CHAR[b]}")`);
      this.byteId[b] = id;
    }
    this.mergedId = new Int32Array(merges.length);
    for (let rank = 0; rank < merges.length; rank++) {
      const rule = merges[rank];
      // Byte-level tokens never contain a plain space, so the first space separates the pair.
      const sep = typeof rule === 'string' ? rule.indexOf(' ', 1) : -1;
      if (sep < 0) throw new Error(`${source}: merge ${rank} ${JSON.stringify(rule)} is not of the form "left right"`);
      const left = rule.slice(0, sep);
      const right = rule.slice(sep + 1);
      const a = tokenToId.get(left);
      const b = tokenToId.get(right);
      const merged = tokenToId.get(left + right);
      if (a === undefined || b === undefined || merged === undefined) {
        throw new Error(`${source}: merge ${rank} ${JSON.stringify(rule)} refers to a token missing from the vocabulary`);
      }
      if (a >= ID_LIMIT || b >= ID_LIMIT) throw new Error(`${source}: token ids above ${ID_LIMIT} are not supported`);
      const key = a * ID_LIMIT + b;
      // The first (lowest-rank) occurrence of a pair wins, as in Hugging Face's loader.
      if (!this.pairRank.has(key)) this.pairRank.set(key, rank);
      this.mergedId[rank] = merged;
    }
  }

  /** Appends the ids of one pre-tokenizer piece to `out`. */
  encodePiece(piece: string, out: number[]): void {
    let ids = this.cache.get(piece);
    if (ids === undefined) {
      const n = encodeUtf8Into(piece, this.scratchBytes);
      const symbols = new Array<number>(n);
      for (let i = 0; i < n; i++) symbols[i] = this.byteId[this.scratchBytes[i]];
      ids = n > LONG_PIECE ? this.mergeLong(symbols) : this.mergeShort(symbols);
      if (piece.length <= CACHE_MAX_PIECE) {
        if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
        this.cache.set(piece, ids);
      }
    }
    for (let i = 0; i < ids.length; i++) out.push(ids[i]);
  }

  private rankOf(a: number, b: number): number {
    const r = this.pairRank.get(a * ID_LIMIT + b);
    return r === undefined ? -1 : r;
  }

  /** Repeatedly merges the lowest-rank (then leftmost) pair by scanning. O(n^2), tiny n. */
  private mergeShort(symbols: number[]): number[] {
    for (;;) {
      let bestRank = -1;
      let bestPos = -1;
      for (let i = 0; i + 1 < symbols.length; i++) {
        const r = this.rankOf(symbols[i], symbols[i + 1]);
        if (r >= 0 && (bestRank < 0 || r < bestRank)) {
          bestRank = r;
          bestPos = i;
        }
      }
      if (bestRank < 0) return symbols;
      symbols.splice(bestPos, 2, this.mergedId[bestRank]);
    }
  }

  /**
   * Same result as mergeShort, with a min-heap of candidate merges keyed by (rank, position).
   * Entries made stale by earlier merges are recognised when popped (the pair there no longer has
   * that rank) and dropped.
   */
  private mergeLong(symbols: number[]): number[] {
    const n = symbols.length;
    const id = Int32Array.from(symbols);
    const next = new Int32Array(n);
    const prev = new Int32Array(n);
    const alive = new Uint8Array(n).fill(1);
    for (let i = 0; i < n; i++) {
      next[i] = i + 1 < n ? i + 1 : -1;
      prev[i] = i - 1;
    }

    // Heap keys pack rank (< 2^21) and position (< 2^31) into one double: rank * 2^31 + pos.
    const heap: number[] = [];
    const POS = 2 ** 31;
    const push = (key: number): void => {
      let i = heap.length;
      heap.push(key);
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (heap[p] <= key) break;
        heap[i] = heap[p];
        i = p;
      }
      heap[i] = key;
    };
    const pop = (): number => {
      const top = heap[0];
      const last = heap.pop()!;
      if (heap.length > 0) {
        let i = 0;
        for (;;) {
          const l = 2 * i + 1;
          if (l >= heap.length) break;
          const c = l + 1 < heap.length && heap[l + 1] < heap[l] ? l + 1 : l;
          if (heap[c] >= last) break;
          heap[i] = heap[c];
          i = c;
        }
        heap[i] = last;
      }
      return top;
    };
    const consider = (pos: number): void => {
      if (pos < 0) return;
      const q = next[pos];
      if (q < 0) return;
      const r = this.rankOf(id[pos], id[q]);
      if (r >= 0) push(r * POS + pos);
    };

    for (let i = 0; i + 1 < n; i++) consider(i);
    while (heap.length > 0) {
      const key = pop();
      const rank = Math.floor(key / POS);
      const pos = key - rank * POS;
      const q = next[pos];
      if (!alive[pos] || q < 0 || this.rankOf(id[pos], id[q]) !== rank) continue;
      id[pos] = this.mergedId[rank];
      alive[q] = 0;
      next[pos] = next[q];
      if (next[q] >= 0) prev[next[q]] = pos;
      consider(prev[pos]);
      consider(pos);
    }
    const out: number[] = [];
    for (let i = 0; i >= 0 && i < n; i = next[i]) out.push(id[i]);
    return out;
  }
}
