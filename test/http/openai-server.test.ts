// The OpenAI-compatible HTTP server over the real engine, with the tiny synthetic model (random
// weights, real Qwen2.5 vocabulary), exercised with plain fetch requests on 127.0.0.1 the way an
// OpenAI client library would send them.
import * as assert from 'assert';
import type { Model } from '../../src/engine/api';
import { loadModel } from '../../src/engine/model';
import { RequestRecord } from '../../src/openai/handlers';
import { serveHttp } from '../../src/openai/serve-http';
import { HttpServerHandle, startHttpServer } from '../../src/openai/server';
import { readSseData } from '../../src/server/remote/sse';
import { getTestModel } from '../helpers/models';

type Json = Record<string, any>;

async function postJson(url: string, body: unknown, signal?: AbortSignal): Promise<{ status: number; json: Json }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal });
  return { status: res.status, json: (await res.json()) as Json };
}

/** Posts a streaming request and returns the parsed data events ('[DONE]' kept as a string). */
async function postStream(url: string, body: Json): Promise<Array<Json | string>> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...body, stream: true }) });
  assert.strictEqual(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  const events: Array<Json | string> = [];
  for await (const data of readSseData(res.body as unknown as AsyncIterable<Uint8Array>)) events.push(data === '[DONE]' ? data : (JSON.parse(data) as Json));
  return events;
}

const CHAT = [
  { role: 'system', content: 'You are a terse assistant.' },
  { role: 'user', content: 'Write a Python function that adds two numbers.' },
];

