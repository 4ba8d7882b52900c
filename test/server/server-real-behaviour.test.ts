// The language server as users run it (`qwen-local serve --stdio`, real engine, tiny synthetic
// model) checked point by point against its issue: model reload with progress, the repo-level FIM
// prompt and its cache layout, LRU completion slots, the KV memory budget, superseding,
// cancellation, chat starvation, the time budget and clear errors. The tiny model's random weights
// write gibberish, so assertions are on what the server reports (token counts, stop reasons, slot
// ids, request counters, the decoded prompt), never on the generated text or on wall-clock time.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CancellationTokenSource } from 'vscode-jsonrpc/node';
import type { CompletionStats, DebugStats } from '../../src/protocol';
import { getTestModel } from '../helpers/models';
import { items, LspTestClient } from './lsp-client';
import { realServerUnavailable, startRealServer } from './real-server';

const MAIN = 'file:///work/demo/src/main.ts';
const DOC_A = 'file:///work/demo/src/a.ts';
const DOC_B = 'file:///work/demo/src/b.ts';
const DOC_C = 'file:///work/demo/src/c.ts';
const UTIL_TEXT = 'export function clamp(x: number, lo: number, hi: number): number {\n  return Math.min(hi, Math.max(lo, x));\n}';
const MAIN_TEXT = ['import { clamp } from "./util";', '', 'export function percent(x: number): number {', '  return clamp(x, 0, 100);', '}', '', ''].join('\n');
/** A document whose cursor (at the end) sits at column 0 of an empty line: nothing ends the block early. */
const docText = (name: string): string =>
  [
    `// Module ${name}: helpers for the ${name} feature.`,
    `export const ${name}Name = "${name}";`,
    `export function ${name}Size(n: number): number {`,
    '  return n * 2;',
    '}',
    '',
    '',
  ].join('\n');

function statsOf(result: Awaited<ReturnType<LspTestClient['complete']>>): CompletionStats | undefined {
  return items(result)[0]?.qwenStats;
}

const unavailable = realServerUnavailable();

