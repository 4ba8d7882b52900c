// Soak test of the real language server: N mixed requests — inline completions after random
// edits, chat turns on a handful of sessions, and either kind cancelled after a random delay —
// launched at random (seeded) times with several in flight at once. It checks that every request
// was answered or cancelled (none failed, none left hanging), that the whole run ends before an
// overall deadline (no deadlock), and that the server's KV cells and RSS come back to their
// baseline once the idle caches are dropped.
//   node out/test/soak/server-soak.js [--requests 10000] [--seed 1] [--concurrency 6] [--warmup 200]
// (scripts/soak-server.sh runs it with 10,000 requests and prints the figures.)
import { CancellationTokenSource } from 'vscode-jsonrpc/node';
import type { ChatMessage, DebugStats, RequestCounters } from '../../src/protocol';
import { getTestModel } from '../helpers/models';
import { items, LspTestClient } from '../server/lsp-client';
import { startRealServer } from '../server/real-server';

export interface SoakOptions {
  requests: number;
  seed: number;
  /** Most requests in flight at once. */
  concurrency: number;
  /** Requests of the same mix run before the baseline is taken. */
  warmupRequests: number;
  /** The whole run must end within this (deadlock guard). */
  deadlineMs: number;
  /** Called every `every` finished requests with the running figures. */
  onProgress?: (done: number, figures: SoakFigures) => void;
}

export interface SoakFigures {
  requests: number;
  completions: number;
  chats: number;
  /** Requests the client cancelled with $/cancelRequest. */
  cancelRequests: number;
  answered: number;
  /** Answered after the client cancelled (stopped early: empty completion or aborted chat). */
  cancelled: number;
  /** Completions answered with no items (superseded by a newer one, or nothing to show). */
  empty: number;
  errors: string[];
  elapsedMs: number;
  baseline: { rssBytes: number; kvUsedTokens: number };
  end: { rssBytes: number; kvUsedTokens: number; slots: number; inFlight: number };
  peakKvUsedTokens: number;
  /** Server RSS every 500 launched requests, to tell a plateau from a leak. */
  rssSamplesBytes: number[];
  server: Pick<DebugStats, 'completions' | 'chats' | 'evictions' | 'scheduler'>;
}

/** mulberry32: a small seeded PRNG, so a failing run can be replayed with its seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const DOCS = ['a', 'b', 'c', 'd'].map((n) => ({
  uri: `file:///work/demo/src/soak-${n}.ts`,
  text: [`// Soak document ${n}.`, `export function ${n}Value(x: number): number {`, '  const y = x * 2;', '  return y + 1;', '}', '', ''].join('\n'),
}));
const CHAT_SESSIONS = 12;
/** Documents stop growing here, so prompts stay well inside the 256-token FIM budget's reach. */
const MAX_DOC_CHARS = 1500;
const WORDS = ['refactor', 'this', 'function', 'please', 'explain', 'why', 'the', 'loop', 'ends', 'early', 'and', 'tests'];

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function settledStats(client: LspTestClient, dropIdleCaches: boolean): Promise<DebugStats> {
  // Requests answer before their slot is released on the server's next tick; wait for quiet.
  const quiet = await client.waitForDebug((s) => s.inFlight === 0 && !s.scheduler.busy && s.scheduler.waiting === 0, 'the server to go idle');
  return dropIdleCaches ? client.debugStats({ dropIdleCaches: true }) : quiet;
}

