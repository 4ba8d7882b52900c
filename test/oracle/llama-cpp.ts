// llama.cpp as the independent oracle, through node-llama-cpp's prebuilt CPU binary.
//
// Everything here runs offline: getLlama is told never to build or download, so a missing binary
// fails at once with node-llama-cpp's own message instead of reaching for the network.
// node-llama-cpp is an ES module while our tests compile to CommonJS, so it is loaded with a real
// dynamic import (tsc would turn a plain `import()` into `require()`, which cannot load it).
import type * as Nlc from 'node-llama-cpp';

const importEsm = new Function('specifier', 'return import(specifier)') as (s: string) => Promise<unknown>;

let nlcModule: typeof Nlc | null = null;
let llamaPromise: Promise<Nlc.Llama> | null = null;

async function nlc(): Promise<typeof Nlc> {
  if (!nlcModule) nlcModule = (await importEsm('node-llama-cpp')) as typeof Nlc;
  return nlcModule;
}

/** The shared Llama instance (CPU only, prebuilt binary, no build, no download). */
export async function getLlamaCpp(): Promise<Nlc.Llama> {
  if (!llamaPromise) {
    llamaPromise = (async () => {
      const m = await nlc();
      return m.getLlama({
        gpu: false,
        build: 'never',
        usePrebuiltBinaries: true,
        skipDownload: true,
        progressLogs: false,
        logLevel: m.LlamaLogLevel.error,
      });
    })();
  }
  return llamaPromise;
}

/** Frees the native side so the test process can exit. Safe to call when nothing was loaded. */
export async function disposeLlamaCpp(): Promise<void> {
  const p = llamaPromise;
  llamaPromise = null;
  if (p) await (await p).dispose();
}

export interface LlamaCppSession {
  model: Nlc.LlamaModel;
  context: Nlc.LlamaContext;
  sequence: Nlc.LlamaContextSequence;
  dispose(): Promise<void>;
}

/** Loads a GGUF (mmap, CPU) with one context of `contextSize` tokens and one sequence. */
export async function openLlamaCpp(modelPath: string, opts: { contextSize: number; batchSize?: number; threads?: number }): Promise<LlamaCppSession> {
  const llama = await getLlamaCpp();
  const model = await llama.loadModel({ modelPath, gpuLayers: 0, useMmap: true });
  const context = await model.createContext({
    contextSize: opts.contextSize,
    batchSize: opts.batchSize ?? Math.min(opts.contextSize, 512),
    threads: opts.threads ?? 2,
    sequences: 1,
    flashAttention: false,
  });
  const sequence = context.getSequence();
  return {
    model,
    context,
    sequence,
    async dispose() {
      sequence.dispose();
      await context.dispose();
      await model.dispose();
    },
  };
}

/**
 * Logits after every token: row i is llama.cpp's raw next-token logits after tokens[0..i].
 * Returns Float32Array [tokens.length x nVocab], row-major, from an empty cache.
 */
export async function llamaCppLogits(
  modelPath: string,
  tokens: readonly number[],
  opts: { threads?: number } = {},
): Promise<{ logits: Float32Array; nVocab: number }> {
  const s = await openLlamaCpp(modelPath, { contextSize: Math.max(64, tokens.length + 8), threads: opts.threads });
  try {
    const input: Nlc.ControlledEvaluateInputItem[] = tokens.map((t) => [t as Nlc.Token, { generateNext: { logits: true } }]);
    const res = await s.sequence.controlledEvaluate(input);
    // llama.cpp returns every vocabulary entry for each row; the first row tells the vocabulary size.
    const V = res[0]?.next.logits?.size ?? 0;
    if (V === 0) throw new Error(`${modelPath}: llama.cpp returned no logits`);
    const out = new Float32Array(tokens.length * V).fill(NaN);
    for (let i = 0; i < tokens.length; i++) {
      const row = res[i]?.next.logits;
      if (!row) throw new Error(`llama.cpp returned no logits for position ${i}`);
      if (row.size !== V) throw new Error(`llama.cpp returned ${row.size} logits for position ${i}, expected ${V}`);
      const base = i * V;
      for (const [tok, value] of row) out[base + (tok as number)] = value;
    }
    return { logits: out, nVocab: V };
  } finally {
    await s.dispose();
  }
}

/** Tokenizes with llama.cpp's own tokenizer (no BOS, special tokens as text). */
export async function llamaCppTokenize(modelPath: string, text: string): Promise<number[]> {
  const llama = await getLlamaCpp();
  const model = await llama.loadModel({ modelPath, gpuLayers: 0, useMmap: true });
  try {
    return model.tokenize(text, false).map((t) => t as number);
  } finally {
    await model.dispose();
  }
}

export interface PerplexityResult {
  perplexity: number;
  nTokens: number;
  nChunks: number;
  nScored: number;
}

/**
 * Perplexity of `text` as llama.cpp's perplexity tool computes it: llama.cpp's tokenizer, no BOS
 * (Qwen2 sets add_bos_token = false), non-overlapping chunks of `ctx` tokens each evaluated from an
 * empty cache, and only the second half of each chunk scored (logits at j predict token j+1 for
 * ctx/2 <= j <= ctx-2). Only the target's logit, the row maximum and sum(exp(logit - max)) are
 * fetched per position, which keeps this fast.
 */
export async function llamaCppPerplexity(
  modelPath: string,
  text: string,
  opts: { ctx: number; maxChunks?: number; threads?: number },
): Promise<PerplexityResult> {
  const { ctx } = opts;
  const s = await openLlamaCpp(modelPath, { contextSize: ctx, batchSize: ctx, threads: opts.threads });
  try {
    const tokens = s.model.tokenize(text, false).map((t) => t as number);
    const nChunks = Math.min(Math.floor(tokens.length / ctx), opts.maxChunks ?? Infinity);
    if (nChunks < 1) throw new Error(`text has ${tokens.length} tokens, fewer than one chunk of ${ctx}`);
    const first = Math.floor(ctx / 2);
    let nll = 0;
    let nScored = 0;
    for (let c = 0; c < nChunks; c++) {
      const chunk = tokens.slice(c * ctx, (c + 1) * ctx);
      await s.sequence.clearHistory();
      const input: Nlc.ControlledEvaluateInputItem[] = chunk.map((t, j) =>
        j >= first && j < ctx - 1
          ? [t as Nlc.Token, { generateNext: { totalLogitWeight: true, logits: { filter: { tokens: [chunk[j + 1] as Nlc.Token], includeTop: 1 } } } }]
          : (t as Nlc.Token),
      );
      const res = await s.sequence.controlledEvaluate(input);
      for (let j = first; j < ctx - 1; j++) {
        const next = res[j]?.next;
        const target = next?.logits?.get(chunk[j + 1] as Nlc.Token);
        const weight = next?.totalLogitWeight;
        if (!next?.logits || target === undefined || weight === undefined) throw new Error(`llama.cpp returned no scores at chunk ${c} position ${j}`);
        const max = Math.max(...next.logits.values());
        // -log p(target) = -(logit_t - max - log(sum exp(logit - max)))
        nll += -(target - max - Math.log(weight));
        nScored++;
      }
    }
    return { perplexity: Math.exp(nll / nScored), nTokens: tokens.length, nChunks, nScored };
  } finally {
    await s.dispose();
  }
}
