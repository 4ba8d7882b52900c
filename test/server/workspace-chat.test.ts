// The language server's workspace index and context-fitting chat over a real stdio connection
// (fake engine): the index builds in the background for the workspace folder, honours the
// files.exclude the client sends, follows file-watcher events, answers qwen/workspaceSearch, and
// a chat turn with workspaceQuery / attachments is fitted to the context and says which files it
// used and what it cut, instead of failing.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { pathToFileURL } from 'url';
import type { ChatResultWithContext, IndexStatus, WorkspaceSearchResult } from '../../src/protocol/workspace';
import { repoRoot } from '../helpers/models';
import { LspTestClient } from './lsp-client';

describe('workspace index and context-fitted chat (fake engine over stdio)', function () {
  this.timeout(60000);
  const root = repoRoot();
  let tmp: string;
  let ws: string;
  let client: LspTestClient;
  const indexStatuses: IndexStatus[] = [];

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'qwen-ws-chat-'));
    ws = path.join(tmp, 'demo');
    fs.mkdirSync(path.join(ws, 'src'), { recursive: true });
    fs.mkdirSync(path.join(ws, 'generated'), { recursive: true });
    fs.writeFileSync(
      path.join(ws, 'src', 'invoice.ts'),
      'export function computeInvoiceTotal(lines: Line[]): number {\n  return lines.reduce((s, l) => s + l.price * l.quantity, 0);\n}\n',
    );
    fs.writeFileSync(path.join(ws, 'src', 'main.ts'), 'import { computeInvoiceTotal } from "./invoice";\nconsole.log(computeInvoiceTotal([]));\n');
    fs.writeFileSync(path.join(ws, 'generated', 'copy.ts'), 'export function computeInvoiceTotal() { return 0; }\n');
    fs.writeFileSync(path.join(tmp, 'model.gguf'), 'GGUF fake model');
    client = new LspTestClient(
      { command: process.execPath, args: [path.join(root, 'out', 'test', 'server', 'fake-engine-server.js')], env: { FAKE_DECODE_MS: '1' } },
      root,
    );
    client.conn.onNotification('qwen/indexStatus', (s: IndexStatus) => void indexStatuses.push(s));
    await client.initialize({ modelPath: path.join(tmp, 'model.gguf'), contextSize: 1024 }, pathToFileURL(ws).toString());
    await client.conn.sendNotification('qwen/indexSettings', { filesExclude: { '**/generated': true } });
    assert.strictEqual((await client.waitForState()).state, 'ready', client.stderr);
  });

  after(async () => {
    await client?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const search = (query: string) => client.conn.sendRequest('qwen/workspaceSearch', { query, limit: 5 }) as Promise<WorkspaceSearchResult>;

  it('builds the index in the background, honouring files.exclude from the client', async () => {
    const result = await search('where is computeInvoiceTotal defined?');
    assert.strictEqual(result.status.state, 'ready');
    assert.strictEqual(result.status.files, 2, 'src/invoice.ts and src/main.ts; generated/ is excluded');
    assert.strictEqual(result.hits[0].path, 'src/invoice.ts');
    assert.strictEqual(result.hits[0].uri, pathToFileURL(path.join(ws, 'src', 'invoice.ts')).toString());
    assert.ok(
      indexStatuses.some((s) => s.state === 'ready' && s.files === 2),
      `status notifications: ${JSON.stringify(indexStatuses)}`,
    );
  });

  it('follows saves, creations and deletions from workspace/didChangeWatchedFiles', async () => {
    const file = path.join(ws, 'src', 'tax.ts');
    fs.writeFileSync(file, 'export function applyRegionalTax(amount: number) { return amount * 1.2; }\n');
    await client.conn.sendNotification('workspace/didChangeWatchedFiles', { changes: [{ uri: pathToFileURL(file).toString(), type: 1 }] });
    assert.strictEqual((await search('applyRegionalTax')).hits[0]?.path, 'src/tax.ts');
    fs.rmSync(file);
    await client.conn.sendNotification('workspace/didChangeWatchedFiles', { changes: [{ uri: pathToFileURL(file).toString(), type: 3 }] });
    const after = await search('applyRegionalTax');
    assert.ok(after.hits.every((h) => h.path !== 'src/tax.ts'));
    assert.strictEqual(after.status.files, 2);
  });

  it('answers an @workspace turn with the retrieved files listed', async () => {
    const result = (await client.conn.sendRequest('qwen/chat', {
      sessionId: 'ws-1',
      messages: [{ role: 'user', content: 'How is computeInvoiceTotal computed?' }],
      workspaceQuery: 'How is computeInvoiceTotal computed?',
      maxTokens: 4,
      temperature: 0,
    })) as ChatResultWithContext;
    assert.ok(result.sources && result.sources.length > 0, JSON.stringify(result));
    assert.strictEqual(result.sources[0].path, 'src/invoice.ts');
    assert.strictEqual(result.sources[0].startLine, 1);
    // The chunk's text went into the prompt (the fake engine counts characters as tokens).
    const question = 'How is computeInvoiceTotal computed?';
    assert.ok(result.stats.promptTokens > question.length + 100, `prompt of ${result.stats.promptTokens} tokens`);
  });

  it('cuts an attachment larger than the context to fit, with a notice, instead of failing', async () => {
    const big = Array.from({ length: 400 }, (_, i) => `line ${i} of a large file`).join('\n');
    const result = (await client.conn.sendRequest('qwen/chat', {
      sessionId: 'ws-2',
      messages: [{ role: 'user', content: 'Summarise.' }],
      attachments: [{ kind: 'file', label: 'src/big.txt', text: big }],
      fitToContext: true,
      maxTokens: 64,
      temperature: 0,
    })) as ChatResultWithContext;
    assert.ok(result.stats.promptTokens <= 1024 - 64, `prompt ${result.stats.promptTokens} tokens`);
    assert.ok(result.stats.promptTokens > 500, `most of the remaining context holds the attachment: ${JSON.stringify(result)}`);
    assert.ok(
      result.notices?.some((n) => /src\/big\.txt was cut to \d+ of 400 lines/.test(n)),
      JSON.stringify(result.notices),
    );
    assert.ok(result.stats.generatedTokens > 0);
  });

  it('drops old turns and cuts a huge question with fitToContext, and still answers', async () => {
    const long = 'word '.repeat(600);
    const result = (await client.conn.sendRequest('qwen/chat', {
      sessionId: 'ws-3',
      messages: [
        { role: 'user', content: long },
        { role: 'assistant', content: long },
        { role: 'user', content: long },
      ],
      fitToContext: true,
      maxTokens: 16,
      temperature: 0,
    })) as ChatResultWithContext;
    assert.ok(result.stats.generatedTokens > 0);
    assert.ok(
      result.notices?.some((n) => n.includes('2 earlier messages left out')),
      JSON.stringify(result.notices),
    );
    assert.ok(
      result.notices?.some((n) => n.startsWith('Your message was cut')),
      JSON.stringify(result.notices),
    );
  });

  it('rejects malformed attachments clearly', async () => {
    await assert.rejects(
      client.conn.sendRequest('qwen/chat', {
        sessionId: 'ws-4',
        messages: [{ role: 'user', content: 'x' }],
        attachments: [{ kind: 'disk', label: 'a', text: 'b' }],
      }),
      /attachments\[0\] needs a kind/,
    );
  });
});
