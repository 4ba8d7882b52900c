// Fuzzy matching of workspace paths for the chat's @file list: the query's characters must appear
// in order in the path (case-insensitive); matches in the file name, at word starts and in runs
// score higher, shorter paths break ties. "chsvc" finds src/server/chat/chat-service.ts.

/** Score of `path` for `query`, or -1 when the characters do not all appear in order. */
export function fuzzyScore(query: string, path: string): number {
  const q = query.toLowerCase().replace(/\s+/g, '');
  if (q === '') return 0;
  const p = path.toLowerCase();
  const nameStart = path.lastIndexOf('/') + 1;
  let score = 0;
  let at = -1;
  let run = 0;
  for (const ch of q) {
    const next = p.indexOf(ch, at + 1);
    if (next < 0) return -1;
    run = next === at + 1 ? run + 1 : 0;
    score += 1 + run * 2;
    if (next >= nameStart) score += 2;
    const before = path[next - 1];
    if (next === 0 || before === '/' || before === '_' || before === '-' || before === '.' || (/[a-z]/.test(before ?? '') && /[A-Z]/.test(path[next])))
      score += 3;
    at = next;
  }
  // A query that is a substring of the file name is what people mostly type.
  if (p.slice(nameStart).includes(q)) score += 10;
  return score - path.length * 0.01;
}

/** The best `limit` paths for `query`, best first. */
export function fuzzyFilter(query: string, paths: Iterable<string>, limit: number): string[] {
  const scored: [number, string][] = [];
  for (const path of paths) {
    const s = fuzzyScore(query, path);
    if (s >= 0 || query.trim() === '') scored.push([s, path]);
  }
  scored.sort((a, b) => b[0] - a[0] || a[1].localeCompare(b[1]));
  return scored.slice(0, limit).map(([, p]) => p);
}
