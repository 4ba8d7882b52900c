// A small stand-in engine for the server's tests, implementing api.ts's Model/Sequence/Tokenizer
// with deterministic behaviour and controllable speed. The server runs the REAL generate() loop
// (src/engine/generate.ts) over it, so prefix reuse, stop tokens, onText and cancellation are
// the engine's own; only the forward pass is fake. Tokens are UTF-16 code units, plus the Qwen
// special tokens at their real ids.
//
// The fake "model" answers a FIM prompt with FIM_ANSWER and a chat prompt with an endless run of
// CHAT_WORD (so chat cancellation can be observed), one character per token. An eval asked for
// every logits row returns one-hot rows of those choices, so speculative decoding runs for real. Like a real FIM
// model, it continues the middle that the prompt has begun (the cursor line up to the cursor goes
// after <|fim_middle|>): typed text that starts FIM_ANSWER is continued, not written again.
import * as fs from 'fs';
import type { GenerateOptions, GenerateResult, LoadOptions, LogitsMode, Model, ModelInfo, SamplingOptions, Sequence, Tokenizer } from '../../src/engine/api';
import { generate } from '../../src/engine/generate';
import { renderChatPrompt } from '../../src/engine/chat-template';
import type { EngineModule } from '../../src/server/model-host';

export const FIM_ANSWER = 'return a + b;\n}\n\nfunction next() {';
export const CHAT_WORD = 'word ';
const SPECIALS: Record<string, number> = {
  '<|endoftext|>': 151643,
  '<|im_start|>': 151644,
  '<|im_end|>': 151645,
  '<|fim_prefix|>': 151659,
  '<|fim_middle|>': 151660,
  '<|fim_suffix|>': 151661,
  '<|fim_pad|>': 151662,
  '<|repo_name|>': 151663,
  '<|file_sep|>': 151664,
};
const SPECIAL_TEXT = new Map(Object.entries(SPECIALS).map(([k, v]) => [v, k]));

class FakeTokenizer implements Tokenizer {
  readonly vocabSize = 151936;
  readonly eosId = 151643;
  readonly bosId = null;
  encode(text: string, opts?: { special?: boolean }): number[] {
    const out: number[] = [];
    for (let i = 0; i < text.length;) {
      if (opts?.special) {
        const hit = Object.keys(SPECIALS).find((s) => text.startsWith(s, i));
        if (hit) {
          out.push(SPECIALS[hit]);
          i += hit.length;
          continue;
        }
      }
      out.push(text.charCodeAt(i++));
    }
    return out;
  }
  decode(ids: readonly number[], opts?: { special?: boolean }): string {
    return ids.map((id) => SPECIAL_TEXT.get(id) ?? (opts?.special === false && id > 65535 ? '' : String.fromCharCode(id))).join('');
  }
  tokenId(text: string): number | undefined {
    return SPECIALS[text];
  }
  createStreamDecoder(): { push(id: number): string; flush(): string } {
    return { push: (id) => (SPECIAL_TEXT.has(id) ? '' : String.fromCharCode(id)), flush: () => '' };
  }
  isSpecial(id: number): boolean {
    return SPECIAL_TEXT.has(id);
  }
}

