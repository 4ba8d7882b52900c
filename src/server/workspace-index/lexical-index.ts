// The in-memory lexical index: chunks of files, an inverted index from term to the chunks holding
// it, and BM25 ranking (Robertson & Zaragoza's Okapi BM25, k1 = 1.2, b = 0.75). Files are added,
// replaced and removed one at a time, so saves and deletes update it without a rebuild.
//
// On top of BM25 two signals that plain text ranking lacks for code:
// - a chunk that *declares* an identifier the question names ranks above chunks that only use it;
// - the file's path counts as text of each of its chunks ("the link parser" finds parse_link.js).
import { Chunk, chunkText } from './chunker';
import { forEachTerm, identifiersOf, queryTerms } from './terms';

export interface IndexedChunk extends Chunk {
  id: number;
  path: string;
  /** Number of terms, for BM25's length normalisation. */
  length: number;
}

export interface SearchHit {
  chunk: IndexedChunk;
  score: number;
}

const k1 = 1.2;
const b = 0.75;
/** Score added per question identifier that the chunk declares, relative to the best BM25 score. */
const definitionBoost = 0.6;
/** Weight of path terms against body terms. */
const pathWeight = 3;

function termsOfPath(path: string): string[] {
  const terms: string[] = [];
  forEachTerm(path.replace(/\.[A-Za-z0-9]+$/, ''), (t) => terms.push(t));
  return terms;
}

export class LexicalIndex {
  private readonly chunks = new Map<number, IndexedChunk>();
  private readonly byPath = new Map<string, number[]>();
  /** term -> chunk id -> term frequency. */
  private readonly postings = new Map<string, Map<number, number>>();
  /** Declared name -> chunk ids declaring it. */
  private readonly declarations = new Map<string, Set<number>>();
  private readonly termsOfChunk = new Map<number, string[]>();
  private totalLength = 0;
  private nextId = 1;

  get fileCount(): number {
    return this.byPath.size;
  }

  get chunkCount(): number {
    return this.chunks.size;
  }

  has(path: string): boolean {
    return this.byPath.has(path);
  }

  paths(): IterableIterator<string> {
    return this.byPath.keys();
  }

  /** Adds `path` with `text`, replacing what the index held for it. Returns its chunk count. */
  setFile(path: string, text: string): number {
    this.removeFile(path);
    const ids: number[] = [];
    this.byPath.set(path, ids);
    const pathTerms = termsOfPath(path);
    for (const chunk of chunkText(text)) ids.push(this.addChunk(path, chunk, pathTerms));
    return ids.length;
  }

  /**
   * setFile for the background build: gives the event loop back (awaits `step`) whenever it has
   * held it for `budgetMs`, so a completion request that arrives while a large file is indexed is
   * not kept waiting for the whole file. Searches in between see the chunks added so far. The
   * caller must not change this path meanwhile (the build and single-file updates never overlap).
   */
  async setFileInSteps(path: string, text: string, step: () => Promise<void>, budgetMs = 8): Promise<number> {
    let since = performance.now();
    const pause = async () => {
      if (performance.now() - since < budgetMs) return;
      await step();
      since = performance.now();
    };
    this.removeFile(path);
    const ids: number[] = [];
    this.byPath.set(path, ids);
    const pathTerms = termsOfPath(path);
    const chunks = chunkText(text);
    await pause();
    for (const chunk of chunks) {
      ids.push(this.addChunk(path, chunk, pathTerms));
      await pause();
    }
    return ids.length;
  }

  private addChunk(path: string, chunk: Chunk, pathTerms: string[]): number {
    const id = this.nextId++;
    const tf = new Map<string, number>();
    let length = 0;
    forEachTerm(chunk.text, (t) => {
      tf.set(t, (tf.get(t) ?? 0) + 1);
      length++;
    });
    for (const t of pathTerms) tf.set(t, (tf.get(t) ?? 0) + pathWeight);
    length += pathTerms.length * pathWeight;
    for (const [term, n] of tf) {
      let list = this.postings.get(term);
      if (!list) this.postings.set(term, (list = new Map()));
      list.set(id, n);
    }
    for (const name of chunk.definitions) {
      let set = this.declarations.get(name);
      if (!set) this.declarations.set(name, (set = new Set()));
      set.add(id);
    }
    this.termsOfChunk.set(id, [...tf.keys()]);
    this.chunks.set(id, { ...chunk, id, path, length });
    this.totalLength += length;
    return id;
  }

  removeFile(path: string): boolean {
    const ids = this.byPath.get(path);
    if (!ids) return false;
    for (const id of ids) {
      const chunk = this.chunks.get(id)!;
      for (const term of this.termsOfChunk.get(id) ?? []) {
        const list = this.postings.get(term);
        list?.delete(id);
        if (list && list.size === 0) this.postings.delete(term);
      }
      for (const name of chunk.definitions) {
        const set = this.declarations.get(name);
        set?.delete(id);
        if (set && set.size === 0) this.declarations.delete(name);
      }
      this.termsOfChunk.delete(id);
      this.totalLength -= chunk.length;
      this.chunks.delete(id);
    }
    this.byPath.delete(path);
    return true;
  }

  clear(): void {
    for (const path of [...this.byPath.keys()]) this.removeFile(path);
  }

  /** The best chunks for `question`, best first. */
  search(question: string, limit: number): SearchHit[] {
    const n = this.chunks.size;
    if (n === 0) return [];
    const avgLength = this.totalLength / n;
    const scores = new Map<number, number>();
    for (const [term, qtf] of queryTerms(question)) {
      const list = this.postings.get(term);
      if (!list) continue;
      const idf = Math.log(1 + (n - list.size + 0.5) / (list.size + 0.5));
      for (const [id, tf] of list) {
        const len = this.chunks.get(id)!.length;
        const s = (idf * tf * (k1 + 1)) / (tf + k1 * (1 - b + (b * len) / avgLength));
        scores.set(id, (scores.get(id) ?? 0) + s * Math.min(qtf, 2));
      }
    }
    if (scores.size === 0) return [];
    let best = 0;
    for (const s of scores.values()) best = Math.max(best, s);
    const asked = new Set(identifiersOf(question));
    for (const name of asked) {
      const declaring = this.declarations.get(name);
      if (!declaring) continue;
      // Rare names say more: a name declared in one place gets the whole boost.
      const weight = definitionBoost / Math.sqrt(declaring.size);
      for (const id of declaring) scores.set(id, (scores.get(id) ?? 0) + best * weight);
    }
    // Numbers only in the comparison: a common word scores most chunks, and string comparisons
    // there would cost more than the scoring. Equal scores keep indexing order (chunk ids).
    const ranked: [number, number][] = [];
    for (const [id, score] of scores) ranked.push([score, id]);
    ranked.sort((x, y) => y[0] - x[0] || x[1] - y[1]);
    return ranked.slice(0, limit).map(([score, id]) => ({ chunk: this.chunks.get(id)!, score }));
  }

  /** Distinct files of the best chunks, best first (a file ranks by its best chunk). */
  searchFiles(question: string, limit: number): string[] {
    const files: string[] = [];
    for (const hit of this.search(question, limit * 20)) {
      if (!files.includes(hit.chunk.path)) files.push(hit.chunk.path);
      if (files.length === limit) break;
    }
    return files;
  }
}