describe('openai: HTTP server over the engine (tiny model)', function () {
  this.timeout(180000);
  let model: Model;
  let server: HttpServerHandle;
  const records: RequestRecord[] = [];

  before(async () => {
    model = await loadModel(await getTestModel('tiny', 'F32'), { threads: 1, contextSize: 512 });
    server = await startHttpServer({ model, modelId: 'tiny-test', onRequestDone: (r) => records.push(r) });
  });
  after(async () => {
    if (server) await server.close();
    if (model) await model.dispose();
  });

  it('listens on loopback and lists the model', async () => {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await fetch(`${server.url}/v1/models`);
    assert.strictEqual(res.status, 200);
    const body = (await res.json()) as Json;
    assert.strictEqual(body.object, 'list');
    assert.deepStrictEqual(
      body.data.map((m: Json) => m.id),
      ['tiny-test'],
    );
  });

  it('answers a non-streaming chat with text and usage', async () => {
    const { status, json } = await postJson(`${server.url}/v1/chat/completions`, { messages: CHAT, max_tokens: 8, temperature: 0 });
    assert.strictEqual(status, 200, JSON.stringify(json));
    assert.strictEqual(json.object, 'chat.completion');
    assert.match(json.id, /^chatcmpl-/);
    const choice = json.choices[0];
    assert.strictEqual(choice.message.role, 'assistant');
    assert.strictEqual(typeof choice.message.content, 'string');
    assert.ok(['stop', 'length'].includes(choice.finish_reason));
    assert.ok(json.usage.prompt_tokens > 20, `prompt_tokens ${json.usage.prompt_tokens}`);
    assert.ok(json.usage.completion_tokens >= 1 && json.usage.completion_tokens <= 8);
    assert.strictEqual(json.usage.total_tokens, json.usage.prompt_tokens + json.usage.completion_tokens);
    if (choice.finish_reason === 'length') assert.strictEqual(json.usage.completion_tokens, 8);
  });

  it('streams SSE deltas that concatenate to the non-streaming greedy text', async () => {
    const req = { messages: CHAT, max_tokens: 12, temperature: 0, stream_options: { include_usage: true } };
    const { json: whole } = await postJson(`${server.url}/v1/chat/completions`, req);
    const events = await postStream(`${server.url}/v1/chat/completions`, req);
    assert.strictEqual(events[events.length - 1], '[DONE]');
    const chunks = events.filter((e): e is Json => typeof e !== 'string');
    assert.strictEqual(chunks[0].choices[0].delta.role, 'assistant');
    assert.ok(chunks.every((c) => c.object === 'chat.completion.chunk'));
    const text = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
    assert.ok(text.length > 0, 'the greedy reply should not be empty');
    assert.ok(chunks.length >= 4, `expected several delta chunks, got ${chunks.length}`);
    assert.strictEqual(text, whole.choices[0].message.content);
    const finish = chunks.map((c) => c.choices[0]?.finish_reason).filter((f) => f);
    assert.deepStrictEqual(finish, [whole.choices[0].finish_reason]);
    const usage = chunks[chunks.length - 1].usage;
    assert.strictEqual(usage.completion_tokens, whole.usage.completion_tokens);
    assert.strictEqual(usage.prompt_tokens, whole.usage.prompt_tokens);
  });

  it('serves /v1/completions, streaming and not, with the same greedy text', async () => {
    const req = { prompt: 'def add(a, b):\n    return', max_tokens: 6, temperature: 0 };
    const { status, json } = await postJson(`${server.url}/v1/completions`, req);
    assert.strictEqual(status, 200, JSON.stringify(json));
    assert.strictEqual(json.object, 'text_completion');
    assert.strictEqual(typeof json.choices[0].text, 'string');
    assert.ok(json.usage.completion_tokens >= 1 && json.usage.completion_tokens <= 6);
    const events = await postStream(`${server.url}/v1/completions`, req);
    const text = events
      .filter((e): e is Json => typeof e !== 'string')
      .map((e) => e.choices[0]?.text ?? '')
      .join('');
    assert.strictEqual(text, json.choices[0].text);
  });

  it('defaults completions to 16 tokens, as OpenAI does', async () => {
    const { json } = await postJson(`${server.url}/v1/completions`, { prompt: 'x = 1\n', temperature: 0 });
    assert.ok(json.usage.completion_tokens <= 16 && json.usage.completion_tokens >= 1, JSON.stringify(json.usage));
  });

  it('answers bad JSON, bad fields and unknown paths with OpenAI-style errors', async () => {
    const bad = await fetch(`${server.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"messages": [' });
    assert.strictEqual(bad.status, 400);
    const badBody = (await bad.json()) as Json;
    assert.strictEqual(badBody.error.type, 'invalid_request_error');
    assert.match(badBody.error.message, /invalid JSON/);

    const field = await postJson(`${server.url}/v1/chat/completions`, { messages: CHAT, temperature: 7 });
    assert.strictEqual(field.status, 400);
    assert.strictEqual(field.json.error.param, 'temperature');

    const role = await postJson(`${server.url}/v1/chat/completions`, { messages: [{ role: 'tool', content: 'x' }] });
    assert.strictEqual(role.status, 400);
    assert.match(role.json.error.message, /messages\[0\]\.role/);

    const missing = await fetch(`${server.url}/v1/embeddings`, { method: 'POST', body: '{}' });
    assert.strictEqual(missing.status, 404);
    assert.strictEqual(((await missing.json()) as Json).error.type, 'not_found_error');

    const method = await fetch(`${server.url}/v1/chat/completions`);
    assert.strictEqual(method.status, 405);
  });

  it('refuses a prompt longer than the context with 413', async () => {
    const { status, json } = await postJson(`${server.url}/v1/completions`, { prompt: 'hello world '.repeat(400), max_tokens: 4 });
    assert.strictEqual(status, 413);
    assert.strictEqual(json.error.type, 'context_length_exceeded');
    assert.match(json.error.message, /context holds 512/);
  });

  it('a client that disconnects mid-stream stops generation and frees the engine', async () => {
    records.length = 0;
    const controller = new AbortController();
    const res = await fetch(`${server.url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'Once upon a time', max_tokens: 400, temperature: 0.8, seed: 3, stream: true }),
      signal: controller.signal,
    });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await reader.read(); // the first streamed bytes: generation is under way
    controller.abort();
    await reader.cancel().catch(() => undefined);

    const after = await postJson(`${server.url}/v1/chat/completions`, { messages: CHAT, max_tokens: 3, temperature: 0 });
    assert.strictEqual(after.status, 200);
    assert.ok(after.json.usage.completion_tokens >= 1);
    // The disconnected request ended early, marked aborted, and before the next one ran.
    assert.strictEqual(records.length, 2, JSON.stringify(records));
    assert.strictEqual(records[0].stopReason, 'aborted');
    assert.ok(records[0].completionTokens < 400, `aborted request still made ${records[0].completionTokens} tokens`);
  });

  it('runs concurrent requests one at a time, all succeeding', async () => {
    const reqs = [0, 1, 2].map((i) => postJson(`${server.url}/v1/completions`, { prompt: `item ${i}:`, max_tokens: 3, temperature: 0 }));
    const results = await Promise.all(reqs);
    for (const r of results) assert.strictEqual(r.status, 200, JSON.stringify(r.json));
  });
});

