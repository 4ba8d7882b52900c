// CPU speed and memory of `qwen-local bench` against llama.cpp on the same synthetic GGUF files,
// in one run:
//   node out/bench/cpu-vs-llamacpp.js [--quick] [--reps N] [-p 512] [-n 128] [--threads 2]
//                                     [--shapes 0.5b,1.5b] [--types Q4_K_M,Q8_0,Q4_0,Q5_K_M,Q6_K] (defaults: reps 5,
//                                     both shapes, all five types)
//                                     [--batches 8,16,32,64,128 | --batches none] [--batch-reps 3]
//                                     [--llama-bench /path/to/llama-bench] [--no-node-llama-cpp]
//                                     [--models DIR] [--out NAME]
// For every model the engines are measured alternately, each repetition in a fresh child process
// (ours: the CLI with --json --reps 1; llama.cpp: bench/lib/llama-cpp-bench-child through
// node-llama-cpp's prebuilt binary, and the native llama-bench that bench/build-llama-cpp.sh builds
// into build/llama.cpp, used by default when it is there), and the medians are compared, speed
// against the faster llama.cpp. The small batches (--batches: one evaluation of that many tokens,
// the size of a keystroke's prefill or a speculative verify step) are measured by ours and the
// native llama-bench in a second process per round, --batch-reps evaluations of each size there
// (after each tool's warm-up), whose median is that round's sample: one 8-token evaluation lasts
// 15-30 ms, and single samples split in two on this shared machine. Prints Markdown tables for the README and
// writes them with the raw numbers to bench/results/<NAME>.{md,json} (default cpu-vs-llamacpp),
// with the reference's build record (its build-info.json: commit, CMake flags, compiler, CPU), the
// CPU's model and SIMD flags, transparent huge pages and the load average before and after.
// Also recorded: decode's bytes read per token (bench/lib/bytes-per-token.ts) and the GB/s that
// makes against this machine's read bandwidth (bench/native/read-bandwidth.cpp, compiled and run
// here with the same thread count), the 8-token verify step against one decode step (8 * tg / pp8),
// and the time from loading to the first token's logits, ours against node-llama-cpp's loadModel.
// --quick is a smoke run (0.5B Q8_0, short, one repetition). --models DIR takes the files from DIR
// (named <shape>-<type>.gguf, e.g. 0.5b-q4_k_m.gguf) instead of the synthetic-model cache, so a
// developer's own addon build does not re-quantize the shared cache (its stamps name the addon
// that wrote them).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { execFileSync } from 'child_process';
import { loadNative } from '../src/engine/native';
import { getTestModel, repoRoot, type TestShape } from '../test/helpers/models';
import { decodeBytes, meanDecodeBytesPerToken } from './lib/bytes-per-token';
import { measureLlamaBenchNative, measureLlamaBenchSmallBatches, referenceBuild, type ReferenceBuild } from './lib/llama-bench-native';
import { median, runJsonChild } from './lib/run-json-child';

interface Options {
  shapes: TestShape[];
  types: string[];
  reps: number;
  prefill: number;
  decode: number;
  threads: number;
  quick: boolean;
  llamaBench?: string;
  modelDir?: string;
  batches: number[];
  /** Evaluations of each small batch per process (their median is the round's sample). */
  batchReps: number;
  out: string;
  /** Also measure node-llama-cpp's prebuilt binary (off with --no-node-llama-cpp when llama-bench runs). */
  nodeLlamaCpp: boolean;
}

interface Sample {
  prefill: number;
  decode: number;
  peakRss: number;
  /** t/s per small batch size; absent for node-llama-cpp, which measures only pp and tg. */
  small?: Record<number, number>;
  /** Load to the first token's logits, ms (ours and node-llama-cpp; llama-bench does not time it). */
  loadMs?: number;
}

interface OurBenchJson {
  results: { test: string; tokensPerSecond: number[] }[];
  peakRssBytes: number;
  loadToFirstTokenMs: number;
}
interface LlamaBenchJson {
  prefillTokPerSec: number;
  decodeTokPerSec: number;
  peakRssBytes: number;
  loadToFirstTokenMs: number;
}

