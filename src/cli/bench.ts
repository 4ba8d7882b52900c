// `qwen-local bench --model F [-p 512] [-n 128] [--reps 3] [--json]`, measured as llama-bench
// does: pp = one eval of p tokens into an empty sequence; tg = n evals of one token each, from an
// empty sequence, without sampling (so only the forward pass is timed). Token ids are drawn from
// a fixed-seed generator so runs are comparable. One untimed warm-up pass runs first.
import type { Model, Sequence } from '../engine/api';
import { Args, UsageError } from './args';
import { Command, describeDevice, MODEL_OPTIONS, openModel } from './common';

export interface BenchStat {
  test: string;
  tokens: number;
  reps: number;
  tokensPerSecond: number[];
  mean: number;
  sd: number;
}

export function meanSd(values: readonly number[]): { mean: number; sd: number } {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  if (values.length < 2) return { mean, sd: 0 };
  const variance = values.reduce((a, b) => a + (b - mean) * (b - mean), 0) / (values.length - 1);
  return { mean, sd: Math.sqrt(variance) };
}

/** xorshift32: deterministic "random" token ids, below the real vocabulary's padding rows. */
function tokenSource(limit: number): () => number {
  let s = 0x9e3779b9;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) % limit;
  };
}

async function timePrompt(seq: Sequence, tokens: number[]): Promise<number> {
  seq.truncate(0);
  const t0 = performance.now();
  await seq.eval(tokens, { logits: 'keep' });
  return performance.now() - t0;
}

async function timeGeneration(seq: Sequence, tokens: number[]): Promise<number> {
  seq.truncate(0);
  const t0 = performance.now();
  for (const t of tokens) await seq.eval([t], { logits: 'keep' });
  return performance.now() - t0;
}

async function measure(model: Model, kind: 'pp' | 'tg', n: number, reps: number, next: () => number): Promise<BenchStat> {
  const seq = model.createSequence();
  const tokens = Array.from({ length: n }, next);
  const time = kind === 'pp' ? timePrompt : timeGeneration;
  await time(seq, tokens.slice(0, Math.min(n, kind === 'pp' ? n : 4))); // warm-up, untimed
  const rates: number[] = [];
  for (let r = 0; r < reps; r++) rates.push((n * 1000) / (await time(seq, tokens)));
  seq.dispose();
  return { test: `${kind}${n}`, tokens: n, reps, tokensPerSecond: rates, ...meanSd(rates) };
}

/** `-p 512` or `-p 8,16,512`: each a whole number of tokens, 0 (skip) to 65536. */
export function parsePromptSizes(raw: string): number[] {
  const sizes = raw.split(',').map((s) => s.trim());
  return sizes.map((s) => {
    const v = Number(s);
    if (s === '' || !Number.isInteger(v) || v < 0 || v > 1 << 16) {
      throw new UsageError(`--n-prompt expects whole numbers from 0 to 65536, comma-separated, got '${raw}'`);
    }
    return v;
  });
}

export const benchCommand: Command = {
  name: 'bench',
  summary: 'prompt-processing and generation speed, like llama-bench',
  usage: '--model F [-p 512 | -p 8,16,32,512] [-n 128] [--threads N] [--device auto|cpu|cuda] [--reps 3] [--json]',
  options: {
    model: MODEL_OPTIONS.model,
    threads: MODEL_OPTIONS.threads,
    device: MODEL_OPTIONS.device,
    'n-prompt': {
      kind: 'string',
      alias: '-p',
      description: 'prompt tokens for pp, or a comma-separated list of batch sizes, one pp test each (default 512, 0 = skip)',
    },
    'n-gen': { kind: 'int', alias: '-n', min: 0, max: 1 << 16, description: 'generated tokens for tg (default 128, 0 = skip)' },
    reps: { kind: 'int', alias: '-r', min: 1, max: 1000, description: 'repetitions (default 3)' },
    json: { kind: 'flag', description: 'print the results as JSON' },
  },
  async run(args: Args) {
    const prompts = parsePromptSizes(args.string('n-prompt') ?? '512');
    const n = args.int('n-gen', 128);
    const reps = args.int('reps', 3);
    const opened = performance.now();
    const model = await openModel(args, Math.max(...prompts, n, 16));
    try {
      const next = tokenSource(Math.min(model.info.nVocab, 151643));
      // Load to first token: opening the file (mapping, repacking) and one token's logits, the
      // wait a user has before the first suggestion can start.
      const first = model.createSequence();
      await first.eval([next()], { logits: 'keep' });
      first.dispose();
      const loadToFirstTokenMs = performance.now() - opened;
      const results: BenchStat[] = [];
      for (const p of prompts) if (p > 0) results.push(await measure(model, 'pp', p, reps, next));
      if (n > 0) results.push(await measure(model, 'tg', n, reps, next));
      const peakRssBytes = process.resourceUsage().maxRSS * 1024;
      if (args.flag('json')) {
        const out = {
          model: model.info.path,
          backend: model.info.backend,
          device: model.info.device,
          deviceReport: model.info.deviceReport,
          parameters: model.info.parameterCount,
          results,
          peakRssBytes,
          loadToFirstTokenMs,
        };
        process.stdout.write(JSON.stringify(out, null, 2) + '\n');
      } else {
        process.stdout.write(
          `model    ${model.info.name} (${model.info.path})\nbackend  ${model.info.backend}\ndevice   ${describeDevice(model.info.deviceReport)}\n`,
        );
        for (const r of results) {
          process.stdout.write(`${r.test.padEnd(8)} ${r.mean.toFixed(2)} ± ${r.sd.toFixed(2)} tokens/s  (${r.reps} reps)\n`);
        }
        process.stdout.write(`peak RSS ${(peakRssBytes / 1048576).toFixed(1)} MiB\nload to first token ${loadToFirstTokenMs.toFixed(0)} ms\n`);
      }
      return 0;
    } finally {
      await model.dispose();
    }
  },
};
