// Ghost-text latency per keystroke: our language server against llama.cpp's llama-server asked
// the way llama.vscode (v0.0.63) asks it, on the same file, model and threads:
//   node out/bench/keystroke-latency.js [--quick] [--file node_modules/yauzl/index.js]
//        [--keystrokes 60] [--shapes 0.5b,1.5b] [--type Q4_K_M] [--runs fixed,defaults]
//        [--max-tokens 16] [--open-reps 3] [--idle-ms 10000] [--threads 2]
//        [--llama-server build/llama.cpp/bin/llama-server] [--models DIR]
//        [--no-warmup] [--out bench/results/keystroke-latency]
// A stretch of a JavaScript file from a package in node_modules (nobody here wrote it) is deleted
// and typed back one character per keystroke; after each keystroke each server is asked once,
// the two taking turns (who goes first rotates). Two runs per model:
//   fixed    --max-tokens tokens per suggestion on both sides, no time limits: the same work;
//   defaults each client's shipped settings: ours as the extension sends them, llama.vscode's
//            n_predict 128, t_max_predict_ms 500, n_indent.
// Then "first suggestion after open": fresh servers (each first warmed on a short unrelated file,
// so weights and threads are up but nothing of this file is cached) open the file and ask at its
// first keystroke, right away and after the file has been open --idle-ms idle. Our side gets what
// the extension sends when a file is opened and the cursor put where the user types: a
// qwen/warmCompletion there (--no-warmup leaves it out, an ablation).
// --quick is the smoke run: 20 keystrokes, one open repetition.
// Writes <--out>.{md,json} after every model and run.
import * as fs from 'fs';
import * as path from 'path';
import { getTestModel, repoRoot, type TestShape } from '../test/helpers/models';
import type { LspTestClient } from '../test/server/lsp-client';
import { startRealServer } from '../test/server/real-server';
import { LlamaCppBuildInfo, llamaServerBuild, LlamaServerProcess } from './lib/llama-server-process';
import { chunkAroundCursor, LLAMA_VSCODE, LlamaVscodeRequestShape, LlamaVscodeTarget } from './lib/llama-vscode-target';
import { LspCompletionTarget } from './lib/lsp-completion-target';
import { gitCommit, loadAverage, machineState } from './lib/machine-state';
import { CompletionAnswer, KeystrokeSample, mean, measureCompletion, openingText, quantile, replayTyping, TypingLane, TypingPlan } from './lib/typing-replay';

type RunKind = 'fixed' | 'defaults';
type OpenCondition = 'immediate' | 'idle';

interface Options {
  file: string;
  keystrokes: number;
  shapes: TestShape[];
  type: string;
  runs: RunKind[];
  maxTokens: number;
  openReps: number;
  idleMs: number;
  threads: number;
  llamaServer: string;
  modelDir?: string;
  /** Path of the results without extension (.md and .json are written). */
  out: string;
  quick: boolean;
  /** Send qwen/warmCompletion on open, as the extension does (off: an ablation). */
  warmup: boolean;
}

function parseOptions(argv: string[]): Options {
  const quick = argv.includes('--quick');
  const value = (flag: string): string | undefined => {
    const i = argv.indexOf(flag);
    if (i >= 0 && argv[i + 1] === undefined) throw new Error(`${flag} needs a value`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const int = (flag: string, fallback: number, min = 1): number => {
    const v = value(flag);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`${flag} must be an integer ≥ ${min}, got ${v}`);
    return n;
  };
  const list = (flag: string, fallback: string[]): string[] =>
    value(flag)
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean) ?? fallback;
  const shapes = list('--shapes', ['0.5b', '1.5b']);
  for (const s of shapes) if (!['tiny', '0.5b', '1.5b', '7b'].includes(s)) throw new Error(`--shapes: unknown shape ${s}`);
  const runs = list('--runs', ['fixed', 'defaults']);
  for (const r of runs) if (r !== 'fixed' && r !== 'defaults') throw new Error(`--runs: unknown run ${r} (fixed, defaults)`);
  return {
    quick,
    warmup: !argv.includes('--no-warmup'),
    file: value('--file') ?? 'node_modules/yauzl/index.js',
    keystrokes: int('--keystrokes', quick ? 20 : 60),
    shapes: shapes as TestShape[],
    type: value('--type') ?? 'Q4_K_M',
    runs: runs as RunKind[],
    maxTokens: int('--max-tokens', 16),
    openReps: int('--open-reps', quick ? 1 : 3, 0),
    idleMs: int('--idle-ms', 10000, 0),
    threads: int('--threads', 2),
    llamaServer: value('--llama-server') ?? path.join(repoRoot(), 'build', 'llama.cpp', 'bin', 'llama-server'),
    modelDir: value('--models'),
    out: path.resolve(repoRoot(), value('--out') ?? path.join('bench', 'results', 'keystroke-latency')),
  };
}

