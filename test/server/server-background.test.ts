// Warm-up, short-window answers and prefetch through the real server code over stdio, with the
// fake engine (test/server/fake-engine.ts: one token per character, 1 ms per prefilled token, so
// a ~1,500-token prompt takes 1.5 s to prefill). Assertions are on what the server reports
// (evaluated and cached tokens, which window answered, background counters), never on time.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { CompletionStats } from '../../src/protocol';
import { repoRoot } from '../helpers/models';
import { InlineItem, items, LspTestClient } from './lsp-client';

const root = repoRoot();
const fakeModel = path.join(os.tmpdir(), `qwen-fake-model-bg-${process.pid}.gguf`);

/** A file of ~4,500 characters; the cursor sits on the empty body line of `add`, ~70% in. */
function longFile(): { text: string; cursor: number } {
  const fn = (i: number) => `export function helper${i}(x: number): number {\n  const y = x * ${i} + ${i % 7};\n  return y - ${i};\n}\n\n`;
  const before = Array.from({ length: 36 }, (_, i) => fn(i)).join('') + 'export function add(a: number, b: number): number {\n  ';
  const after = '\n}\n\n' + Array.from({ length: 14 }, (_, i) => fn(100 + i)).join('');
  return { text: before + after, cursor: before.length };
}

