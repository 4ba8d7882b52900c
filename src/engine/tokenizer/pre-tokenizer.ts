// The Qwen2 pre-tokenizer: splits text into the pieces that BPE then works on independently.
//
// Qwen2's tokenizer.json states its split regex (applied with "Isolated" behaviour, so every
// character ends up in exactly one piece) as:
//   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
// Read alternative by alternative:
//   1. English contractions, case-insensitive ('s, 'T, 'Re, ...).
//   2. A run of letters, optionally led by one character that is not a letter, digit or line break
//      (so " hello" and "_name" and "(x" stay together).
//   3. A single digit: numbers are split one digit at a time.
//   4. A run of punctuation/symbols with an optional leading space and any trailing line breaks.
//   5. Whitespace ending in line breaks (indentation + newlines stay together).
//   6. Whitespace not followed by a non-space: a run of spaces before the next word gives up its
//      last space, which then leads the word (alternative 2 or 4).
//   7. Any remaining whitespace.
// JavaScript has no inline (?i:...) group before V8 12.5, so alternative 1 spells out both cases;
// `u` mode makes \p{L}/\p{N} and code points (not UTF-16 units) the unit of matching. `\s` is
// JavaScript's whitespace class, the same one transformers.js uses.

const QWEN2_SPLIT = new RegExp(
  [
    "'(?:[sS]|[tT]|[rR][eE]|[vV][eE]|[mM]|[lL][lL]|[dD])",
    '[^\\r\\n\\p{L}\\p{N}]?\\p{L}+',
    '\\p{N}',
    ' ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*',
    '\\s*[\\r\\n]+',
    '\\s+(?!\\S)',
    '\\s+',
  ].join('|'),
  'gu',
);

/** The pre-tokenizer variants we implement, named as llama.cpp names them in tokenizer.ggml.pre. */
export const SUPPORTED_PRE_TOKENIZERS = ['qwen2'] as const;

/**
 * Splits `text` into pre-tokenizer pieces, in order, covering every character exactly once.
 * Pieces the regex does not match (it matches everything, but the guarantee is kept explicit)
 * are returned as they are.
 */
export function splitQwen2(text: string): string[] {
  const pieces: string[] = [];
  let prev = 0;
  QWEN2_SPLIT.lastIndex = 0;
  for (let m = QWEN2_SPLIT.exec(text); m !== null; m = QWEN2_SPLIT.exec(text)) {
    const start = m.index;
    const piece = m[0];
    if (piece.length === 0) {
      // Cannot happen with this regex, but an empty match must never stall the loop.
      QWEN2_SPLIT.lastIndex++;
      continue;
    }
    if (start > prev) pieces.push(text.slice(prev, start));
    pieces.push(piece);
    prev = start + piece.length;
  }
  if (prev < text.length) pieces.push(text.slice(prev));
  return pieces;
}