// ---- the file and the stretch typed

interface SourceFile {
  /** Repository-relative path, as given. */
  file: string;
  package: string;
  text: string;
  lines: number;
}

/** The package.json nearest above `file` inside node_modules: "name@version". */
function owningPackage(file: string): string {
  let dir = path.dirname(path.resolve(file));
  while (dir.includes(`${path.sep}node_modules${path.sep}`)) {
    const pj = path.join(dir, 'package.json');
    if (fs.existsSync(pj)) {
      const { name, version } = JSON.parse(fs.readFileSync(pj, 'utf8')) as { name?: string; version?: string };
      if (name && version) return `${name}@${version}`;
    }
    dir = path.dirname(dir);
  }
  throw new Error(`${file} is not in a package under node_modules: the replay types a file nobody here wrote`);
}

function loadSource(file: string): SourceFile {
  const abs = path.resolve(repoRoot(), file);
  // Line endings as VS Code shows them to both clients: one '\n' per line.
  const text = fs.readFileSync(abs, 'utf8').replace(/\r\n?/g, '\n');
  return { file, package: owningPackage(abs), text, lines: text.split('\n').length };
}

/**
 * The stretch typed back: `keystrokes` characters ending at the end of the line at 70% of the file,
 * so the cursor line has nothing to its right (llama.vscode does not auto-trigger with more than 8
 * characters there) and there are full prefix and suffix windows around it.
 */
function typingStretch(text: string, keystrokes: number): TypingPlan {
  const end = text.indexOf('\n', Math.floor(text.length * 0.7));
  if (end < 0 || end - keystrokes < 0) throw new Error(`the file is too short to type ${keystrokes} characters at 70%`);
  const start = end - keystrokes;
  if (/[\uD800-\uDFFF]/.test(text.slice(start, end))) throw new Error('the stretch holds characters outside the BMP; pick another file');
  return { finalText: text, start, end };
}

const lineOf = (text: string, offset: number): number => text.slice(0, offset).split('\n').length;

// ---- the two sides

function ourSettings(o: Options, modelPath: string, run: RunKind): Record<string, unknown> {
  const base = { modelPath, threads: o.threads, device: 'cpu' };
  // fixed: the same work as the peer, so no time budget cuts a suggestion short.
  return run === 'fixed' ? { ...base, completion: { maxTokens: o.maxTokens, timeBudgetMs: 600000 } } : base;
}

function peerShape(o: Options, run: RunKind): LlamaVscodeRequestShape {
  return run === 'fixed' ? { nPredict: o.maxTokens, clientDefaults: false } : { nPredict: LLAMA_VSCODE.nPredict, clientDefaults: true };
}

/** llama.vscode's recommended CPU server flags, with our thread count. */
function peerArgs(o: Options): string[] {
  return ['-c', '4096', '-ub', '512', '-b', '512', '--cache-reuse', '256', '-t', String(o.threads)];
}

const documentUri = (o: Options) => `file:///work/demo/${o.file}`;

/** A short file nobody measures: each fresh server answers it first, so its weights and threads are warm. */
const UNRELATED_FILE = 'function add(a, b) {\n  return a + b;\n}\n\nmodule.exports = { add };\n';

interface ServerPair {
  ours: LspTestClient;
  peer: LlamaServerProcess;
}

async function startPair(o: Options, modelPath: string, run: RunKind): Promise<ServerPair> {
  const ours = await startRealServer(ourSettings(o, modelPath, run));
  try {
    return { ours, peer: await LlamaServerProcess.start(o.llamaServer, modelPath, peerArgs(o)) };
  } catch (e) {
    await ours.close();
    throw e;
  }
}

