// `qwen-local serve --http` as a user starts it: a separate process with the tiny synthetic model,
// driven with plain fetch in the OpenAI wire format (the `openai` package is not installed; the
// requests below are what it sends: JSON bodies, Bearer header, "stream": true for SSE).
import * as assert from 'assert';
import { readSseData } from '../../src/server/remote/sse';
import { getTestModel, repoRoot } from '../helpers/models';
import { runCli, ServeHttpProcess, startServeHttp } from './serve-http-process';

type Json = Record<string, any>;

const OPENAI_HEADERS = { 'content-type': 'application/json', authorization: 'Bearer sk-unused', 'user-agent': 'OpenAI/JS 4.0.0' };

async function post(url: string, body: Json): Promise<Response> {
  return fetch(url, { method: 'POST', headers: OPENAI_HEADERS, body: JSON.stringify(body) });
}

async function streamEvents(res: Response): Promise<Array<Json | '[DONE]'>> {
  const out: Array<Json | '[DONE]'> = [];
  for await (const data of readSseData(res.body as unknown as AsyncIterable<Uint8Array>)) out.push(data === '[DONE]' ? '[DONE]' : (JSON.parse(data) as Json));
  return out;
}

function exitOf(root: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stderr: string }> {
  const proc = runCli(root, args, env);
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => proc.once('exit', (code) => resolve({ code, stderr })));
}

describe('cli: qwen-local serve --http (tiny model, separate process)', function () {
  this.timeout(180000);
  const root = repoRoot();
  let server: ServeHttpProcess;

  before(async () => {
    // With the key OpenAI clients send, as a team server would be started.
    server = await startServeHttp(root, await getTestModel('tiny', 'F32'), ['--api-key', 'sk-unused']);
  });
  after(async () => {
    if (server) {
      const code = await server.stop();
      // SIGTERM is the normal way to stop it: a clean shutdown exits 0.
      assert.strictEqual(code, 0, `exit code after SIGTERM\n${server.log()}`);
    }
  });

  it('listens on 127.0.0.1 by default and lists the model under /v1/models', async () => {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await fetch(`${server.url}/v1/models`, { headers: OPENAI_HEADERS });
    assert.strictEqual(res.status, 200);
    const body = (await res.json()) as Json;
    assert.strictEqual(body.object, 'list');
    assert.deepStrictEqual(
      body.data.map((m: Json) => m.id),
      ['tiny-f32-s1234'],
    );
    assert.strictEqual(body.data[0].object, 'model');
  });

  it('answers /v1/chat/completions, and the SSE stream adds up to the same greedy reply', async () => {
    const request = {
      model: 'tiny-f32-s1234',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Name a sorting algorithm.' },
      ],
      max_tokens: 6,
      temperature: 0,
    };
    const whole = (await (await post(`${server.url}/v1/chat/completions`, request)).json()) as Json;
    assert.strictEqual(whole.object, 'chat.completion', JSON.stringify(whole));
    const reply = whole.choices[0].message.content as string;
    assert.ok(whole.usage.completion_tokens >= 1 && whole.usage.completion_tokens <= 6, JSON.stringify(whole.usage));

    const res = await post(`${server.url}/v1/chat/completions`, { ...request, stream: true, stream_options: { include_usage: true } });
    assert.strictEqual(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    const events = await streamEvents(res);
    assert.strictEqual(events[events.length - 1], '[DONE]');
    const chunks = events.filter((e): e is Json => e !== '[DONE]');
    assert.ok(
      chunks.every((c) => c.object === 'chat.completion.chunk' && c.id === chunks[0].id),
      'one id for the whole stream',
    );
    const streamed = chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('');
    assert.strictEqual(streamed, reply);
    assert.strictEqual(chunks[chunks.length - 1].usage.completion_tokens, whole.usage.completion_tokens);
  });

  it('answers /v1/completions, streaming and not, with the same greedy text', async () => {
    const request = { model: 'tiny-f32-s1234', prompt: 'def fib(n):\n   ', max_tokens: 5, temperature: 0 };
    const whole = (await (await post(`${server.url}/v1/completions`, request)).json()) as Json;
    assert.strictEqual(whole.object, 'text_completion', JSON.stringify(whole));
    const events = await streamEvents(await post(`${server.url}/v1/completions`, { ...request, stream: true }));
    const text = events
      .filter((e): e is Json => e !== '[DONE]')
      .map((e) => e.choices[0]?.text ?? '')
      .join('');
    assert.strictEqual(text, whole.choices[0].text);
    assert.ok(/completion: \d+ prompt \+ \d+ generated tokens/.test(server.log()), 'each request is logged on stderr');
  });

  it('asks for the key on every route but /health', async () => {
    const missing = await fetch(`${server.url}/v1/models`);
    assert.strictEqual(missing.status, 401);
    assert.strictEqual(((await missing.json()) as Json).error.code, 'missing_api_key');
    const wrong = await fetch(`${server.url}/v1/completions`, {
      method: 'POST',
      headers: { ...OPENAI_HEADERS, authorization: 'Bearer sk-other' },
      body: JSON.stringify({ prompt: 'x', max_tokens: 1 }),
    });
    assert.strictEqual(wrong.status, 401);
    assert.strictEqual((await fetch(`${server.url}/health`)).status, 200);
    assert.match(server.log(), /requests need "Authorization: Bearer KEY"/);
  });

  it('refuses a non-loopback --host without a key before loading the model, and says why', async () => {
    const model = await getTestModel('tiny', 'F32');
    // 192.0.2.1 (TEST-NET-1) is on no interface here: a missing check could not expose anything.
    const refused = await exitOf(root, ['serve', '--http', '--host', '192.0.2.1', '--port', '0', '--model', model]);
    assert.strictEqual(refused.code, 1);
    assert.match(refused.stderr, /refusing to listen on 192\.0\.2\.1 without an API key.*--api-key KEY \(or set QWEN_LOCAL_API_KEY\).*--insecure-no-auth/s);
    assert.doesNotMatch(refused.stderr, /model ready/);
    // A key from the environment lifts the refusal: what fails now is the bind to an address this machine lacks.
    const keyed = await exitOf(root, ['serve', '--http', '--host', '192.0.2.1', '--port', '0', '--model', model], { QWEN_LOCAL_API_KEY: 'sk-env' });
    assert.strictEqual(keyed.code, 1);
    assert.match(keyed.stderr, /EADDRNOTAVAIL/);
    const badOrigin = await exitOf(root, ['serve', '--http', '--port', '0', '--model', model, '--cors-origin', 'http://x.example/app']);
    assert.strictEqual(badOrigin.code, 1);
    assert.match(badOrigin.stderr, /not an origin/);
  });

  it('refuses bad invocations with a clear message and exit code 1', async () => {
    const neither = await exitOf(root, ['serve']);
    assert.strictEqual(neither.code, 1);
    assert.match(neither.stderr, /exactly one of --stdio .* or --http/);
    const noModel = await exitOf(root, ['serve', '--http', '--port', '0']);
    assert.strictEqual(noModel.code, 1);
    assert.match(noModel.stderr, /serve --http needs --model FILE/);
  });

  it('exits with the load error when the model cannot be loaded', async () => {
    const r = await exitOf(root, ['serve', '--http', '--port', '0', '--model', '/nonexistent/model.gguf']);
    assert.strictEqual(r.code, 1, r.stderr);
    assert.match(r.stderr, /\/nonexistent\/model\.gguf/);
  });
});