function parseOptions(argv: string[]): Options {
  const quick = argv.includes('--quick');
  const value = (flag: string): string | undefined => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const int = (flag: string, fallback: number): number => {
    const v = value(flag);
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} must be a positive integer, got ${v}`);
    return n;
  };
  const list = (flag: string, fallback: string[]): string[] =>
    value(flag)
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean) ?? fallback;
  const batchList = value('--batches') === 'none' ? [] : list('--batches', quick ? ['8'] : ['8', '16', '32', '64', '128']);
  const batches = batchList.map((b) => {
    const n = Number(b);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--batches takes positive integers (or none), got ${b}`);
    return n;
  });
  const defaultLlamaBench = path.join(repoRoot(), 'build', 'llama.cpp', 'bin', 'llama-bench');
  const out = value('--out') ?? 'cpu-vs-llamacpp';
  if (!/^[\w.-]+$/.test(out)) throw new Error(`--out takes a file name without directories, got ${out}`);
  return {
    quick,
    shapes: list('--shapes', quick ? ['0.5b'] : ['0.5b', '1.5b']) as TestShape[],
    types: list('--types', quick ? ['Q8_0'] : ['Q4_K_M', 'Q8_0', 'Q4_0', 'Q5_K_M', 'Q6_K']),
    reps: int('--reps', quick ? 1 : 5),
    prefill: int('-p', quick ? 128 : 512),
    decode: int('-n', quick ? 32 : 128),
    threads: int('--threads', 2),
    llamaBench: value('--llama-bench') ?? (fs.existsSync(defaultLlamaBench) ? defaultLlamaBench : undefined),
    modelDir: value('--models'),
    batches,
    batchReps: int('--batch-reps', quick ? 1 : 3),
    out,
    nodeLlamaCpp: !argv.includes('--no-node-llama-cpp'),
  };
}

const TIMEOUT_MS = 20 * 60 * 1000;

async function ourBench(file: string, o: Options, prompts: number[], decode: number, reps: number): Promise<OurBenchJson> {
  const cli = path.join(repoRoot(), 'bin', 'qwen-local.js');
  const args = ['bench', '--model', file, '-p', prompts.join(','), '-n', String(decode), '--threads', String(o.threads)];
  return runJsonChild<OurBenchJson>(cli, [...args, '--reps', String(reps), '--json'], TIMEOUT_MS);
}

function ourRates(r: OurBenchJson, test: string): number[] {
  const row = r.results.find((x) => x.test === test);
  if (!row) throw new Error(`qwen-local bench printed no ${test} result`);
  return row.tokensPerSecond;
}

async function measureOurs(file: string, o: Options): Promise<Sample> {
  const r = await ourBench(file, o, [o.prefill], o.decode, 1);
  return {
    prefill: ourRates(r, `pp${o.prefill}`)[0],
    decode: ourRates(r, `tg${o.decode}`)[0],
    peakRss: r.peakRssBytes,
    loadMs: r.loadToFirstTokenMs,
  };
}

/** The small batches in their own process, --batch-reps evaluations each: the median rate per size. */
async function measureOursSmall(file: string, o: Options): Promise<Record<number, number>> {
  const r = await ourBench(file, o, o.batches, 0, o.batchReps);
  const small: Record<number, number> = {};
  for (const n of o.batches) {
    const rates = ourRates(r, `pp${n}`);
    if (rates.length !== o.batchReps) throw new Error(`qwen-local bench printed ${rates.length} pp${n} samples, not ${o.batchReps}`);
    small[n] = median(rates);
  }
  return small;
}

async function measureLlama(file: string, o: Options): Promise<Sample> {
  const child = path.join(__dirname, 'lib', 'llama-cpp-bench-child.js');
  const r = await runJsonChild<LlamaBenchJson>(
    child,
    ['--model', file, '-p', String(o.prefill), '-n', String(o.decode), '--threads', String(o.threads)],
    TIMEOUT_MS,
  );
  return { prefill: r.prefillTokPerSec, decode: r.decodeTokPerSec, peakRss: r.peakRssBytes, loadMs: r.loadToFirstTokenMs };
}

type Engine = 'ours' | 'llama' | 'native';

interface Row {
  shape: string;
  type: string;
  fileBytes: number;
  /** Mean bytes one tg step reads (every weight once, the growing KV cache). */
  decodeBytesPerToken: number;
  /** ours: qwen-local; llama: node-llama-cpp (prebuilt); native: llama-bench, when given. */
  samples: Record<Engine, Sample[]>;
  median: Partial<Record<Engine, Sample>>;
}