async function stopPair(p: ServerPair): Promise<void> {
  await p.ours.close();
  await p.peer.stop();
}

// ---- summaries

interface SideSummary {
  requests: number;
  p50Ms: number;
  p95Ms: number;
  meanEvaluatedTokens: number;
  meanCachedTokens: number;
  meanPromptTokens: number;
  meanGeneratedTokens: number;
  p50PrefillMs: number;
  emptyAnswers: number;
  stopReasons: Record<string, number>;
  samples: KeystrokeSample[];
}

function summarize(samples: KeystrokeSample[]): SideSummary {
  const stopReasons: Record<string, number> = {};
  for (const s of samples) stopReasons[s.stopReason ?? 'unknown'] = (stopReasons[s.stopReason ?? 'unknown'] ?? 0) + 1;
  const latency = samples.map((s) => s.latencyMs);
  return {
    requests: samples.length,
    p50Ms: quantile(latency, 0.5),
    p95Ms: quantile(latency, 0.95),
    meanEvaluatedTokens: mean(samples.map((s) => s.evaluatedTokens)),
    meanCachedTokens: mean(samples.map((s) => s.cachedTokens)),
    meanPromptTokens: mean(samples.map((s) => s.promptTokens)),
    meanGeneratedTokens: mean(samples.map((s) => s.generatedTokens)),
    p50PrefillMs: quantile(
      samples.map((s) => s.prefillMs),
      0.5,
    ),
    emptyAnswers: samples.filter((s) => s.empty).length,
    stopReasons,
    samples,
  };
}

interface ReplayResult {
  shape: TestShape;
  run: RunKind;
  model: string;
  peerProps: Record<string, unknown>;
  ours: SideSummary;
  peer: SideSummary;
  /** ours ÷ llama-server: below 1 is faster. */
  ratioP50: number;
  ratioP95: number;
}

interface OpenSample {
  rep: number;
  first: 'ours' | 'peer';
  ours: KeystrokeSample;
  /** Prompt tokens our server had warmed in the background before the first keystroke. */
  oursWarmupTokens: number;
  peer: KeystrokeSample;
  /** llama.vscode's ring-buffer warm-up request during the idle time (idle condition only). */
  peerWarmup?: CompletionAnswer & { latencyMs: number };
}

interface OpenResult {
  shape: TestShape;
  run: RunKind;
  condition: OpenCondition;
  idleMs: number;
  samples: OpenSample[];
  oursP50Ms: number;
  peerP50Ms: number;
  ratioP50: number;
}

// ---- measuring

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function logSample(label: string, s: KeystrokeSample): void {
  process.stderr.write(
    `  ${label} keystroke ${s.keystroke}: ${s.latencyMs.toFixed(0)} ms, evaluated ${s.evaluatedTokens}/${s.promptTokens}, ` +
      `generated ${s.generatedTokens}${s.empty ? ', empty' : ''}\n`,
  );
}

async function replayRun(o: Options, src: SourceFile, plan: TypingPlan, shape: TestShape, modelPath: string, run: RunKind): Promise<ReplayResult> {
  const pair = await startPair(o, modelPath, run);
  try {
    const peerProps = await pair.peer.props();
    const ours: TypingLane = { name: 'ours', target: new LspCompletionTarget(pair.ours, documentUri(o)), every: 1, samples: [] };
    const peer: TypingLane = { name: 'llama-server', target: new LlamaVscodeTarget(pair.peer, peerShape(o, run)), every: 1, samples: [] };
    process.stderr.write(`${shape} ${run}: typing ${plan.end - plan.start} characters of ${src.file}\n`);
    await replayTyping(plan, [ours, peer], (lane, s) => logSample(lane.name, s));
    const a = summarize(ours.samples);
    const b = summarize(peer.samples);
    return { shape, run, model: path.basename(modelPath), peerProps, ours: a, peer: b, ratioP50: a.p50Ms / b.p50Ms, ratioP95: a.p95Ms / b.p95Ms };
  } finally {
    await stopPair(pair);
  }
}

/**
 * Our side of one "first suggestion after open": open, put the cursor where the typing starts (the
 * extension then sends a warm-up there), optionally idle, first keystroke, ask.
 */