describe('language server behaviour (real engine, tiny model)', function () {
  this.timeout(180000);
  let client: LspTestClient;
  let modelPath: string;

  before(async function () {
    if (unavailable) {
      console.log(`    skipped: ${unavailable}`);
      this.skip();
    }
    modelPath = await getTestModel('tiny', 'F32');
    client = await startRealServer({
      modelPath,
      contextSize: 2048,
      completion: { maxTokens: 6, timeBudgetMs: 60000, maxLines: 1000 },
      tuning: { completionSlots: 2, chatTurnAfterCompletions: 2 },
    });
    client.open(MAIN, MAIN_TEXT);
  });

  after(async () => {
    await client?.close();
  });

  it('reloads a different model on didChangeConfiguration, reporting progress, in the same process', async () => {
    const pid = client.proc.pid;
    const other = await getTestModel('tiny', 'F16');
    const before = client.statuses.length;
    await client.configure({ modelPath: other });
    const ready = await client.waitForState();
    assert.strictEqual(ready.state, 'ready', ready.message);
    assert.strictEqual(ready.model?.path, other, 'the status names the new model');
    const loading = client.statuses.slice(before).filter((s) => s.state === 'loading');
    assert.ok(loading.length >= 1, 'loading was reported');
    const fractions = loading.map((s) => s.progress ?? -1);
    assert.ok(
      fractions.every((f) => f >= 0 && f <= 1),
      `progress fractions in [0, 1]: ${fractions.join(', ')}`,
    );
    assert.ok(
      fractions.every((f, i) => i === 0 || f >= fractions[i - 1]),
      `progress never goes back: ${fractions.join(', ')}`,
    );
    // A completion on the new model works, then go back to the F32 model for the other tests.
    const stats = statsOf(await client.complete(MAIN, MAIN_TEXT.length)) ?? (await client.lastStats());
    assert.ok(stats && stats.generatedTokens > 0, 'the reloaded model generates');
    await client.configure({ modelPath });
    assert.strictEqual((await client.waitForState()).model?.path, modelPath);
    assert.strictEqual(client.proc.pid, pid);
    assert.strictEqual(client.proc.exitCode, null, 'the server process never restarted');
  });

  it('lays other-file context out first in the repo-level form and keeps it cached while typing', async () => {
    await client.sendContext({ uri: MAIN, snippets: [{ path: 'src/util.ts', text: UTIL_TEXT }] });
    await client.complete(MAIN, client.text(MAIN).length);
    const first = await client.debugStats({ includeLastPrompt: true });
    const prompt = first.lastPrompt!;
    const expectedHead = `<|repo_name|>demo\n<|file_sep|>src/util.ts\n${UTIL_TEXT}\n<|file_sep|>src/main.ts\n<|fim_prefix|>`;
    assert.ok(prompt.text!.startsWith(expectedHead), `prompt head:\n${prompt.text!.slice(0, 300)}`);
    assert.ok(prompt.text!.endsWith(`${MAIN_TEXT}<|fim_suffix|><|fim_middle|>`), `prompt tail:\n${prompt.text!.slice(-200)}`);
    assert.ok(prompt.contextTokens > 20, `context part has ${prompt.contextTokens} tokens`);

    client.insert(MAIN, client.text(MAIN).length, 'e');
    await client.complete(MAIN, client.text(MAIN).length);
    const typed = (await client.lastStats())!;
    const layout = (await client.debugStats()).lastPrompt!;
    assert.strictEqual(layout.contextTokens, prompt.contextTokens, 'the other-file part did not change');
    assert.ok(typed.cachedTokens >= layout.contextTokens + layout.prefixTokens - 3, `cached ${typed.cachedTokens} of ${typed.promptTokens}`);
    assert.ok(typed.evaluatedTokens <= 5, `evaluated ${typed.evaluatedTokens} tokens after typing one character`);
  });

  it('keeps one LRU slot per document: the least recently used one is overwritten', async () => {
    for (const [uri, name] of [
      [DOC_A, 'alpha'],
      [DOC_B, 'beta'],
      [DOC_C, 'gamma'],
    ] as const)
      client.open(uri, docText(name));
    const run = async (uri: string): Promise<CompletionStats> => {
      await client.complete(uri, client.text(uri).length);
      return (await client.lastStats())!;
    };
    const a1 = await run(DOC_A);
    const b1 = await run(DOC_B);
    assert.notStrictEqual(a1.slot, b1.slot);
    const a2 = await run(DOC_A);
    assert.strictEqual(a2.slot, a1.slot, 'A finds its own slot');
    assert.ok(a2.evaluatedTokens <= 3, `A re-evaluated ${a2.evaluatedTokens}`);
    // Two slots, three documents: C takes B's slot (least recently used), A keeps its cache.
    const c1 = await run(DOC_C);
    assert.strictEqual(c1.slot, b1.slot, 'C overwrote the least recently used slot');
    const a3 = await run(DOC_A);
    assert.strictEqual(a3.slot, a1.slot);
    assert.ok(a3.evaluatedTokens <= 3, `A still cached: evaluated ${a3.evaluatedTokens}`);
    // B comes back to the least recent slot (C's): only the repo header they share is reused.
    const b2 = await run(DOC_B);
    assert.strictEqual(b2.slot, c1.slot);
    assert.ok(b2.evaluatedTokens > 20, `B's own text was evaluated again (${b2.evaluatedTokens} of ${b2.promptTokens})`);
    const slots = (await client.debugStats()).slots.filter((s) => s.kind === 'completion');
    assert.strictEqual(slots.length, 2, 'never more completion slots than the limit');
  });

  it('supersedes an older completion for the same document with a newer one', async () => {
    await client.configure({ completion: { maxTokens: 400 } });
    const before = (await client.debugStats()).completions;
    const older = client.complete(DOC_A, client.text(DOC_A).length);
    await client.waitForDebug((s) => (s.liveCompletions[DOC_A] ?? 0) >= 2, 'the older completion to generate');
    client.insert(DOC_A, client.text(DOC_A).length, 'x');
    // Notifications and requests are handled in order: the newer request already sees maxTokens 6.
    await client.configure({ completion: { maxTokens: 6 } });
    const newer = client.complete(DOC_A, client.text(DOC_A).length);
    const olderItems = items(await older);
    await newer;
    const after = await client.debugStats();
    assert.deepStrictEqual(olderItems, [], 'a superseded completion shows nothing');
    assert.strictEqual(after.completions.superseded, before.superseded + 1);
    const abortedStats = after.recentCompletions.filter((s) => s.stopReason === 'aborted (superseded by a newer request)');
    assert.ok(abortedStats.length >= 1, 'the older generation stopped as superseded');
    assert.ok(abortedStats[abortedStats.length - 1].generatedTokens < 400);
  });

  it('stops a completion on $/cancelRequest within a token and frees its slot', async () => {
    await client.configure({ completion: { maxTokens: 400 } });
    const source = new CancellationTokenSource();
    const pending = client.complete(DOC_B, client.text(DOC_B).length, source);
    const live = await client.waitForDebug((s) => (s.liveCompletions[DOC_B] ?? 0) >= 3, 'the completion to generate');
    const seen = live.liveCompletions[DOC_B];
    source.cancel();
    const result = items(await pending);
    await client.configure({ completion: { maxTokens: 6 } });
    const after = await client.debugStats();
    const stats = after.recentCompletions[after.recentCompletions.length - 1];
    assert.deepStrictEqual(result, [], 'a cancelled completion shows nothing');
    assert.strictEqual(stats.stopReason, 'aborted (cancelled by the client)');
    // The cancel travels behind the debugStats answer, so a few more tokens may be generated.
    assert.ok(stats.generatedTokens <= seen + 4, `generated ${stats.generatedTokens} tokens; ${seen} had streamed when cancelled`);
    assert.ok(
      after.slots.every((s) => !s.busy),
      'no slot is left busy',
    );
    assert.strictEqual(after.scheduler.busy, false, 'the engine is free');
    assert.ok(after.completions.cancelled >= 1);
    // The slot kept what was evaluated: the same request again reuses the prompt.
    await client.complete(DOC_B, client.text(DOC_B).length);
    const again = (await client.lastStats())!;
    assert.strictEqual(again.slot, stats.slot);
    assert.ok(again.evaluatedTokens <= 3, `evaluated ${again.evaluatedTokens} after the cancelled run`);
  });

  it('returns partial text when the time budget runs out', async () => {
    await client.configure({ completion: { maxTokens: 400, timeBudgetMs: 400 } });
    try {
      const result = items(await client.complete(DOC_C, client.text(DOC_C).length));
      const stats = (await client.lastStats())!;
      assert.strictEqual(stats.stopReason, 'aborted (time budget)');
      assert.ok(stats.generatedTokens > 0 && stats.generatedTokens < 400, `generated ${stats.generatedTokens}`);
      assert.strictEqual(result.length, 1, 'the partial completion is returned');
      assert.ok(result[0].insertText.length > 0);
    } finally {
      await client.configure({ completion: { maxTokens: 6, timeBudgetMs: 60000 } });
    }
  });

  it('does not starve a chat under a stream of completions', async () => {
    const before = (await client.debugStats()).scheduler;
    let chatDone = false;
    const chat = client
      .chat({ sessionId: 'starve', messages: [{ role: 'user', content: 'Hello there.' }], maxTokens: 5, temperature: 0 })
      .finally(() => (chatDone = true));
    // Two documents, two requests always outstanding: a completion is always waiting for the engine.
    let sent = 0;
    const lanes = [DOC_A, DOC_C].map(async (uri) => {
      while (!chatDone && sent < 400) {
        sent++;
        await client.complete(uri, client.text(uri).length);
      }
    });
    const reply = await chat;
    await Promise.all(lanes);
    const after = (await client.debugStats()).scheduler;
    assert.strictEqual(reply.stats.generatedTokens, 5, 'the chat finished its reply');
    assert.ok(sent < 400, `the chat finished while completions kept coming (${sent} sent)`);
    assert.ok(after.chatYields > before.chatYields, 'the chat did wait behind completions');
    assert.ok(after.completionGrants - before.completionGrants >= 4, 'completions ran meanwhile');
  });

  it('answers bad input with clear LSP errors and keeps serving', async () => {
    const missing = path.join(os.tmpdir(), `qwen-missing-${process.pid}.gguf`);
    fs.rmSync(missing, { force: true });
    await client.configure({ modelPath: missing });
    const status = await client.waitForState();
    assert.strictEqual(status.state, 'error');
    await assert.rejects(client.complete(MAIN, 0), (e: Error & { code?: number }) => {
      assert.match(e.message, /could not be loaded/);
      assert.ok(e.message.includes(missing) && /no such file/.test(e.message), e.message);
      assert.strictEqual(e.code, -32002);
      return true;
    });
    await assert.rejects(client.chat({ sessionId: 'x', messages: [] }), /messages must be a non-empty array/);
    await client.configure({ modelPath });
    assert.strictEqual((await client.waitForState()).state, 'ready');
    await assert.rejects(client.complete('file:///work/demo/nope.ts', 0), (e: Error & { code?: number }) => e.code === -32004);
    const long = 'word '.repeat(2500);
    await assert.rejects(
      client.chat({ sessionId: 'long', messages: [{ role: 'user', content: long }] }),
      (e: Error & { code?: number }) => e.code === -32003 && /context holds only 2048 tokens/.test(e.message),
    );
    await client.complete(MAIN, client.text(MAIN).length);
    assert.ok((await client.lastStats())!.generatedTokens > 0, 'still serving after the errors');
  });
});