export async function runSoak(opts: SoakOptions): Promise<SoakFigures> {
  const random = seededRandom(opts.seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];
  const client = await startRealServer({
    modelPath: await getTestModel('tiny', 'Q8_0'),
    contextSize: 1024,
    completion: { maxTokens: 3, contextTokens: 256, timeBudgetMs: 600000, maxLines: 1000 },
    chat: { maxTokens: 3 },
    tuning: { completionSlots: 3, chatTurnAfterCompletions: 2 },
  });
  const emptyFigures = (): SoakFigures => ({
    requests: 0,
    completions: 0,
    chats: 0,
    cancelRequests: 0,
    answered: 0,
    cancelled: 0,
    empty: 0,
    errors: [],
    elapsedMs: 0,
    baseline: { rssBytes: 0, kvUsedTokens: 0 },
    end: { rssBytes: 0, kvUsedTokens: 0, slots: 0, inFlight: 0 },
    peakKvUsedTokens: 0,
    rssSamplesBytes: [],
    server: {
      completions: { started: 0, answered: 0, cancelled: 0, superseded: 0, failed: 0 },
      chats: { started: 0, answered: 0, cancelled: 0, superseded: 0, failed: 0 },
      evictions: 0,
      scheduler: { completionGrants: 0, chatGrants: 0, chatYields: 0, waiting: 0, busy: false },
    },
  });
  const figures = emptyFigures();
  try {
    for (const d of DOCS) client.open(d.uri, d.text);
    const histories = new Map<string, ChatMessage[]>();
    const busySessions = new Set<string>();
    let done = 0;

    const oneRequest = async (figures: SoakFigures): Promise<void> => {
      const cancel = random() < 0.25;
      const source = cancel ? new CancellationTokenSource() : undefined;
      if (source) {
        figures.cancelRequests++;
        setTimeout(() => source.cancel(), Math.floor(random() * 60));
      }
      const freeSessions = Array.from({ length: CHAT_SESSIONS }, (_, i) => `soak-${i}`).filter((s) => !busySessions.has(s));
      const chat = random() < 0.3 && freeSessions.length > 0;
      try {
        if (chat) {
          figures.chats++;
          const sessionId = pick(freeSessions);
          busySessions.add(sessionId);
          try {
            // Conversations grow turn by turn (KV kept across turns) and start over now and then.
            let history = histories.get(sessionId) ?? [];
            if (history.length > 8 || random() < 0.1) history = [];
            const question: ChatMessage = { role: 'user', content: Array.from({ length: 3 + Math.floor(random() * 8) }, () => pick(WORDS)).join(' ') };
            const messages = [...history, question];
            const result = await client.chat({ sessionId, messages, temperature: 0 }, source);
            histories.set(sessionId, [...messages, { role: 'assistant', content: result.text }]);
            if (result.stopReason === 'aborted') figures.cancelled++;
            else figures.answered++;
          } finally {
            busySessions.delete(sessionId);
          }
        } else {
          figures.completions++;
          const doc = pick(DOCS);
          const text = client.text(doc.uri);
          // Type a character at the end or at a random line end (documents stop growing at MAX_DOC_CHARS).
          const at = random() < 0.5 ? text.length : text.indexOf('\n', Math.floor(random() * text.length));
          const offset = at < 0 ? text.length : at;
          if (text.length < MAX_DOC_CHARS) client.insert(doc.uri, offset, pick(['x', ' ', ';', '(', ')', '\n', 'a', '1']));
          const result = items(await client.complete(doc.uri, offset + (text.length < MAX_DOC_CHARS ? 1 : 0), source));
          if (source?.token.isCancellationRequested) figures.cancelled++;
          else if (result.length === 0) figures.empty++;
          else figures.answered++;
        }
      } catch (e) {
        figures.errors.push(e instanceof Error ? e.message : String(e));
      }
    };

    const deadline = new Promise<never>((_, reject) =>
      setTimeout(
        () => reject(new Error(`deadlock guard: the soak did not finish within ${opts.deadlineMs} ms (${done} of ${opts.requests} done)`)),
        opts.deadlineMs,
      ).unref(),
    );
    const launch = async (count: number, figures: SoakFigures): Promise<void> => {
      let inFlight = 0;
      const running = new Set<Promise<void>>();
      for (let i = 0; i < count; i++) {
        while (inFlight >= opts.concurrency) await Promise.race(running);
        await sleep(Math.floor(random() * 15));
        figures.requests++;
        inFlight++;
        const p: Promise<void> = oneRequest(figures).finally(() => {
          inFlight--;
          done++;
          running.delete(p);
          if (opts.onProgress && done % 500 === 0) opts.onProgress(done, figures);
        });
        running.add(p);
        if (i % 50 === 0) {
          const s = await client.debugStats();
          figures.peakKvUsedTokens = Math.max(figures.peakKvUsedTokens, s.kv?.usedTokens ?? 0);
          if (i % 500 === 0) figures.rssSamplesBytes.push(s.rssBytes);
        }
      }
      await Promise.all(running);
    };
    // Warm up with a short run of the same mix (allocator pools, JIT and caches reach their working
    // size; that is not a leak), then take the baseline with the idle caches dropped.
    const warm = emptyFigures();
    await Promise.race([launch(opts.warmupRequests, warm), deadline]);
    figures.errors.push(...warm.errors.map((e) => `warm-up: ${e}`));
    const base = await settledStats(client, true);
    figures.baseline = { rssBytes: base.rssBytes, kvUsedTokens: base.kv?.usedTokens ?? -1 };
    done = 0;

    const started = Date.now();
    await Promise.race([launch(opts.requests, figures), deadline]);
    figures.elapsedMs = Date.now() - started;

    const end = await settledStats(client, true);
    figures.end = { rssBytes: end.rssBytes, kvUsedTokens: end.kv?.usedTokens ?? -1, slots: end.slots.length, inFlight: end.inFlight };
    // The server's counters for the measured run only (the warm-up's subtracted).
    const minus = (a: RequestCounters, b: RequestCounters): RequestCounters => ({
      started: a.started - b.started,
      answered: a.answered - b.answered,
      cancelled: a.cancelled - b.cancelled,
      superseded: a.superseded - b.superseded,
      failed: a.failed - b.failed,
    });
    figures.server = {
      completions: minus(end.completions, base.completions),
      chats: minus(end.chats, base.chats),
      evictions: end.evictions - base.evictions,
      scheduler: {
        ...end.scheduler,
        completionGrants: end.scheduler.completionGrants - base.scheduler.completionGrants,
        chatGrants: end.scheduler.chatGrants - base.scheduler.chatGrants,
        chatYields: end.scheduler.chatYields - base.scheduler.chatYields,
      },
    };
    return figures;
  } finally {
    await client.close();
  }
}

