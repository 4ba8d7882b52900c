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
    assert.deepStrictEqual(chunks.map((c) => c.definitions), [['first'], ['second'], ['third']]);
    assert.deepStrictEqual(chunks.map((c) => c.startLine), [1, 34, 67]);
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
    await index.build([{ root: ws, name: 'ws' }], {}, {
      pause: async () => {
        // Delete a listed file the build has not read yet.
        const indexed = new Set(index.files());
        const victim = names.find((n) => !indexed.has(n) && fs.existsSync(path.join(ws, n)));
        if (victim && deleted < 50) {
          fs.rmSync(path.join(ws, victim));
          deleted++;
        }
      },
    });
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

  it('ranks the chunk that declares a name above chunks that only use it', function () {
    const index = new LexicalIndex();
    index.setFile('use1.ts', 'import { computeTotal } from "../../unit/total";\nconst a = computeTotal(items);\nconst b = computeTotal(more);\nlog(computeTotal(x));');
    index.setFile('use2.ts', 'computeTotal(a); computeTotal(b); computeTotal(c);');
    index.setFile('total.ts', 'export function computeTotal(items: Item[]): number {\n  return items.reduce((s, i) => s + i.price, 0);\n}');
    assert.strictEqual(index.searchFiles('where is computeTotal defined?', 1)[0], 'total.ts');
    assert.strictEqual(index.searchFiles('sum of the item prices', 1)[0], 'total.ts');
  });
});
