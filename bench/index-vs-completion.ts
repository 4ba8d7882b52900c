// Does building the workspace index slow a running inline completion? The issue's bound: by no
// more than 10%. Measured on the real language server (`qwen-local serve --stdio`, real engine),
// whose workspace folder is a copy of real code (bench/lib/source-workspace.ts):
//   node out/bench/index-vs-completion.js [--model PATH] [--files 5000] [--reps 9]
//        [--max-tokens 32] [--threads 2] [--out bench/results/index-vs-completion]
// Each rep times the same completion request (same document, same cursor, greedy, prefix reuse
// off so every request evaluates its whole prompt) twice: once with the index idle ("ready") and
// once while a rebuild of the whole workspace runs in the server (started through
// qwen/indexSettings, as a files.exclude change does in the editor). The order alternates rep by
// rep, so both sides see the same drift of a shared machine; medians are compared. A "with" sample
// counts only if the build was still running when the completion ended (else the rebuild was too
// short to overlap: use more --files). Writes <out>.json (every sample) and <out>.md.
import * as fs from 'fs';
import * as path from 'path';
import { performance } from 'perf_hooks';
import { pathToFileURL } from 'url';
import type { IndexStatus } from '../src/protocol/workspace';
import { getTestModel, repoRoot } from '../test/helpers/models';
import { items, LspTestClient } from '../test/server/lsp-client';
import { gitCommit, loadAverage, machineState } from './lib/machine-state';
import { copySourceWorkspace } from './lib/source-workspace';

interface Options {
  model: string | undefined;
  files: number;
  reps: number;
  maxTokens: number;
  threads: number;
  out: string;
}

function parseOptions(argv: string[]): Options {
  const value = (flag: string): string | undefined => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const int = (flag: string, fallback: number): number => {
    const n = Number(value(flag) ?? fallback);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`${flag} must be a positive integer`);
    return n;
  };
  return {
    model: value('--model'),
    files: int('--files', 5000),
    reps: int('--reps', 9),
    maxTokens: int('--max-tokens', 32),
    threads: int('--threads', 2),
    out: value('--out') ?? 'bench/results/index-vs-completion',
  };
}

