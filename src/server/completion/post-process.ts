// Turning raw model output into the text to show as ghost text. Pure functions, so the same rules
// decide both when to stop generating (the stream check) and what to return (the final pass).
//
// Rules:
//  - single line when the cursor is mid-line (code right of it) or ends a line that opens nothing;
//    multi-line on an empty line or after an opener ('{', '(', '[', ':', '=>', ...);
//  - stop at the first line indented less than the cursor's line (the current block ended), and
//    after maxLines lines;
//  - remove what the document already has right after the cursor: the rest of the current line,
//    or the first lines of the suffix when the completion ends by repeating them;
//  - drop a completion that only repeats the line above the cursor;
//  - trim trailing whitespace on every line, keep leading indentation;
//  - then the habits users complain about: the same line emitted over and over (a model stuck in
//    a loop), code repeated from below the cursor followed by more, a closing bracket doubled with
//    the one already right of the cursor, and more lines (blank ones included) than maxLines.
// The extension shows what this returns as is; it keeps only the choice of when to ask.

export interface CursorContext {
  /** Text of the cursor's line left of the cursor. */
  linePrefix: string;
  /** Text of the cursor's line right of the cursor. */
  lineSuffix: string;
  /** The nearest non-blank line above the cursor's line ('' if none). */
  lineAbove: string;
  /** The document after the cursor's line (first lines are enough). */
  nextLines: string;
  maxLines: number;
}

export type CompletionShape = 'singleLine' | 'multiLine';

const OPENER = /(?:[{([:]|=>|\bthen|\bdo|\belse)\s*$/;

export function completionShape(ctx: CursorContext): CompletionShape {
  if (ctx.lineSuffix.trim().length > 0) {
    // Only closing brackets/quotes right of the cursor still leave room for a body after an opener.
    if (!/^[\s)\]}'"`;,]*$/.test(ctx.lineSuffix)) return 'singleLine';
  }
  if (ctx.linePrefix.trim().length === 0) return 'multiLine';
  return OPENER.test(ctx.linePrefix) ? 'multiLine' : 'singleLine';
}

function indentOf(line: string): number {
  const m = /^[ \t]*/.exec(line);
  // A tab counts as 4 columns; only comparisons within one file matter.
  return m ? m[0].replace(/\t/g, '    ').length : 0;
}

/**
 * Cuts raw output where the completion should end (single line, block end, maxLines).
 * `final` is false while streaming: an unfinished last line is then not judged yet.
 * Returns the kept text and whether anything was cut (generation can stop).
 */
export function cutCompletion(raw: string, ctx: CursorContext, final = true): { text: string; ended: boolean } {
  const shape = completionShape(ctx);
  const lines = raw.split('\n');
  const complete = final ? lines.length : lines.length - 1;
  const cursorIndent = indentOf(ctx.linePrefix.trim().length > 0 ? ctx.linePrefix : ctx.linePrefix + ctx.lineSuffix);
  const firstHasText = lines[0].trim().length > 0;
  const opener = shape === 'multiLine' && OPENER.test(ctx.linePrefix);
  const kept: string[] = [lines[0]];
  let nonEmpty = firstHasText ? 1 : 0;
  for (let i = 1; i < lines.length; i++) {
    if (shape === 'singleLine' && (firstHasText || nonEmpty > 0)) return { text: kept.join('\n'), ended: true };
    if (i >= complete) {
      kept.push(lines[i]);
      break;
    }
    const line = lines[i];
    if (line.trim().length > 0) {
      const indent = indentOf(line);
      if (indent < cursorIndent) return { text: kept.join('\n'), ended: true };
      if (opener && indent === cursorIndent) {
        // Back at the opener's level: the block is closed. Keep a closing bracket, end before anything else.
        if (/^\s*[)\]}]/.test(line)) kept.push(line);
        return { text: kept.join('\n'), ended: true };
      }
      nonEmpty++;
    }
    kept.push(line);
    if (nonEmpty >= ctx.maxLines) return { text: kept.join('\n'), ended: true };
  }
  return { text: kept.join('\n'), ended: false };
}