function medians(samples: Sample[]): Sample {
  const m: Sample = {
    prefill: median(samples.map((s) => s.prefill)),
    decode: median(samples.map((s) => s.decode)),
    peakRss: median(samples.map((s) => s.peakRss)),
  };
  const first = samples[0]?.small;
  if (first) {
    m.small = {};
    for (const n of Object.keys(first).map(Number)) m.small[n] = median(samples.map((s) => s.small![n]));
  }
  if (samples.every((s) => s.loadMs !== undefined)) m.loadMs = median(samples.map((s) => s.loadMs!));
  return m;
}

/** The 1, 5 and 15 minute load averages: other work on the machine skews both engines. */
function load(): string {
  return os
    .loadavg()
    .map((v) => v.toFixed(2))
    .join(', ');
}

async function modelFile(shape: TestShape, type: string, o: Options): Promise<string> {
  if (!o.modelDir) return getTestModel(shape, type);
  const file = path.join(o.modelDir, `${shape}-${type.toLowerCase()}.gguf`);
  if (!fs.existsSync(file)) throw new Error(`--models ${o.modelDir}: no ${path.basename(file)} there`);
  return file;
}

function machine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  return `${cpu}, ${os.cpus().length} logical cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Linux ${os.release()}, Node ${process.version}`;
}

/** The CPU's SIMD flags that decide which kernels either engine runs. */
function cpuSimdFlags(): string {
  try {
    const line = /^flags\s*:(.*)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '';
    const wanted = /^(sse4_2|avx|avx2|fma|f16c|bmi2|avx_vnni|avx512[a-z_0-9]*)$/;
    return (
      line
        .trim()
        .split(/\s+/)
        .filter((f) => wanted.test(f))
        .sort()
        .join(' ') || 'none of the SIMD flags'
    );
  } catch {
    return 'unknown (no /proc/cpuinfo)';
  }
}

/** The transparent-huge-page mode in force (the bracketed word), or why it is unknown. */
function transparentHugePages(): string {
  const file = '/sys/kernel/mm/transparent_hugepage/enabled';
  try {
    const raw = fs.readFileSync(file, 'utf8').trim();
    return /\[(\w+)\]/.exec(raw)?.[1] ?? raw;
  } catch {
    return `unknown (${file} unreadable)`;
  }
}

/** This machine's read bandwidth with `threads` threads: bench/native/read-bandwidth.cpp, built
 * into build/bench/ when missing or older than its source, best of 1 and 2 streams per thread on
 * huge pages (1 GiB). Undefined, with the reason, when it cannot be built or run. */
interface ReadBandwidth {
  gbPerSec?: number;
  detail: string;
}
function readBandwidth(threads: number): ReadBandwidth {
  const src = path.join(repoRoot(), 'bench', 'native', 'read-bandwidth.cpp');
  const exe = path.join(repoRoot(), 'build', 'bench', 'read-bandwidth');
  try {
    if (!fs.existsSync(exe) || fs.statSync(exe).mtimeMs < fs.statSync(src).mtimeMs) {
      fs.mkdirSync(path.dirname(exe), { recursive: true });
      execFileSync('g++', ['-O2', '-mavx2', '-std=c++17', src, '-lpthread', '-o', exe], { stdio: 'pipe' });
    }
    const runs = [1, 2].map((streams) => {
      const out = execFileSync(exe, [String(threads), String(streams), 'huge', '1024'], { encoding: 'utf8' }).trim();
      const m = /best ([\d.]+) GB\/s/.exec(out);
      if (!m) throw new Error(`unexpected read-bandwidth output: ${out}`);
      return { gb: Number(m[1]), out };
    });
    const best = Math.max(...runs.map((r) => r.gb));
    return { gbPerSec: best, detail: `${best.toFixed(1)} GB/s (${runs.map((r) => r.out).join('; ')})` };
  } catch (e) {
    return { detail: `not measured: ${(e as Error).message.split('\n')[0]}` };
  }
}

/** Everything a result file must say about the machine and the reference it was measured against. */
interface Environment {
  machine: string;
  cpuFlags: string;
  thp: string;
  reference?: ReferenceBuild;
  bandwidth: ReadBandwidth;
}