/** Human-readable figures for the console and the README. */
export function describeFigures(f: SoakFigures): string {
  const mib = (b: number) => (b / 1048576).toFixed(1);
  return [
    `requests: ${f.requests} (${f.completions} completions, ${f.chats} chats; ${f.cancelRequests} cancelled by the client)`,
    `outcomes: ${f.answered} answered, ${f.cancelled} cancelled, ${f.empty} empty completions, ${f.errors.length} errors`,
    `server counters: completions ${JSON.stringify(f.server.completions)}, chats ${JSON.stringify(f.server.chats)}, evictions ${f.server.evictions}`,
    `scheduler: ${f.server.scheduler.completionGrants} completion grants, ${f.server.scheduler.chatGrants} chat grants, ${f.server.scheduler.chatYields} chat yields`,
    `time: ${(f.elapsedMs / 1000).toFixed(1)} s`,
    `KV used tokens: baseline ${f.baseline.kvUsedTokens}, peak ${f.peakKvUsedTokens}, end ${f.end.kvUsedTokens} (slots left ${f.end.slots}, in flight ${f.end.inFlight})`,
    `server RSS: baseline ${mib(f.baseline.rssBytes)} MiB, end ${mib(f.end.rssBytes)} MiB; every 500 requests: ${f.rssSamplesBytes.map(mib).join(', ')} MiB`,
  ].join('\n');
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  const value = (flag: string, fallback: number): number => {
    const i = argv.indexOf(flag);
    return i >= 0 ? Number(argv[i + 1]) : fallback;
  };
  const requests = value('--requests', 10000);
  runSoak({
    requests,
    seed: value('--seed', 1),
    concurrency: value('--concurrency', 6),
    warmupRequests: value('--warmup', 200),
    deadlineMs: value('--deadline-s', Math.max(600, requests * 2)) * 1000,
    onProgress: (done, f) => console.error(`  ${done} done: ${f.answered} answered, ${f.cancelled} cancelled, ${f.empty} empty, ${f.errors.length} errors`),
  })
    .then((f) => {
      console.log(describeFigures(f));
      if (f.errors.length > 0) console.log(`first errors:\n  ${f.errors.slice(0, 5).join('\n  ')}`);
      const ok = f.errors.length === 0 && f.end.kvUsedTokens === 0 && f.end.inFlight === 0;
      process.exit(ok ? 0 : 1);
    })
    .catch((e: unknown) => {
      console.error(e instanceof Error ? e.message : String(e));
      process.exit(2);
    });
}
