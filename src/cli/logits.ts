// `qwen-local logits --model F --tokens T.json --out O.f32`: the model's raw logits after every
// token of a given sequence, as little-endian float32 rows [positions x n_vocab]. This is the
// engine's ground truth for comparisons with other implementations (test/oracle).
import * as fs from 'fs';
import { Args, UsageError } from './args';
import { Command, MODEL_OPTIONS, openModel, readTextFile } from './common';

/** Tokens evaluated per eval call: bounds the logits held in memory (rows x n_vocab floats). */
const ROWS_PER_CALL = 64;

export function parseTokenList(text: string, file: string): number[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`--tokens ${file}: not valid JSON (${(e as Error).message})`);
  }
  if (!Array.isArray(value) || value.length === 0) throw new UsageError(`--tokens ${file}: expected a non-empty JSON array of token ids`);
  value.forEach((t, i) => {
    if (!Number.isInteger(t) || (t as number) < 0) throw new UsageError(`--tokens ${file}: element ${i} (${JSON.stringify(t)}) is not a token id`);
  });
  return value as number[];
}

export const logitsCommand: Command = {
  name: 'logits',
  summary: 'write the logits after each token as float32 rows [positions x vocab]',
  usage: '--model F --tokens T.json --out O.f32 [--threads N]',
  options: {
    ...MODEL_OPTIONS,
    tokens: { kind: 'string', required: true, description: 'JSON array of token ids' },
    out: { kind: 'string', alias: '-o', required: true, description: 'output file (float32, row-major)' },
  },
  async run(args: Args) {
    const tokensFile = args.string('tokens') as string;
    const tokens = parseTokenList(readTextFile('tokens', tokensFile), tokensFile);
    const outFile = args.string('out') as string;
    const model = await openModel(args, tokens.length);
    const fd = (() => {
      try {
        return fs.openSync(outFile, 'w');
      } catch (e) {
        throw new UsageError(`--out ${outFile}: ${(e as Error).message}`);
      }
    })();
    try {
      const nVocab = model.info.nVocab;
      const bad = tokens.findIndex((t) => t >= nVocab);
      if (bad >= 0) throw new UsageError(`--tokens ${tokensFile}: token ${tokens[bad]} at index ${bad} is outside the vocabulary (${nVocab})`);
      if (tokens.length > model.info.contextSize) {
        throw new UsageError(`${tokens.length} tokens do not fit the context of ${model.info.contextSize}; pass a larger --ctx`);
      }
      const seq = model.createSequence();
      for (let start = 0; start < tokens.length; start += ROWS_PER_CALL) {
        const batch = tokens.slice(start, start + ROWS_PER_CALL);
        const rows = (await seq.eval(batch, { logits: 'all' })) as Float32Array;
        if (rows.length !== batch.length * nVocab) {
          throw new Error(`eval returned ${rows.length} logits for ${batch.length} tokens x ${nVocab} vocabulary`);
        }
        fs.writeSync(fd, new Uint8Array(rows.buffer, rows.byteOffset, rows.byteLength));
      }
      seq.dispose();
      process.stderr.write(`qwen-local: wrote ${tokens.length} x ${nVocab} float32 logits to ${outFile}\n`);
      return 0;
    } finally {
      fs.closeSync(fd);
      await model.dispose();
    }
  },
};