/** Longest k such that `text` ends with the first k characters of `next`. */
function overlapLength(text: string, next: string): number {
  for (let k = Math.min(text.length, next.length); k > 0; k--) {
    if (text.endsWith(next.slice(0, k))) return k;
  }
  return 0;
}

/** Removes text that the document already has after the cursor. */
export function removeSuffixOverlap(text: string, ctx: CursorContext): string {
  let out = text;
  const rest = ctx.lineSuffix.replace(/\s+$/, '');
  if (rest.length > 0 && !out.includes('\n')) {
    // Single line: the model often re-types the closing part of the line ("x)" before ")").
    const k = overlapLength(out, rest);
    if (k > 0) out = out.slice(0, out.length - k);
  }
  // Multi-line: drop trailing lines that equal the next lines of the document.
  const next = ctx.nextLines
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  const lines = out.split('\n');
  for (let m = Math.min(lines.length - 1, next.length); m > 0; m--) {
    const tail = lines.slice(lines.length - m).map((l) => l.trim());
    if (tail.every((l, i) => l === next[i])) {
      out = lines.slice(0, lines.length - m).join('\n');
      break;
    }
  }
  return out;
}

/** The full post-processing pass; '' means "show nothing". */
export function postProcessCompletion(raw: string, ctx: CursorContext): string {
  let text = cutCompletion(raw, ctx, true).text;
  text = text
    .split('\n')
    .map((l) => l.replace(/\s+$/, ''))
    .join('\n')
    .replace(/\n+$/, '');
  text = removeSuffixOverlap(text, ctx).replace(/\s+$/, '');
  if (text.trim().length === 0) return '';
  // A completion that only re-types the line above is noise.
  const firstLine = (ctx.linePrefix + text.split('\n')[0]).trim();
  if (!text.includes('\n') && ctx.lineAbove.trim().length > 0 && firstLine === ctx.lineAbove.trim()) return '';
  return cleanUpHabits(text, ctx);
}

/** The last pass: loops, an echoed suffix, a doubled closer, the line limit, trailing blanks. */
function cleanUpHabits(text: string, ctx: CursorContext): string {
  let lines = cutRepeats(text.split('\n'), 3);
  lines = cutEchoedSuffix(lines, ctx.nextLines);
  if (lines.length > ctx.maxLines) lines = lines.slice(0, ctx.maxLines);
  // Trailing blank lines only push the following code down.
  while (lines.length > 1 && lines[lines.length - 1].trim() === '') lines.pop();
  const out = dropDoubledCloser(lines.join('\n'), ctx.lineSuffix);
  if (out.trim() === '') return '';
  return out.replace(/[ \t]+$/, '');
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
 * Cuts the completion where it starts repeating the lines after the cursor's line, even when it
 * goes on past them: with FIM the model sometimes "completes" the gap and then writes the suffix
 * again. The first completion line continues the cursor line and is never cut.
 */
export function cutEchoedSuffix(lines: string[], nextLines: string): string[] {
  const after = nextLines.split('\n').filter((l) => l.trim() !== '');
  if (after.length === 0 || lines.length < 2) return lines;
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
 * If the rest of the cursor line is only closing characters (`)`, `);`, `]`) and a one-line
 * completion ends with them as well, drops them so they are not doubled on accept.
 */
export function dropDoubledCloser(text: string, lineSuffix: string): string {
  const restOfLine = lineSuffix.trim();
  if (restOfLine === '' || !/^[)\]}>"'`;,]+$/.test(restOfLine)) return text;
  const trimmed = text.replace(/[ \t]+$/, '');
  if (!trimmed.includes('\n') && trimmed.endsWith(restOfLine)) return trimmed.slice(0, -restOfLine.length);
  return text;
}
