// Bounded load run of the OpenAI-compatible HTTP server on loopback: rounds of N concurrent
// streaming clients (chats and completions, each client with its own `user`, so its own KV slots),
// more clients than the server admits at once, and some that disconnect after the first chunk.
// Every request must end answered (a full SSE stream ending in [DONE]), refused cleanly (429 with
// Retry-After) or cancelled by its own client; afterwards nothing may be running or admitted, the
// KV cache must come back to 0 cells once idle caches are dropped, and the server's RSS is
// compared with its RSS after a warm-up round.
//   node out/bench/http-load.js [--clients 16] [--rounds 10] [--max-queue 12] [--max-tokens 24]
//        [--cancel-every 5] [--ctx 1024] [--threads 2] [--type F32]
// Writes bench/results/http-load.{md,json}; exits 1 when any request failed or KV was left held.
import { ChildProcess, fork } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { readSseData } from '../src/server/remote/sse';
import { getTestModel, repoRoot } from '../test/helpers/models';

interface Options {
  clients: number;
  rounds: number;
  maxQueue: number;
  maxTokens: number;
  cancelEvery: number;
  ctx: number;
  threads: number;
  type: string;
}

function parseOptions(argv: string[]): Options {
  const int = (flag: string, fallback: number): number => {
    const i = argv.indexOf(flag);
    const n = i >= 0 ? Number(argv[i + 1]) : fallback;
    if (!Number.isInteger(n) || n <= 0) throw new Error(`${flag} must be a positive integer`);
    return n;
  };
  const i = argv.indexOf('--type');
  return {
    clients: int('--clients', 16),
    rounds: int('--rounds', 10),
    maxQueue: int('--max-queue', 12),
    maxTokens: int('--max-tokens', 24),
    cancelEvery: int('--cancel-every', 5),
    ctx: int('--ctx', 1024),
    threads: int('--threads', 2),
    type: i >= 0 ? argv[i + 1] : 'F32',
  };
}

type Outcome = 'answered' | 'refused' | 'cancelled' | 'failed';

interface ServerStats {
  stats: { running: number; admitted: number; schedulerBusy: boolean; schedulerWaiting: number; slots: unknown[]; kvUsedTokens: number; kvCapacity: number };
  rssBytes: number;
}

class ServerChild {
  private waiting: Array<(m: ServerStats) => void> = [];
  private constructor(
    readonly proc: ChildProcess,
    readonly url: string,
  ) {
    proc.on('message', (m: { type: string } & ServerStats) => {
      if (m.type === 'stats') this.waiting.shift()?.(m);
    });
  }

  static start(script: string, args: string[]): Promise<ServerChild> {
    const proc = fork(script, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    return new Promise((resolve, reject) => {
      proc.once('message', (m: { type: string; url: string }) => resolve(new ServerChild(proc, m.url)));
      proc.once('exit', (code) => reject(new Error(`the server exited with code ${code} before it was ready`)));
    });
  }

  stats(drop = false): Promise<ServerStats> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.proc.send({ type: 'stats', drop });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.proc.once('exit', () => resolve());
      this.proc.send({ type: 'close' });
    });
  }
}