describe('language server KV memory budget (real engine, tiny model)', function () {
  this.timeout(180000);
  let client: LspTestClient;

  before(async function () {
    if (unavailable) {
      console.log(`    skipped: ${unavailable}`);
      this.skip();
    }
    // 256 tokens of KV for everything: three documents' prompts cannot all stay cached.
    client = await startRealServer({
      modelPath: await getTestModel('tiny', 'F32'),
      contextSize: 256,
      completion: { maxTokens: 4, contextTokens: 96, timeBudgetMs: 60000 },
      tuning: { completionSlots: 4 },
    });
  });

  after(async () => {
    await client?.close();
  });

  it('evicts least recently used slots to stay within the context, and frees everything on request', async () => {
    const docs = [DOC_A, DOC_B, DOC_C];
    docs.forEach((uri, i) => client.open(uri, docText(['alpha', 'beta', 'gamma'][i]).repeat(3)));
    let peak: DebugStats | undefined;
    for (const uri of [...docs, ...docs]) {
      await client.complete(uri, client.text(uri).length);
      const s = await client.debugStats();
      assert.ok(s.kv!.usedTokens <= s.kv!.capacityTokens, `KV used ${s.kv!.usedTokens} > capacity ${s.kv!.capacityTokens}`);
      const slotTokens = s.slots.reduce((n, slot) => n + slot.tokens, 0);
      assert.strictEqual(slotTokens, s.kv!.usedTokens, 'the engine holds exactly what the slots hold');
      if (!peak || s.kv!.usedTokens > peak.kv!.usedTokens) peak = s;
    }
    const s = await client.debugStats();
    assert.ok(s.evictions >= 1, `slots were evicted (${s.evictions})`);
    assert.ok(peak!.kv!.usedTokens > 128, `the cache was used (${peak!.kv!.usedTokens} tokens at most)`);
    const dropped = await client.debugStats({ dropIdleCaches: true });
    assert.strictEqual(dropped.kv!.usedTokens, 0, 'no KV is held once idle slots are dropped');
    assert.strictEqual(dropped.slots.length, 0);
  });
});
