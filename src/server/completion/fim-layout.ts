// The Qwen2.5-Coder fill-in-the-middle layout, decided once for both completion paths: the local
// engine (fim-prompt.ts encodes it to token ids) and a remote OpenAI-compatible server
// (fimPromptText below renders it as the prompt string). Only how text is measured differs: the
// local path counts with the model's tokenizer, the remote one estimates from characters.
//
//   [<|repo_name|>{repo}\n <|file_sep|>{path}\n{code}\n ... <|file_sep|>{current path}\n]
//   <|fim_prefix|>{lines before the cursor line}<|fim_suffix|>{rest of the cursor line, next lines}
//   <|fim_middle|>{cursor line up to the cursor}
//
// The repo-level part (bracketed) is used when snippets of other files are given. The layout runs
// from stable to volatile, so a keystroke changes only the last few tokens and a KV cache keeps
// everything before them:
//  - the cursor line's text left of the cursor is the start of the middle, the one part that
//    changes while the user types along a line. The suffix (text right of the cursor) is put
//    before it and stays valid: typing inserts characters before it, not into it. FIM training
//    splits files at arbitrary points, so a middle that starts at a line start is in distribution.
//    The model's output continues the middle, so it is exactly the text after the cursor;
//  - the prefix window's first line is sticky (`prefixStartHint`): it stays put while the prefix
//    still fits its budget, and when it must move it jumps far enough to leave slack, instead of
//    sliding (and invalidating the whole cache) on every keystroke;
//  - the suffix gets a small share of the budget: it is evaluated again whenever the cursor
//    changes lines, and a few lines after the cursor are enough for the model to know where to stop.
import type { CompletionContextSnippet } from '../../protocol';

export const FIM_TOKENS = {
  prefix: '<|fim_prefix|>',
  middle: '<|fim_middle|>',
  suffix: '<|fim_suffix|>',
  pad: '<|fim_pad|>',
  repoName: '<|repo_name|>',
  fileSep: '<|file_sep|>',
  endOfText: '<|endoftext|>',
  imEnd: '<|im_end|>',
} as const;

export type FimTokenName = keyof typeof FIM_TOKENS;

/** Control tokens that end a completion: the end markers, and any FIM or repo-level marker. */
export const FIM_STOP_TOKENS: readonly FimTokenName[] = ['endOfText', 'pad', 'fileSep', 'imEnd', 'prefix', 'suffix', 'middle', 'repoName'];

/** The same stops as text, for a server that reports them as text (or a model that spells them). */
export const FIM_STOP_TEXTS: readonly string[] = FIM_STOP_TOKENS.map((name) => FIM_TOKENS[name]);

export interface FimRequest {
  /** Document text before the cursor. */
  prefix: string;
  /** Document text after the cursor. */
  suffix: string;
  /** Workspace-relative path of the document. */
  path: string;
  /** Workspace folder name. */
  repoName: string;
  snippets: readonly CompletionContextSnippet[];
  prefixLines: number;
  suffixLines: number;
  /** Token budget of the whole prompt. */
  contextTokens: number;
  /** Prefix window start line used last time for this document (kept when it still fits). */
  prefixStartHint?: number;
}

/** How many tokens a text takes; each control token counts one. */
export interface FimTextMeasure {
  /** Tokens of `text` encoded as one piece (exact for the local tokenizer). */
  tokens(text: string): number;
  /** Tokens of one line alone; may be an estimate of its share of a longer piece. */
  lineTokens(line: string): number;
}

/** The repo-level header: other files' excerpts, then the current file's path. */
export interface FimRepoPart {
  /** `{repo}\n`, after <|repo_name|>. */
  name: string;
  /** `{path}\n{code}\n` of each other file, each after <|file_sep|>. */
  files: string[];
  /** `{path}\n` of the current file, after <|file_sep|>. */
  current: string;
}