function environmentNote(env: Environment): string {
  const ref = env.reference;
  const refLine = ref
    ? `Reference: llama-bench at ${ref.binary}; build record ${ref.buildInfo}` +
      (ref.commit
        ? `: llama.cpp ${ref.commit}, CMake ${ref.cmakeFlags?.join(' ')}, ${ref.compiler}, built ${ref.builtAt} on ${ref.cpu} (${ref.cpuFlags})`
        : '') +
      '.'
    : "Reference: no native llama-bench (build it with bench/build-llama-cpp.sh); llama.cpp is node-llama-cpp's prebuilt binary only.";
  return (
    `Machine: ${env.machine}; CPU SIMD flags: ${env.cpuFlags}; transparent huge pages: ${env.thp}; ` +
    `read bandwidth (bench/native/read-bandwidth.cpp): ${env.bandwidth.detail}.\n${refLine}`
  );
}

const mib = (b: number) => (b / 2 ** 20).toFixed(0);

/** The faster llama.cpp figure for one metric, labelled with where it came from. */
function bestLlama(r: Row, metric: 'prefill' | 'decode'): { value: number; label: string } {
  const p = r.median.llama?.[metric];
  const n = r.median.native?.[metric];
  if (n !== undefined && (p === undefined || n > p)) return { value: n, label: `${n.toFixed(1)} (llama-bench)` };
  if (p === undefined) throw new Error('no llama.cpp measurement');
  return { value: p, label: `${p.toFixed(1)} (node-llama-cpp)` };
}

/** The README table: ours against the faster llama.cpp; memory against node-llama-cpp (both run in
 * Node) and, when measured, against llama-bench (a bare C++ process, without Node's own ~40 MiB). */
function summaryTable(rows: Row[], o: Options): string {
  const lines = [
    `| model | type | file MiB | pp${o.prefill} ours t/s | pp${o.prefill} llama.cpp t/s | ratio | tg${o.decode} ours t/s | tg${o.decode} llama.cpp t/s | ratio | peak RSS ours MiB |` +
      (o.nodeLlamaCpp ? ' node-llama-cpp MiB | ratio |' : '') +
      (o.llamaBench ? ' llama-bench MiB | ratio |' : ''),
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|' + (o.nodeLlamaCpp ? '---:|---:|' : '') + (o.llamaBench ? '---:|---:|' : ''),
  ];
  for (const r of rows) {
    const ours = r.median.ours!,
      llama = r.median.llama;
    const pp = bestLlama(r, 'prefill'),
      tg = bestLlama(r, 'decode');
    lines.push(
      `| ${r.shape} | ${r.type} | ${mib(r.fileBytes)} | ${ours.prefill.toFixed(1)} | ${pp.label} | ${(ours.prefill / pp.value).toFixed(2)}x | ` +
        `${ours.decode.toFixed(1)} | ${tg.label} | ${(ours.decode / tg.value).toFixed(2)}x | ${mib(ours.peakRss)} |` +
        (llama ? ` ${mib(llama.peakRss)} | ${(ours.peakRss / llama.peakRss).toFixed(2)} |` : '') +
        (r.median.native ? ` ${mib(r.median.native.peakRss)} | ${(ours.peakRss / r.median.native.peakRss).toFixed(2)} |` : ''),
    );
  }
  return lines.join('\n');
}

/** Every engine's medians, for the record. */
function detailTable(rows: Row[], o: Options): string {
  const lines = [`| model | type | engine | pp${o.prefill} t/s | tg${o.decode} t/s | peak RSS MiB | runs |`, '|---|---|---|---:|---:|---:|---:|'];
  const names: Record<Engine, string> = { ours: 'qwen-local', llama: 'node-llama-cpp (prebuilt)', native: 'llama-bench (native build)' };
  for (const r of rows) {
    for (const e of ['ours', 'llama', 'native'] as const) {
      const m = r.median[e];
      if (!m) continue;
      lines.push(`| ${r.shape} | ${r.type} | ${names[e]} | ${m.prefill.toFixed(1)} | ${m.decode.toFixed(2)} | ${mib(m.peakRss)} | ${r.samples[e].length} |`);
    }
  }
  return lines.join('\n');
}

