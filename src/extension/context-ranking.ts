// Chooses which pieces of other files go into a completion prompt as extra context. Users notice
// when a completion ignores the file they just edited next door, so every open or recently edited
// file is cut into overlapping windows of lines and each window is scored by
//   - how many identifiers it shares with the code around the cursor (Jaccard similarity),
//   - whether the user edited inside it recently, and how recently the file was edited or visited,
//   - whether it is in the same language as the current file.
// The best windows are kept within a character budget, at most `maxPerFile` per file, and windows
// that nearly duplicate an already chosen one are dropped. Free of `vscode` so it is unit-tested.
import type { CompletionContextSnippet } from '../protocol';

export interface ContextCandidate {
  path: string; // workspace-relative, as the model should see it
  languageId: string;
  text: string;
  /** Milliseconds timestamps; undefined = never in this session. */
  lastEditedAt?: number;
  lastVisitedAt?: number;
  /** 0-based line numbers edited recently (most recent last). */
  editedLines?: number[];
  visible?: boolean;
}

export interface ContextQuery {
  path: string;
  languageId: string;
  /** The lines around the cursor in the current file. */
  nearCursor: string;
  now: number;
}

export interface RankingOptions {
  windowLines: number;
  stepLines: number;
  maxSnippets: number;
  maxPerFile: number;
  maxTotalChars: number;
  /** Files larger than this are skipped (generated or minified code is rarely useful context). */
  maxFileChars: number;
  /** Two windows whose identifier sets overlap more than this count as duplicates. */
  duplicateJaccard: number;
  /** Recency bonuses halve every `halfLifeMs`. */
  halfLifeMs: number;
}

export const defaultRankingOptions: RankingOptions = {
  windowLines: 48,
  stepLines: 24,
  maxSnippets: 6,
  maxPerFile: 2,
  maxTotalChars: 9000,
  maxFileChars: 400_000,
  duplicateJaccard: 0.9,
  halfLifeMs: 120_000,
};

export interface ScoredSnippet extends CompletionContextSnippet {
  score: number;
  startLine: number;
}

const identifierPattern = /[A-Za-z_$][A-Za-z0-9_$]{2,}/g;

/** The set of identifiers (3+ characters) in a piece of code. */
export function identifiers(text: string): Set<string> {
  return new Set(text.match(identifierPattern) ?? []);
}

export function jaccard(a: Set<string>, b: Set<string>): number {
  if (a.size === 0 && b.size === 0) return 0;
  let shared = 0;
  const [small, large] = a.size <= b.size ? [a, b] : [b, a];
  for (const x of small) if (large.has(x)) shared++;
  return shared / (a.size + b.size - shared);
}

function decay(now: number, at: number | undefined, halfLifeMs: number): number {
  if (at === undefined) return 0;
  return Math.pow(0.5, Math.max(0, now - at) / halfLifeMs);
}

/** Returns the chosen snippets, most relevant first. */
export function rankContext(query: ContextQuery, candidates: ContextCandidate[], options: Partial<RankingOptions> = {}): ScoredSnippet[] {
  const o = { ...defaultRankingOptions, ...options };
  const target = identifiers(query.nearCursor);
  const scored: (ScoredSnippet & { ids: Set<string> })[] = [];

  for (const file of candidates) {
    if (file.path === query.path || file.text.length > o.maxFileChars || file.text.trim() === '') continue;
    const lines = file.text.split('\n');
    const fileBonus =
      0.3 * decay(query.now, file.lastEditedAt, o.halfLifeMs) +
      0.15 * decay(query.now, file.lastVisitedAt, o.halfLifeMs) +
      (file.visible ? 0.1 : 0) +
      (file.languageId === query.languageId ? 0.1 : 0);
    const edited = new Set(file.editedLines ?? []);
    for (let start = 0; start < lines.length; start += o.stepLines) {
      const windowText = lines.slice(start, start + o.windowLines).join('\n');
      if (windowText.trim() === '') continue;
      const ids = identifiers(windowText);
      let editedInside = false;
      for (let l = start; l < start + o.windowLines && !editedInside; l++) editedInside = edited.has(l);
      const score = jaccard(ids, target) + fileBonus + (editedInside ? 0.25 : 0);
      scored.push({ path: file.path, text: windowText, score, startLine: start, ids });
      if (start + o.windowLines >= lines.length) break;
    }
  }

  // Highest score first; ties go to the earlier window so the order is deterministic.
  scored.sort((a, b) => b.score - a.score || a.path.localeCompare(b.path) || a.startLine - b.startLine);
  const chosen: (ScoredSnippet & { ids: Set<string> })[] = [];
  const perFile = new Map<string, number>();
  let total = 0;
  for (const s of scored) {
    if (chosen.length >= o.maxSnippets) break;
    if ((perFile.get(s.path) ?? 0) >= o.maxPerFile) continue;
    if (total + s.text.length > o.maxTotalChars) continue;
    if (chosen.some((c) => overlaps(c, s, o.windowLines) || jaccard(c.ids, s.ids) > o.duplicateJaccard)) continue;
    chosen.push(s);
    perFile.set(s.path, (perFile.get(s.path) ?? 0) + 1);
    total += s.text.length;
  }
  return chosen.map(({ path, text, score, startLine }) => ({ path, text, score, startLine }));
}

// Two windows of the same file that share lines would send those lines twice.
function overlaps(a: ScoredSnippet, b: ScoredSnippet, windowLines: number): boolean {
  return a.path === b.path && Math.abs(a.startLine - b.startLine) < windowLines;
}

/** A cheap fingerprint of a snippet list, so the client sends qwen/completionContext only on change. */
export function snippetsKey(snippets: CompletionContextSnippet[]): string {
  let h = 2166136261;
  for (const s of snippets) {
    const text = `${s.path}\u0000${s.text}\u0001`;
    for (let i = 0; i < text.length; i++) {
      h ^= text.charCodeAt(i);
      h = Math.imul(h, 16777619) >>> 0;
    }
  }
  return `${snippets.length}:${h.toString(16)}`;
}
