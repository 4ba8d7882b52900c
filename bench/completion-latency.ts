// Inline-completion latency per keystroke, with KV prefix reuse on and off, against the real
// language server (`qwen-local serve --stdio`) and the 0.5B-shaped synthetic model (Q8_0):
//   node out/bench/completion-latency.js [--file src/engine/gguf-writer.ts] [--chars 200]
//        [--off-every 25] [--type Q8_0] [--context-tokens 2048] [--max-tokens 8] [--threads 2]
// A stretch of `--chars` characters of a real source file from this repository is removed and
// typed back one character at a time. With reuse on, every keystroke asks for a completion; with
// reuse off (tuning.reusePrefix = false) every request evaluates the whole ~2,048-token FIM
// prompt, which takes seconds on a small machine, so only every `--off-every`-th keystroke asks.
// The two servers run side by side and take turns request by request, so both see the same load
// on a shared machine. The first request of each side (opening the file) is not counted. Prints a Markdown table and
// writes it with every sample to bench/results/completion-latency.json.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { getTestModel, repoRoot } from '../test/helpers/models';
import { startRealServer } from '../test/server/real-server';
import { LspCompletionTarget } from './lib/lsp-completion-target';
import { KeystrokeSample, mean, quantile, replayTyping, TypingLane } from './lib/typing-replay';

interface Options {
  file: string;
  chars: number;
  offEvery: number;
  type: string;
  contextTokens: number;
  maxTokens: number;
  threads: number;
}

function parseOptions(argv: string[]): Options {
  const value = (flag: string, fallback: string): string => {
    const i = argv.indexOf(flag);
    return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : fallback;
  };
  const int = (flag: string, fallback: number): number => {
    const n = Number(value(flag, String(fallback)));
    if (!Number.isInteger(n) || n <= 0) throw new Error(`${flag} must be a positive integer`);
    return n;
  };
  return {
    file: value('--file', 'src/engine/gguf-writer.ts'),
    chars: int('--chars', 200),
    offEvery: int('--off-every', 25),
    type: value('--type', 'Q8_0'),
    contextTokens: int('--context-tokens', 2048),
    maxTokens: int('--max-tokens', 8),
    threads: int('--threads', 2),
  };
}

interface SideSummary {
  reuse: boolean;
  requests: number;
  sampledEvery: number;
  p50Ms: number;
  p95Ms: number;
  meanEvaluatedTokens: number;
  meanCachedTokens: number;
  meanPromptTokens: number;
  p50PrefillMs: number;
  meanGeneratedTokens: number;
  samples: KeystrokeSample[];
}

function summarize(reuse: boolean, every: number, samples: KeystrokeSample[]): SideSummary {
  const latency = samples.map((s) => s.latencyMs);
  return {
    reuse,
    requests: samples.length,
    sampledEvery: every,
    p50Ms: quantile(latency, 0.5),
    p95Ms: quantile(latency, 0.95),
    meanEvaluatedTokens: mean(samples.map((s) => s.evaluatedTokens)),
    meanCachedTokens: mean(samples.map((s) => s.cachedTokens)),
    meanPromptTokens: mean(samples.map((s) => s.promptTokens)),
    p50PrefillMs: quantile(
      samples.map((s) => s.prefillMs),
      0.5,
    ),
    meanGeneratedTokens: mean(samples.map((s) => s.generatedTokens)),
    samples,
  };
}

function serverSettings(opts: Options, modelPath: string, reuse: boolean): Record<string, unknown> {
  return {
    modelPath,
    threads: opts.threads,
    // The FIM prompt plus the reply, with room to spare.
    contextSize: opts.contextTokens * 2,
    completion: { contextTokens: opts.contextTokens, maxTokens: opts.maxTokens, temperature: 0, prefixLines: 100000, timeBudgetMs: 600000 },
    tuning: { reusePrefix: reuse },
  };
}

