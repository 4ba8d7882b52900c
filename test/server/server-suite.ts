// The server's behaviour over a real stdio JSON-RPC connection, written once and run against
// each engine the tests have: the fake engine (deterministic speeds) and the real engine with a
// synthetic model when the native addon is built. Assertions are on what the protocol reports
// (texts, token counts, stop reasons, error messages), never on wall-clock time.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CancellationTokenSource } from 'vscode-jsonrpc/node';
import { items, LspTestClient, ServerProcessSpec } from './lsp-client';

export interface SuiteTarget {
  name: string;
  spec: ServerProcessSpec;
  /** Path of a model file the engine loads; resolved when the suite starts. */
  modelPath: () => Promise<string>;
  /** True when the engine's answer is known text (the fake model). */
  knownAnswers: boolean;
  /** Length of the chat reply a completion must overtake (shorter for slow engines). */
  overtakeChatTokens: number;
  /** completion.maxTokens for the session. */
  completionTokens: number;
}

const DOC_A = 'file:///work/demo/src/math.ts';
const DOC_B = 'file:///work/demo/src/strings.ts';
const TEXT_A = [
  '// Small arithmetic helpers used by the demo.',
  'export function mul(a: number, b: number): number {',
  '  return a * b;',
  '}',
  '',
  'export function add(a: number, b: number): number {',
  '  ',
].join('\n');
const TEXT_B = [
  'export function shout(s: string): string {',
  '  return s.toUpperCase() + "!";',
  '}',
  '',
  'export function whisper(s: string): string {',
  '  ',
].join('\n');

