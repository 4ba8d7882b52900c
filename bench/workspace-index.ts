// Speed of the workspace index (src/server/workspace-index): files indexed per second and query
// latency, on real code that is not ours.
//   node out/bench/workspace-index.js [--files 5000] [--queries 500]
// The workspace is built in a temporary folder from the first `--files` JavaScript/TypeScript
// sources under node_modules (sorted by path, each under 200 KB, .d.ts and .map left out), so it
// has the file sizes and vocabulary of real packages. Indexing runs in this one Node process, as
// in the language server (reads are asynchronous, chunking and term counting on the main
// thread). Queries are the questions of test/fixtures/workspace-retrieval-questions.json plus
// identifiers picked from the indexed files, repeated until `--queries`.
// Writes bench/results/workspace-index.{json,md} with the machine, its load and the command.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { performance } from 'perf_hooks';
import { repoRoot } from '../test/helpers/models';
import { WorkspaceIndex } from '../src/server/workspace-index/workspace-index';
import { copySourceWorkspace } from './lib/source-workspace';

function option(argv: string[], flag: string, fallback: number): number {
  const i = argv.indexOf(flag);
  const n = i >= 0 ? Number(argv[i + 1]) : fallback;
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${flag} must be a positive integer`);
  return n;
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const fileCount = option(argv, '--files', 5000);
  const queryCount = option(argv, '--queries', 500);
  const root = repoRoot();
  const workspace = copySourceWorkspace(root, fileCount);
  const ws = workspace.dir;
  const bytes = workspace.bytes;
  try {
    const loadBefore = os.loadavg();
    const index = new WorkspaceIndex();
    const cpuStart = process.cpuUsage();
    const t0 = performance.now();
    await index.build([{ root: ws, name: 'bench' }], {});
    const buildMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpuStart);
    const counts = index.counts;

    const fixture = JSON.parse(fs.readFileSync(path.join(root, 'test', 'fixtures', 'workspace-retrieval-questions.json'), 'utf8')) as {
      questions: { question: string }[];
    };
    const questions = fixture.questions.map((q) => q.question);
    // Identifiers of the indexed code itself, so queries hit long and short posting lists alike.
    const idents = [...new Set(index.search('function return value error options', 400).flatMap((h) => h.chunk.definitions))];
    const pool = [...questions, ...idents.map((n) => `where is ${n} defined?`)];
    const latencies: number[] = [];
    for (let i = 0; i < queryCount; i++) {
      const q = pool[i % pool.length];
      const t = performance.now();
      index.search(q, 20);
      latencies.push(performance.now() - t);
    }
    latencies.sort((a, b) => a - b);
    const loadAfter = os.loadavg();
    const heapMiB = process.memoryUsage().heapUsed / 2 ** 20;

    const result = {
      command: `node out/bench/workspace-index.js ${argv.join(' ')}`.trim(),
      date: new Date().toISOString(),
      cpu: { model: os.cpus()[0]?.model ?? 'unknown', logicalCores: os.cpus().length },
      loadAverageBefore: loadBefore.map((x) => +x.toFixed(2)),
      loadAverageAfter: loadAfter.map((x) => +x.toFixed(2)),
      node: process.version,
      workspace: { files: workspace.files, mebibytes: +(bytes / 2 ** 20).toFixed(1), source: 'node_modules *.js/*.mjs/*.ts sources, sorted by path' },
      index: { files: counts.files, chunks: counts.chunks, skipped: counts.skipped },
      buildSeconds: +(buildMs / 1000).toFixed(2),
      filesPerSecond: Math.round(counts.files / (buildMs / 1000)),
      buildCpuSeconds: +((cpu.user + cpu.system) / 1e6).toFixed(2),
      heapUsedMiB: +heapMiB.toFixed(0),
      queries: latencies.length,
      queryMs: { p50: +quantile(latencies, 0.5).toFixed(2), p95: +quantile(latencies, 0.95).toFixed(2), max: +latencies[latencies.length - 1].toFixed(2) },
    };
    const md = [
      '# Workspace index benchmark',
      '',
      `Command: \`${result.command}\` (${result.date}, Node ${result.node})`,
      `Machine: ${result.cpu.model}, ${result.cpu.logicalCores} logical cores; load average before ${result.loadAverageBefore.join(' / ')}, after ${result.loadAverageAfter.join(' / ')}`,
      '',
      '| files | MiB | chunks | build s | files/s | build CPU s | heap MiB | queries | p50 ms | p95 ms | max ms |',
      '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
      `| ${result.index.files} | ${result.workspace.mebibytes} | ${result.index.chunks} | ${result.buildSeconds} | ${result.filesPerSecond} | ${result.buildCpuSeconds} | ${result.heapUsedMiB} | ${result.queries} | ${result.queryMs.p50} | ${result.queryMs.p95} | ${result.queryMs.max} |`,
      '',
      'Targets: 5,000 files in under 30 s on 2 cores; queries under 50 ms.',
      '',
    ].join('\n');
    const outDir = path.join(root, 'bench', 'results');
    fs.mkdirSync(outDir, { recursive: true });
    fs.writeFileSync(path.join(outDir, 'workspace-index.json'), `${JSON.stringify(result, null, 1)}\n`);
    fs.writeFileSync(path.join(outDir, 'workspace-index.md'), md);
    console.log(md);
  } finally {
    workspace.remove();
  }
}

main().catch((e: Error) => {
  console.error(`workspace-index bench: ${e.stack ?? e.message}`);
  process.exit(1);
});
