// The workspace index on a workspace made for each test in a temporary folder: what it reads and
// skips (.gitignore at any depth, files.exclude, symbolic links, binary and huge files, files that
// vanish), incremental updates, the size limit, chunking and identifier-aware ranking.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { chunkText } from '../../../src/server/workspace-index/chunker';
import { readIndexableFile } from '../../../src/server/workspace-index/file-reader';
import { LexicalIndex } from '../../../src/server/workspace-index/lexical-index';
import { forEachTerm } from '../../../src/server/workspace-index/terms';
import { WorkspaceIndex } from '../../../src/server/workspace-index/workspace-index';

function write(root: string, rel: string, text: string | Buffer): string {
  const file = path.join(root, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
}

describe('workspace index', function () {
  let tmp: string;
  let ws: string;

  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'qwen-index-'));
    ws = path.join(tmp, 'ws');
    fs.mkdirSync(ws);
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('splits identifiers into words: camelCase, PascalCase, snake_case, acronyms', function () {
    const terms: string[] = [];
    forEachTerm('parseHTMLString MAX_RETRY_COUNT the_value x', (t) => terms.push(t));
    assert.deepStrictEqual(terms, ['parsehtmlstring', 'parse', 'html', 'string', 'max_retry_count', 'max', 'retry', 'count', 'the_value', 'value']);
  });

  it('chunks at declarations and blank lines, keeping functions whole', function () {
    const fn = (name: string, body: number) => [`export function ${name}() {`, ...Array.from({ length: body }, (_, i) => `  step${i}();`), '}', ''];
    const text = [...fn('first', 30), ...fn('second', 30), ...fn('third', 30)].join('\n');
    const chunks = chunkText(text, { targetLines: 20, maxLines: 80, maxChars: 100_000 });
    assert.deepStrictEqual(
      chunks.map((c) => c.definitions),
      [['first'], ['second'], ['third']],
    );
    assert.deepStrictEqual(
      chunks.map((c) => c.startLine),
      [1, 34, 67],
    );
    // A long run with no seam is still cut at the size limit.
    const long = chunkText(Array.from({ length: 500 }, (_, i) => `x${i}();`).join('\n'), { targetLines: 20, maxLines: 80, maxChars: 100_000 });
    assert.ok(long.length >= 6 && long.every((c) => c.endLine - c.startLine < 80));
  });

  it('honours .gitignore at every depth and files.exclude, never reads .git', async function () {
    write(ws, '.gitignore', 'build/\n*.log\n');
    write(ws, 'src/a.ts', 'export const alpha = 1;');
    write(ws, 'src/.gitignore', 'generated.ts\n');
    write(ws, 'src/generated.ts', 'export const gen = 1;');
    write(ws, 'src/deep/b.ts', 'export const beta = 2;');
    write(ws, 'build/out.js', 'var built = 1;');
    write(ws, 'debug.log', 'log line');
    write(ws, 'vendor/lib.js', 'var vendored = 1;');
    write(ws, '.git/config', '[core]');
    write(ws, 'notes/keep.md', '# notes');
    const index = new WorkspaceIndex();
    await index.build([{ root: ws, name: 'ws' }], { '**/vendor': true, '**/*.md': false });
    assert.deepStrictEqual(index.files().sort(), ['.gitignore', 'notes/keep.md', 'src/.gitignore', 'src/a.ts', 'src/deep/b.ts']);
  });

  it('never follows symbolic links out of the workspace; links inside it are read', async function () {
    const outside = write(tmp, 'secret/key.txt', 'TOP SECRET outsideword');
    write(ws, 'inside.ts', 'export const insideword = 1;');
    fs.symlinkSync(outside, path.join(ws, 'link-out.txt'));
    fs.symlinkSync(path.join(tmp, 'secret'), path.join(ws, 'linked-dir'));
    fs.symlinkSync(path.join(ws, 'inside.ts'), path.join(ws, 'link-in.ts'));
    fs.symlinkSync(ws, path.join(ws, 'loop'));
    const index = new WorkspaceIndex();
    await index.build([{ root: ws, name: 'ws' }], {});
    assert.deepStrictEqual(index.files().sort(), ['inside.ts', 'link-in.ts']);
    // The file link out, the folder link out and the link back to the workspace root.
    assert.strictEqual(index.counts.skipped.outside, 3);
    assert.strictEqual(index.search('outsideword', 5).length, 0);
  });

  it('reads nothing under a linked folder that leads out, even when a save there is reported', async function () {
    const outside = write(tmp, 'secret/key.ts', 'export const outsideword = 1;');
    write(ws, 'inside.ts', 'export const insideword = 1;');
    fs.symlinkSync(path.join(tmp, 'secret'), path.join(ws, 'linked-dir'));
    const index = new WorkspaceIndex();
    await index.build([{ root: ws, name: 'ws' }], {});
    // The editor's file watcher may report the file by its path through the link.
    fs.appendFileSync(outside, 'export const savedword = 2;\n');
    assert.strictEqual(await index.updateFile(path.join(ws, 'linked-dir', 'key.ts')), false);
    assert.deepStrictEqual(index.files(), ['inside.ts']);
    assert.strictEqual(index.search('outsideword savedword', 5).length, 0);
    assert.deepStrictEqual(await readIndexableFile(ws, path.join(ws, 'linked-dir', 'key.ts'), 1000), { ok: false, reason: 'outside' });
  });

  it('indexes what a file holds when it is read, after it changed since the listing', async function () {
    const names = Array.from({ length: 20 }, (_, i) => `src/f${String(i).padStart(2, '0')}.ts`);
    for (const n of names) write(ws, n, 'export const staleword = 0;\n');
    const index = new WorkspaceIndex();
    let rewritten = 0;
    await index.build(
      [{ root: ws, name: 'ws' }],
      {},
      {
        pause: async () => {
          // Rewrite (longer, then shorter) files the walk has listed but the build has not read yet.
          const indexed = new Set(index.files());
          for (const n of names.filter((x) => !indexed.has(x)).slice(0, 2)) {
            fs.writeFileSync(path.join(ws, n), rewritten++ % 2 === 0 ? `export const freshword = 1;\n${'// padding\n'.repeat(50)}` : 'fresh\n');
          }
        },
      },
    );
    assert.ok(rewritten >= 10, `only ${rewritten} files were rewritten during the build`);
    assert.strictEqual(index.counts.files, names.length);
    for (const n of index.lexical.searchFiles('staleword', 50)) {
      assert.strictEqual(fs.readFileSync(path.join(ws, n), 'utf8'), 'export const staleword = 0;\n', `${n} was indexed with its old text`);
    }
    let bytes = 0;
    for (const n of names) bytes += fs.statSync(path.join(ws, n)).size;
    assert.strictEqual(index.counts.bytes, bytes, 'the byte count is what was read, not what was listed');
  });

  it('skips binary and huge files and counts why', async function () {
    write(ws, 'ok.ts', 'export const fine = 1;');
    write(ws, 'image.png', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 13]));
    write(ws, 'big.json', 'x'.repeat(2000));
    const index = new WorkspaceIndex({ maxFileBytes: 1000, maxFiles: 100, maxTotalBytes: 1e6 });
    await index.build([{ root: ws, name: 'ws' }], {});
    assert.deepStrictEqual(index.files(), ['ok.ts']);
    assert.strictEqual(index.counts.skipped.binary, 1);
    assert.strictEqual(index.counts.skipped.tooLarge, 1);
  });

  it('survives files that vanish or turn into folders between listing and reading', async function () {
    const gone = write(ws, 'gone.ts', 'x');
    assert.deepStrictEqual(await readIndexableFile(ws, path.join(ws, 'never-there.ts'), 1000), { ok: false, reason: 'vanished' });
    fs.rmSync(gone);
    fs.mkdirSync(gone);
    const result = await readIndexableFile(ws, gone, 1000);
    assert.ok(!result.ok && result.reason === 'notAFile', JSON.stringify(result));
    // A build while files are deleted under it finishes and indexes what is left.
    const names = Array.from({ length: 200 }, (_, i) => `many/f${i}.ts`);
    for (const [i, n] of names.entries()) write(ws, n, `export const value${i} = ${i};`);
    const index = new WorkspaceIndex();
    let deleted = 0;
    await index.build(
      [{ root: ws, name: 'ws' }],
      {},
      {
        pause: async () => {
          // Delete a listed file the build has not read yet.
          const indexed = new Set(index.files());
          const victim = names.find((n) => !indexed.has(n) && fs.existsSync(path.join(ws, n)));
          if (victim && deleted < 50) {
            fs.rmSync(path.join(ws, victim));
            deleted++;
          }
        },
      },
    );
    assert.strictEqual(deleted, 50);
    assert.strictEqual(index.counts.skipped.vanished, 50);
    assert.strictEqual(index.counts.files, 150);
    for (const f of index.files()) assert.ok(fs.existsSync(path.join(ws, f)), `${f} was indexed after it was deleted`);
  });

  it('updates incrementally on save, create and delete', async function () {
    const a = write(ws, 'src/a.ts', 'export function vanishingWidget() {}');
    const index = new WorkspaceIndex();
    await index.build([{ root: ws, name: 'ws' }], { '**/*.tmp': true });
    assert.deepStrictEqual(index.lexical.searchFiles('vanishingWidget', 3), ['src/a.ts']);
    fs.writeFileSync(a, 'export function renamedGadget() {}');
    assert.ok(await index.updateFile(a));
    assert.deepStrictEqual(index.lexical.searchFiles('vanishingWidget', 3), []);
    assert.deepStrictEqual(index.lexical.searchFiles('renamedGadget', 3), ['src/a.ts']);
    const b = write(ws, 'src/sub/b.ts', 'export function created() {}');
    assert.ok(await index.updateFile(b));
    assert.ok(!(await index.updateFile(write(ws, 'src/c.tmp', 'excluded'))), 'files.exclude applies to new files');
    assert.deepStrictEqual(index.lexical.searchFiles('created', 3), ['src/sub/b.ts']);
    fs.rmSync(path.join(ws, 'src', 'sub'), { recursive: true });
    assert.strictEqual(index.removePath(path.join(ws, 'src', 'sub')), 1, 'deleting a folder drops the files under it');
    assert.deepStrictEqual(index.files(), ['src/a.ts']);
    assert.ok(index.changesRules(path.join(ws, '.gitignore')));
  });

  it('stops at the size limit and says how many files it left out', async function () {
    for (let i = 0; i < 30; i++) write(ws, `f${String(i).padStart(2, '0')}.ts`, `export const v${i} = ${i};`);
    const index = new WorkspaceIndex({ maxFileBytes: 1000, maxFiles: 10, maxTotalBytes: 1e6 });
    await index.build([{ root: ws, name: 'ws' }], {});
    assert.strictEqual(index.counts.files, 10);
    assert.strictEqual(index.counts.overLimit, 20);
    assert.ok(index.limitReached);
  });

  it('indexes a large file in steps during the build, giving the event loop back', async function () {
    const fn = (i: number) => `export function handler${i}(request: Request): Response {\n  return respond(request, ${i});\n}\n\n`;
    write(ws, 'big.ts', Array.from({ length: 8000 }, (_, i) => fn(i)).join(''));
    write(ws, 'small.ts', fn(-1));
    const index = new WorkspaceIndex();
    let pauses = 0;
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    try {
      await index.build([{ root: ws, name: 'ws' }], {}, { pause: async () => void pauses++ });
    } finally {
      clearInterval(timer);
    }
    assert.ok(pauses > 4, `the build paused ${pauses} times for 2 files, one of them large`);
    assert.ok(ticks > 2, `a 1 ms timer ran ${ticks} times while a large file was indexed`);
    assert.deepStrictEqual(index.lexical.searchFiles('where is handler7777 defined?', 1), ['big.ts']);
    // The same chunks as adding it in one go.
    const whole = new LexicalIndex();
    whole.setFile('big.ts', fs.readFileSync(path.join(ws, 'big.ts'), 'utf8'));
    const stepped = new LexicalIndex();
    let steps = 0;
    await stepped.setFileInSteps('big.ts', fs.readFileSync(path.join(ws, 'big.ts'), 'utf8'), async () => void steps++, 0);
    assert.strictEqual(stepped.chunkCount, whole.chunkCount);
    assert.strictEqual(steps, stepped.chunkCount + 1, 'with no budget it steps after chunking and after every chunk');
    assert.deepStrictEqual(
      stepped.search('respond request 4242', 3).map((h) => h.chunk.startLine),
      whole.search('respond request 4242', 3).map((h) => h.chunk.startLine),
    );
  });

  it('ranks the chunk that declares a name above chunks that only use it', function () {
    const index = new LexicalIndex();
    index.setFile(
      'use1.ts',
      'import { computeTotal } from "../../unit/total";\nconst a = computeTotal(items);\nconst b = computeTotal(more);\nlog(computeTotal(x));',
    );
    index.setFile('use2.ts', 'computeTotal(a); computeTotal(b); computeTotal(c);');
    index.setFile('total.ts', 'export function computeTotal(items: Item[]): number {\n  return items.reduce((s, i) => s + i.price, 0);\n}');
    assert.strictEqual(index.searchFiles('where is computeTotal defined?', 1)[0], 'total.ts');
    assert.strictEqual(index.searchFiles('sum of the item prices', 1)[0], 'total.ts');
  });
});
