// The OpenAI-compatible client against our own HTTP server (tiny synthetic model), plus the SSE
// reader on hand-made byte streams split at awkward places.
import * as assert from 'assert';
import * as http from 'http';
import { AddressInfo } from 'net';
import type { Model } from '../../src/engine/api';
import { loadModel } from '../../src/engine/model';
import { OpenAICompatibleClient, RemoteApiError, urlWithoutKey } from '../../src/server/remote/client';
import { remoteFimPrompt } from '../../src/server/completion/remote-completion';
import { FIM_STOP_TEXTS } from '../../src/server/completion/fim-layout';
import { remoteBackendFor } from '../../src/server/remote/remote-backend';
import { HttpServerHandle, startHttpServer } from '../../src/openai/server';
import { readSseData } from '../../src/server/remote/sse';
import { getTestModel } from '../helpers/models';

async function* chunksOf(text: string, sizes: number[]): AsyncGenerator<Uint8Array> {
  const bytes = Buffer.from(text, 'utf8');
  let at = 0;
  let i = 0;
  while (at < bytes.length) {
    const n = sizes[i++ % sizes.length];
    yield bytes.subarray(at, at + n);
    at += n;
  }
}

async function collect(it: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('openai: SSE reader', () => {
  it('splits events across arbitrary chunk boundaries, CRLF and comments', async () => {
    const stream = ': keep-alive\r\n\r\ndata: {"a":1}\r\n\r\ndata: héllo\ndata: wörld\n\nevent: x\ndata: [DONE]\n\n';
    for (const sizes of [[1], [2, 3], [7], [1000]]) {
      const events = await collect(readSseData(chunksOf(stream, sizes)));
      assert.deepStrictEqual(events, ['{"a":1}', 'héllo\nwörld', '[DONE]'], `chunk sizes ${sizes}`);
    }
  });

  it('delivers a last event that lacks the closing blank line', async () => {
    assert.deepStrictEqual(await collect(readSseData(chunksOf('data: one\n\ndata: two', [3]))), ['one', 'two']);
  });
});

describe('openai: an API key inside the remote URL', () => {
  it('becomes a Bearer header and leaves the URL (fetch refuses URLs with credentials)', async () => {
    const seen: Array<{ url?: string; auth?: string }> = [];
    const server = http.createServer((req, res) => {
      seen.push({ url: req.url, auth: req.headers.authorization });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ object: 'list', data: [{ id: 'm', object: 'model' }] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      const withPassword = new OpenAICompatibleClient({ baseUrl: `http://:sk-secret%2F1@127.0.0.1:${port}/v1` });
      assert.strictEqual(withPassword.baseUrl, `http://127.0.0.1:${port}/v1`);
      assert.deepStrictEqual(await withPassword.listModels(), ['m']);
      const withUser = new OpenAICompatibleClient({ baseUrl: `http://team-key@127.0.0.1:${port}` });
      await withUser.listModels();
      const plain = new OpenAICompatibleClient({ baseUrl: `http://127.0.0.1:${port}` });
      await plain.listModels();
      assert.deepStrictEqual(seen, [
        { url: '/v1/models', auth: 'Bearer sk-secret/1' },
        { url: '/v1/models', auth: 'Bearer team-key' },
        { url: '/v1/models', auth: undefined },
      ]);
      // Messages and status lines never show the key.
      assert.strictEqual(urlWithoutKey(`https://:sk-secret@example.com/v1`), 'https://example.com/v1');
      assert.strictEqual(urlWithoutKey('http://127.0.0.1:8080/v1'), 'http://127.0.0.1:8080/v1');
      assert.strictEqual(remoteBackendFor({ remoteUrl: `http://:k@127.0.0.1:${port}/v1` })!.baseUrl, `http://127.0.0.1:${port}/v1`);
    } finally {
      server.close();
    }
  });
});

describe('openai: client against our own server (tiny model)', function () {
  this.timeout(180000);
  let model: Model;
  let server: HttpServerHandle;
  let client: OpenAICompatibleClient;

  before(async () => {
    model = await loadModel(await getTestModel('tiny', 'F32'), { threads: 1, contextSize: 512 });
    server = await startHttpServer({ model, modelId: 'tiny-client' });
    client = new OpenAICompatibleClient({ baseUrl: server.url, model: 'tiny-client' });
  });
  after(async () => {
    if (server) await server.close();
    if (model) await model.dispose();
  });

  it('lists models, with or without /v1 in the base URL', async () => {
    assert.deepStrictEqual(await client.listModels(), ['tiny-client']);
    const withV1 = new OpenAICompatibleClient({ baseUrl: `${server.url}/v1/` });
    assert.deepStrictEqual(await withV1.listModels(), ['tiny-client']);
  });

  it('streams a chat whose deltas add up to the non-streamed greedy reply', async () => {
    const messages = [{ role: 'user' as const, content: 'Say something about sorting.' }];
    const whole = await client.chat(messages, { maxTokens: 10, temperature: 0 });
    const deltas: string[] = [];
    const streamed = await client.chat(messages, { maxTokens: 10, temperature: 0, onDelta: (d) => deltas.push(d) });
    assert.ok(whole.text.length > 0);
    assert.strictEqual(streamed.text, whole.text);
    assert.strictEqual(deltas.join(''), whole.text);
    assert.ok(deltas.length > 1, `expected several deltas, got ${deltas.length}`);
    assert.strictEqual(streamed.finishReason, whole.finishReason);
    assert.deepStrictEqual(streamed.usage, whole.usage);
    assert.ok(whole.usage && whole.usage.completionTokens >= 1 && whole.usage.completionTokens <= 10);
  });

  it('sends FIM completions as the shared Qwen fill-in-the-middle prompt', async () => {
    const { prompt } = remoteFimPrompt({
      prefix: 'def add(a, b):\n    ',
      suffix: '\n\nprint(add(1, 2))\n',
      path: 'add.py',
      repoName: 'demo',
      snippets: [],
      prefixLines: 100,
      suffixLines: 10,
      contextTokens: 256,
    });
    assert.strictEqual(prompt, '<|fim_prefix|>def add(a, b):\n<|fim_suffix|>\n\nprint(add(1, 2))\n<|fim_middle|>    ');
    const remote = remoteBackendFor({ remoteUrl: client.baseUrl })!;
    const fim = await remote.completeFim({ prompt, maxTokens: 5, temperature: 0, stopTexts: FIM_STOP_TEXTS, signal: new AbortController().signal });
    // The same prompt sent by hand must give the same greedy text: the backend adds nothing else.
    const direct = await client.complete(prompt, { maxTokens: 5, temperature: 0 });
    assert.strictEqual(fim.text, direct.text);
    assert.ok(direct.usage !== null && direct.usage.promptTokens > 0);
    // The FIM markers are single special tokens: a prompt of plain text of the same length has more tokens.
    const plain = await client.complete(prompt.replace(/<\|/g, '< |'), { maxTokens: 1, temperature: 0 });
    assert.ok(plain.usage!.promptTokens > direct.usage!.promptTokens, `${plain.usage!.promptTokens} vs ${direct.usage!.promptTokens}`);
  });

  it('turns server errors into RemoteApiError with status and message', async () => {
    await assert.rejects(client.complete('x', { temperature: 9 }), (e: Error) => {
      assert.ok(e instanceof RemoteApiError);
      assert.strictEqual((e as RemoteApiError).status, 400);
      assert.match(e.message, /temperature/);
      return true;
    });
  });

  it('cancels through the AbortSignal, and the server stays usable', async () => {
    const controller = new AbortController();
    let first = true;
    const run = client.complete('Once upon a time', {
      maxTokens: 300,
      temperature: 0.7,
      seed: 1,
      signal: controller.signal,
      onDelta: () => {
        if (first) controller.abort();
        first = false;
      },
    });
    await assert.rejects(run, (e: Error) => e.name === 'AbortError');
    const next = await client.complete('x = ', { maxTokens: 2, temperature: 0 });
    assert.ok(next.usage && next.usage.completionTokens >= 1);
  });

  it('serves the language server remote mode: chat results and FIM that the caller can stop', async () => {
    assert.strictEqual(remoteBackendFor({ remoteUrl: '' }), null);
    const remote = remoteBackendFor({ remoteUrl: server.url });
    assert.ok(remote);
    assert.strictEqual(remoteBackendFor({ remoteUrl: server.url }), remote, 'the backend is reused for the same URL');

    const deltas: string[] = [];
    const chat = await remote.chat(
      { sessionId: 's', messages: [{ role: 'user', content: 'hi' }], maxTokens: 4 },
      { maxTokens: 100, temperature: 0, topP: 1 },
      new AbortController().signal,
      (d) => deltas.push(d),
    );
    assert.strictEqual(deltas.join(''), chat.text);
    assert.ok(['eos', 'maxTokens'].includes(chat.stopReason), chat.stopReason);
    assert.ok(chat.stats.generatedTokens >= 1 && chat.stats.generatedTokens <= 4, JSON.stringify(chat.stats));
    assert.ok(chat.stats.promptTokens > 0);

    let pieces = 0;
    const fim = await remote.completeFim({
      prompt: '<|fim_prefix|>def f(x):\n<|fim_suffix|>\n<|fim_middle|>    ',
      maxTokens: 200,
      temperature: 0,
      stopTexts: FIM_STOP_TEXTS,
      signal: new AbortController().signal,
      onText: () => ++pieces < 2,
    });
    assert.strictEqual(fim.stopReason, 'callerStop');
    assert.strictEqual(pieces, 2);
    assert.ok(fim.stats.generatedTokens >= 2 && fim.stats.generatedTokens < 200);
    // The server is free again after the early stop.
    const next = await remote.completeFim({
      prompt: '<|fim_prefix|><|fim_suffix|><|fim_middle|>x = ',
      maxTokens: 2,
      temperature: 0,
      stopTexts: FIM_STOP_TEXTS,
      signal: new AbortController().signal,
    });
    assert.ok(['maxTokens', 'eos'].includes(next.stopReason), next.stopReason);
  });

  it('reports an unreachable server clearly', async () => {
    const dead = new OpenAICompatibleClient({ baseUrl: 'http://127.0.0.1:9', timeoutMs: 5000 });
    await assert.rejects(dead.listModels(), /cannot reach the remote server at http:\/\/127\.0\.0\.1:9\/v1\/models/);
    assert.throws(() => new OpenAICompatibleClient({ baseUrl: 'ftp://x' }), /must be http or https/);
  });
});
