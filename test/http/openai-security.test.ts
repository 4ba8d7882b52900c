// The HTTP server against what a hostile web page or an overloading client does, on 127.0.0.1
// with the tiny synthetic model: DNS-rebinding Host headers, cross-origin "simple" POSTs,
// preflights, API keys, oversize and stalled bodies, a full queue, and a client that disconnects
// mid-stream. Raw http.request is used where fetch would not send the header under test (Host).
import * as assert from 'assert';
import * as http from 'http';
import type { Model } from '../../src/engine/api';
import { loadModel } from '../../src/engine/model';
import { RequestRecord } from '../../src/openai/handlers';
import { HttpServerHandle, HttpServerOptions, startHttpServer } from '../../src/openai/server';
import { readSseData } from '../../src/server/remote/sse';
import { getTestModel } from '../helpers/models';
import { loadFakeModel } from '../server/fake-engine';

type Json = Record<string, any>;

interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  json: Json | null;
}

/** One request with exactly these headers (Host included); `body` is sent as given. */
function raw(base: string, method: string, path: string, headers: Record<string, string>, body?: string): Promise<RawResponse> {
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, path: url.pathname, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: Json | null;
        try {
          json = text ? (JSON.parse(text) as Json) : null;
        } catch {
          json = null;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, json });
      });
    });
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

const CHAT = { messages: [{ role: 'user', content: 'Write a haiku about caches.' }], max_tokens: 4, temperature: 0 };
const JSON_HEADERS = { 'content-type': 'application/json' };

/** Starts a 400-token streaming chat; the caller reads, cancels or aborts it. */
async function startLongChatStream(url: string): Promise<{ controller: AbortController; reader: ReadableStreamDefaultReader<Uint8Array> }> {
  const controller = new AbortController();
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: JSON_HEADERS,
    body: JSON.stringify({ messages: [{ role: 'user', content: 'Tell a very long story.' }], max_tokens: 400, temperature: 0.9, seed: 5, stream: true }),
    signal: controller.signal,
  });
  return { controller, reader: (res.body as ReadableStream<Uint8Array>).getReader() };
}