export interface FakeSpeed {
  /** Milliseconds per prompt token in prefill, and per decoded token. */
  prefillMsPerToken: number;
  decodeMs: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

class FakeSequence implements Sequence {
  readonly tokens: number[] = [];
  constructor(
    readonly id: number,
    private readonly model: FakeModel,
  ) {}
  truncate(n: number): void {
    if (n < this.tokens.length) this.tokens.length = n;
  }
  async eval(tokens: readonly number[], opts?: { logits?: LogitsMode; signal?: AbortSignal }): Promise<Float32Array | null> {
    const { prefillMsPerToken, decodeMs } = this.model.speed;
    // Micro-batches of 16, the signal checked between them, as the real engine does.
    for (let i = 0; i < tokens.length; i += 16) {
      if (opts?.signal?.aborted) {
        const e = new Error('eval aborted');
        e.name = 'AbortError';
        throw e;
      }
      const batch = tokens.slice(i, i + 16);
      await sleep(tokens.length === 1 ? decodeMs : batch.length * prefillMsPerToken);
      this.tokens.push(...batch);
      this.model.evaluated += batch.length;
    }
    if (opts?.logits !== 'all') return null;
    // One-hot rows (speculative verify): the token this fake model chooses after each evaluated token.
    const vocab = this.model.info.nVocab;
    const logits = new Float32Array(tokens.length * vocab);
    const start = this.tokens.length - tokens.length;
    for (let r = 0; r < tokens.length; r++) logits[r * vocab + choiceAfter(this.tokens.slice(0, start + r + 1))] = 1;
    return logits;
  }
  sample(_opts: SamplingOptions): number {
    return choiceAfter(this.tokens);
  }
  dispose(): void {
    this.model.live.delete(this);
  }
}

/** The next token this fake model writes after `tokens`, whatever the sampling options. */
function choiceAfter(tokens: readonly number[]): number {
  const fim = tokens.lastIndexOf(SPECIALS['<|fim_middle|>']);
  const chat = tokens.lastIndexOf(SPECIALS['<|im_start|>']);
  if (fim >= 0 && fim > chat) {
    const n = answeredSoFar(tokens.slice(fim + 1));
    return n < FIM_ANSWER.length ? FIM_ANSWER.charCodeAt(n) : SPECIALS['<|endoftext|>'];
  }
  const n = tokens.length - chat - 1 - 'assistant\n'.length;
  return CHAT_WORD.charCodeAt(((n % CHAT_WORD.length) + CHAT_WORD.length) % CHAT_WORD.length);
}

/**
 * How much of FIM_ANSWER the middle already holds: the longest end of it (the typed head and what
 * was generated so far) that is a start of FIM_ANSWER. Indentation and unrelated typed text before
 * that are left alone, as a model would.
 */
function answeredSoFar(middle: readonly number[]): number {
  const text = String.fromCharCode(...middle.slice(-FIM_ANSWER.length));
  for (let k = text.length; k > 0; k--) {
    if (FIM_ANSWER.startsWith(text.slice(text.length - k))) return k;
  }
  return 0;
}

export class FakeModel implements Model {
  readonly tokenizer = new FakeTokenizer();
  readonly metadata: Record<string, unknown> = {};
  readonly chatTemplate = null;
  readonly live = new Set<FakeSequence>();
  evaluated = 0;
  private nextId = 1;
  /** Like the engine's paged KV cache (a test may choose another size). */
  blockTokens = 32;
  constructor(
    readonly info: ModelInfo,
    readonly speed: FakeSpeed,
  ) {}
  createSequence(): Sequence {
    const s = new FakeSequence(this.nextId++, this);
    this.live.add(s);
    return s;
  }
  kvUsage(): { used: number; capacity: number; bytesPerToken: number; blockTokens: number } {
    let used = 0;
    for (const s of this.live) used += s.tokens.length;
    return { used, capacity: this.info.contextSize, bytesPerToken: 1024, blockTokens: this.blockTokens };
  }
  async dispose(): Promise<void> {
    this.live.clear();
  }
}

/** The fake model's ModelInfo (a small Qwen2-shaped model on the CPU) with `contextSize` tokens of KV. */
export function fakeModelInfo(contextSize: number, file: { path: string; fileSizeBytes: number } = { path: 'fake.gguf', fileSizeBytes: 1 }): ModelInfo {
  return {
    path: file.path,
    architecture: 'qwen2',
    name: 'fake-qwen',
    nLayer: 2,
    nEmbd: 256,
    nHead: 4,
    nHeadKv: 2,
    nFf: 768,
    nVocab: 151936,
    trainedContext: 32768,
    contextSize,
    ropeFreqBase: 1e6,
    parameterCount: 1000,
    fileSizeBytes: file.fileSizeBytes,
    tensorTypes: { F32: 1 },
    device: 'cpu',
    deviceReport: { requested: 'cpu', used: 'cpu', gpuUnavailable: { code: 'cpu_requested', message: "device 'cpu' was requested" } },
    backend: 'fake engine (tests)',
  };
}

/** loadModel over any existing file whose first bytes are "GGUF"; errors like the real engine's. */
export async function loadFakeModel(path: string, opts: LoadOptions, speed: FakeSpeed): Promise<Model> {
  if (!fs.existsSync(path)) throw new Error(`${path}: no such file`);
  const head = Buffer.alloc(4);
  const fd = fs.openSync(path, 'r');
  fs.readSync(fd, head, 0, 4, 0);
  fs.closeSync(fd);
  if (head.toString('latin1') !== 'GGUF') throw new Error(`${path}: not a GGUF file (bad magic)`);
  for (const f of [0.25, 0.5, 1]) opts.onProgress?.(f);
  const info = fakeModelInfo(opts.contextSize ?? 4096, { path, fileSizeBytes: fs.statSync(path).size });
  return new FakeModel(info, speed);
}

export function fakeEngine(speed: FakeSpeed): EngineModule {
  return {
    loadModel: (path, opts) => loadFakeModel(path, opts, speed),
    generate: (model, seq, prompt, opts: GenerateOptions): Promise<GenerateResult> => generate(model, seq, prompt, opts),
    renderChatPrompt,
  };
}