export function serverSuite(target: SuiteTarget, repoRoot: string): void {
  describe(`language server over stdio (${target.name})`, function () {
    this.timeout(120000);
    let client: LspTestClient;
    let modelPath: string;

    before(async () => {
      modelPath = await target.modelPath();
      client = new LspTestClient(target.spec, repoRoot);
      const init = (await client.initialize({ modelPath, contextSize: 2048, completion: { maxTokens: target.completionTokens, timeBudgetMs: 60000 } })) as {
        capabilities: { inlineCompletionProvider?: unknown };
      };
      assert.ok(init.capabilities.inlineCompletionProvider, 'the server advertises inline completion');
      const status = await client.waitForState();
      assert.strictEqual(status.state, 'ready', `model should load: ${status.message ?? ''}\n${client.stderr}`);
      assert.ok(status.model && status.model.contextSize === 2048 && status.model.memoryBytes > 0, 'ready status describes the model');
      assert.ok(
        client.statuses.some((s) => s.state === 'loading'),
        'a loading status was sent before ready',
      );
      client.open(DOC_A, TEXT_A);
      client.open(DOC_B, TEXT_B);
    });

    after(async () => {
      await client?.close();
    });

    it('answers an inline completion with text and stats', async () => {
      const result = items(await client.complete(DOC_A, TEXT_A.length));
      const stats = await client.lastStats();
      assert.ok(stats, 'stats of the last completion are available');
      assert.ok(stats.generatedTokens > 0, 'tokens were generated');
      if (target.knownAnswers) {
        assert.strictEqual(result.length, 1);
        // The fake model writes "return a + b;\n}\n\nfunction next() {": the block ends at "}".
        assert.strictEqual(result[0].insertText, 'return a + b;');
        assert.strictEqual(result[0].qwenStats?.evaluatedTokens, stats.evaluatedTokens);
        // Greedy by default, so decoded speculatively: "return a * b" above drafts "turn a " (taken)
        // and "* b" (rejected), and the text is still the greedy one.
        assert.ok((stats.draftTokens ?? 0) > 0 && (stats.acceptedDraftTokens ?? 0) > 0, JSON.stringify(stats));
        assert.ok(stats.acceptedDraftTokens! < stats.draftTokens!, JSON.stringify(stats));
      }
      assert.ok(stats.promptTokens > 20 && stats.evaluatedTokens + stats.cachedTokens === stats.promptTokens);
    });

    if (target.knownAnswers) {
      it('shows only what follows the typed head, without the echoed suffix, and stops at the line end', async () => {
        // Cursor mid-line in "  ret|;": the typed "  ret" goes after <|fim_middle|>; the fake model
        // continues it with "urn a + b;" and a newline. The shown text must not repeat "  ret", the
        // ";" the document already has after the cursor is removed, and generation stops at the
        // newline that ends the single-line suggestion (nothing after it is generated).
        const uri = 'file:///work/demo/src/midline.ts';
        const lines = ['export function add(a: number, b: number): number {', '  ret;', '}', ''];
        client.open(uri, lines.join('\n'));
        const cursor = lines[0].length + 1 + '  ret'.length;
        const result = items(await client.complete(uri, cursor));
        const stats = (await client.lastStats())!;
        assert.strictEqual(result.length, 1);
        assert.strictEqual(result[0].insertText, 'urn a + b');
        assert.strictEqual(stats.generatedTokens, 'urn a + b;\n'.length, `generated ${stats.generatedTokens} tokens`);
        assert.strictEqual(stats.stopReason, 'callerStop');
        // A cursor at the start of an empty line has no head: the whole answer is shown.
        const blank = ['export function add(a: number, b: number): number {', '  ', '}', ''];
        client.open(`${uri}.blank.ts`, blank.join('\n'));
        const whole = items(await client.complete(`${uri}.blank.ts`, blank[0].length + 1 + 2));
        assert.strictEqual(whole[0]?.insertText, 'return a + b;');
      });

      it('gives the same completion sampled (no speculation) and greedy with speculation off', async () => {
        const cursor = TEXT_A.length;
        const greedy = items(await client.complete(DOC_A, cursor));
        for (const settings of [{ completion: { temperature: 0.7 } }, { completion: { temperature: 0 }, tuning: { speculativeDraft: 0 } }]) {
          await client.configure(settings);
          const other = items(await client.complete(DOC_A, cursor));
          const stats = (await client.lastStats())!;
          assert.strictEqual(other[0]?.insertText, greedy[0]?.insertText, JSON.stringify(settings));
          assert.strictEqual(stats.draftTokens, 0, `no drafts with ${JSON.stringify(settings)}`);
        }
        await client.configure({ completion: { temperature: 0 }, tuning: { speculativeDraft: 8 } });
        await client.complete(DOC_A, cursor);
        assert.ok(((await client.lastStats())!.draftTokens ?? 0) > 0, 'speculation is back on');
      });
    }

    it('evaluates only a handful of tokens after a one-character edit', async () => {
      await client.complete(DOC_A, client.text(DOC_A).length);
      client.insert(DOC_A, client.text(DOC_A).length, 'r');
      await client.complete(DOC_A, client.text(DOC_A).length);
      const stats = (await client.lastStats())!;
      assert.ok(stats.evaluatedTokens <= 8, `evaluated ${stats.evaluatedTokens} of ${stats.promptTokens} prompt tokens`);
      assert.ok(stats.cachedTokens >= stats.promptTokens - 8, `cached ${stats.cachedTokens}`);
    });

    it('keeps both caches when switching between two documents', async () => {
      await client.complete(DOC_B, client.text(DOC_B).length);
      const firstB = (await client.lastStats())!;
      await client.complete(DOC_A, client.text(DOC_A).length);
      const againA = (await client.lastStats())!;
      await client.complete(DOC_B, client.text(DOC_B).length);
      const againB = (await client.lastStats())!;
      assert.notStrictEqual(firstB.slot, againA.slot, 'each document has its own slot');
      assert.ok(againA.evaluatedTokens <= 4, `A re-evaluated ${againA.evaluatedTokens} tokens`);
      assert.ok(againB.evaluatedTokens <= 4, `B re-evaluated ${againB.evaluatedTokens} tokens`);
    });

    it('streams chat through $/progress and ends with the reply and its stats', async () => {
      const result = await client.chat({
        sessionId: 's1',
        messages: [{ role: 'user', content: 'Say something.' }],
        maxTokens: 12,
        temperature: 0,
        partialResultToken: 'p1',
      });
      const deltas = client.progress.get('p1') ?? [];
      assert.ok(deltas.length > 1, 'several partial results arrived');
      assert.strictEqual(deltas.join(''), result.text, 'the partial results add up to the reply');
      assert.ok(result.stats.generatedTokens > 0 && result.stats.generatedTokens <= 12);
      if (target.knownAnswers) assert.strictEqual(result.stopReason, 'maxTokens');
      // The next turn reuses the conversation's KV: only the new messages are evaluated.
      const second = await client.chat({
        sessionId: 's1',
        messages: [
          { role: 'user', content: 'Say something.' },
          { role: 'assistant', content: result.text },
          { role: 'user', content: 'More.' },
        ],
        maxTokens: 4,
        temperature: 0,
      });
      assert.ok(second.stats.cachedTokens >= result.stats.promptTokens, `second turn cached ${second.stats.cachedTokens}`);
    });

    it('stops a chat on $/cancelRequest: generated tokens stop growing', async () => {
      const source = new CancellationTokenSource();
      const reply = client.chat(
        { sessionId: 's2', messages: [{ role: 'user', content: 'Talk for a long time.' }], maxTokens: 100000, temperature: 0, partialResultToken: 'p2' },
        source,
      );
      while ((client.progress.get('p2') ?? []).length < 5) await new Promise((r) => setTimeout(r, 5));
      source.cancel();
      const result = await reply;
      assert.strictEqual(result.stopReason, 'aborted');
      const countAtEnd = (client.progress.get('p2') ?? []).length;
      await new Promise((r) => setTimeout(r, 300));
      assert.strictEqual((client.progress.get('p2') ?? []).length, countAtEnd, 'no text after the reply ended');
      assert.ok(result.stats.generatedTokens < 1000, `stopped after ${result.stats.generatedTokens} tokens`);
    });

    it('lets a completion overtake a running chat, which then resumes', async () => {
      const n = target.overtakeChatTokens;
      const reply = client.chat({
        sessionId: 's3',
        messages: [{ role: 'user', content: 'Long answer please.' }],
        maxTokens: n,
        temperature: 0,
        partialResultToken: 'p3',
      });
      while ((client.progress.get('p3') ?? []).length < 3) await new Promise((r) => setTimeout(r, 5));
      const completion = items(await client.complete(DOC_B, client.text(DOC_B).length));
      const chatPiecesWhenCompletionEnded = (client.progress.get('p3') ?? []).length;
      const result = await reply;
      assert.ok(chatPiecesWhenCompletionEnded < n, 'the completion finished while the chat was still running');
      assert.strictEqual(result.stats.generatedTokens, n, 'the chat resumed and finished its reply');
      if (target.knownAnswers) assert.strictEqual(completion.length, 1);
    });

    it('answers errors clearly and stays up', async () => {
      await assert.rejects(client.complete('file:///work/demo/never-opened.ts', 0), /Unknown document file:\/\/\/work\/demo\/never-opened\.ts/);
      const huge = 'lorem ipsum '.repeat(3000);
      await assert.rejects(client.chat({ sessionId: 's4', messages: [{ role: 'user', content: huge }] }), /context holds only 2048 tokens/);
      // A bad path: the model is unloaded, the error names the file, and requests say so.
      const bad = path.join(os.tmpdir(), `qwen-server-test-${process.pid}.gguf`);
      fs.writeFileSync(bad, 'this is not a gguf file');
      try {
        await client.conn.sendNotification('workspace/didChangeConfiguration', { settings: { modelPath: bad } });
        const status = await client.waitForState();
        assert.strictEqual(status.state, 'error');
        assert.ok(status.message && status.message.includes(bad), `error names the file: ${status.message}`);
        await assert.rejects(client.complete(DOC_A, 0), (e: Error) => e.message.includes('could not be loaded') && e.message.includes(bad));
      } finally {
        fs.rmSync(bad, { force: true });
      }
      await client.conn.sendNotification('workspace/didChangeConfiguration', { settings: { modelPath: '' } });
      assert.strictEqual((await client.waitForState()).state, 'noModel');
      await assert.rejects(client.complete(DOC_A, 0), /No model is configured/);
      // Setting the path again reloads without restarting the process.
      await client.conn.sendNotification('workspace/didChangeConfiguration', { settings: { modelPath } });
      assert.strictEqual((await client.waitForState()).state, 'ready');
      assert.ok(items(await client.complete(DOC_A, client.text(DOC_A).length)).length >= 0);
      assert.ok((await client.lastStats())!.generatedTokens > 0, 'completions work again after the reload');
    });
  });
}