export interface FimLayout {
  /** Null without snippets: then the prompt starts with <|fim_prefix|>. */
  repo: FimRepoPart | null;
  /** Whole lines before the cursor line (after <|fim_prefix|>), each ending in a newline. */
  prefix: string;
  /** Right of the cursor and the next lines (after <|fim_suffix|>). */
  suffix: string;
  /** The cursor line up to the cursor (after <|fim_middle|>). */
  middle: string;
  /** First document line in the prefix window (feed back as prefixStartHint). */
  prefixStartLine: number;
}

/** Share of the budget for other files' snippets, and the most the suffix may take. */
const SNIPPET_SHARE = 0.3;
const SUFFIX_SHARE = 0.125;
/**
 * And at most this many suffix tokens whatever the budget: each is evaluated again whenever the
 * cursor changes lines, and the next few lines after the cursor are enough for the model to know
 * where to stop.
 */
const SUFFIX_MAX_TOKENS = 64;
/** When the prefix window must move, fill only this share of its budget, leaving room to type. */
const PREFIX_REFILL_SHARE = 0.75;
/** Control tokens around prefix, suffix and middle. */
const FIM_MARKERS = 3;

export function layoutFim(req: FimRequest, measure: FimTextMeasure): FimLayout {
  const budget = Math.max(16, req.contextTokens);
  const repo = repoPart(req, Math.floor(budget * SNIPPET_SHARE), measure);
  const repoTokens = repo ? repoPartTokens(repo, measure) : 0;
  const suffix = suffixWindow(req.suffix, req.suffixLines, Math.min(SUFFIX_MAX_TOKENS, Math.floor(budget * SUFFIX_SHARE)), measure);
  // The window counts the cursor line too: it goes after <|fim_middle|>, but shares the budget.
  const windowBudget = Math.max(8, budget - repoTokens - measure.tokens(suffix) - FIM_MARKERS);
  const window = prefixWindow(req, windowBudget, measure);
  const lines = window.lines;
  // A cursor line longer than the budget (minified code) keeps its end, next to the cursor.
  const middle = keepEnd(lines.pop() ?? '', windowBudget, measure);
  const prefixBudget = windowBudget - measure.tokens(middle);
  // Per-line counts estimate the joined text's tokens; the joined text is measured and trimmed by
  // whole lines from the top (a line that alone is too long keeps its end) so the budget holds.
  let start = 0;
  let prefix = lines.length > 0 ? `${lines.join('\n')}\n` : '';
  while (prefix.length > 0 && measure.tokens(prefix) > prefixBudget) {
    if (start < lines.length - 1) {
      start++;
      prefix = `${lines.slice(start).join('\n')}\n`;
    } else {
      prefix = keepEnd(prefix, prefixBudget, measure);
      break;
    }
  }
  return { repo, prefix, suffix, middle, prefixStartLine: window.startLine + start };
}

/** The layout as one prompt string, for a server that parses control tokens in its prompt. */
export function fimPromptText(layout: FimLayout): string {
  const t = FIM_TOKENS;
  const code = neutralizeControlText;
  const head = layout.repo
    ? `${t.repoName}${code(layout.repo.name)}${layout.repo.files.map((f) => `${t.fileSep}${code(f)}`).join('')}${t.fileSep}${code(layout.repo.current)}`
    : '';
  return `${head}${t.prefix}${code(layout.prefix)}${t.suffix}${code(layout.suffix)}${t.middle}${code(layout.middle)}`;
}

/**
 * Source text that spells a control token ("<|fim_middle|>" in a string literal) must stay text.
 * The local path encodes code without special-token parsing; a remote server parses its whole
 * prompt, so there a zero-width space is put after the '<', which the model reads as the same
 * characters in all but the rarest case, and which can no longer become a control token.
 */
export function neutralizeControlText(text: string): string {
  return text.replace(/<(\|[A-Za-z_]+\|>)/g, '<\u200b$1');
}

/** The repo-level header with as many whole or cut snippets as fit `budget`. */
function repoPart(req: FimRequest, budget: number, measure: FimTextMeasure): FimRepoPart | null {
  if (req.snippets.length === 0) return null;
  const name = `${req.repoName}\n`;
  const current = `${req.path}\n`;
  let left = budget - (1 + measure.tokens(name)) - (1 + measure.tokens(current));
  const files: string[] = [];
  for (const s of req.snippets) {
    if (left <= 8) break;
    let body = `${s.path}\n${s.text.replace(/\s+$/, '')}\n`;
    let n = measure.tokens(body);
    if (n + 1 > left) {
      body = keepStartLines(body, left - 1, measure);
      n = measure.tokens(body);
      if (body.length === 0 || n + 1 > left) break;
    }
    files.push(body);
    left -= n + 1;
  }
  return { name, files, current };
}