async function openOurs(o: Options, client: LspTestClient, plan: TypingPlan, idleMs: number): Promise<{ sample: KeystrokeSample; warmupTokens: number }> {
  const warm = new LspCompletionTarget(client, 'file:///work/demo/unrelated.js');
  await warm.open(UNRELATED_FILE);
  await warm.complete(UNRELATED_FILE.length);
  await warm.close();
  const target = new LspCompletionTarget(client, documentUri(o));
  await target.open(openingText(plan));
  const before = (await client.debugStats()).background?.warmupTokens ?? 0;
  if (o.warmup) await target.warm(plan.start);
  // Whatever our server does while the file sits open (warming its cache) happens here.
  if (idleMs > 0) await sleep(idleMs);
  const warmed = ((await client.debugStats()).background?.warmupTokens ?? 0) - before;
  target.insert(plan.start, plan.finalText[plan.start]);
  return { sample: await measureCompletion(target, plan.start + 1, 1), warmupTokens: warmed };
}

/**
 * llama-server's side, as llama.vscode drives it: opening the editor queues the chunk around the
 * cursor; once 3 s have passed since the last completion, the chunk enters the ring buffer and is
 * sent with n_predict 0 to warm the cache, and from then on every request carries it in input_extra.
 */
async function openPeer(
  o: Options,
  server: LlamaServerProcess,
  run: RunKind,
  plan: TypingPlan,
  idleMs: number,
): Promise<{ sample: KeystrokeSample; warmup?: CompletionAnswer & { latencyMs: number } }> {
  const warm = new LlamaVscodeTarget(server, peerShape(o, run));
  await warm.open(UNRELATED_FILE);
  await warm.complete(UNRELATED_FILE.length);
  const target = new LlamaVscodeTarget(server, peerShape(o, run));
  const text = openingText(plan);
  await target.open(text);
  const opened = performance.now();
  let warmup: (CompletionAnswer & { latencyMs: number }) | undefined;
  if (idleMs >= LLAMA_VSCODE.ringUpdateAfterMs) {
    await sleep(LLAMA_VSCODE.ringUpdateAfterMs);
    const t0 = performance.now();
    const answer = await target.warmRing([chunkAroundCursor(text, plan.start, `/work/demo/${o.file}`)]);
    warmup = { ...answer, latencyMs: performance.now() - t0 };
  }
  const left = idleMs - (performance.now() - opened);
  if (left > 0) await sleep(left);
  target.insert(plan.start, plan.finalText[plan.start]);
  return { sample: await measureCompletion(target, plan.start + 1, 1), warmup };
}

async function openRun(o: Options, plan: TypingPlan, shape: TestShape, modelPath: string, run: RunKind, condition: OpenCondition): Promise<OpenResult> {
  const idleMs = condition === 'idle' ? o.idleMs : 0;
  const samples: OpenSample[] = [];
  for (let rep = 0; rep < o.openReps; rep++) {
    // Fresh processes: nothing of the file is cached on either side.
    const pair = await startPair(o, modelPath, run);
    try {
      const first = (rep + (condition === 'idle' ? 1 : 0)) % 2 === 0 ? 'ours' : 'peer';
      let ours: { sample: KeystrokeSample; warmupTokens: number } | undefined;
      let peer: { sample: KeystrokeSample; warmup?: CompletionAnswer & { latencyMs: number } } | undefined;
      for (const side of first === 'ours' ? ['ours', 'peer'] : ['peer', 'ours']) {
        if (side === 'ours') ours = await openOurs(o, pair.ours, plan, idleMs);
        else peer = await openPeer(o, pair.peer, run, plan, idleMs);
      }
      logSample(`${shape} ${run} open/${condition} ours (${ours!.warmupTokens} tokens warmed, ${ours!.sample.window ?? '?'} window)`, ours!.sample);
      logSample(`${shape} ${run} open/${condition} llama-server`, peer!.sample);
      samples.push({ rep, first, ours: ours!.sample, oursWarmupTokens: ours!.warmupTokens, peer: peer!.sample, peerWarmup: peer!.warmup });
    } finally {
      await stopPair(pair);
    }
  }
  const oursP50Ms = quantile(
    samples.map((s) => s.ours.latencyMs),
    0.5,
  );
  const peerP50Ms = quantile(
    samples.map((s) => s.peer.latencyMs),
    0.5,
  );
  return { shape, run, condition, idleMs, samples, oursP50Ms, peerP50Ms, ratioP50: oursP50Ms / peerP50Ms };
}

