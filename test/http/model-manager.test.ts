// The extension's model manager (src/extension/models/model-manager.ts) with a fake `vscode` and a
// real HTTP mirror on 127.0.0.1 (QWEN_LOCAL_MODEL_MIRROR) serving a synthetic model file: the
// notification's progress text and bar, cancel then resume, a corrupted file, a missing file, the
// quick pick, and the model path being set only after a verified download.
import * as assert from 'assert';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import { AddressInfo } from 'net';
import * as os from 'os';
import * as path from 'path';
import type { CatalogModel } from '../../src/models/catalog';
import { MODEL_CATALOG } from '../../src/models/catalog';
import { FakeVscode, installFakeVscode } from './fake-vscode';

const SIZE = 3 * 1024 * 1024 + 5;

function content(): Buffer {
  const b = Buffer.alloc(SIZE);
  for (let i = 0; i < SIZE; i++) b[i] = (i * 2654435761) >>> 24;
  return b;
}

interface Mirror {
  url: string;
  ranges: Array<string | undefined>;
  chunkDelayMs: number;
  close(): Promise<void>;
}

/** Serves `body` at /Qwen/Test-GGUF/resolve/main/test.gguf (Range supported), 404 elsewhere. */
async function startMirror(body: Buffer): Promise<Mirror> {
  const mirror = { ranges: [] as Array<string | undefined>, chunkDelayMs: 0 };
  const server = http.createServer((req, res) => {
    if (req.url !== '/Qwen/Test-GGUF/resolve/main/test.gguf') {
      res.writeHead(404).end('not here');
      return;
    }
    mirror.ranges.push(req.headers.range);
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = m ? Number(m[1]) : 0;
    res.writeHead(m ? 206 : 200, {
      'content-length': body.length - start,
      ...(m ? { 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` } : {}),
    });
    let at = start;
    const pump = (): void => {
      if (res.destroyed) return;
      if (at >= body.length) {
        res.end();
        return;
      }
      const end = Math.min(at + 64 * 1024, body.length);
      res.write(body.subarray(at, end));
      at = end;
      setTimeout(pump, mirror.chunkDelayMs);
    };
    pump();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(mirror, {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}

function testModel(over: Partial<CatalogModel>): CatalogModel {
  return {
    id: 'test-model',
    name: 'Test Model',
    repo: 'Qwen/Test-GGUF',
    file: 'test.gguf',
    url: 'https://huggingface.co/Qwen/Test-GGUF/resolve/main/test.gguf',
    quant: 'q4_k_m',
    sizeBytes: SIZE,
    sizeApproximate: false,
    sha256: null,
    parameterCount: 1,
    contextLength: 32768,
    source: 'test',
    ...over,
  };
}

describe('models: the extension model manager (fake vscode, loopback mirror)', function () {
  this.timeout(60000);
  const body = content();
  const sha256 = createHash('sha256').update(body).digest('hex');
  let fake: FakeVscode;
  let uninstall: () => void;
  let mirror: Mirror;
  let storage: string;
  let manager: import('../../src/extension/models/model-manager').ModelManager;
  const logLines: string[] = [];
  const log = { info: (m: string) => logLines.push(m), warn: (m: string) => logLines.push(m), error: (m: string) => logLines.push(m) };

  before(() => {
    ({ fake, uninstall } = installFakeVscode());
  });
  after(() => uninstall());

  beforeEach(async () => {
    mirror = await startMirror(body);
    process.env.QWEN_LOCAL_MODEL_MIRROR = mirror.url;
    storage = fs.mkdtempSync(path.join(os.tmpdir(), 'qwen-ext-storage-'));
    fake.settings.clear();
    fake.info.length = 0;
    fake.errors.length = 0;
    fake.reports.length = 0;
    fake.onReport = () => undefined;
    // Loaded after the fake is installed: it imports 'vscode'.
    const { ModelManager } = await import('../../src/extension/models/model-manager.js');
    manager = new ModelManager(storage, log as never);
  });
  afterEach(async () => {
    manager.dispose();
    delete process.env.QWEN_LOCAL_MODEL_MIRROR;
    await mirror.close();
    fs.rmSync(storage, { recursive: true, force: true });
  });

  it('downloads with a progress notification, verifies, and makes the file the model in use', async () => {
    const result = await manager.download(testModel({ sha256 }));
    const expected = path.join(storage, 'models', 'test.gguf');
    assert.strictEqual(result, expected);
    assert.ok(fs.readFileSync(expected).equals(body));
    assert.strictEqual(fake.settings.get('modelPath'), expected);
    assert.deepStrictEqual(fake.info, ['Qwen Local: using Test Model.']);
    assert.deepStrictEqual(fake.progressTitles.slice(-1), ['Qwen Local: downloading Test Model']);
    const last = fake.reports[fake.reports.length - 1];
    assert.match(last.message ?? '', /^3\.1 MB of 3\.1 MB \(100%\)/);
    const total = fake.reports.reduce((sum, r) => sum + (r.increment ?? 0), 0);
    assert.ok(Math.abs(total - 100) < 1e-6, `the bar's increments add up to ${total}`);
  });

  it('keeps the partial file on Cancel and resumes it next time', async () => {
    mirror.chunkDelayMs = 15;
    fake.onReport = (r, cancel) => {
      if (/\((\d+)%\)/.test(r.message ?? '') && Number(/\((\d+)%\)/.exec(r.message!)![1]) >= 10) cancel();
    };
    assert.strictEqual(await manager.download(testModel({ sha256 })), undefined);
    assert.match(fake.info[0], /^Qwen Local: download of Test Model paused \([\d.]+ [kM]B kept\)\. Choose it again to resume\.$/);
    const part = path.join(storage, 'models', 'test.gguf.part');
    const kept = fs.statSync(part).size;
    assert.ok(kept > 0 && kept < SIZE, `${kept} bytes kept`);
    assert.strictEqual(fake.settings.has('modelPath'), false, 'a paused download is not used');

    mirror.chunkDelayMs = 0;
    fake.onReport = () => undefined;
    const done = await manager.download(testModel({ sha256 }));
    assert.strictEqual(done, path.join(storage, 'models', 'test.gguf'));
    assert.deepStrictEqual(mirror.ranges, [undefined, `bytes=${kept}-`]);
    assert.ok(fs.readFileSync(done).equals(body));
    assert.ok(
      logLines.some((l) => l.includes(`resumed at byte ${kept}`)),
      logLines.join('\n'),
    );
  });

  it('reports a corrupted download, deletes it, and leaves the model setting alone', async () => {
    const wrong = 'f'.repeat(64);
    let buttons: string[] = [];
    fake.pressButton = (_m, b) => {
      buttons = b;
      return undefined;
    };
    assert.strictEqual(await manager.download(testModel({ sha256: wrong })), undefined);
    await new Promise((r) => setImmediate(r));
    assert.strictEqual(fake.errors.length, 1);
    assert.match(fake.errors[0], new RegExp(`^Qwen Local: downloading Test Model failed: checksum mismatch: expected ${wrong} got ${sha256}`));
    assert.deepStrictEqual(buttons, ['Retry']);
    assert.deepStrictEqual(fs.readdirSync(path.join(storage, 'models')), []);
    assert.strictEqual(fake.settings.has('modelPath'), false);
  });

  it('says "not found" for a file the server does not have', async () => {
    assert.strictEqual(await manager.download(testModel({ file: 'missing.gguf' })), undefined);
    await new Promise((r) => setImmediate(r));
    assert.match(fake.errors[0], /failed: not found: http:\/\/127\.0\.0\.1:\d+\/Qwen\/Test-GGUF\/resolve\/main\/missing\.gguf$/);
  });

  it('notes when a model has no published checksum', async () => {
    await manager.download(testModel({ sha256: null }));
    assert.deepStrictEqual(fake.info, ['Qwen Local: using Test Model (checksum unknown — not verified).']);
  });

  it('offers the catalogue in the quick pick, and the download command refuses unknown ids', async () => {
    manager.register();
    let offered: Array<{ label: string; action: { kind: string } }> = [];
    fake.pickQuickPick = (items) => {
      offered = items as typeof offered;
      return undefined;
    };
    assert.strictEqual(await fake.commands.get('qwenLocal.chooseModel')!(), undefined);
    assert.strictEqual(offered.length, MODEL_CATALOG.length + 1);
    assert.ok(offered[0].label.startsWith('$(star-full) '), `the recommendation comes first: ${offered[0].label}`);
    assert.strictEqual(offered[offered.length - 1].action.kind, 'pickFile');

    assert.strictEqual(await fake.commands.get('qwenLocal.downloadModel')!('no-such-model'), undefined);
    assert.match(fake.errors[0], /no model 'no-such-model' in the catalogue \(known: qwen2\.5-coder-0\.5b-instruct-q4_k_m, /);
    assert.deepStrictEqual(mirror.ranges, [], 'nothing was downloaded');
  });
});
