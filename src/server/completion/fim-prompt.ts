// The Qwen2.5-Coder fill-in-the-middle prompt, as token ids.
//
//   [<|repo_name|>{repo}\n <|file_sep|>{path}\n{code}\n ... <|file_sep|>{current path}\n]
//   <|fim_prefix|>{lines before the cursor line}<|fim_suffix|>{rest of the cursor line, next lines}
//   <|fim_middle|>{cursor line up to the cursor}
//
// The repo-level part (bracketed) is used when snippets of other files are given. The layout runs
// from stable to volatile, so a keystroke changes only the last few tokens and the slot's KV cache
// keeps everything before them:
//  - the cursor line's text left of the cursor is the start of the middle, the one part that
//    changes while the user types along a line. The suffix (text right of the cursor) is put
//    before it and stays valid: typing inserts characters before it, not into it. FIM training
//    splits files at arbitrary points, so a middle that starts at a line start is in distribution;
//  - the prefix window's first line is sticky (`prefixStartHint`): it stays put while the prefix
//    still fits its budget, and when it must move it jumps far enough to leave slack, instead of
//    sliding (and invalidating the whole cache) on every keystroke;
//  - the suffix gets a small share of the budget: it is evaluated again whenever the cursor
//    changes lines, and a few lines after the cursor are enough for the model to know where to stop.
// Code is encoded without special-token parsing, so source text that happens to contain
// "<|fim_prefix|>" cannot inject control tokens.
import type { Tokenizer } from '../../engine/api';
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

export interface FimPrompt {
  tokens: number[];
  /** First document line in the prefix window (feed back as prefixStartHint). */
  prefixStartLine: number;
  /** Tokens of the repo/other-file part (0 without snippets). */
  contextTokens: number;
  /** Tokens of the whole lines before the cursor line. */
  prefixTokens: number;
  suffixTokens: number;
  /** Tokens after <|fim_middle|>: the cursor line up to the cursor. */
  middleTokens: number;
}

/** Share of the budget for other files' snippets, and the most the suffix may take. */
const SNIPPET_SHARE = 0.3;
const SUFFIX_SHARE = 0.125;
/**
 * And at most this many suffix tokens whatever the budget: each is evaluated again on every
 * keystroke (it follows the cursor), and the next few lines after the cursor are enough for the model to know where to stop.
 */
const SUFFIX_MAX_TOKENS = 64;
/** When the prefix window must move, fill only this share of its budget, leaving room to type. */
const PREFIX_REFILL_SHARE = 0.75;

export class FimPromptBuilder {
  private readonly ids: Record<keyof typeof FIM_TOKENS, number>;
  /** Token counts of single lines, by text: most lines are unchanged between keystrokes. */
  private readonly lineCounts = new Map<string, number>();
  private readonly snippetCache = new Map<string, number[]>();

  constructor(private readonly tokenizer: Tokenizer) {
    const ids = {} as Record<keyof typeof FIM_TOKENS, number>;
    for (const [key, text] of Object.entries(FIM_TOKENS) as Array<[keyof typeof FIM_TOKENS, string]>) {
      const id = tokenizer.tokenId(text);
      if (id === undefined) {
        throw new Error(`the model's vocabulary has no ${text} token, so it cannot do fill-in-the-middle completion (use a Qwen2.5-Coder model)`);
      }
      ids[key] = id;
    }
    this.ids = ids;
  }

  /** Token ids that end a completion. */
  stopTokenIds(): number[] {
    const { prefix, middle, suffix, pad, repoName, fileSep, endOfText, imEnd } = this.ids;
    return [endOfText, pad, fileSep, imEnd, prefix, suffix, middle, repoName];
  }

