// `qwen-local perplexity --model F --file T [--ctx 512]`, following llama.cpp's perplexity tool
// so the numbers can be compared: the text is cut into non-overlapping chunks of ctx tokens (the
// remainder is dropped; at least two chunks are required), each chunk is evaluated from an empty
// cache, and only the second half is scored — the logits at position j (ctx/2 <= j <= ctx-2)
// predict token j+1 — so every scored token has at least ctx/2 tokens of context. No BOS token is
// added (Qwen2 GGUFs set add_bos_token = false).
import { Args, UsageError } from './args';
import { Command, MODEL_OPTIONS, openModel, readTextFile, writeOut } from './common';

/** -log softmax(row)[target], computed in double precision with the max subtracted. */
export function negLogProb(logits: Float32Array, rowOffset: number, nVocab: number, target: number): number {
  let max = -Infinity;
  for (let i = 0; i < nVocab; i++) max = Math.max(max, logits[rowOffset + i]);
  let sum = 0;
  for (let i = 0; i < nVocab; i++) sum += Math.exp(logits[rowOffset + i] - max);
  return -(logits[rowOffset + target] - max - Math.log(sum));
}

export const perplexityCommand: Command = {
  name: 'perplexity',
  summary: "perplexity of a text file, scored like llama.cpp's perplexity tool",
  usage: '--model F --file T [--ctx 512] [--threads N] [--device auto|cpu|cuda] [--chunks N]',
  options: {
    model: MODEL_OPTIONS.model,
    threads: MODEL_OPTIONS.threads,
    device: MODEL_OPTIONS.device,
    ctx: { kind: 'int', alias: '-c', min: 16, max: 1 << 20, description: 'chunk size in tokens (default 512)' },
    file: { kind: 'string', alias: '-f', required: true, description: 'text file' },
    chunks: { kind: 'int', min: 1, description: 'score at most this many chunks' },
  },
  async run(args: Args) {
    const file = args.string('file') as string;
    const text = readTextFile('file', file);
    const ctx = args.int('ctx', 512);
    const model = await openModel(args, ctx);
    try {
      const tokens = model.tokenizer.encode(text);
      if (tokens.length < 2 * ctx) {
        throw new UsageError(`${file} has ${tokens.length} tokens; perplexity with --ctx ${ctx} needs at least ${2 * ctx}`);
      }
      if (model.info.contextSize < ctx) {
        throw new UsageError(`--ctx ${ctx} is larger than the model's context (${model.info.contextSize})`);
      }
      const nChunks = Math.min(Math.floor(tokens.length / ctx), args.int('chunks', Number.MAX_SAFE_INTEGER));
      const nVocab = model.info.nVocab;
      const first = Math.floor(ctx / 2);
      process.stderr.write(`qwen-local: ${tokens.length} tokens, ${nChunks} chunks of ${ctx}, scoring positions ${first}..${ctx - 2}\n`);
      const seq = model.createSequence();
      let nll = 0;
      let nll2 = 0;
      let count = 0;
      for (let c = 0; c < nChunks; c++) {
        const chunk = tokens.slice(c * ctx, (c + 1) * ctx);
        seq.truncate(0);
        const logits = (await seq.eval(chunk, { logits: 'all' })) as Float32Array;
        let chunkNll = 0;
        for (let j = first; j < ctx - 1; j++) {
          const v = negLogProb(logits, j * nVocab, nVocab, chunk[j + 1]);
          chunkNll += v;
          nll2 += v * v;
        }
        const scored = ctx - 1 - first;
        nll += chunkNll;
        count += scored;
        await writeOut(`[${c + 1}] chunk ${Math.exp(chunkNll / scored).toFixed(4)}  running ${Math.exp(nll / count).toFixed(4)}\n`);
      }
      seq.dispose();
      const mean = nll / count;
      const variance = nll2 / count - mean * mean;
      const ppl = Math.exp(mean);
      const err = variance > 0 && count > 1 ? Math.sqrt(variance / (count - 1)) * ppl : 0;
      // The last line is exactly `perplexity: X`, for scripts; the error estimate goes just before.
      await writeOut(`standard error: +/- ${err.toFixed(5)} over ${count} scored tokens\nperplexity: ${ppl.toFixed(4)}\n`);
      return 0;
    } finally {
      await model.dispose();
    }
  },
};
