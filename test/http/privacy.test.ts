// Privacy (issue 8): nothing opens a network connection except a model download the user started,
// or the remote server the user configured. Two checks:
//  - at run time: the language server with the real engine and the tiny model, exactly as the
//    extension starts it, with the network recorder preloaded; after a completion and a chat the
//    recorder must hold no TCP, UDP or DNS record (stdio is not a socket, so nothing at all). A
//    positive control shows the recorder does see connections (the remote-mode suite checks that
//    remote mode connects only to the configured URL).
//  - in the source: only the downloader and the OpenAI-compatible client may call fetch or the
//    socket modules; the HTTP server only listens. Anything new that talks to the network fails
//    this test until it is reviewed and added to the list.
import * as assert from 'assert';
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { getTestModel, repoRoot } from '../helpers/models';
import { items, LspTestClient } from '../server/lsp-client';
import { readNetRecords } from './net-recorder';

const root = repoRoot();
const recorder = path.join(root, 'out', 'test', 'http', 'net-recorder.js');

function tempLog(name: string): string {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'qwen-net-')), name);
}

describe('privacy: no network traffic in local mode', function () {
  this.timeout(240000);

  it('the recorder sees a connection when one is made (positive control)', async () => {
    const log = tempLog('control.jsonl');
    let out = '';
    const code = await new Promise<number | null>((resolve) => {
      // A server on a free loopback port, and one fetch to it.
      const script = [
        "const s = require('http').createServer((q, r) => r.end('ok')).listen(0, '127.0.0.1', async () => {",
        '  await (await fetch(`http://127.0.0.1:${s.address().port}/x`)).text();',
        "  await require('dns').promises.lookup('localhost');",
        '  console.log(s.address().port);',
        '  s.close();',
        '});',
      ].join('\n');
      const p = spawn(process.execPath, ['-e', script], {
        env: { ...process.env, NODE_OPTIONS: `--require ${recorder}`, QWEN_NET_LOG: log },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      p.once('exit', resolve);
    });
    assert.strictEqual(code, 0);
    const port = Number(out.trim());
    assert.ok(port > 0, `the control script printed '${out}'`);
    const records = readNetRecords(log);
    assert.deepStrictEqual(
      records.map((r) => [r.kind, r.host, r.port]),
      [
        ['tcp', '127.0.0.1', port],
        ['dns', 'localhost', undefined],
      ],
    );
  });

  it('the language server answers a completion and a chat without opening any socket', async () => {
    const log = tempLog('local.jsonl');
    const client = new LspTestClient(
      {
        command: process.execPath,
        args: [path.join(root, 'bin', 'qwen-local.js'), 'serve', '--stdio'],
        env: { NODE_OPTIONS: `--require ${recorder}`, QWEN_NET_LOG: log },
      },
      root,
    );
    try {
      await client.initialize({
        modelPath: await getTestModel('tiny', 'F32'),
        contextSize: 512,
        completion: { maxTokens: 4, timeBudgetMs: 60000 },
        chat: { maxTokens: 4 },
      });
      const status = await client.waitForState();
      assert.strictEqual(status.state, 'ready', `${status.message}\n${client.stderr}`);
      const text = 'def square(x):\n    ';
      client.open('file:///work/demo/sq.py', text, 'python');
      items(await client.complete('file:///work/demo/sq.py', text.length));
      const completionStats = await client.lastStats();
      assert.ok(completionStats && completionStats.generatedTokens >= 1, 'the completion really ran on the engine');
      const reply = await client.chat({ sessionId: 'p', messages: [{ role: 'user', content: 'hello' }] });
      assert.ok(reply.stats.generatedTokens >= 1, 'the chat really ran on the engine');
    } finally {
      await client.close();
    }
    const network = readNetRecords(log).filter((r) => r.kind !== 'ipc');
    assert.deepStrictEqual(network, [], 'the local language server must not touch the network');
  });
});

describe('privacy: which source files may talk to the network', () => {
  // File -> why it may. Listening (the HTTP server) is not connecting; it is listed for clarity.
  const ALLOWED: Record<string, string> = {
    'src/models/http-fetch.ts': 'model download the user started (https, or loopback for tests)',
    'src/server/remote/client.ts': 'the remote server the user configured in qwenLocal.remoteUrl',
    'src/openai/server.ts': 'serve --http listens (127.0.0.1 by default); it never connects out',
    'src/openai/access-policy.ts': 'only net.isIPv4/isIPv6 to read addresses in Host headers; it opens nothing',
  };
  const NETWORK_API =
    /\bfetch\s*\(|from\s+'(node:)?(http|https|net|tls|dgram|dns|http2)'|require\(\s*'(node:)?(http|https|net|tls|dgram|dns|http2)'\s*\)|\bWebSocket\b|\bXMLHttpRequest\b|\bEventSource\b|navigator\.sendBeacon/;

  function sourceFiles(dir: string): string[] {
    const out: string[] = [];
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) out.push(...sourceFiles(full));
      else if (/\.(ts|tsx|js|mjs)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(full);
    }
    return out;
  }

  it('finds network APIs only in the reviewed files', () => {
    const offenders: string[] = [];
    const seen = new Set<string>();
    for (const dir of ['src', 'webview'].map((d) => path.join(root, d)).filter((d) => fs.existsSync(d))) {
      for (const file of sourceFiles(dir)) {
        const rel = path.relative(root, file).split(path.sep).join('/');
        // Type-only imports (e.g. `import type { ServerResponse } from 'http'`) open nothing.
        const code = fs
          .readFileSync(file, 'utf8')
          .split('\n')
          .filter((l) => !/^\s*(\/\/|\*|\/\*)/.test(l) && !/^\s*import\s+type\b/.test(l))
          .join('\n');
        if (!NETWORK_API.test(code)) continue;
        seen.add(rel);
        if (!(rel in ALLOWED)) offenders.push(rel);
      }
    }
    assert.deepStrictEqual(offenders, [], `network API used outside the reviewed files: ${offenders.join(', ')}`);
    // The scan is not vacuous: it finds the known users.
    assert.deepStrictEqual([...seen].sort(), Object.keys(ALLOWED).sort());
  });
});