async function modelFile(shape: TestShape, o: Options): Promise<string> {
  if (!o.modelDir) return getTestModel(shape, o.type);
  const file = path.join(o.modelDir, `${shape}-${o.type.toLowerCase()}.gguf`);
  if (!fs.existsSync(file)) throw new Error(`--models ${o.modelDir}: no ${path.basename(file)} there`);
  return file;
}

// ---- reporting

interface Report {
  date: string;
  command: string;
  complete: boolean;
  options: Options;
  source: { file: string; package: string; characters: number; lines: number; stretch: { start: number; end: number; firstLine: number; lastLine: number } };
  machine: ReturnType<typeof machineState>;
  loadAverageBefore: number[];
  loadAverageAfter: number[];
  ourCommit: string;
  ourSettings: Record<RunKind, Record<string, unknown>>;
  llamaCpp: LlamaCppBuildInfo & { binary: string; serverArgs: string[] };
  peerRequests: Record<RunKind, string>;
  replays: ReplayResult[];
  opens: OpenResult[];
}

const ms = (v: number) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '–');
const num1 = (v: number) => (Number.isFinite(v) ? v.toFixed(1) : '–');
const ratio = (v: number) => (Number.isFinite(v) ? `${v.toFixed(2)}×` : '–');

function runLabel(run: RunKind, o: Options): string {
  return run === 'fixed' ? `${o.maxTokens} tokens` : 'defaults';
}

function replayTable(r: Report): string {
  const rows = [
    '| model | run | keystrokes | ours p50 / p95 ms | llama-server p50 / p95 ms | ours ÷ peer p50 | ours ÷ peer p95 | evaluated tokens / keystroke, ours | … llama-server | generated tokens, ours | … llama-server | empty answers ours / peer |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const x of r.replays) {
    rows.push(
      `| ${x.shape.toUpperCase()} ${r.options.type} | ${runLabel(x.run, r.options)} | ${x.ours.requests} | ${ms(x.ours.p50Ms)} / ${ms(x.ours.p95Ms)} | ` +
        `${ms(x.peer.p50Ms)} / ${ms(x.peer.p95Ms)} | **${ratio(x.ratioP50)}** | ${ratio(x.ratioP95)} | ${num1(x.ours.meanEvaluatedTokens)} | ` +
        `${num1(x.peer.meanEvaluatedTokens)} | ${num1(x.ours.meanGeneratedTokens)} | ${num1(x.peer.meanGeneratedTokens)} | ${x.ours.emptyAnswers} / ${x.peer.emptyAnswers} |`,
    );
  }
  return rows.join('\n');
}

function openTable(r: Report): string {
  const rows = [
    '| model | run | first keystroke | repetitions | ours ms (each) | llama-server ms (each) | ours ÷ peer p50 | evaluated tokens ours / peer | ours: tokens warmed before it | ours: answered from | empty answers ours / peer |',
    '|---|---|---|---:|---:|---:|---:|---:|---:|---|---:|',
  ];
  for (const x of r.opens) {
    const when = x.condition === 'immediate' ? 'right after open' : `after ${x.idleMs / 1000} s open, idle`;
    const each = (f: (s: OpenSample) => number) => x.samples.map((s) => ms(f(s))).join(', ');
    rows.push(
      `| ${x.shape.toUpperCase()} ${r.options.type} | ${runLabel(x.run, r.options)} | ${when} | ${x.samples.length} | ${each((s) => s.ours.latencyMs)} | ` +
        `${each((s) => s.peer.latencyMs)} | **${ratio(x.ratioP50)}** | ${num1(mean(x.samples.map((s) => s.ours.evaluatedTokens)))} / ` +
        `${num1(mean(x.samples.map((s) => s.peer.evaluatedTokens)))} | ${x.samples.map((s) => s.oursWarmupTokens).join(', ')} | ` +
        `${x.samples.map((s) => s.ours.window ?? '?').join(', ')} | ${x.samples.filter((s) => s.ours.empty).length} / ${x.samples.filter((s) => s.peer.empty).length} |`,
    );
  }
  return rows.join('\n');
}