interface Sample {
  rep: number;
  indexing: boolean;
  ms: number;
  promptTokens: number;
  generatedTokens: number;
  /** With indexing: files the build had indexed when the completion started and ended. */
  indexedAtStart?: number;
  indexedAtEnd?: number;
  /** With indexing: the build was still running when the completion ended. */
  overlapped?: boolean;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function indexStatus(client: LspTestClient): Promise<IndexStatus> {
  return client.conn.sendRequest('qwen/indexStatus', {}) as Promise<IndexStatus>;
}

async function waitForIndex(client: LspTestClient, want: (s: IndexStatus) => boolean, what: string, timeoutMs: number): Promise<IndexStatus> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await indexStatus(client);
    if (want(s)) return s;
    if (Date.now() > deadline) throw new Error(`the index was not ${what} within ${timeoutMs} ms: ${JSON.stringify(s)}`);
    await sleep(5);
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  const root = repoRoot();
  const modelPath = opts.model ?? (await getTestModel('0.5b', 'Q4_K_M'));
  const workspace = copySourceWorkspace(root, opts.files);
  const machine = machineState();
  const loadBefore = loadAverage();
  let client: LspTestClient | undefined;
  try {
    client = new LspTestClient({ command: process.execPath, args: [path.join(root, 'bin', 'qwen-local.js'), 'serve', '--stdio'] }, root);
    await client.initialize(
      {
        modelPath,
        device: 'cpu',
        threads: opts.threads,
        contextSize: 4096,
        completion: { maxTokens: opts.maxTokens, temperature: 0, timeBudgetMs: 600000 },
        tuning: { reusePrefix: false },
      },
      pathToFileURL(workspace.dir).toString(),
    );
    const status = await client.waitForState(300000);
    if (status.state !== 'ready') throw new Error(`the model did not load: ${status.message ?? status.state}\n${client.stderr}`);
    const firstBuild = await waitForIndex(client, (s) => s.state === 'ready', 'built', 600000);

    // The document being edited: a real source file of ours, cursor in the middle of a line.
    const text = fs.readFileSync(path.join(root, 'src', 'engine', 'gguf-writer.ts'), 'utf8');
    const cursor = text.indexOf('\n', Math.floor(text.length / 2)) - 8;
    const uri = pathToFileURL(path.join(workspace.dir, 'editing', 'current.ts')).toString();
    client.open(uri, text);

    const complete = async (): Promise<{ ms: number; promptTokens: number; generatedTokens: number }> => {
      const t = performance.now();
      items(await client!.complete(uri, cursor));
      const ms = performance.now() - t;
      const stats = await client!.lastStats();
      if (!stats) throw new Error('the server reported no completion stats');
      return { ms, promptTokens: stats.promptTokens, generatedTokens: stats.generatedTokens };
    };
    await complete(); // warm-up: first-touch page faults, thread start

    const samples: Sample[] = [];
    let toggle = 0;
    for (let rep = 0; rep < opts.reps; rep++) {
      const order = rep % 2 === 0 ? [false, true] : [true, false];
      for (const indexing of order) {
        if (!indexing) {
          await waitForIndex(client, (s) => s.state === 'ready', 'ready', 600000);
          samples.push({ rep, indexing, ...(await complete()) });
          continue;
        }
        // From a finished index (the previous rebuild may still run), a changed files.exclude
        // makes the server rebuild from scratch, as in the editor.
        await waitForIndex(client, (s) => s.state === 'ready', 'ready', 600000);
        await client.conn.sendNotification('qwen/indexSettings', { filesExclude: { [`**/qwen-bench-toggle-${toggle++}`]: true } });
        const started = await waitForIndex(client, (s) => s.state === 'building', 'rebuilding', 60000);
        const r = await complete();
        const after = await indexStatus(client);
        samples.push({ rep, indexing, ...r, indexedAtStart: started.files, indexedAtEnd: after.files, overlapped: after.state === 'building' });
      }
      process.stderr.write(
        `rep ${rep + 1}/${opts.reps}: ${samples
          .slice(-2)
          .map((s) => `${s.indexing ? 'indexing' : 'idle'} ${s.ms.toFixed(0)} ms`)
          .join(', ')}\n`,
      );
    }
    await waitForIndex(client, (s) => s.state === 'ready', 'ready', 600000);

    const idle = samples.filter((s) => !s.indexing);
    const busy = samples.filter((s) => s.indexing && s.overlapped);
    const idleMs = median(idle.map((s) => s.ms));
    const busyMs = busy.length > 0 ? median(busy.map((s) => s.ms)) : NaN;
    const result = {
      command: `node out/bench/index-vs-completion.js ${process.argv.slice(2).join(' ')}`.trim(),
      date: new Date().toISOString(),
      commit: gitCommit(root),
      machine,
      loadAverageBefore: loadBefore,
      loadAverageAfter: loadAverage(),
      model: path.basename(modelPath),
      workspace: { files: workspace.files, mebibytes: +(workspace.bytes / 2 ** 20).toFixed(1), indexedFiles: firstBuild.files, chunks: firstBuild.chunks },
      settings: { threads: opts.threads, maxTokens: opts.maxTokens, reusePrefix: false, contextSize: 4096 },
      reps: opts.reps,
      medianMs: { idle: +idleMs.toFixed(1), indexing: +busyMs.toFixed(1) },
      slowdown: +(busyMs / idleMs - 1).toFixed(4),
      overlappedSamples: busy.length,
      samples: samples.map((s) => ({ ...s, ms: +s.ms.toFixed(1) })),
    };
    const md = [
      '# Inline completion while the workspace index builds',
      '',
      `Command: \`${result.command}\` (${result.date}, commit ${result.commit})`,
      `Machine: ${machine.cpuModel}, ${machine.logicalCores} logical cores, flags ${machine.cpuFlags.join(' ')}; THP ${machine.transparentHugePages}; ` +
        `load average before ${loadBefore.join(' / ')}, after ${result.loadAverageAfter.join(' / ')}; Node ${machine.node}`,
      `Model: ${result.model}; ${opts.threads} threads; ${opts.maxTokens} tokens at most, greedy, prefix reuse off. ` +
        `Workspace: ${workspace.files} files (${result.workspace.mebibytes} MiB) of node_modules sources.`,
      '',
      '| reps | idle median ms | indexing median ms | slowdown | "with" samples that overlapped the build |',
      '|---:|---:|---:|---:|---:|',
      `| ${opts.reps} | ${result.medianMs.idle} | ${result.medianMs.indexing} | ${(result.slowdown * 100).toFixed(1)}% | ${busy.length} of ${opts.reps} |`,
      '',
      'Bound from the issue: at most 10% slower while indexing.',
      '',
    ].join('\n');
    const out = path.resolve(root, opts.out);
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(`${out}.json`, `${JSON.stringify(result, null, 1)}\n`);
    fs.writeFileSync(`${out}.md`, md);
    console.log(md);
    if (busy.length < opts.reps) console.error(`only ${busy.length} of ${opts.reps} "with" samples overlapped the build; use more --files`);
  } finally {
    await client?.close();
    workspace.remove();
  }
}

main().catch((e: Error) => {
  console.error(`index-vs-completion bench: ${e.stack ?? e.message}`);
  process.exit(1);
});