describe('language server background work (fake engine)', function () {
  this.timeout(120000);
  let client: LspTestClient;
  const { text, cursor } = longFile();

  const statsOf = async (result: InlineItem[]): Promise<CompletionStats> => result[0]?.qwenStats ?? (await client.lastStats())!;

  before(async () => {
    fs.writeFileSync(fakeModel, 'GGUF fake model for the background tests');
    client = new LspTestClient(
      {
        command: process.execPath,
        args: [path.join(root, 'out', 'test', 'server', 'fake-engine-server.js')],
        env: { FAKE_PREFILL_MS: '1', FAKE_DECODE_MS: '3' },
      },
      root,
    );
    await client.initialize({ modelPath: fakeModel, contextSize: 8192, completion: { maxTokens: 24, timeBudgetMs: 60000 } });
    assert.strictEqual((await client.waitForState()).state, 'ready');
  });

  after(async () => {
    await client?.close();
    fs.rmSync(fakeModel, { force: true });
  });

  it('warms an opened file so its first request evaluates only the last prompt token', async () => {
    const warmed = 'file:///work/demo/src/warmed.ts';
    const cold = 'file:///work/demo/src/cold.ts';
    client.open(warmed, text);
    client.open(cold, text);
    await client.warm(warmed, cursor);
    const after = await client.waitForDebug((s) => (s.background?.completed ?? 0) >= 1, 'the warm-up to finish');
    assert.strictEqual(after.background!.warmups, 1);
    assert.ok(after.background!.warmupTokens >= 1000, `the warm-up prefilled ${after.background!.warmupTokens} tokens`);
    assert.ok(after.scheduler.backgroundGrants! >= after.background!.warmupTokens / 32, 'in micro-batches of at most 32 tokens');

    const first = await statsOf(items(await client.complete(warmed, cursor)));
    assert.strictEqual(first.window, 'full');
    assert.strictEqual(first.evaluatedTokens, 1, `evaluated ${first.evaluatedTokens} of ${first.promptTokens} after the warm-up`);
    assert.strictEqual(first.cachedTokens, first.promptTokens - 1);
    // The same request on a file nobody warmed evaluates its whole prompt: the check above can fail.
    const unwarmed = await statsOf(items(await client.complete(cold, cursor)));
    assert.ok(unwarmed.evaluatedTokens >= 1000, `the cold file evaluated ${unwarmed.evaluatedTokens}`);

    // The next keystroke re-evaluates only what changed from the cursor on.
    client.insert(warmed, cursor, 'r');
    const typed = await statsOf(items(await client.complete(warmed, cursor + 1)));
    const layout = (await client.debugStats()).lastPrompt!;
    assert.ok(typed.evaluatedTokens <= layout.suffixTokens + 4, `evaluated ${typed.evaluatedTokens} (suffix ${layout.suffixTokens} tokens)`);
  });

  it('ignores warm-ups for an outdated version, and all of them when the setting is off', async () => {
    const uri = 'file:///work/demo/src/stale.ts';
    client.open(uri, text);
    const before = (await client.debugStats()).background!;
    // The client's idea of the version is behind the server's: the text moved on.
    await client.conn.sendNotification('qwen/warmCompletion', { textDocument: { uri, version: 0 }, position: { line: 3, character: 0 } });
    await client.configure({ completion: { warmup: false } });
    await client.warm(uri, cursor);
    await client.configure({ completion: { warmup: true } });
    const after = (await client.debugStats()).background!;
    assert.strictEqual(after.warmups, before.warmups, 'neither started a warm-up');
  });

  it('answers from a short window when the full prompt cannot be prefilled in time, then uses the full one once filled', async () => {
    const uri = 'file:///work/demo/src/short.ts';
    client.open(uri, text);
    // The prefill rate is known by now (~1,000 tokens/s): ~1,500 tokens cannot fit 300 ms.
    await client.configure({ completion: { timeBudgetMs: 300 } });
    try {
      const before = (await client.debugStats()).background!;
      assert.ok(before.prefillTokensPerSecond !== null && before.prefillTokensPerSecond > 0, 'the prefill rate was measured');
      const result = items(await client.complete(uri, cursor));
      const stats = await statsOf(result);
      assert.strictEqual(result.length, 1, `a suggestion was shown (stop reason ${stats.stopReason})`);
      assert.ok(result[0].insertText.trim().length > 0, 'and it is not empty');
      assert.strictEqual(stats.window, 'short');
      assert.ok(stats.promptTokens <= 384, `the short window has ${stats.promptTokens} tokens`);
      const filled = await client.waitForDebug((s) => s.background!.completed > before.completed, 'the full prompt to fill in the background');
      assert.strictEqual(filled.background!.longFills, before.longFills + 1);
      assert.strictEqual(filled.background!.shortWindowAnswers, before.shortWindowAnswers + 1);
      assert.ok(filled.background!.longFillTokens - before.longFillTokens > 500, 'the full prompt kept filling after the answer');

      const next = await statsOf(items(await client.complete(uri, cursor)));
      assert.strictEqual(next.window, 'full', 'the next request uses the full context');
      assert.ok(next.promptTokens > 1000);
      assert.strictEqual(next.evaluatedTokens, 1);
    } finally {
      await client.configure({ completion: { timeBudgetMs: 60000 } });
    }
  });

  it('stops at the budget only once the reply has something to show', async () => {
    const uri = 'file:///work/demo/src/warmed.ts';
    // Far less than the prefill and the first tokens take: the reply still shows its first text.
    await client.configure({ completion: { timeBudgetMs: 10 } });
    try {
      const result = items(await client.complete(uri, cursor));
      const stats = await statsOf(result);
      assert.strictEqual(result.length, 1, `a suggestion was shown (stop reason ${stats.stopReason})`);
      assert.strictEqual(stats.stopReason, 'aborted (time budget)');
      assert.ok(stats.generatedTokens < 24, `stopped early: ${stats.generatedTokens} tokens`);
    } finally {
      await client.configure({ completion: { timeBudgetMs: 60000 } });
    }
  });

  it('prefetches a completion at background priority; a real request for the document takes over', async () => {
    const uri = 'file:///work/demo/src/prefetch.ts';
    client.open(uri, text);
    const prefetched = await client.prefetch(uri, cursor);
    assert.strictEqual(prefetched.length, 1);
    assert.ok(prefetched[0].insertText.trim().length > 0);
    assert.strictEqual(prefetched[0].qwenStats?.prefetch, true);

    // A fresh document: the prefetch is still prefilling when the real request comes.
    const fresh = 'file:///work/demo/src/prefetch-fresh.ts';
    client.open(fresh, text);
    const pending = client.prefetch(fresh, cursor);
    const during = await client.waitForDebug((s) => s.slots.some((slot) => slot.key === fresh && slot.tokens >= 64), 'the prefetch to prefill');
    const filledBefore = during.slots.find((slot) => slot.key === fresh)!.tokens;
    const real = items(await client.complete(fresh, cursor));
    assert.deepStrictEqual(await pending, [], 'the superseded prefetch shows nothing');
    const stats = await statsOf(real);
    assert.ok(real.length === 1 && stats.prefetch === undefined, 'the real request answered');
    assert.ok(stats.cachedTokens >= filledBefore, `the request reused what the prefetch filled (${stats.cachedTokens} cached, ${filledBefore} filled)`);
    assert.ok(stats.cachedTokens < stats.promptTokens - 1, 'the prefetch had not finished its prefill');
    const bg = (await client.debugStats()).background!;
    assert.strictEqual(bg.prefetches, 2);
    assert.strictEqual(bg.prefetchAnswers, 1);
  });
});