describe('openai: HTTP server while the model loads', function () {
  this.timeout(120000);

  it('answers 503 until the model promise resolves, and reports a load failure', async () => {
    let resolve!: (m: Model) => void;
    const pending = new Promise<Model>((r) => (resolve = r));
    const server = await startHttpServer({ model: pending });
    let model: Model | null = null;
    try {
      const early = await postJson(`${server.url}/v1/chat/completions`, { messages: CHAT, max_tokens: 2 });
      assert.strictEqual(early.status, 503);
      assert.match(early.json.error.message, /still loading/);
      assert.strictEqual((await fetch(`${server.url}/health`)).status, 503);

      model = await loadModel(await getTestModel('tiny', 'F32'), { threads: 1, contextSize: 256 });
      resolve(model);
      await pending;
      const ready = await postJson(`${server.url}/v1/chat/completions`, { messages: CHAT, max_tokens: 2, temperature: 0 });
      assert.strictEqual(ready.status, 200, JSON.stringify(ready.json));
      const ids = ((await (await fetch(`${server.url}/v1/models`)).json()) as Json).data.map((m: Json) => m.id);
      assert.deepStrictEqual(ids, ['tiny-f32-s1234']);
    } finally {
      await server.close();
      if (model) await model.dispose();
    }

    const failing = await startHttpServer({ model: Promise.reject(new Error('bad.gguf: not a GGUF file')) });
    try {
      const r = await postJson(`${failing.url}/v1/completions`, { prompt: 'x' });
      assert.strictEqual(r.status, 503);
      assert.match(r.json.error.message, /failed to load: bad\.gguf: not a GGUF file/);
    } finally {
      await failing.close();
    }
  });
});

describe('openai: serveHttp (what `serve --http` runs)', function () {
  this.timeout(120000);

  it('listens first, loads in the background, logs requests, and shuts down', async () => {
    const lines: string[] = [];
    const handle = await serveHttp({ modelPath: await getTestModel('tiny', 'F32'), threads: 1, contextSize: 256, port: 0, log: (l) => lines.push(l) });
    try {
      assert.ok(
        lines.some((l) => l.includes(`${handle.url}/v1`)),
        lines.join('\n'),
      );
      await handle.model;
      const r = await postJson(`${handle.url}/v1/completions`, { prompt: 'a = ', max_tokens: 2, temperature: 0 });
      assert.strictEqual(r.status, 200, JSON.stringify(r.json));
      assert.ok(
        lines.some((l) => /completion: \d+ prompt \+ \d+ generated tokens/.test(l)),
        lines.join('\n'),
      );
    } finally {
      await handle.shutdown();
    }
    await assert.rejects(fetch(`${handle.url}/health`), 'the server should be closed');
  });

  it('reports a model that cannot be loaded through 503 and the log', async () => {
    const lines: string[] = [];
    const handle = await serveHttp({ modelPath: '/nonexistent/model.gguf', port: 0, log: (l) => lines.push(l) });
    try {
      await assert.rejects(handle.model, /no such file/);
      const r = await postJson(`${handle.url}/v1/completions`, { prompt: 'x' });
      assert.strictEqual(r.status, 503);
      assert.match(r.json.error.message, /\/nonexistent\/model\.gguf: no such file/);
      assert.ok(lines.some((l) => l.includes('cannot load /nonexistent/model.gguf')));
    } finally {
      await handle.shutdown();
    }
  });
});