/** Both servers run side by side and take turns, so both see the same load (this machine is shared). */
async function runBoth(opts: Options, modelPath: string, text: string, start: number): Promise<{ on: SideSummary; off: SideSummary }> {
  const uri = `file:///work/demo/${opts.file}`;
  const onClient = await startRealServer(serverSettings(opts, modelPath, true));
  const offClient = await startRealServer(serverSettings(opts, modelPath, false));
  const on: TypingLane = { name: 'reuse on', target: new LspCompletionTarget(onClient, uri, 'typescript'), every: 1, samples: [] };
  const off: TypingLane = { name: 'reuse off', target: new LspCompletionTarget(offClient, uri, 'typescript'), every: opts.offEvery, samples: [] };
  try {
    await replayTyping({ finalText: text, start, end: start + opts.chars }, [on, off], (lane, s) => {
      process.stderr.write(`  ${lane.name} keystroke ${s.keystroke}: ${s.latencyMs.toFixed(0)} ms, evaluated ${s.evaluatedTokens}/${s.promptTokens}\n`);
    });
    return { on: summarize(true, on.every, on.samples), off: summarize(false, off.every, off.samples) };
  } finally {
    await onClient.close();
    await offClient.close();
  }
}

function table(on: SideSummary, off: SideSummary): string {
  const row = (s: SideSummary): string =>
    `| ${s.reuse ? 'on' : 'off'} | ${s.requests} (every ${s.sampledEvery === 1 ? 'keystroke' : `${s.sampledEvery}th keystroke`}) | ${s.p50Ms.toFixed(0)} | ${s.p95Ms.toFixed(0)} | ${s.meanEvaluatedTokens.toFixed(1)} | ${s.meanCachedTokens.toFixed(1)} | ${s.meanPromptTokens.toFixed(0)} | ${s.p50PrefillMs.toFixed(0)} | ${s.meanGeneratedTokens.toFixed(1)} |`;
  return [
    '| prefix reuse | requests | p50 ms | p95 ms | evaluated tokens/request (mean) | cached tokens/request (mean) | prompt tokens (mean) | p50 prefill ms | generated tokens (mean) |',
    '|---|---|---|---|---|---|---|---|---|',
    row(on),
    row(off),
  ].join('\n');
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  const root = repoRoot();
  const text = fs.readFileSync(path.join(root, opts.file), 'utf8');
  // Type at the start of the line at 70% of the file: a full prefix window before, code after.
  const start = text.lastIndexOf('\n', Math.floor(text.length * 0.7)) + 1;
  if (start + opts.chars > text.length) throw new Error(`${opts.file} is too short to type ${opts.chars} characters at 70%`);
  const modelPath = await getTestModel('0.5b', opts.type);
  const loadBefore = os.loadavg();
  process.stderr.write(`typing ${opts.chars} characters of ${opts.file} at offset ${start} against ${path.basename(modelPath)}\n`);
  const { on, off } = await runBoth(opts, modelPath, text, start);
  const loadAfter = os.loadavg();
  const speedup = off.p50Ms / on.p50Ms;
  const md = [
    `Inline completion latency per keystroke: typing ${opts.chars} characters of \`${opts.file}\` into the real server, ` +
      `0.5B-shaped synthetic model (${opts.type}), ${opts.contextTokens}-token FIM context, ${opts.maxTokens} tokens at most per completion, ` +
      `${opts.threads} threads. Reuse off asks only every ${opts.offEvery}th keystroke (each request evaluates the whole prompt); ` +
      `both servers ran side by side, taking turns; the first request of each side (opening the file) is not counted.`,
    '',
    table(on, off),
    '',
    `p50 speed-up with prefix reuse: **${speedup.toFixed(1)}×** (target ≥ 10×). Machine: ${os.cpus().length} logical CPUs, ` +
      `load average ${loadBefore[0].toFixed(1)} before, ${loadAfter[0].toFixed(1)} after.`,
  ].join('\n');
  console.log(md);
  const outDir = path.join(root, 'bench', 'results');
  fs.mkdirSync(outDir, { recursive: true });
  const json = {
    date: new Date().toISOString(),
    options: opts,
    model: path.basename(modelPath),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, loadBefore, loadAfter },
    speedupP50: speedup,
    reuseOn: on,
    reuseOff: off,
    markdown: md,
  };
  fs.writeFileSync(path.join(outDir, 'completion-latency.json'), JSON.stringify(json, null, 2) + '\n');
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
  process.exit(1);
});