/** Small batches: each engine's medians and ours against the native llama-bench, per batch size. */
function smallBatchTable(rows: Row[], o: Options): string {
  if (o.batches.length === 0) return '';
  const head = o.batches.map((n) => `pp${n}`);
  // One 8-token verify step against one decode step: (8 / pp8) / (1 / tg) = 8 * tg / pp8.
  const verify = o.batches.includes(8);
  const v = (m: Sample | undefined) => (m?.small ? `${((8 * m.decode) / m.small[8]).toFixed(2)}x` : '');
  const lines = [
    `| model | type | engine | ${head.join(' | ')} |${verify ? ' verify 8 / decode step |' : ''}`,
    `|---|---|---|${head.map(() => '---:').join('|')}|${verify ? '---:|' : ''}`,
  ];
  for (const r of rows) {
    const ours = r.median.ours?.small,
      ref = r.median.native?.small;
    if (ours)
      lines.push(
        `| ${r.shape} | ${r.type} | qwen-local t/s | ${o.batches.map((n) => ours[n].toFixed(1)).join(' | ')} |${verify ? ` ${v(r.median.ours)} |` : ''}`,
      );
    if (ref)
      lines.push(
        `| ${r.shape} | ${r.type} | llama-bench t/s | ${o.batches.map((n) => ref[n].toFixed(1)).join(' | ')} |${verify ? ` ${v(r.median.native)} |` : ''}`,
      );
    if (ours && ref)
      lines.push(`| ${r.shape} | ${r.type} | **ratio** | ${o.batches.map((n) => `${(ours[n] / ref[n]).toFixed(2)}x`).join(' | ')} |${verify ? ' |' : ''}`);
  }
  return lines.join('\n');
}

/** Decode against the memory wall, and load time, per model. */
function decodeAndLoadTable(rows: Row[], o: Options, env: Environment): string {
  const bw = env.bandwidth.gbPerSec;
  const lines = [
    `| model | type | MiB read per token | tg ours GB/s | tg llama.cpp GB/s |${bw ? ' ours / read bandwidth |' : ''} load to first token ours ms | node-llama-cpp ms | ratio |`,
    `|---|---|---:|---:|---:|${bw ? '---:|' : ''}---:|---:|---:|`,
  ];
  for (const r of rows) {
    const ours = r.median.ours!;
    const tg = bestLlama(r, 'decode');
    const gb = (tps: number) => (r.decodeBytesPerToken * tps) / 1e9;
    const lo = ours.loadMs,
      ll = r.median.llama?.loadMs;
    lines.push(
      `| ${r.shape} | ${r.type} | ${mib(r.decodeBytesPerToken)} | ${gb(ours.decode).toFixed(1)} | ${gb(tg.value).toFixed(1)} |` +
        (bw ? ` ${(gb(ours.decode) / bw).toFixed(2)} |` : '') +
        ` ${lo !== undefined ? lo.toFixed(0) : '-'} | ${ll !== undefined ? ll.toFixed(0) : '- (needs node-llama-cpp)'} | ${lo !== undefined && ll !== undefined ? (lo / ll).toFixed(2) : '-'} |`,
    );
  }
  return lines.join('\n');
}

async function measure(who: Engine, file: string, o: Options): Promise<Sample> {
  if (who === 'llama') return measureLlama(file, o);
  const withBatches = o.batches.length > 0;
  if (who === 'ours') {
    const s = await measureOurs(file, o);
    return withBatches ? { ...s, small: await measureOursSmall(file, o) } : s;
  }
  const s = await measureLlamaBenchNative(o.llamaBench!, file, o, TIMEOUT_MS);
  const small = withBatches
    ? await measureLlamaBenchSmallBatches(o.llamaBench!, file, { threads: o.threads, batches: o.batches, reps: o.batchReps }, TIMEOUT_MS)
    : undefined;
  return small ? { ...s, small } : s;
}