  build(req: FimRequest): FimPrompt {
    const budget = Math.max(16, req.contextTokens);
    const head = this.contextPart(req, Math.floor(budget * SNIPPET_SHARE));
    const suffixText = this.suffixWindow(req.suffix, req.suffixLines, Math.min(SUFFIX_MAX_TOKENS, Math.floor(budget * SUFFIX_SHARE)));
    const suffixTokens = this.encode(suffixText);
    // The window counts the cursor line too: it goes after <|fim_middle|>, but shares the budget.
    const windowBudget = Math.max(8, budget - head.length - suffixTokens.length - 3);
    const { lines, startLine } = this.prefixWindow(req, windowBudget);
    const cursorLine = lines.pop() ?? '';
    let middleTokens = this.encode(cursorLine);
    // Per-line counts are estimates of the joined text's tokens; never exceed the budget. A cursor
    // line longer than the budget (minified code) keeps its end, next to the cursor.
    if (middleTokens.length > windowBudget) middleTokens = middleTokens.slice(middleTokens.length - windowBudget);
    const prefixBudget = windowBudget - middleTokens.length;
    let prefixTokens = lines.length > 0 ? this.encode(`${lines.join('\n')}\n`) : [];
    if (prefixTokens.length > prefixBudget) prefixTokens = prefixTokens.slice(prefixTokens.length - prefixBudget);
    const tokens = [...head, this.ids.prefix, ...prefixTokens, this.ids.suffix, ...suffixTokens, this.ids.middle, ...middleTokens];
    return {
      tokens,
      prefixStartLine: startLine,
      contextTokens: head.length,
      prefixTokens: prefixTokens.length,
      suffixTokens: suffixTokens.length,
      middleTokens: middleTokens.length,
    };
  }

  /** The repo-level header with as many whole or cut snippets as fit `budget`. */
  private contextPart(req: FimRequest, budget: number): number[] {
    if (req.snippets.length === 0) return [];
    const out: number[] = [this.ids.repoName, ...this.encode(`${req.repoName}\n`)];
    const current = [this.ids.fileSep, ...this.encode(`${req.path}\n`)];
    let left = budget - out.length - current.length;
    for (const s of req.snippets) {
      if (left <= 8) break;
      let body = this.snippetTokens(s);
      if (body.length + 1 > left) body = body.slice(0, left - 1);
      out.push(this.ids.fileSep, ...body);
      left -= body.length + 1;
    }
    return [...out, ...current];
  }

  private snippetTokens(s: CompletionContextSnippet): number[] {
    const text = `${s.path}\n${s.text.replace(/\s+$/, '')}\n`;
    let tokens = this.snippetCache.get(text);
    if (!tokens) {
      tokens = this.encode(text);
      if (this.snippetCache.size >= 64) this.snippetCache.delete(this.snippetCache.keys().next().value as string);
      this.snippetCache.set(text, tokens);
    }
    return tokens;
  }

  private suffixWindow(suffix: string, maxLines: number, budget: number): string {
    const lines = suffix.split('\n');
    // The rest of the current line always counts as one of the lines.
    const kept: string[] = [];
    let used = 0;
    for (let i = 0; i < lines.length && i <= maxLines; i++) {
      const n = this.lineTokens(lines[i]);
      if (used + n > budget && i > 0) break;
      kept.push(lines[i]);
      used += n;
    }
    return kept.join('\n');
  }

  /**
   * The prefix window: whole lines ending with the cursor's line (cut at the cursor), within
   * `maxLines` and `budget`.
   */
  private prefixWindow(req: FimRequest, budget: number): { lines: string[]; startLine: number } {
    const lines = req.prefix.split('\n');
    const cursorLine = lines.length - 1;
    const lowest = Math.max(0, cursorLine - req.prefixLines);
    // Tokens from line i to the cursor, summed upwards until the budget stops us.
    const fitsFrom = (limit: number): number => {
      let used = 0;
      let start = cursorLine;
      for (let i = cursorLine; i >= lowest; i--) {
        used += this.lineTokens(lines[i]) + (i < cursorLine ? 1 : 0);
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

  private lineTokens(line: string): number {
    let n = this.lineCounts.get(line);
    if (n === undefined) {
      n = line.length === 0 ? 0 : this.tokenizer.encode(line).length;
      if (this.lineCounts.size > 20000) this.lineCounts.clear();
      this.lineCounts.set(line, n);
    }
    return n;
  }

  private encode(text: string): number[] {
    return text.length === 0 ? [] : this.tokenizer.encode(text, { special: false });
  }
}
