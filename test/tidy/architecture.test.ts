// The structure ARCHITECTURE.md describes, checked so that it holds by itself: every source folder
// appears in the code map, and no import crosses a layer the wrong way. The layers, from the
// bottom: common (base helpers) <- protocol (messages, settings) <- engine <- server <- openai
// (the `serve --http` server) <- cli; models (catalogue, downloads) sits beside engine; the
// extension may use only protocol, models and common, never the engine, server or native code
// (a crash there must not take VS Code down); the webview only the protocol.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const root = path.join(__dirname, '..', '..', '..');

/** What each top-level folder of src/ may import from the others. */
const allowed: Record<string, string[]> = {
  common: [],
  protocol: ['common'],
  engine: ['common', 'protocol'],
  models: ['common'],
  server: ['common', 'protocol', 'engine'],
  openai: ['common', 'protocol', 'engine', 'server'],
  cli: ['common', 'protocol', 'engine', 'server', 'openai', 'models'],
  extension: ['common', 'protocol', 'models'],
};

/**
 * Imports that break the layering today, each with the reason and the way out. An entry that no
 * import uses anymore fails the test, so the list only shrinks. Empty since the remote client
 * moved to src/server/remote.
 */
const knownExceptions: Array<{ from: string; to: string; why: string }> = [];

function walk(dir: string, out: string[] = []): string[] {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.name.endsWith('.ts')) out.push(p);
  }
  return out;
}

function foldersUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (!e.isDirectory()) continue;
    const p = path.join(dir, e.name);
    out.push(path.relative(root, p), ...foldersUnder(p));
  }
  return out;
}

/** Relative imports (static, `import type`, re-exports and dynamic import()) of one file, resolved to repository paths. */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"](\.{1,2}\/[^'"]+)['"]/g)) {
    out.push(path.relative(root, path.resolve(path.dirname(file), m[1])));
  }
  return out;
}

function topFolder(repoPath: string): string | undefined {
  const parts = repoPath.split(path.sep);
  return parts[0] === 'src' && parts.length > 2 ? parts[1] : undefined;
}

describe('tidy: architecture', () => {
  it('ARCHITECTURE.md code map names every source folder', () => {
    const map = fs.readFileSync(path.join(root, 'ARCHITECTURE.md'), 'utf8');
    const folders = [
      ...foldersUnder(path.join(root, 'src')),
      ...fs
        .readdirSync(path.join(root, 'native', 'src'), { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => `native/src/${e.name}`),
      'webview',
      'bench',
      'scripts',
      'test',
    ];
    const missing = folders.map((f) => f.split(path.sep).join('/')).filter((f) => !map.includes(`\`${f}/\``));
    assert.deepStrictEqual(missing, [], 'folders missing from the code map (write them as `folder/`)');
  });

  it('names a layer for every top-level folder of src/', () => {
    const tops = fs
      .readdirSync(path.join(root, 'src'), { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
    assert.deepStrictEqual(
      tops.filter((t) => !(t in allowed)),
      [],
      'add the folder to `allowed` above, and to ARCHITECTURE.md',
    );
  });

  it('no import in src/ crosses a layer the wrong way', () => {
    const wrong: string[] = [];
    const used = new Set<string>();
    for (const file of walk(path.join(root, 'src'))) {
      const from = topFolder(path.relative(root, file))!;
      for (const target of importsOf(file)) {
        const to = topFolder(target);
        if (to === undefined || to === from) continue;
        if (allowed[from]?.includes(to)) continue;
        const exception = knownExceptions.find((e) => e.from === from && e.to === to);
        if (exception) {
          used.add(`${from}->${to}`);
          continue;
        }
        wrong.push(`${path.relative(root, file)} imports ${target} (${from} may import only ${allowed[from]?.join(', ') || 'nothing'})`);
      }
    }
    assert.deepStrictEqual(wrong, []);
    const stale = knownExceptions.filter((e) => !used.has(`${e.from}->${e.to}`)).map((e) => `${e.from}->${e.to}`);
    assert.deepStrictEqual(stale, [], 'these exceptions are no longer needed: remove them from knownExceptions');
  });

  it('names every source file in kebab-case', () => {
    const files = [...walk(path.join(root, 'src')), ...walk(path.join(root, 'webview'))].map((f) => path.relative(root, f));
    assert.deepStrictEqual(
      files.filter((f) => !/^[a-z0-9]+(-[a-z0-9]+)*(\.d)?\.ts$/.test(path.basename(f))),
      [],
    );
  });

  it('the webview imports nothing from src/ but the protocol', () => {
    const wrong: string[] = [];
    for (const file of walk(path.join(root, 'webview'))) {
      for (const target of importsOf(file)) {
        const rel = target.split(path.sep).join('/');
        if (rel.startsWith('webview/') || rel.startsWith('src/protocol/')) continue;
        wrong.push(`${path.relative(root, file)} imports ${rel}`);
      }
    }
    assert.deepStrictEqual(wrong, []);
  });

  it('finds imports of every form it checks (a regression guard for the parser above)', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tidy-'));
    const file = path.join(tmp, 'a.ts');
    fs.writeFileSync(
      file,
      "import { x } from './b';\nimport type { Y } from '../c';\nexport * from './d';\nconst m = await import('./e.js');\nimport './f';\n",
    );
    try {
      const names = importsOf(file).map((p) => path.basename(p));
      assert.deepStrictEqual(names, ['b', 'c', 'd', 'e.js', 'f']);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