/** Writes the tables and raw numbers so far; called after every model, so a cut-short run leaves its rows. */
function writeResults(rows: Row[], o: Options, env: Environment, loadBefore: string, done: boolean): string {
  const md = summaryTable(rows, o);
  const detail = detailTable(rows, o);
  const small = smallBatchTable(rows, o);
  const decodeLoad = decodeAndLoadTable(rows, o, env);
  const envNote = environmentNote(env);
  const loadNow = load();
  const note =
    `Measured on ${machine()}; load average (1, 5, 15 min) ${loadBefore} before and ${loadNow} ${done ? 'after' : 'during'} the run` +
    `${done ? '' : ` (partial: ${rows.length} of ${o.shapes.length * o.types.length} models measured so far)`}; threads = ${o.threads}; ` +
    `medians of ${o.reps} alternated repetitions, each in a fresh process` +
    (o.reps < 5 ? ` (fewer than the 5 rounds a reported ratio needs: a tool check, not a result)` : '') +
    '. ' +
    `llama.cpp speed is the faster of node-llama-cpp's prebuilt CPU binary (decode timed as one evaluation per token that computes the next token's logits, as llama-bench's tg does, plus the greedy pick node-llama-cpp needs to ask for them)` +
    (o.llamaBench ? ' and a native llama-bench built from the llama.cpp source node-llama-cpp ships' : '') +
    `; peak RSS is compared with node-llama-cpp, which like qwen-local runs inside Node` +
    (o.llamaBench ? ', and with llama-bench, a bare C++ process.' : '.') +
    (small
      ? ` Small batches: one evaluation of that many tokens into an empty sequence (pp), ours against the native llama-bench; per round, a separate process of each evaluates every size ${o.batchReps} times (after its warm-up) and the median of those is the round's sample.`
      : '');
  const outDir = path.join(repoRoot(), 'bench', 'results');
  fs.mkdirSync(outDir, { recursive: true });
  const date = new Date().toISOString();
  const smallSection = (small ? `\n\n## Small batches\n\n${small}` : '') + `\n\n## Decode bytes and load time\n\n${decodeLoad}`;
  fs.writeFileSync(
    path.join(outDir, `${o.out}.json`),
    JSON.stringify(
      {
        date,
        machine: env.machine,
        cpuFlags: env.cpuFlags,
        transparentHugePages: env.thp,
        reference: env.reference ?? null,
        readBandwidth: env.bandwidth,
        loadBefore,
        loadNow,
        complete: done,
        options: o,
        rows,
        markdown: md,
        smallBatches: small,
        detail,
        note,
      },
      null,
      2,
    ) + '\n',
  );
  fs.writeFileSync(
    path.join(outDir, `${o.out}.md`),
    `# CPU speed: qwen-local vs llama.cpp (${date})\n\n${md}${smallSection}\n\n${note}\n\n${envNote}\n\n## Every engine\n\n${detail}\n`,
  );
  return `${md}${smallSection}\n\n${note}\n\n${envNote}\n\n${detail}\n`;
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  if (!o.nodeLlamaCpp && !o.llamaBench) throw new Error('--no-node-llama-cpp needs a native llama-bench (build/llama.cpp or --llama-bench PATH)');
  const rows: Row[] = [];
  const loadBefore = load();
  const env: Environment = {
    machine: machine(),
    cpuFlags: cpuSimdFlags(),
    thp: transparentHugePages(),
    reference: o.llamaBench ? referenceBuild(o.llamaBench) : undefined,
    bandwidth: readBandwidth(o.threads),
  };
  process.stderr.write(`load average before: ${loadBefore}\n${environmentNote(env)}\n`);
  for (const shape of o.shapes) {
    for (const type of o.types) {
      process.stderr.write(`preparing ${shape} ${type} ... (load average ${load()})\n`);
      const file = await modelFile(shape, type, o);
      const row: Row = {
        shape,
        type,
        fileBytes: fs.statSync(file).size,
        samples: { ours: [], llama: [], native: [] },
        median: {},
        decodeBytesPerToken: meanDecodeBytesPerToken(decodeBytes(loadNative().readGguf(file)), 0, o.decode),
      };
      const engines: Engine[] = ['ours', ...(o.nodeLlamaCpp ? ['llama' as const] : []), ...(o.llamaBench ? ['native' as const] : [])];
      for (let rep = 0; rep < o.reps; rep++) {
        // Rotate which engine goes first so none always gets the cooler (or the busier) machine.
        const order = engines.map((_, i) => engines[(i + rep) % engines.length]);
        for (const who of order) {
          const s = await measure(who, file, o);
          row.samples[who].push(s);
          const smallText = s.small
            ? `, ${Object.entries(s.small)
                .map(([n, v]) => `pp${n} ${v.toFixed(1)}`)
                .join(' ')}`
            : '';
          process.stderr.write(
            `  ${shape} ${type} rep ${rep + 1} ${who.padEnd(6)} pp ${s.prefill.toFixed(1)} tg ${s.decode.toFixed(2)} t/s${smallText}, peak RSS ${mib(s.peakRss)} MiB\n`,
          );
        }
      }
      for (const e of engines) row.median[e] = medians(row.samples[e]);
      rows.push(row);
      writeResults(rows, o, env, loadBefore, false);
    }
  }
  process.stdout.write(writeResults(rows, o, env, loadBefore, true));
}

main().catch((e) => {
  process.stderr.write(`cpu-vs-llamacpp: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
