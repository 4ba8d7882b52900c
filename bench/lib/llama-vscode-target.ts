// llama-server as a typing-replay target, asked the way llama.vscode v0.0.63 asks it
// (src/completion.ts, src/llama-server.ts, src/extra-context.ts there): POST /infill with
//   input_prefix = up to 256 whole lines before the cursor line, each ending in '\n';
//   prompt       = the cursor line up to the cursor ('' when that is only blanks);
//   input_suffix = the rest of the cursor line, '\n', then up to 64 lines, each ending in '\n';
//   input_extra  = the ring buffer's chunks ({ text, filename });
//   cache_prompt, n_predict, top_k 40, top_p 0.99, samplers, and in its default configuration
//   n_indent (the cursor line's indentation, when > 0), t_max_prompt_ms 500, t_max_predict_ms 500.
// llama.vscode's `infill` sampler is left out of `samplers`: on random weights it ends the output
// at once, which would make the peer look fast for generating nothing.
import type { LlamaServerProcess } from './llama-server-process';
import type { CompletionAnswer, CompletionTarget } from './typing-replay';

/** One entry of /infill's input_extra (llama.vscode's ring-buffer chunk). */
export interface InfillChunk {
  text: string;
  filename: string;
}

export interface LlamaVscodeRequestShape {
  nPredict: number;
  /** llama.vscode's default settings: n_indent, t_max_prompt_ms 500 and t_max_predict_ms 500. */
  clientDefaults: boolean;
}

/** llama.vscode's defaults (its package.json). */
export const LLAMA_VSCODE = {
  nPrefixLines: 256,
  nSuffixLines: 64,
  nPredict: 128,
  tMaxPromptMs: 500,
  tMaxPredictMs: 500,
  ringChunkSize: 64,
  /** A queued chunk enters the ring (and is sent to warm the cache) once 3 s passed since the last completion. */
  ringUpdateAfterMs: 3000,
} as const;

/** The cursor's line, column and the document's lines ('\n'-separated). */
function cursorLines(text: string, offset: number): { lines: string[]; line: number; character: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length - 1;
  return { lines: text.split('\n'), line, character: offset - (before.lastIndexOf('\n') + 1) };
}

/** The /infill body llama.vscode sends for a completion with the cursor at `offset`. */
export function infillRequest(text: string, offset: number, shape: LlamaVscodeRequestShape, inputExtra: readonly InfillChunk[]): Record<string, unknown> {
  const { lines, line, character } = cursorLines(text, offset);
  const lineText = lines[line];
  const linePrefix = lineText.slice(0, character);
  const lineSuffix = lineText.slice(character);
  const prefixLines = lines.slice(Math.max(0, line - LLAMA_VSCODE.nPrefixLines), line);
  const suffixLines = lines.slice(line + 1, Math.min(lines.length, line + 1 + LLAMA_VSCODE.nSuffixLines));
  const body: Record<string, unknown> = {
    input_prefix: prefixLines.join('\n') + '\n',
    input_suffix: lineSuffix + '\n' + suffixLines.join('\n') + '\n',
    input_extra: inputExtra,
    prompt: /^[ \t]*$/.test(linePrefix) ? '' : linePrefix,
    n_predict: shape.nPredict,
    top_k: 40,
    top_p: 0.99,
    stream: false,
    samplers: ['top_k', 'top_p'],
    cache_prompt: true,
  };
  if (shape.clientDefaults) {
    const indent = lineText.length - lineText.trimStart().length;
    if (indent > 0) body.n_indent = indent;
    body.t_max_prompt_ms = LLAMA_VSCODE.tMaxPromptMs;
    body.t_max_predict_ms = LLAMA_VSCODE.tMaxPredictMs;
  }
  return body;
}

/** The request llama.vscode sends when a chunk enters its ring buffer: prefill the chunks, generate nothing. */
export function ringWarmupRequest(inputExtra: readonly InfillChunk[]): Record<string, unknown> {
  return {
    input_prefix: '',
    input_suffix: '',
    input_extra: inputExtra,
    prompt: '',
    n_predict: 0,
    samplers: [],
    cache_prompt: true,
    t_max_prompt_ms: LLAMA_VSCODE.tMaxPromptMs,
    t_max_predict_ms: 1,
  };
}

/**
 * The chunk llama.vscode queues when an editor becomes active: of the lines within
 * ringChunkSize/2 of the cursor, a window of ringChunkSize/2 lines (llama.vscode picks the window
 * at random; this takes the middle one, so runs repeat).
 */
export function chunkAroundCursor(text: string, offset: number, filename: string): InfillChunk {
  const { lines, line } = cursorLines(text, offset);
  const half = LLAMA_VSCODE.ringChunkSize / 2;
  const around = lines.slice(Math.max(0, line - half), Math.min(line + half, lines.length - 1) + 1);
  const window =
    around.length + 1 < LLAMA_VSCODE.ringChunkSize
      ? around
      : around.slice(Math.floor((around.length - half) / 2), Math.floor((around.length - half) / 2) + half);
  return { text: window.join('\n') + '\n', filename };
}

/** The fields of /infill's answer this benchmark reads. */
interface InfillResponse {
  content: string;
  tokens_evaluated: number;
  tokens_cached: number;
  stop_type?: string;
  timings: { cache_n: number; prompt_n: number; prompt_ms: number; predicted_n: number; predicted_ms: number };
}

/** The answer's fields in the benchmark's terms. */
function answerOf(r: InfillResponse): CompletionAnswer {
  const t = r.timings;
  if (!t || typeof t.prompt_n !== 'number' || typeof r.tokens_evaluated !== 'number') {
    throw new Error(`llama-server /infill answered without timings: ${JSON.stringify(r).slice(0, 500)}`);
  }
  return {
    text: r.content,
    promptTokens: r.tokens_evaluated,
    cachedTokens: t.cache_n,
    evaluatedTokens: t.prompt_n,
    generatedTokens: t.predicted_n,
    prefillMs: t.prompt_ms,
    stopReason: r.stop_type,
    slotTokens: r.tokens_cached,
  };
}

export class LlamaVscodeTarget implements CompletionTarget {
  private text = '';
  /** Ring-buffer chunks sent as input_extra with every request. */
  inputExtra: InfillChunk[] = [];

  constructor(
    readonly server: LlamaServerProcess,
    readonly shape: LlamaVscodeRequestShape,
  ) {}

  async open(text: string): Promise<void> {
    this.text = text;
  }

  insert(offset: number, text: string): void {
    this.text = this.text.slice(0, offset) + text + this.text.slice(offset);
  }

  /** The document as this editor holds it now. */
  documentText(): string {
    return this.text;
  }

  async complete(offset: number): Promise<CompletionAnswer> {
    return answerOf(await this.server.post<InfillResponse>('/infill', infillRequest(this.text, offset, this.shape, this.inputExtra)));
  }

  /** llama.vscode's ring-buffer update: `chunks` become input_extra and are prefilled with n_predict 0. */
  async warmRing(chunks: InfillChunk[]): Promise<CompletionAnswer> {
    this.inputExtra = chunks;
    return answerOf(await this.server.post<InfillResponse>('/infill', ringWarmupRequest(chunks)));
  }
}
