// One llama.cpp measurement in its own process (so its peak RSS is its own), in the manner of
// llama-bench: a warm-up, then prefill of P random tokens in one evaluation (pp), then, from an
// empty cache, decode of N tokens as one evaluation per token that computes the next token's logits (tg).
//   node out/bench/lib/llama-cpp-bench-child.js --model F -p 512 -n 128 --threads 2
// Prints one JSON line: {prefillTokPerSec, decodeTokPerSec, prefillMs, decodeMs, loadToFirstTokenMs, peakRssBytes}.
import * as fs from 'fs';
import type { Token } from 'node-llama-cpp';
import { disposeLlamaCpp, openLlamaCpp } from '../../test/oracle/llama-cpp';

interface ChildArgs {
  model: string;
  prefill: number;
  decode: number;
  threads: number;
}

function parseArgs(argv: string[]): ChildArgs {
  const get = (flag: string, fallback?: string): string => {
    const i = argv.indexOf(flag);
    if (i >= 0 && i + 1 < argv.length) return argv[i + 1];
    if (fallback === undefined) throw new Error(`missing ${flag}`);
    return fallback;
  };
  const int = (flag: string, fallback: string) => {
    const v = Number(get(flag, fallback));
    if (!Number.isInteger(v) || v < 1) throw new Error(`${flag} must be a positive integer`);
    return v;
  };
  return { model: get('--model'), prefill: int('-p', '512'), decode: int('-n', '128'), threads: int('--threads', '2') };
}

/** VmHWM (peak resident set) of this process, in bytes. */
export function peakRssBytes(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

/** Deterministic token ids from the ordinary part of the vocabulary, like llama-bench's random ones. */
function tokens(n: number, seed: number): Token[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s % 150000) as Token;
  });
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  const opened = process.hrtime.bigint();
  const s = await openLlamaCpp(a.model, { contextSize: a.prefill + a.decode + 16, batchSize: a.prefill, threads: a.threads });
  try {
    // Load to first token, as `qwen-local bench` times it: loadModel, a context, one token's logits.
    await s.sequence.controlledEvaluate([[tokens(1, 4)[0], { generateNext: { logits: true } }]]);
    const loadToFirstTokenMs = Number(process.hrtime.bigint() - opened) / 1e6;
    await s.sequence.clearHistory();

    // Warm-up: page the weights in and let the thread pool start, as llama-bench does.
    await s.sequence.evaluateWithoutGeneratingNewTokens(tokens(Math.min(16, a.prefill), 1));
    await s.sequence.clearHistory();

    const pp = tokens(a.prefill, 2);
    let t0 = process.hrtime.bigint();
    await s.sequence.evaluateWithoutGeneratingNewTokens(pp);
    const prefillMs = Number(process.hrtime.bigint() - t0) / 1e6;
    await s.sequence.clearHistory();

    // Each decode step must compute the next token's logits (the output head, 20-40% of the
    // weights read per token), as llama-bench's tg does and as `qwen-local bench` does.
    // evaluateWithoutGeneratingNewTokens asks for no logits, so llama.cpp skips the head there;
    // controlledEvaluate asks for them, and node-llama-cpp then also picks the greedy token
    // (an argmax over 151936 floats, small next to the step's weight reads).
    const tg = tokens(a.decode, 3);
    t0 = process.hrtime.bigint();
    for (const t of tg) await s.sequence.controlledEvaluate([[t, { generateNext: { token: true } }]]);
    const decodeMs = Number(process.hrtime.bigint() - t0) / 1e6;

    process.stdout.write(
      JSON.stringify({
        prefillTokPerSec: (a.prefill * 1000) / prefillMs,
        decodeTokPerSec: (a.decode * 1000) / decodeMs,
        prefillMs,
        decodeMs,
        loadToFirstTokenMs,
        peakRssBytes: peakRssBytes(),
      }) + '\n',
    );
  } finally {
    await s.dispose();
    await disposeLlamaCpp();
  }
}

if (require.main === module) {
  main().catch((e) => {
    process.stderr.write(`llama-cpp-bench-child: ${(e as Error).stack ?? e}\n`);
    process.exit(1);
  });
}
