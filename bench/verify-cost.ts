// The cost of verifying a speculative draft in one batched step, against one plain decode step,
// at a realistic KV length, on a given model file:
//   node out/bench/verify-cost.js --model FILE.gguf [--threads 2] [--kv 1000]
//        [--sizes 2,4,8,16] [--rounds 15] [--out bench/results/verify-cost.json]
// A decode step is what plain greedy decoding does per token: eval one token (logits kept
// native-side) and sample the argmax. A verify step of n tokens is what speculative decoding does:
// eval n tokens returning every logits row, and take each row's argmax in JavaScript. Both are
// timed from the same KV length (the cache is cut back after each step). Each round runs every
// step once, in an order rotated from round to round, so slow phases of a shared machine fall on
// all sizes alike; the figure is the median over rounds, and the ratio is median(verify n) /
// median(decode). Speculation pays when the tokens accepted per verify exceed that ratio; the
// target of issue #15 is verify(8) <= 2.5x decode. Prints a Markdown table and writes the figures
// with the machine state and the command to --out.
import * as fs from 'fs';
import * as path from 'path';
import { loadModel } from '../src/engine/model';
import type { Model, Sequence } from '../src/engine/api';
import { repoRoot } from '../test/helpers/models';
import { gitCommit, loadAverage, machineState } from './lib/machine-state';
import { quantile } from './lib/typing-replay';

interface Options {
  model: string;
  threads: number;
  kv: number;
  sizes: number[];
  rounds: number;
  out: string;
}

const VERIFY_TARGET = { size: 8, maxRatio: 2.5 };

function parseOptions(argv: string[]): Options {
  const value = (flag: string): string | undefined => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const int = (flag: string, fallback: number): number => {
    const raw = value(flag);
    const n = raw === undefined ? fallback : Number(raw);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`${flag} must be a positive integer, got '${raw}'`);
    return n;
  };
  const model = value('--model');
  if (!model) throw new Error('usage: node out/bench/verify-cost.js --model FILE.gguf [--threads 2] [--kv 1000] [--sizes 2,4,8,16] [--rounds 15] [--out FILE]');
  if (!fs.existsSync(model)) throw new Error(`--model ${model}: no such file`);
  const sizes = (value('--sizes') ?? '2,4,8,16').split(',').map((s) => Number(s.trim()));
  if (sizes.some((n) => !Number.isInteger(n) || n < 2)) throw new Error(`--sizes must be integers of at least 2, got '${value('--sizes')}'`);
  return {
    model,
    threads: int('--threads', 2),
    kv: int('--kv', 1000),
    sizes,
    rounds: int('--rounds', 15),
    out: value('--out') ?? path.join(repoRoot(), 'bench', 'results', 'verify-cost.json'),
  };
}

/** Token ids of real code, repeated to `n`: the cache holds text, not one token over and over. */
function contextTokens(model: Model, n: number): number[] {
  const source = fs.readFileSync(path.join(repoRoot(), 'src', 'engine', 'generate.ts'), 'utf8');
  const once = model.tokenizer.encode(source, { special: false });
  const out: number[] = [];
  while (out.length < n) out.push(...once.slice(0, n - out.length));
  return out;
}

function argmaxRows(logits: Float32Array, rows: number): number[] {
  const nVocab = logits.length / rows;
  const out: number[] = [];
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let i = 1; i < nVocab; i++) if (logits[r * nVocab + i] > logits[r * nVocab + best]) best = i;
    out.push(best);
  }
  return out;
}

/** One timed step of `size` tokens (1 = a decode step) from KV length `kv`; the cache is cut back after. */
async function timedStep(seq: Sequence, kv: number, tokens: number[]): Promise<number> {
  const started = performance.now();
  if (tokens.length === 1) {
    await seq.eval(tokens, { logits: 'keep' });
    seq.sample({ temperature: 0 });
  } else {
    const logits = await seq.eval(tokens, { logits: 'all' });
    if (!logits) throw new Error('an eval asked for every logits row returned none');
    argmaxRows(logits, tokens.length);
  }
  const ms = performance.now() - started;
  seq.truncate(kv);
  return ms;
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  const maxSize = Math.max(...opts.sizes);
  const model = await loadModel(opts.model, { threads: opts.threads, contextSize: opts.kv + maxSize + 16, device: 'cpu' });
  const loadBefore = loadAverage();
  try {
    const seq = model.createSequence();
    const context = contextTokens(model, opts.kv + maxSize);
    await seq.eval(context.slice(0, opts.kv), { logits: 'keep' });
    const steps = [1, ...opts.sizes];
    const samples = new Map<number, number[]>(steps.map((n) => [n, []]));
    // One untimed round first: page faults and first-touch of scratch buffers are not the step's cost.
    for (const n of steps) await timedStep(seq, opts.kv, context.slice(opts.kv, opts.kv + n));
    for (let round = 0; round < opts.rounds; round++) {
      const order = steps.map((_, i) => steps[(i + round) % steps.length]);
      for (const n of order) samples.get(n)!.push(await timedStep(seq, opts.kv, context.slice(opts.kv, opts.kv + n)));
    }
    const median = (n: number): number => quantile(samples.get(n)!, 0.5);
    const decodeMs = median(1);
    const rows = steps.map((n) => ({
      tokens: n,
      medianMs: Math.round(median(n) * 100) / 100,
      p90Ms: Math.round(quantile(samples.get(n)!, 0.9) * 100) / 100,
      ratioToDecode: Math.round((median(n) / decodeMs) * 100) / 100,
      samplesMs: samples.get(n)!.map((v) => Math.round(v * 100) / 100),
    }));
    const target = rows.find((r) => r.tokens === VERIFY_TARGET.size);
    const result = {
      bench: 'verify-cost',
      command: `node ${path.relative(repoRoot(), process.argv[1])} ${process.argv.slice(2).join(' ')}`,
      commit: gitCommit(repoRoot()),
      date: new Date().toISOString(),
      model: { file: path.resolve(opts.model), name: model.info.name, tensorTypes: model.info.tensorTypes, backend: model.info.backend },
      threads: opts.threads,
      kvTokens: opts.kv,
      rounds: opts.rounds,
      machine: machineState(),
      loadAverageBefore: loadBefore,
      loadAverageAfter: loadAverage(),
      target: { ...VERIFY_TARGET, ratio: target?.ratioToDecode ?? null, met: target ? target.ratioToDecode <= VERIFY_TARGET.maxRatio : null },
      steps: rows,
    };
    console.log(`verify cost on ${path.basename(opts.model)} (${model.info.backend}), KV ${opts.kv} tokens, ${opts.rounds} rounds`);
    console.log(`load average ${loadBefore.join(' ')} -> ${result.loadAverageAfter.join(' ')}, THP ${result.machine.transparentHugePages}`);
    console.log('| tokens in the step | median ms | p90 ms | × one decode step |');
    console.log('|---:|---:|---:|---:|');
    for (const r of rows) console.log(`| ${r.tokens === 1 ? '1 (decode)' : r.tokens} | ${r.medianMs} | ${r.p90Ms} | ${r.ratioToDecode} |`);
    if (target)
      console.log(
        `target: verify(${VERIFY_TARGET.size}) <= ${VERIFY_TARGET.maxRatio}x decode: ${result.target.met ? 'met' : 'not met'} (${target.ratioToDecode}x)`,
      );
    fs.mkdirSync(path.dirname(opts.out), { recursive: true });
    fs.writeFileSync(opts.out, JSON.stringify(result, null, 2) + '\n');
    console.log(`wrote ${opts.out}`);
    seq.dispose();
  } finally {
    await model.dispose();
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
