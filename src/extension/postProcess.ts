// Client-side clean-up of a completion before it is shown, and the cheap checks that decide whether
// to ask for one at all. The server already stops at FIM end tokens; what is left are the habits
// users complain about: code repeated from just below the cursor, a closing bracket doubled with
// the one already there, the same line emitted over and over, and suggestions far longer than the
// user asked for. Free of `vscode` so each rule is unit-tested.

export interface PostProcessInput {
  completion: string;
  /** Text of the cursor line before the cursor. */
  linePrefix: string;
  /** Text after the cursor: the rest of the line, then the following lines. */
  suffix: string;
  maxLines: number;
}

/** Returns the text to show, or '' when nothing useful is left. */
export function postProcessCompletion(input: PostProcessInput): string {
  let lines = input.completion.replace(/\r\n/g, '\n').split('\n');
  lines = cutRepeats(lines, 3);
  lines = cutEchoedSuffix(lines, input.suffix);
  if (lines.length > input.maxLines) lines = lines.slice(0, input.maxLines);
  // Trailing blank lines only push the following code down.
  while (lines.length > 1 && lines[lines.length - 1].trim() === '') lines.pop();
  let text = lines.join('\n');
  text = dropDoubledCloser(text, input.suffix);
  if (text.trim() === '') return '';
  return text.replace(/[ \t]+$/, '');
}

/** Stops at the `limit`-th consecutive repetition of a non-blank line (a model stuck in a loop). */
export function cutRepeats(lines: string[], limit: number): string[] {
  let run = 1;
  for (let i = 1; i < lines.length; i++) {
    run = lines[i].trim() !== '' && lines[i] === lines[i - 1] ? run + 1 : 1;
    if (run >= limit) return lines.slice(0, i - run + 2);
  }
  return lines;
}

/**
 * Removes trailing completion lines that repeat the lines right after the cursor line: with FIM the
 * model sometimes "completes" the gap and then writes the suffix again.
 */
export function cutEchoedSuffix(lines: string[], suffix: string): string[] {
  const after = suffix.split('\n').slice(1).filter((l) => l.trim() !== '');
  if (after.length === 0 || lines.length < 2) return lines;
  // Find the first completion line (not the first, which continues the cursor line) where the
  // following non-blank lines match the start of the suffix; cut from there.
  for (let i = 1; i < lines.length; i++) {
    if (lines[i].trim() === '' || lines[i].trim() !== after[0].trim()) continue;
    const rest = lines.slice(i).filter((l) => l.trim() !== '');
    const n = Math.min(rest.length, after.length);
    let same = true;
    for (let k = 0; k < n && same; k++) same = rest[k].trim() === after[k].trim();
    if (same) return lines.slice(0, i);
  }
  return lines;
}

/**
 * If the rest of the cursor line is only closing characters (`)`, `);`, `]`) and the completion
 * ends with them as well, drop them from the completion so they are not doubled on accept.
 */
export function dropDoubledCloser(text: string, suffix: string): string {
  const restOfLine = suffix.split('\n')[0].trim();
  if (restOfLine === '' || !/^[)\]}>"'`;,]+$/.test(restOfLine)) return text;
  const trimmed = text.replace(/[ \t]+$/, '');
  if (!trimmed.includes('\n') && trimmed.endsWith(restOfLine)) return trimmed.slice(0, -restOfLine.length);
  return text;
}

/**
 * Whether an automatic request makes sense at this cursor. Explicit requests (Alt+\) skip this.
 *   - More than 8 non-blank characters right of the cursor: the user is editing inside a line.
 *   - The cursor is inside an identifier (letters on both sides): mid-word insertion is rare.
 */
export function shouldRequestAutomatically(linePrefix: string, lineSuffix: string): boolean {
  if (lineSuffix.replace(/\s/g, '').length > 8) return false;
  if (/[A-Za-z0-9_]$/.test(linePrefix) && /^[A-Za-z0-9_]/.test(lineSuffix)) return false;
  return true;
}