function repoPartTokens(repo: FimRepoPart, measure: FimTextMeasure): number {
  let n = 1 + measure.tokens(repo.name) + 1 + measure.tokens(repo.current);
  for (const f of repo.files) n += 1 + measure.tokens(f);
  return n;
}

/** The first whole lines of `text` that fit `budget` (the first line of a snippet is its path). */
function keepStartLines(text: string, budget: number, measure: FimTextMeasure): string {
  const lines = text.split('\n');
  let used = 0;
  let n = 0;
  for (; n < lines.length; n++) {
    const cost = measure.lineTokens(lines[n]) + 1;
    if (used + cost > budget) break;
    used += cost;
  }
  if (n < 2) return '';
  let kept = `${lines.slice(0, n).join('\n')}\n`;
  // Per-line counts are estimates of the joined text's tokens: drop lines until it really fits.
  while (n > 1 && measure.tokens(kept) > budget) {
    n--;
    kept = `${lines.slice(0, n).join('\n')}\n`;
  }
  return n > 1 ? kept : '';
}

/** The end of `text` within `budget` tokens: the part next to the cursor matters most. */
function keepEnd(text: string, budget: number, measure: FimTextMeasure): string {
  if (budget <= 0) return '';
  let n = measure.tokens(text);
  let out = text;
  while (n > budget && out.length > 0) {
    // Cut in proportion, a little more than needed, then check again.
    const keep = Math.floor(((out.length * budget) / n) * 0.95);
    out = out.slice(out.length - Math.max(0, Math.min(out.length - 1, keep)));
    n = measure.tokens(out);
  }
  return out;
}

function suffixWindow(suffix: string, maxLines: number, budget: number, measure: FimTextMeasure): string {
  const lines = suffix.split('\n');
  // The rest of the current line always counts as one of the lines.
  const kept: string[] = [];
  let used = 0;
  for (let i = 0; i < lines.length && i <= maxLines; i++) {
    const n = measure.lineTokens(lines[i]);
    if (used + n > budget && i > 0) break;
    kept.push(lines[i]);
    used += n;
  }
  return kept.join('\n');
}

/**
 * The prefix window: whole lines ending with the cursor's line (cut at the cursor), within
 * `prefixLines` and `budget`.
 */
function prefixWindow(req: FimRequest, budget: number, measure: FimTextMeasure): { lines: string[]; startLine: number } {
  const lines = req.prefix.split('\n');
  const cursorLine = lines.length - 1;
  const lowest = Math.max(0, cursorLine - req.prefixLines);
  // Tokens from line i to the cursor, summed upwards until the budget stops us.
  const fitsFrom = (limit: number): number => {
    let used = 0;
    let start = cursorLine;
    for (let i = cursorLine; i >= lowest; i--) {
      used += measure.lineTokens(lines[i]) + (i < cursorLine ? 1 : 0);
      if (used > limit) break;
      start = i;
    }
    return start;
  };
  const earliest = fitsFrom(budget);
  const hint = req.prefixStartHint;
  let start: number;
  if (hint !== undefined && hint >= earliest && hint <= cursorLine) start = hint;
  else {
    // Move with slack: fill only part of the token budget, and when the line limit binds,
    // only part of the line limit, so the next many keystrokes keep this start.
    const lineSlackStart = cursorLine >= req.prefixLines ? cursorLine - Math.floor(req.prefixLines * PREFIX_REFILL_SHARE) : 0;
    start = earliest === 0 && lowest === 0 ? 0 : Math.max(fitsFrom(Math.floor(budget * PREFIX_REFILL_SHARE)), lineSlackStart);
  }
  return { lines: lines.slice(start), startLine: start };
}
