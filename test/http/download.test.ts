// downloadModel against a real HTTP server on 127.0.0.1 serving a synthetic file: full download,
// resume after a dropped connection, a server that ignores Range, redirects, corruption, 404,
// cancellation and the disk-space check. Nothing here touches the internet.
import * as assert from 'assert';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import { AddressInfo } from 'net';
import * as os from 'os';
import * as path from 'path';
import { CHECKSUM_UNKNOWN_NOTE, downloadModel, DownloadSpec } from '../../src/models/download';

const FILE_BYTES = 3 * 1024 * 1024 + 123; // not a multiple of any chunk size

/** Deterministic pseudo-random content, so a wrong offset changes the digest. */
function syntheticFile(n: number): Buffer {
  const b = Buffer.alloc(n);
  let x = 0x12345678;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

interface ServerBehaviour {
  honourRange: boolean;
  /** Close the socket after this many body bytes (once), simulating a dropped connection. */
  dropAfter: number | null;
  /** Flip one byte in what is served. */
  corrupt: boolean;
  /** Delay between 64 KiB chunks, in ms (for cancellation). */
  chunkDelayMs: number;
}

interface TestServer {
  url: string;
  behaviour: ServerBehaviour;
  rangesSeen: Array<string | undefined>;
  close(): Promise<void>;
}

async function startFileServer(content: Buffer): Promise<TestServer> {
  const behaviour: ServerBehaviour = { honourRange: true, dropAfter: null, corrupt: false, chunkDelayMs: 0 };
  const rangesSeen: Array<string | undefined> = [];
  const server = http.createServer((req, res) => {
    if (req.url === '/redirect/model.gguf') {
      res.writeHead(302, { location: '/files/model.gguf' });
      res.end();
      return;
    }
    if (req.url !== '/files/model.gguf') {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('no such file');
      return;
    }
    rangesSeen.push(req.headers.range);
    let body = content;
    if (behaviour.corrupt) {
      body = Buffer.from(content);
      body[body.length >> 1] ^= 0xff;
    }
    let start = 0;
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (m && behaviour.honourRange) {
      start = Number(m[1]);
      if (start >= body.length) {
        res.writeHead(416, { 'content-range': `bytes */${body.length}` });
        res.end();
        return;
      }
      res.writeHead(206, { 'content-length': body.length - start, 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` });
    } else {
      res.writeHead(200, { 'content-length': body.length });
    }
    const drop = behaviour.dropAfter;
    behaviour.dropAfter = null;
    let offset = start;
    const CHUNK = 64 * 1024;
    const pump = (): void => {
      while (offset < body.length) {
        const end = Math.min(offset + CHUNK, body.length);
        if (drop !== null && end - start > drop) {
          res.write(body.subarray(offset, start + drop), () => res.socket?.destroy());
          return;
        }
        const ok = res.write(body.subarray(offset, end));
        offset = end;
        if (behaviour.chunkDelayMs > 0) {
          setTimeout(pump, behaviour.chunkDelayMs);
          return;
        }
        if (!ok) {
          res.once('drain', pump);
          return;
        }
      }
      res.end();
    };
    pump();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    behaviour,
    rangesSeen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const plentyOfSpace = async (): Promise<{ freeBytes: number }> => ({ freeBytes: 1e12 });

describe('models: downloadModel over loopback HTTP', function () {
  this.timeout(30000);
  const content = syntheticFile(FILE_BYTES);
  const digest = createHash('sha256').update(content).digest('hex');
  let server: TestServer;
  let dir: string;

  const spec = (over: Partial<DownloadSpec> = {}): DownloadSpec => ({
    url: `${server.url}/files/model.gguf`,
    sha256: digest,
    size: FILE_BYTES,
    ...over,
  });

  beforeEach(async () => {
    server = await startFileServer(content);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qwen-dl-'));
  });
  afterEach(async () => {
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('downloads the whole file, verifies sha256 and renames it into place', async () => {
    const reports: number[][] = [];
    const r = await downloadModel(spec(), dir, { statfs: plentyOfSpace, onProgress: (...a) => reports.push(a) });
    assert.strictEqual(r.path, path.join(dir, 'model.gguf'));
    assert.ok(fs.readFileSync(r.path).equals(content), 'file content differs from what was served');
    assert.strictEqual(r.sha256, digest);
    assert.strictEqual(r.verified, true);
    assert.strictEqual(r.note, null);
    assert.ok(!fs.existsSync(`${r.path}.part`), '.part left behind');
    assert.deepStrictEqual(server.rangesSeen, [undefined]);
    const last = reports[reports.length - 1];
    assert.strictEqual(last[0], FILE_BYTES);
    assert.strictEqual(last[1], FILE_BYTES);
    assert.strictEqual(last[3], 0, 'eta at the end should be 0');
  });

  it('resumes after the server drops the connection midway, with a Range request', async () => {
    const half = 1024 * 1024 + 77;
    server.behaviour.dropAfter = half;
    await assert.rejects(downloadModel(spec(), dir, { statfs: plentyOfSpace }), /interrupted|ended after/);
    const part = path.join(dir, 'model.gguf.part');
    // fetch may drop chunks it had buffered when the connection breaks, so the part holds a
    // prefix of what was sent: never more, and (with 1 MiB sent) certainly something.
    const kept = fs.statSync(part).size;
    assert.ok(kept > 0 && kept <= half, `the partial file holds ${kept} bytes; the server sent ${half}`);
    assert.ok(fs.readFileSync(part).equals(content.subarray(0, kept)), 'the partial file is a prefix of the real file');

    const r = await downloadModel(spec(), dir, { statfs: plentyOfSpace });
    assert.deepStrictEqual(server.rangesSeen, [undefined, `bytes=${kept}-`]);
    assert.strictEqual(r.resumedFrom, kept);
    assert.strictEqual(r.sha256, digest);
    assert.ok(fs.readFileSync(r.path).equals(content));
  });

  it('restarts cleanly when the server ignores Range (200 instead of 206)', async () => {
    // A stale part whose bytes are wrong: if it were appended to, the digest would not match.
    fs.writeFileSync(path.join(dir, 'model.gguf.part'), Buffer.alloc(5000, 0xaa));
    server.behaviour.honourRange = false;
    const r = await downloadModel(spec(), dir, { statfs: plentyOfSpace });
    assert.deepStrictEqual(server.rangesSeen, ['bytes=5000-']);
    assert.strictEqual(r.resumedFrom, 0);
    assert.strictEqual(r.sha256, digest);
    assert.strictEqual(fs.statSync(r.path).size, FILE_BYTES);
  });

  it('follows redirects (as Hugging Face does to its CDN)', async () => {
    const r = await downloadModel(spec({ url: `${server.url}/redirect/model.gguf` }), dir, { statfs: plentyOfSpace });
    assert.strictEqual(r.sha256, digest);
    assert.strictEqual(path.basename(r.path), 'model.gguf');
  });

  it('reports a checksum mismatch on corrupted data and leaves no file behind', async () => {
    server.behaviour.corrupt = true;
    await assert.rejects(downloadModel(spec(), dir, { statfs: plentyOfSpace }), (e: Error) => {
      assert.match(e.message, new RegExp(`checksum mismatch: expected ${digest} got [0-9a-f]{64}`));
      return true;
    });
    assert.deepStrictEqual(fs.readdirSync(dir), [], 'neither the file nor its .part should remain');
  });

  it('says "checksum unknown — not verified" when no sha256 is known', async () => {
    const r = await downloadModel(spec({ sha256: null }), dir, { statfs: plentyOfSpace });
    assert.strictEqual(r.verified, false);
    assert.strictEqual(r.note, CHECKSUM_UNKNOWN_NOTE);
    assert.strictEqual(r.sha256, digest, 'the digest is still computed and returned');
  });

  it('answers 404 with "not found: URL"', async () => {
    const url = `${server.url}/files/missing.gguf`;
    await assert.rejects(downloadModel(spec({ url }), dir, { statfs: plentyOfSpace }), { message: `not found: ${url}` });
    assert.deepStrictEqual(fs.readdirSync(dir), []);
  });

  it('keeps the .part on cancellation, and a later call resumes from it', async () => {
    server.behaviour.chunkDelayMs = 20;
    const controller = new AbortController();
    let seen = 0;
    const run = downloadModel(spec(), dir, {
      statfs: plentyOfSpace,
      signal: controller.signal,
      onProgress: (bytes) => {
        seen = bytes;
        if (bytes >= 256 * 1024) controller.abort();
      },
    });
    await assert.rejects(run, (e: Error) => e.name === 'AbortError' && /partial file is kept/.test(e.message));
    const partSize = fs.statSync(path.join(dir, 'model.gguf.part')).size;
    assert.ok(partSize >= 256 * 1024 && partSize < FILE_BYTES, `part has ${partSize} bytes (progress said ${seen})`);

    server.behaviour.chunkDelayMs = 0;
    const r = await downloadModel(spec(), dir, { statfs: plentyOfSpace });
    assert.strictEqual(r.resumedFrom, partSize);
    assert.strictEqual(r.sha256, digest);
  });

  it('refuses to start when the disk is too full, before any request', async () => {
    const statfs = async (): Promise<{ freeBytes: number }> => ({ freeBytes: 1024 * 1024 });
    await assert.rejects(downloadModel(spec(), dir, { statfs }), /not enough disk space in .*model\.gguf needs \d+ bytes free, only 1048576 available/);
    assert.deepStrictEqual(server.rangesSeen, [], 'no request should have been made');
  });

  it('checks free space with the real file system (statfs) by default', async () => {
    // Asking to keep a petabyte free cannot be satisfied on any disk: refused before any request.
    await assert.rejects(downloadModel(spec(), dir, { reserveBytes: 1e15 }), /not enough disk space in .* only \d+ available/);
    assert.deepStrictEqual(server.rangesSeen, []);
    // The default reserve (64 MiB) leaves room for a 3 MB file on the test machine's disk.
    const r = await downloadModel(spec(), dir);
    assert.strictEqual(r.sha256, digest);
  });

  it('refuses plain http to a non-loopback host and malformed checksums', async () => {
    await assert.rejects(downloadModel(spec({ url: 'http://example.com/model.gguf' }), dir), /only https/);
    await assert.rejects(downloadModel(spec({ sha256: 'abc' }), dir), /64 lower-case hex/);
  });

  it('checks an already downloaded file instead of fetching it again', async () => {
    await downloadModel(spec(), dir, { statfs: plentyOfSpace });
    const again = await downloadModel(spec(), dir, { statfs: plentyOfSpace });
    assert.strictEqual(again.alreadyPresent, true);
    assert.strictEqual(server.rangesSeen.length, 1);
  });
});