function markdown(r: Report): string {
  const o = r.options;
  const m = r.machine;
  const s = r.source;
  const lc = r.llamaCpp;
  return [
    `# Keystroke latency: qwen-local vs llama-server driven as llama.vscode drives it (${r.date})`,
    '',
    ...(o.quick ? ['**Smoke run** (`--quick`): it shows the benchmark works end to end; its few samples are not figures to quote.', ''] : []),
    ...(r.complete
      ? []
      : [`**Partial results**: the run was still going or stopped early (${r.replays.length} replays, ${r.opens.length} open measurements so far).`, '']),
    `Command: \`${r.command}\``,
    '',
    `Typed: \`${s.file}\` from **${s.package}** (${s.characters.toLocaleString('en-US')} characters, ${s.lines} lines); characters ` +
      `${s.stretch.start}–${s.stretch.end} (lines ${s.stretch.firstLine}–${s.stretch.lastLine}, ending at a line end) deleted and typed back, ` +
      `one request per keystroke on each side, the two servers taking turns (who goes first alternates). ` +
      `The first request after opening the file is not counted in the per-keystroke figures.`,
    '',
    '## Per keystroke',
    '',
    replayTable(r),
    '',
    '## First suggestion after opening the file',
    '',
    openTable(r),
    '',
    '## Setup',
    '',
    `- Machine: ${m.cpuModel}, ${m.logicalCores} logical cores, ${m.memoryGiB} GiB, ${m.kernel}, Node ${m.node}; CPU flags: ${m.cpuFlags.join(' ')}; ` +
      `transparent huge pages: ${m.transparentHugePages}; load average (1, 5, 15 min) ${r.loadAverageBefore.join(', ')} before, ${r.loadAverageAfter.join(', ')} after.`,
    `- Models: synthetic ${o.shapes.join(' and ')}-shaped ${o.type} files (real Qwen2.5 shapes and tokenizer, random weights), the same file for both servers; ${o.threads} threads each.`,
    `- Ours: \`qwen-local serve --stdio\` at commit ${r.ourCommit}, textDocument/inlineCompletion; tokens from the stats it attaches (qwen/lastCompletionStats when it shows nothing). ` +
      `Settings: ${runLabel('fixed', o)} run ${JSON.stringify(r.ourSettings.fixed)}, defaults run ${JSON.stringify(r.ourSettings.defaults)} (model path left out); everything else is the extension's default.`,
    `- Peer: llama.cpp \`llama-server\` ${lc.commit} (${lc.source}), cmake ${lc.cmakeFlags.join(' ')}, ${lc.compiler}, built ${lc.builtAt}; ` +
      `started as \`llama-server -m MODEL --host 127.0.0.1 --port P ${lc.serverArgs.join(' ')}\` (llama.vscode's recommended CPU flags; slots and context as /props reports them are in the JSON).`,
    `- Peer requests: POST /infill as llama.vscode v0.0.63 builds them: input_prefix = up to 256 lines before the cursor line, prompt = the cursor line up to the cursor, ` +
      `input_suffix = the rest of the line and up to 64 lines, cache_prompt, top_k 40, top_p 0.99, samplers [top_k, top_p]. ` +
      `${runLabel('fixed', o)} run: ${r.peerRequests.fixed}. Defaults run: ${r.peerRequests.defaults}.`,
    `- llama.vscode's \`infill\` sampler is left out: on random weights it ends the output at once, so the peer would generate nothing. ` +
      `input_extra is [] while typing, as our server gets no other files either (only this document is open). ` +
      `Not emulated, both to the peer's advantage: llama.vscode's result cache (typing into a shown suggestion; random weights never predict the typed text), ` +
      `its "cache future suggestion" request after each shown suggestion (extra work on the server) and its 3 candidates.`,
    `- Tokens: ours evaluatedTokens / cachedTokens from its stats; llama-server's timings.prompt_n (evaluated), timings.cache_n (reused) and tokens_evaluated (prompt), tokens_cached (slot) per answer, in the JSON.`,
    `- First suggestion after open: both servers started fresh for each repetition, each first answering one request for a short unrelated file (weights and threads warm, nothing of this file cached); ` +
      `then the file is opened and its first keystroke (the first character of the stretch) asked for, right away and after ${o.idleMs / 1000} s open and idle. ` +
      `Our server gets what the extension sends when a file is opened and the cursor put somewhere: a qwen/warmCompletion at the cursor, which it prefills at its lowest priority ` +
      `(${o.warmup ? 'sent in this run' : '**left out in this run (--no-warmup, an ablation)**'}; the table gives the tokens it had warmed before the keystroke, and whether the answer came from the full prompt or a short window). ` +
      `llama-server gets what llama.vscode sends: 3 s after the last completion the chunk of ` +
      `${LLAMA_VSCODE.ringChunkSize / 2} lines around the cursor (llama.vscode's window is random; the middle one here) enters its ring buffer and is sent with n_predict 0 to warm the cache, ` +
      `and the first keystroke's request carries it in input_extra. Each side idles alone while the other server waits.`,
    `- Latency is client-side, request sent to answer received (JSON-RPC over stdio for ours, HTTP over loopback for llama-server). Every sample is in keystroke-latency.json.`,
    '',
  ].join('\n');
}