async function waitFor(what: string, check: () => boolean, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('openai: HTTP server security and limits (tiny model, loopback)', function () {
  this.timeout(180000);
  let model: Model;
  const servers: HttpServerHandle[] = [];
  const records: RequestRecord[] = [];

  const start = async (opts: Partial<HttpServerOptions> = {}): Promise<HttpServerHandle> => {
    const s = await startHttpServer({ model, modelId: 'tiny', onRequestDone: (r) => records.push(r), ...opts });
    servers.push(s);
    return s;
  };

  before(async () => {
    model = await loadModel(await getTestModel('tiny', 'F32'), { threads: 1, contextSize: 512 });
  });
  after(async () => {
    for (const s of servers) await s.close();
    if (model) await model.dispose();
  });

  it('refuses a rebinding Host with 403 before any work, and answers loopback and allowed names', async () => {
    const s = await start({ allowHosts: ['team.lan'] });
    records.length = 0;
    const port = s.port;
    for (const host of [`evil.example:${port}`, 'evil.example', `127.0.0.1.evil.example:${port}`, `localhost@evil.example`, `0x7f.1:${port}`]) {
      const models = await raw(s.url, 'GET', '/v1/models', { host });
      assert.strictEqual(models.status, 403, host);
      assert.strictEqual(models.json?.error.code, 'host_not_allowed');
      const chat = await raw(s.url, 'POST', '/v1/chat/completions', { host, ...JSON_HEADERS }, JSON.stringify(CHAT));
      assert.strictEqual(chat.status, 403, host);
    }
    const refused = await raw(s.url, 'GET', '/v1/models', { host: `evil.example:${port}` });
    assert.match(refused.json?.error.message, /DNS rebinding.*--allow-host evil\.example/);
    assert.strictEqual(records.length, 0, 'no generation ran');
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `127.3.2.1:${port}`, `[::1]:${port}`, `team.lan:${port}`, 'TEAM.LAN.']) {
      assert.strictEqual((await raw(s.url, 'GET', '/v1/models', { host })).status, 200, host);
    }
    const health = await raw(s.url, 'GET', '/health', { host: 'evil.example' });
    assert.strictEqual(health.status, 403, '/health is behind the Host check too');
  });

  it('refuses a cross-origin simple POST (text/plain JSON) with 403 and starts no generation', async () => {
    const s = await start();
    records.length = 0;
    const before = s.debugStats()!;
    const attack = await raw(
      s.url,
      'POST',
      '/v1/chat/completions',
      { origin: 'http://evil.example', 'content-type': 'text/plain;charset=UTF-8' },
      JSON.stringify({ ...CHAT, max_tokens: 200 }),
    );
    assert.strictEqual(attack.status, 403);
    assert.strictEqual(attack.json?.error.code, 'origin_not_allowed');
    assert.strictEqual(attack.headers['access-control-allow-origin'], undefined);
    // With a JSON content type too: the origin alone decides.
    const json = await raw(
      s.url,
      'POST',
      '/v1/completions',
      { origin: 'http://evil.example', ...JSON_HEADERS },
      JSON.stringify({ prompt: 'x', max_tokens: 50 }),
    );
    assert.strictEqual(json.status, 403);
    const models = await raw(s.url, 'GET', '/v1/models', { origin: 'null' });
    assert.strictEqual(models.status, 403, 'the opaque origin of sandboxed pages and files is refused');
    assert.strictEqual(records.length, 0, 'no generation ran');
    const after = s.debugStats()!;
    assert.strictEqual(after.slots.length, before.slots.length, 'no KV slot was created');
    assert.strictEqual(after.kvUsedTokens, before.kvUsedTokens);
  });

  it('answers an allowed origin with CORS headers, and parses only application/json bodies (415)', async () => {
    const s = await start({ corsOrigins: ['http://localhost:3000'] });
    records.length = 0;
    const origin = 'http://localhost:3000';
    const plain = await raw(s.url, 'POST', '/v1/chat/completions', { origin, 'content-type': 'text/plain' }, JSON.stringify(CHAT));
    assert.strictEqual(plain.status, 415);
    assert.strictEqual(plain.json?.error.code, 'unsupported_media_type');
    const none = await raw(s.url, 'POST', '/v1/chat/completions', {}, JSON.stringify(CHAT));
    assert.strictEqual(none.status, 415, 'no content type at all');
    assert.strictEqual(records.length, 0);
    const ok = await raw(s.url, 'POST', '/v1/chat/completions', { origin, 'content-type': 'application/json; charset=utf-8' }, JSON.stringify(CHAT));
    assert.strictEqual(ok.status, 200, JSON.stringify(ok.json));
    assert.strictEqual(ok.headers['access-control-allow-origin'], origin);
    assert.strictEqual(ok.headers.vary, 'Origin');
    assert.strictEqual(records.length, 1);
  });

  it('answers the preflight of an allowed origin, and refuses one from another origin', async () => {
    const s = await start({ corsOrigins: ['https://app.example'], apiKey: 'sk-preflight' });
    const ask = {
      origin: 'https://app.example',
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization, content-type, x-stainless-os',
    };
    const granted = await raw(s.url, 'OPTIONS', '/v1/chat/completions', ask);
    assert.strictEqual(granted.status, 204, 'preflights carry no credentials, so no key is asked');
    assert.strictEqual(granted.headers['access-control-allow-origin'], 'https://app.example');
    assert.match(String(granted.headers['access-control-allow-methods']), /\bPOST\b/);
    const allowed = String(granted.headers['access-control-allow-headers']).split(', ');
    for (const h of ['authorization', 'content-type', 'x-stainless-os']) assert.ok(allowed.includes(h), `${h} in ${allowed}`);
    assert.strictEqual(granted.headers['access-control-allow-credentials'], undefined);

    const other = await raw(s.url, 'OPTIONS', '/v1/chat/completions', { ...ask, origin: 'https://app.example.evil.com' });
    assert.strictEqual(other.status, 403);
    assert.strictEqual(other.headers['access-control-allow-origin'], undefined);
  });

  it('requires the API key on every route but /health: missing and wrong keys get 401', async () => {
    const s = await start({ apiKey: 'sk-test-123' });
    records.length = 0;
    const missing = await raw(s.url, 'GET', '/v1/models', {});
    assert.strictEqual(missing.status, 401);
    assert.strictEqual(missing.json?.error.code, 'missing_api_key');
    assert.match(String(missing.headers['www-authenticate']), /^Bearer/);
    for (const authorization of ['Bearer sk-test-12', 'Bearer sk-test-1234', 'Bearer SK-TEST-123', 'Basic sk-test-123', 'sk-test-123', 'Bearer']) {
      const wrong = await raw(s.url, 'POST', '/v1/chat/completions', { authorization, ...JSON_HEADERS }, JSON.stringify(CHAT));
      assert.strictEqual(wrong.status, 401, authorization);
      assert.strictEqual(wrong.json?.error.code, 'invalid_api_key', authorization);
    }
    assert.strictEqual(records.length, 0, 'no generation ran');
    assert.strictEqual((await raw(s.url, 'GET', '/health', {})).status, 200);
    assert.strictEqual((await raw(s.url, 'GET', '/v1/models', { authorization: 'Bearer sk-test-123' })).status, 200);
    const chat = await raw(s.url, 'POST', '/v1/chat/completions', { authorization: 'bearer  sk-test-123', ...JSON_HEADERS }, JSON.stringify(CHAT));
    assert.strictEqual(chat.status, 200, JSON.stringify(chat.json));
  });

  it('refuses an oversize body with 413 (declared or chunked) and a stalled one with 408', async () => {
    const s = await start({ maxBodyBytes: 2048, idleTimeoutMs: 300 });
    records.length = 0;
    const big = JSON.stringify({ prompt: 'x'.repeat(8000), max_tokens: 1 });
    const declared = await raw(s.url, 'POST', '/v1/completions', JSON_HEADERS, big);
    assert.strictEqual(declared.status, 413);
    assert.match(declared.json?.error.message, /larger than this server's limit of 2048 bytes/);
    const chunked = await raw(s.url, 'POST', '/v1/completions', { ...JSON_HEADERS, 'transfer-encoding': 'chunked' }, big);
    assert.strictEqual(chunked.status, 413);

    const stalled = await new Promise<RawResponse>((resolve, reject) => {
      const url = new URL(s.url);
      const req = http.request(
        { host: url.hostname, port: url.port, path: '/v1/completions', method: 'POST', headers: { ...JSON_HEADERS, 'content-length': '100' } },
        (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, json: JSON.parse(text) as Json }));
        },
      );
      req.on('error', reject);
      req.write('{"prompt": ');
    });
    assert.strictEqual(stalled.status, 408);
    assert.match(stalled.json?.error.message, /stalled/);
    assert.strictEqual(records.length, 0);
    const small = await raw(s.url, 'POST', '/v1/completions', JSON_HEADERS, JSON.stringify({ prompt: 'a = ', max_tokens: 1 }));
    assert.strictEqual(small.status, 200, 'the server still works');
  });

  it('refuses max_tokens above the limit with 400 naming the field', async () => {
    const s = await start({ maxTokens: 64 });
    const r = await raw(s.url, 'POST', '/v1/completions', JSON_HEADERS, JSON.stringify({ prompt: 'x', max_tokens: 65 }));
    assert.strictEqual(r.status, 400);
    assert.strictEqual(r.json?.error.param, 'max_tokens');
    assert.match(r.json?.error.message, /at most 64 tokens/);
  });

  it('answers 429 with Retry-After when the queue is full, and admits again once it drains', async () => {
    const s = await start({ maxQueue: 2 });
    records.length = 0;
    const controllers = [new AbortController(), new AbortController()];
    const streams = await Promise.all(
      controllers.map((c, i) =>
        fetch(`${s.url}/v1/chat/completions`, {
          method: 'POST',
          headers: JSON_HEADERS,
          body: JSON.stringify({ messages: [{ role: 'user', content: `Count to a thousand, ${i}.` }], max_tokens: 200, stream: true }),
          signal: c.signal,
        }),
      ),
    );
    for (const r of streams) assert.strictEqual(r.status, 200);
    assert.strictEqual(s.debugStats()!.admitted, 2);
    const third = await raw(s.url, 'POST', '/v1/completions', JSON_HEADERS, JSON.stringify({ prompt: 'x', max_tokens: 1 }));
    assert.strictEqual(third.status, 429);
    assert.strictEqual(third.json?.error.code, 'queue_full');
    const retry = Number(third.headers['retry-after']);
    assert.ok(Number.isInteger(retry) && retry >= 1 && retry <= 60, `Retry-After ${third.headers['retry-after']}`);
    assert.ok(records.some((r) => r.stopReason === 'refused'));
    for (const c of controllers) c.abort();
    await waitFor('the two streams are released', () => s.debugStats()!.admitted === 0, 10000);
    const again = await raw(s.url, 'POST', '/v1/completions', JSON_HEADERS, JSON.stringify({ prompt: 'x', max_tokens: 1 }));
    assert.strictEqual(again.status, 200);
  });

  it('a client that disconnects mid-stream frees its slot and the engine at once (KV back to 0)', async () => {
    // The model is shared with the servers above: empty their caches so its KV count is this server's.
    for (const other of servers) other.debugStats({ dropIdleCaches: true });
    assert.strictEqual(model.kvUsage().used, 0);
    const s = await start();
    records.length = 0;
    const { controller, reader } = await startLongChatStream(s.url);
    await reader.read(); // the first streamed text: generation is under way
    const busy = s.debugStats()!;
    assert.strictEqual(busy.running, 1);
    assert.ok(
      busy.slots.some((sl) => sl.busy),
      'the request holds a slot while it streams',
    );
    controller.abort();
    await reader.cancel().catch(() => undefined);

    await waitFor(
      'the slot and the engine are free',
      () => {
        const st = s.debugStats()!;
        return st.running === 0 && st.admitted === 0 && !st.schedulerBusy && st.schedulerWaiting === 0 && st.slots.every((sl) => !sl.busy);
      },
      5000,
    );
    assert.strictEqual(records.length, 1);
    assert.strictEqual(records[0].stopReason, 'aborted');
    assert.ok(records[0].completionTokens < 400, `the aborted request still made ${records[0].completionTokens} tokens`);
    const dropped = s.debugStats({ dropIdleCaches: true })!;
    assert.strictEqual(dropped.slots.length, 0);
    assert.strictEqual(dropped.kvUsedTokens, 0, 'no KV cell is left held');
  });

  it('runs on the language server scheduler: a completion cuts in ahead of a streaming chat', async () => {
    const s = await start();
    records.length = 0;
    const { controller, reader } = await startLongChatStream(s.url);
    await reader.read();
    const completion = await raw(s.url, 'POST', '/v1/completions', JSON_HEADERS, JSON.stringify({ prompt: 'def f(x):', max_tokens: 3, temperature: 0 }));
    assert.strictEqual(completion.status, 200, JSON.stringify(completion.json));
    // A queue of its own would have run the 400-token chat to its end first.
    assert.deepStrictEqual(
      records.map((r) => r.kind),
      ['completion'],
      'the completion finished while the chat still streams',
    );
    assert.strictEqual(s.debugStats()!.running, 1);
    controller.abort();
    await reader.cancel().catch(() => undefined);
    await waitFor('the chat is cancelled', () => records.length === 2, 5000);
  });

  it('keeps each client its own KV slot: a repeated prompt reuses it, another user starts afresh', async () => {
    const s = await start();
    const ask = (user: string) =>
      raw(
        s.url,
        'POST',
        '/v1/completions',
        JSON_HEADERS,
        JSON.stringify({ prompt: 'import os\nimport sys\n\ndef main():\n', max_tokens: 2, temperature: 0, user }),
      );
    const first = await ask('alice');
    assert.strictEqual(first.json?.usage.prompt_tokens_details.cached_tokens, 0);
    const again = await ask('alice');
    assert.strictEqual(again.json?.usage.prompt_tokens_details.cached_tokens, again.json?.usage.prompt_tokens - 1, 'all but the last prompt token reused');
    const other = await ask('bob');
    assert.strictEqual(other.json?.usage.prompt_tokens_details.cached_tokens, 0, "bob does not get alice's slot while there is room for his own");
    assert.strictEqual(s.debugStats()!.slots.length, 2);
  });

  it('refuses to listen on a non-loopback address without a key, and says why', async () => {
    // 192.0.2.1 (TEST-NET-1) is on no interface here: even a missing check could not expose anything.
    await assert.rejects(
      startHttpServer({ model, host: '192.0.2.1' }),
      /refusing to listen on 192\.0\.2\.1 without an API key.*--api-key.*--insecure-no-auth/s,
    );
    await assert.rejects(startHttpServer({ model, host: '0.0.0.0', port: 0 }), /without an API key/);
    // With a key (or the explicit opt-out) the refusal is gone: what fails now is the bind itself.
    await assert.rejects(startHttpServer({ model, host: '192.0.2.1', apiKey: 'sk-x' }), /EADDRNOTAVAIL/);
    await assert.rejects(startHttpServer({ model, host: '192.0.2.1', insecureNoAuth: true }), /EADDRNOTAVAIL/);
  });

  it('ends a request that runs past --request-timeout: 504 as JSON, an error event in a stream (fake engine, 20 ms a token)', async () => {
    // The fake engine's chat never ends by itself, and its speed is fixed, so the limit surely fires.
    const slow = await loadFakeModel(await getTestModel('tiny', 'F32'), { contextSize: 4096 }, { prefillMsPerToken: 0, decodeMs: 20 });
    const s = await start({ model: slow, requestTimeoutMs: 300 });
    records.length = 0;
    const body = { messages: [{ role: 'user', content: 'hi' }], max_tokens: 1000 };
    const started = Date.now();
    const whole = await raw(s.url, 'POST', '/v1/chat/completions', JSON_HEADERS, JSON.stringify(body));
    assert.strictEqual(whole.status, 504);
    assert.strictEqual(whole.json?.error.code, 'request_timeout');
    assert.ok(Date.now() - started < 5000, 'stopped at the limit, not after 1000 tokens');

    const res = await fetch(`${s.url}/v1/chat/completions`, { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify({ ...body, stream: true }) });
    const events: string[] = [];
    for await (const data of readSseData(res.body as unknown as AsyncIterable<Uint8Array>)) events.push(data);
    assert.ok(events.length > 1, 'some text streamed first');
    assert.strictEqual(JSON.parse(events[events.length - 1]).error.code, 'request_timeout');
    assert.ok(!events.includes('[DONE]'));
    assert.deepStrictEqual(
      records.map((r) => r.stopReason),
      ['timeout', 'timeout'],
    );
    await waitFor('the slots are free', () => s.debugStats()!.slots.every((sl) => !sl.busy) && s.debugStats()!.running === 0, 5000);
  });

  it('a request that does not fit in the KV cache beside a running one waits for it, then gets its full reply (fake engine)', async () => {
    const small = await loadFakeModel(await getTestModel('tiny', 'F32'), { contextSize: 512 }, { prefillMsPerToken: 0, decodeMs: 2 });
    const s = await start({ model: small });
    const body = (user: string) => JSON.stringify({ messages: [{ role: 'user', content: 'hi' }], max_tokens: 200, user });
    const first = raw(s.url, 'POST', '/v1/chat/completions', JSON_HEADERS, body('a'));
    await waitFor('the first request runs', () => s.debugStats()!.running === 1, 5000);
    const second = raw(s.url, 'POST', '/v1/chat/completions', JSON_HEADERS, body('b'));
    await waitFor('the second waits for room', () => s.debugStats()!.waitingForRoom === 1, 5000);
    const [a, b] = await Promise.all([first, second]);
    for (const r of [a, b]) {
      assert.strictEqual(r.status, 200, JSON.stringify(r.json));
      assert.strictEqual(r.json?.usage.completion_tokens, 200, 'the reply was not cut short');
    }
    assert.strictEqual(s.debugStats()!.waitingForRoom, 0);
  });
});
