// Remote mode end to end: the language server (`qwen-local serve --stdio`, as the extension starts
// it) with settings.remoteUrl pointing at our own `qwen-local serve --http` on loopback. Inline
// completions and chat must come from that server (its request log grows, the server loads no
// model of its own), and — the privacy half — the language server must open no connection except
// to that URL. The network recorder (net-recorder.ts) is preloaded into the language server.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { getTestModel, repoRoot } from '../helpers/models';
import { items, LspTestClient } from '../server/lsp-client';
import { readNetRecords } from './net-recorder';
import { ServeHttpProcess, startServeHttp } from './serve-http-process';

const DOC = 'file:///work/demo/src/util.py';
const TEXT = 'def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    ';

function requestLines(log: string, kind: 'chat' | 'completion'): number {
  return log.split('\n').filter((l) => l.startsWith(`qwen-local: ${kind}`)).length;
}

describe('remote mode: the language server using our own serve --http', function () {
  this.timeout(240000);
  const root = repoRoot();
  const recorder = path.join(root, 'out', 'test', 'http', 'net-recorder.js');
  let remote: ServeHttpProcess;
  let client: LspTestClient;
  let netLog: string;

  before(async () => {
    remote = await startServeHttp(root, await getTestModel('tiny', 'F32'), ['--api-key', 'sk-test-key']);
    netLog = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'qwen-net-')), 'remote.jsonl');
    client = new LspTestClient(
      {
        command: process.execPath,
        args: [path.join(root, 'bin', 'qwen-local.js'), 'serve', '--stdio'],
        env: { NODE_OPTIONS: `--require ${recorder}`, QWEN_NET_LOG: netLog },
      },
      root,
    );
    // No modelPath at all: in remote mode none is needed.
    // With the API key in the URL, as a team server needs (ours is started with the same key).
    await client.initialize({
      remoteUrl: `${remote.url.replace('http://', 'http://:sk-test-key@')}/v1`,
      completion: { maxTokens: 6, timeBudgetMs: 60000 },
      chat: { maxTokens: 6, temperature: 0 },
    });
    client.open(DOC, TEXT, 'python');
  });

  after(async () => {
    await client?.close();
    if (remote) await remote.stop();
  });

  it('reports ready without loading a local model', async () => {
    const status = await client.waitForState();
    assert.strictEqual(status.state, 'ready', `${status.message}\n${client.stderr}`);
    assert.match(status.message ?? '', new RegExp(`OpenAI-compatible server at ${remote.url.replace(/[.]/g, '\\.')}/v1`));
    assert.strictEqual(status.model, undefined, 'no local model is described');
    assert.ok(!(status.message ?? '').includes('sk-test-key'), 'the API key is not shown');
  });

  it('sends inline completions to the remote server as Qwen FIM requests', async () => {
    const before = requestLines(remote.log(), 'completion');
    const result = items(await client.complete(DOC, TEXT.length));
    const stats = await client.lastStats();
    assert.ok(stats, 'stats of the remote completion are available');
    assert.strictEqual(stats.slot, -1, 'remote completions use no local slot');
    assert.ok(stats.generatedTokens >= 1 && stats.generatedTokens <= 6, JSON.stringify(stats));
    // The FIM prompt holds the whole (short) document plus the three FIM tokens.
    assert.ok(stats.promptTokens > 15, `prompt tokens ${stats.promptTokens}`);
    assert.strictEqual(requestLines(remote.log(), 'completion'), before + 1, remote.log());
    assert.match(remote.log(), /completion \(stream\): \d+ prompt \+ \d+ generated tokens/);
    // Random weights write gibberish; whatever survives post-processing is shown as typed.
    for (const item of result) assert.strictEqual(typeof item.insertText, 'string');
  });

  it('sends chat to the remote server and streams its deltas through $/progress', async () => {
    const before = requestLines(remote.log(), 'chat');
    const reply = await client.chat({ sessionId: 'remote-1', messages: [{ role: 'user', content: 'Say hi.' }], partialResultToken: 'tok-remote' });
    assert.ok(['eos', 'maxTokens'].includes(reply.stopReason), reply.stopReason);
    assert.ok(reply.stats.generatedTokens >= 1 && reply.stats.generatedTokens <= 6, JSON.stringify(reply.stats));
    // Progress notifications may trail the response by a moment.
    for (let i = 0; i < 50 && (client.progress.get('tok-remote') ?? []).join('') !== reply.text; i++) await new Promise((r) => setTimeout(r, 20));
    assert.strictEqual((client.progress.get('tok-remote') ?? []).join(''), reply.text);
    assert.strictEqual(requestLines(remote.log(), 'chat'), before + 1, remote.log());
  });

  it('opened network connections only to the configured remote server (privacy)', async () => {
    const records = readNetRecords(netLog);
    const network = records.filter((r) => r.kind !== 'ipc');
    // The recorder works: the remote requests above were seen.
    assert.ok(network.length >= 1, `the recorder saw no connection at all: ${JSON.stringify(records)}`);
    for (const r of network) {
      assert.deepStrictEqual(
        { kind: r.kind, host: r.host, port: r.port },
        { kind: 'tcp', host: '127.0.0.1', port: remote.port },
        `unexpected connection ${JSON.stringify(r)}`,
      );
    }
  });
});
