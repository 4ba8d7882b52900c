// The language server's side of the workspace index (IndexService) on a temporary workspace: the
// build reports progress in the editor and its state to the client, holds back while a completion
// uses the engine, tells the user once when the index is full (and says so in its status), and
// keeps up with saves, creations and deletions.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { pathToFileURL } from 'url';
import type { IndexStatus } from '../../../src/protocol/workspace';
import { IndexService, IndexServiceDeps } from '../../../src/server/workspace-index/index-service';

interface Recorded {
  statuses: IndexStatus[];
  progress: string[];
  warnings: string[];
}

function service(ws: string, overrides: Partial<IndexServiceDeps> = {}): { svc: IndexService; rec: Recorded } {
  const rec: Recorded = { statuses: [], progress: [], warnings: [] };
  const svc = new IndexService({
    notify: (s) => rec.statuses.push(s),
    startProgress: async (title) => {
      rec.progress.push(`begin ${title}`);
      return { report: (m) => rec.progress.push(`report ${m}`), done: () => rec.progress.push('done') };
    },
    engineBusy: () => false,
    log: () => undefined,
    warn: (m) => rec.warnings.push(m),
    settingsWaitMs: 0,
    ...overrides,
  });
  svc.setFolders([{ uri: pathToFileURL(ws).toString(), name: 'ws' }]);
  return { svc, rec };
}

describe('workspace index service', function () {
  let ws: string;

  beforeEach(() => {
    ws = fs.mkdtempSync(path.join(os.tmpdir(), 'qwen-index-svc-'));
    for (let i = 0; i < 60; i++) {
      const file = path.join(ws, 'src', `m${String(i).padStart(2, '0')}.ts`);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, `export function helper${i}() { return ${i}; }\n`);
    }
  });
  afterEach(() => fs.rmSync(ws, { recursive: true, force: true }));

  it('reports progress in the editor and its state from building to ready', async function () {
    const { svc, rec } = service(ws);
    await svc.rebuild();
    assert.strictEqual(rec.progress[0], 'begin Qwen Local: indexing the workspace');
    assert.ok(
      rec.progress.some((p) => /^report \d+ files$/.test(p)),
      `no progress reports: ${JSON.stringify(rec.progress)}`,
    );
    assert.strictEqual(rec.progress[rec.progress.length - 1], 'done', 'the progress ends');
    assert.strictEqual(rec.statuses[0].state, 'building');
    const last = rec.statuses[rec.statuses.length - 1];
    assert.deepStrictEqual({ state: last.state, files: last.files }, { state: 'ready', files: 60 });
    assert.strictEqual(last.notice, undefined, 'no notice while under the limit');
    assert.deepStrictEqual(rec.warnings, []);
  });

  it('holds the build back while a completion uses the engine', async function () {
    let busy = true;
    const { svc } = service(ws, { engineBusy: () => busy });
    const done = svc.rebuild();
    await new Promise((r) => setTimeout(r, 300));
    // The service waits up to 1 s per file while the engine is busy: at most one file so far.
    assert.ok(svc.status.files <= 1, `${svc.status.files} files were indexed while a completion ran`);
    assert.strictEqual(svc.status.state, 'building');
    busy = false;
    await done;
    assert.strictEqual(svc.status.files, 60);
  });

  it('says clearly when the index is full, and warns the user once', async function () {
    const { svc, rec } = service(ws, { limits: { maxFileBytes: 10_000, maxFiles: 25, maxTotalBytes: 1e9 } });
    await svc.rebuild();
    const status = svc.status;
    assert.strictEqual(status.files, 25);
    assert.match(status.notice ?? '', /index is full \(25 files or 1000 MB\): 35 files were left out\. Exclude generated folders/);
    assert.deepStrictEqual(rec.warnings, [`Qwen Local: ${status.notice}`]);
    await svc.rebuild();
    assert.strictEqual(rec.warnings.length, 1, 'the warning is shown once, not on every rebuild');
    // A search carries the notice, so an @workspace answer can repeat it.
    assert.strictEqual(svc.search('helper3', 3).status.notice, status.notice);
  });

  it('keeps up with saves, creations and deletions', async function () {
    const { svc } = service(ws);
    await svc.rebuild();
    const created = path.join(ws, 'src', 'tax.ts');
    fs.writeFileSync(created, 'export function applyRegionalTax(x: number) { return x * 1.2; }\n');
    await svc.onFilesChanged([{ uri: pathToFileURL(created).toString(), type: 'created' }]);
    assert.strictEqual(svc.search('applyRegionalTax', 1).hits[0]?.path, 'src/tax.ts');
    fs.writeFileSync(created, 'export function applyFlatFee(x: number) { return x + 1; }\n');
    await svc.onFilesChanged([{ uri: pathToFileURL(created).toString(), type: 'changed' }]);
    assert.deepStrictEqual(
      svc.search('applyRegionalTax', 5).hits.filter((h) => h.text.includes('applyRegionalTax')),
      [],
      'the old text is gone',
    );
    assert.strictEqual(svc.search('applyFlatFee', 1).hits[0]?.path, 'src/tax.ts');
    fs.rmSync(created);
    await svc.onFilesChanged([{ uri: pathToFileURL(created).toString(), type: 'deleted' }]);
    assert.strictEqual(svc.status.files, 60);
    assert.deepStrictEqual(
      svc.search('applyFlatFee', 5).hits.filter((h) => h.path === 'src/tax.ts'),
      [],
    );
  });
});