/** One streaming client request; `cancel` disconnects after the first chunk. */
async function oneRequest(url: string, client: number, round: number, o: Options, cancel: boolean): Promise<{ outcome: Outcome; detail: string; ms: number }> {
  const started = performance.now();
  const chat = client % 2 === 0;
  const body = chat
    ? {
        messages: [{ role: 'user', content: `Client ${client}, round ${round}: list a few sorting algorithms.` }],
        max_tokens: o.maxTokens,
        stream: true,
        user: `client-${client}`,
      }
    : { prompt: `# client ${client}, round ${round}\ndef sort(items):\n`, max_tokens: o.maxTokens, stream: true, user: `client-${client}` };
  const controller = new AbortController();
  const done = (outcome: Outcome, detail: string) => ({ outcome, detail, ms: performance.now() - started });
  try {
    const res = await fetch(`${url}/v1/${chat ? 'chat/completions' : 'completions'}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: controller.signal,
    });
    if (res.status === 429) {
      const retry = Number(res.headers.get('retry-after'));
      const err = (await res.json()) as { error?: { code?: string } };
      return Number.isInteger(retry) && retry >= 1 && err.error?.code === 'queue_full'
        ? done('refused', `retry-after ${retry}`)
        : done('failed', `bad 429: ${JSON.stringify(err)}`);
    }
    if (res.status !== 200) return done('failed', `status ${res.status}: ${await res.text()}`);
    let events = 0;
    let finished = false;
    for await (const data of readSseData(res.body as unknown as AsyncIterable<Uint8Array>)) {
      if (data === '[DONE]') {
        finished = true;
        continue;
      }
      const event = JSON.parse(data) as { error?: unknown };
      if (event.error) return done('failed', `error event: ${data}`);
      events++;
      if (cancel) {
        controller.abort();
        return done('cancelled', `after ${events} events`);
      }
    }
    return finished && events > 0 ? done('answered', `${events} events`) : done('failed', `stream ended without [DONE] after ${events} events`);
  } catch (e) {
    if (cancel && controller.signal.aborted) return done('cancelled', 'disconnected');
    return done('failed', e instanceof Error ? `${e.message} ${String((e as { cause?: unknown }).cause ?? '')}` : String(e));
  }
}

async function runRound(url: string, round: number, o: Options, counter: { n: number }): Promise<Array<{ outcome: Outcome; detail: string; ms: number }>> {
  return Promise.all(
    Array.from({ length: o.clients }, (_, client) => {
      const cancel = ++counter.n % o.cancelEvery === 0;
      return oneRequest(url, client, round, o, cancel);
    }),
  );
}

async function settle(server: ServerChild): Promise<ServerStats> {
  const until = Date.now() + 30000;
  for (;;) {
    const s = await server.stats();
    const st = s.stats;
    if (st.running === 0 && st.admitted === 0 && !st.schedulerBusy && st.schedulerWaiting === 0) return s;
    if (Date.now() > until) throw new Error(`the server did not settle: ${JSON.stringify(st)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function thp(): string {
  try {
    return fs.readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

const mib = (b: number): string => (b / 2 ** 20).toFixed(1);

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  const root = repoRoot();
  const modelPath = await getTestModel('tiny', o.type);
  const loadBefore = os.loadavg();
  const server = await ServerChild.start(path.join(__dirname, 'lib', 'http-load-server.js'), [modelPath, String(o.ctx), String(o.threads), String(o.maxQueue)]);
  const counter = { n: 0 };
  const tally: Record<Outcome, number> = { answered: 0, refused: 0, cancelled: 0, failed: 0 };
  const failures: string[] = [];
  const latencies: number[] = [];
  let baseline: ServerStats;
  let end: ServerStats;
  let peakKv = 0;
  const started = performance.now();
  try {
    // Warm-up round (not counted): allocator pools, slots and JIT settle before the baseline.
    await runRound(server.url, -1, o, counter);
    await settle(server);
    baseline = await server.stats(true);
    for (let round = 0; round < o.rounds; round++) {
      const results = await runRound(server.url, round, o, counter);
      for (const r of results) {
        tally[r.outcome]++;
        if (r.outcome === 'failed') failures.push(r.detail);
        if (r.outcome === 'answered') latencies.push(r.ms);
      }
      peakKv = Math.max(peakKv, (await server.stats()).stats.kvUsedTokens);
      process.stderr.write(`round ${round + 1}/${o.rounds}: ${JSON.stringify(tally)}\n`);
    }
    await settle(server);
    end = await server.stats(true);
  } finally {
    await server.close();
  }
  const seconds = (performance.now() - started) / 1000;
  const loadAfter = os.loadavg();
  latencies.sort((a, b) => a - b);
  const q = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
  const total = o.clients * o.rounds;
  const ok = tally.failed === 0 && end.stats.kvUsedTokens === 0 && end.stats.slots.length === 0;
  const command = `node out/bench/http-load.js ${process.argv.slice(2).join(' ')}`.trim();
  const cpu = `${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} logical cores`;
  const md = [
    '# HTTP server load run (loopback)',
    '',
    `Command: \`${command}\` (${new Date().toISOString()}). Tiny synthetic model (${path.basename(modelPath)}, random weights, Qwen2.5 tokenizer), ` +
      `context ${o.ctx}, ${o.threads} threads; server: \`startHttpServer\` (what \`serve --http\` runs) in its own process, --max-queue ${o.maxQueue}.`,
    `${o.rounds} rounds of ${o.clients} concurrent streaming clients (even: chat, odd: completion; max_tokens ${o.maxTokens}; each its own \`user\`), ` +
      `every ${o.cancelEvery}th request disconnects after its first chunk. One warm-up round before the baseline is not counted.`,
    '',
    '| requests | answered ([DONE]) | refused (429 + Retry-After) | cancelled by the client | failed | answered p50 ms | p95 ms | time s |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|',
    `| ${total} | ${tally.answered} | ${tally.refused} | ${tally.cancelled} | **${tally.failed}** | ${q(0.5).toFixed(0)} | ${q(0.95).toFixed(0)} | ${seconds.toFixed(1)} |`,
    '',
    `KV cells held by idle slots between rounds: at most ${peakKv} of ${end.stats.kvCapacity}; after the run, idle caches dropped: **${end.stats.kvUsedTokens}** (baseline ${baseline!.stats.kvUsedTokens}), ` +
      `slots left ${end.stats.slots.length}, running ${end.stats.running}, admitted ${end.stats.admitted}.`,
    `Server RSS: ${mib(baseline!.rssBytes)} MiB after warm-up, ${mib(end.rssBytes)} MiB after the run (${end.rssBytes >= baseline!.rssBytes ? '+' : ''}${mib(end.rssBytes - baseline!.rssBytes)} MiB).`,
    '',
    `Machine: ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Linux ${os.release()}, Node ${process.version}; ` +
      `transparent huge pages: \`${thp()}\`; load average ${loadBefore.map((v) => v.toFixed(2)).join(', ')} before, ${loadAfter.map((v) => v.toFixed(2)).join(', ')} after ` +
      '(the machine is shared: latencies are not a speed figure).',
    '',
    ok ? 'Result: every request answered, refused or cancelled cleanly; KV back to 0.' : `Result: **FAILED** (${failures.slice(0, 5).join('; ')})`,
  ].join('\n');
  console.log(md);
  const outDir = path.join(root, 'bench', 'results');
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, 'http-load.md'), md + '\n');
  const json = {
    date: new Date().toISOString(),
    command,
    options: o,
    model: path.basename(modelPath),
    machine: { cpu, totalMemBytes: os.totalmem(), kernel: os.release(), node: process.version, thp: thp(), loadBefore, loadAfter },
    requests: total,
    outcomes: tally,
    failures,
    latencyMs: { p50: q(0.5), p95: q(0.95) },
    kv: {
      peakUsed: peakKv,
      capacity: end.stats.kvCapacity,
      baselineUsed: baseline!.stats.kvUsedTokens,
      endUsed: end.stats.kvUsedTokens,
      slotsLeft: end.stats.slots.length,
    },
    rssBytes: { baseline: baseline!.rssBytes, end: end.rssBytes },
    seconds,
    ok,
  };
  fs.writeFileSync(path.join(outDir, 'http-load.json'), JSON.stringify(json, null, 2) + '\n');
  if (!ok) process.exitCode = 1;
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
  process.exit(1);
});