function writeReport(r: Report): void {
  fs.mkdirSync(path.dirname(r.options.out), { recursive: true });
  fs.writeFileSync(`${r.options.out}.json`, JSON.stringify(r, null, 2) + '\n');
  fs.writeFileSync(`${r.options.out}.md`, markdown(r));
}

function describePeerRequest(shape: LlamaVscodeRequestShape): string {
  return shape.clientDefaults
    ? `n_predict ${shape.nPredict}, n_indent (the cursor line's indentation, when > 0), t_max_prompt_ms ${LLAMA_VSCODE.tMaxPromptMs} (which llama-server ignores), t_max_predict_ms ${LLAMA_VSCODE.tMaxPredictMs}`
    : `n_predict ${shape.nPredict}, no n_indent and no time limits`;
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  const root = repoRoot();
  const build = llamaServerBuild(o.llamaServer);
  const src = loadSource(o.file);
  const plan = typingStretch(src.text, o.keystrokes);
  const ourSettingsShown = (run: RunKind) => {
    const { modelPath: _omit, ...rest } = ourSettings(o, '', run);
    return rest;
  };
  const report: Report = {
    date: new Date().toISOString(),
    command: `node out/bench/keystroke-latency.js ${process.argv.slice(2).join(' ')}`.trim(),
    complete: false,
    options: o,
    source: {
      file: src.file,
      package: src.package,
      characters: src.text.length,
      lines: src.lines,
      stretch: { start: plan.start, end: plan.end, firstLine: lineOf(src.text, plan.start), lastLine: lineOf(src.text, plan.end) },
    },
    machine: machineState(),
    loadAverageBefore: loadAverage(),
    loadAverageAfter: [],
    ourCommit: gitCommit(root),
    ourSettings: { fixed: ourSettingsShown('fixed'), defaults: ourSettingsShown('defaults') },
    llamaCpp: { ...build, binary: o.llamaServer, serverArgs: peerArgs(o) },
    peerRequests: { fixed: describePeerRequest(peerShape(o, 'fixed')), defaults: describePeerRequest(peerShape(o, 'defaults')) },
    replays: [],
    opens: [],
  };
  process.stderr.write(`load average before: ${report.loadAverageBefore.join(', ')}\n`);
  for (const shape of o.shapes) {
    const modelPath = await modelFile(shape, o);
    for (const run of o.runs) {
      report.replays.push(await replayRun(o, src, plan, shape, modelPath, run));
      report.loadAverageAfter = loadAverage();
      writeReport(report);
      for (const condition of ['immediate', 'idle'] as const) {
        if (o.openReps === 0) continue;
        report.opens.push(await openRun(o, plan, shape, modelPath, run, condition));
        report.loadAverageAfter = loadAverage();
        writeReport(report);
      }
    }
  }
  report.complete = true;
  report.loadAverageAfter = loadAverage();
  writeReport(report);
  console.log(markdown(report));
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
  process.exit(1);
});
