// The FIM prompt for the local engine, as token ids: the layout of fim-layout.ts, measured with
// the model's own tokenizer and encoded piece by piece. Code is encoded without special-token
// parsing, so source text that happens to contain "<|fim_prefix|>" cannot inject control tokens;
// the control tokens are put in by id.
import type { Tokenizer } from '../../engine/api';
import { FIM_STOP_TOKENS, FIM_TOKENS, FimLayout, FimRequest, FimTextMeasure, FimTokenName, layoutFim } from './fim-layout';

export { FIM_TOKENS } from './fim-layout';
export type { FimRequest } from './fim-layout';

export interface FimPrompt {
  tokens: number[];
  /** The layout the tokens encode (the same text a remote server would be sent). */
  layout: FimLayout;
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

/** Most pieces remembered per build: the layout measures a piece, then it is encoded once. */
const PIECE_MEMO = 64;

export class FimPromptBuilder {
  private readonly ids: Record<FimTokenName, number>;
  /** Token counts of single lines, by text: most lines are unchanged between keystrokes. */
  private readonly lineCounts = new Map<string, number>();
  /** Encodings of other files' excerpts: they change only when the client re-ranks them. */
  private readonly snippetCache = new Map<string, number[]>();

  constructor(private readonly tokenizer: Tokenizer) {
    const ids = {} as Record<FimTokenName, number>;
    for (const [key, text] of Object.entries(FIM_TOKENS) as Array<[FimTokenName, string]>) {
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
    return FIM_STOP_TOKENS.map((name) => this.ids[name]);
  }

  build(req: FimRequest): FimPrompt {
    const pieces = new Map<string, number[]>();
    const encodePiece = (text: string): number[] => {
      let tokens = pieces.get(text) ?? this.snippetCache.get(text);
      if (!tokens) {
        tokens = this.encode(text);
        if (pieces.size < PIECE_MEMO) pieces.set(text, tokens);
      }
      return tokens;
    };
    const measure: FimTextMeasure = {
      tokens: (text) => encodePiece(text).length,
      lineTokens: (line) => this.lineTokens(line),
    };
    const layout = layoutFim(req, measure);
    const head: number[] = [];
    if (layout.repo) {
      head.push(this.ids.repoName, ...encodePiece(layout.repo.name));
      for (const file of layout.repo.files) head.push(this.ids.fileSep, ...this.snippetTokens(file, encodePiece));
      head.push(this.ids.fileSep, ...encodePiece(layout.repo.current));
    }
    const prefix = encodePiece(layout.prefix);
    const suffix = encodePiece(layout.suffix);
    const middle = encodePiece(layout.middle);
    return {
      tokens: [...head, this.ids.prefix, ...prefix, this.ids.suffix, ...suffix, this.ids.middle, ...middle],
      layout,
      prefixStartLine: layout.prefixStartLine,
      contextTokens: head.length,
      prefixTokens: prefix.length,
      suffixTokens: suffix.length,
      middleTokens: middle.length,
    };
  }

  private snippetTokens(text: string, encodePiece: (text: string) => number[]): number[] {
    let tokens = this.snippetCache.get(text);
    if (!tokens) {
      tokens = encodePiece(text);
      if (this.snippetCache.size >= 64) this.snippetCache.delete(this.snippetCache.keys().next().value as string);
      this.snippetCache.set(text, tokens);
    }
    return tokens;
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
