// Text to search terms, the same way for code and for questions. An identifier counts as itself
// and as its words ("parseLinkLabel" -> parselinklabel, parse, link, label; "MAX_RETRIES" ->
// max_retries, max, retries), so a question that names the identifier matches it exactly and one
// that describes it in words still finds it. Words lose a few English endings ("tokens" and
// "tokenize" meet at "token") by a deliberately small suffix rule, applied to both sides.

const identifierPattern = /[A-Za-z_$][A-Za-z0-9_$]*|[0-9]+/g;
// Splits "parseHTMLString2Node" into parse, HTML, String, 2, Node.
const wordPattern = /[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+/g;

// Words so common in questions and code that they only add noise to the scores.
const stopWords = new Set([
  'a',
  'an',
  'and',
  'are',
  'as',
  'at',
  'be',
  'by',
  'can',
  'do',
  'does',
  'for',
  'from',
  'how',
  'i',
  'if',
  'in',
  'into',
  'is',
  'it',
  'its',
  'of',
  'on',
  'or',
  'that',
  'the',
  'this',
  'to',
  'what',
  'when',
  'where',
  'which',
  'who',
  'why',
  'with',
  'should',
  'there',
  'than',
  'then',
  'these',
  'those',
  'we',
  'you',
  'our',
  'your',
  'me',
  'my',
  'defined',
  'define',
  'defines',
  'file',
  'code',
  'function',
  'method',
  'class',
  'var',
  'let',
  'const',
  'return',
  'export',
]);

/** A light stemmer: folds plural and verb endings so "escapes", "escaped", "escaping" meet. */
export function stem(word: string): string {
  if (word.length <= 4) return word;
  if (word.endsWith('ies') && word.length > 5) return `${word.slice(0, -3)}y`;
  if (word.endsWith('ing') && word.length > 6) return word.slice(0, -3);
  if (word.endsWith('ed') && word.length > 5) return word.slice(0, -2);
  if (word.endsWith('es') && /(?:ss|sh|ch|x|z)es$/.test(word)) return word.slice(0, -2);
  if (word.endsWith('s') && !word.endsWith('ss') && !word.endsWith('us')) return word.slice(0, -1);
  if (word.endsWith('er') && word.length > 5) return word.slice(0, -2);
  return word;
}

/** Calls `emit` for every term of `text`, repeats included (term frequency matters). */
export function forEachTerm(text: string, emit: (term: string) => void): void {
  for (const m of text.matchAll(identifierPattern)) {
    const ident = m[0];
    if (ident.length > 64) continue;
    const lower = ident.toLowerCase();
    const words = ident.match(wordPattern);
    // One-word identifiers are their own word: emit once, stemmed, unless a stop word.
    if (!words || words.length <= 1) {
      if (lower.length >= 2 && !stopWords.has(lower)) emit(stem(lower));
      continue;
    }
    emit(lower);
    for (const w of words) {
      const word = w.toLowerCase();
      if (word.length >= 2 && !stopWords.has(word)) emit(stem(word));
    }
  }
}

/** The distinct terms of a question with how often each occurs. */
export function queryTerms(text: string): Map<string, number> {
  const terms = new Map<string, number>();
  forEachTerm(text, (t) => terms.set(t, (terms.get(t) ?? 0) + 1));
  return terms;
}

/** Identifiers of `text` (lowercased, whole), for matching a question's names against definitions. */
export function identifiersOf(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(identifierPattern)) if (m[0].length >= 3 && /[A-Za-z]/.test(m[0])) out.push(m[0].toLowerCase());
  return out;
}
