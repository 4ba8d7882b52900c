// What the packaged .vsix holds: everything the extension needs at run time (the bundled extension
// and server, the webview page, the compiled addon, the grammars and icons the manifest names) and
// nothing else: no sources, tests, node_modules, source maps or build folders.
import * as assert from 'assert';
import * as crypto from 'crypto';
import * as fs from 'fs';
import { builtinModules } from 'module';
import * as path from 'path';
import { repoRoot } from './code-server';
import { packagedVsix, VsixEntry, vsixEntries, vsixFile } from './vsix';

/** Everything in the archive lives under these (vsce puts the extension's files under extension/). */
const allowedTopLevel = ['[Content_Types].xml', 'extension.vsixmanifest'];
const allowedInExtension = [
  /^package\.json$/,
  /^readme\.md$/i,
  /^changelog\.md$/i,
  /^license(\.txt|\.md)?$/i,
  /^dist\/(extension|server)\.js$/,
  /^dist\/native\/qwen_native\.node$/,
  /^dist\/webview\/chat\.(js|css)$/,
  /^media\/[\w.-]+\.(svg|png)$/,
  /^syntaxes\/[\w.-]+\.tmLanguage\.json$/,
];

/** Relative file paths the manifest points at (main, icons, grammars, ...), found by walking it. */
function manifestFiles(manifest: unknown): string[] {
  const found = new Set<string>();
  const walk = (v: unknown) => {
    if (typeof v === 'string') {
      const m = /^(?:\.\/)?((?:dist|media|syntaxes)\/[^\s*]+\.\w+)$/.exec(v);
      if (m) found.add(m[1]);
    } else if (Array.isArray(v)) {
      v.forEach(walk);
    } else if (v && typeof v === 'object') {
      Object.values(v).forEach(walk);
    }
  };
  walk(manifest);
  return [...found].sort();
}

/**
 * Bare module names a bundle loads with require("..."): anything not relative. Comment lines are
 * skipped (bundled libraries mention require('x') in their docs); esbuild keeps comments on
 * their own lines, so a line-based filter is enough here.
 */
function bareRequires(source: string): Set<string> {
  const names = new Set<string>();
  const code = source
    .split('\n')
    .filter((line) => !/^\s*(\/\/|\/\*|\*)/.test(line))
    .join('\n');
  for (const m of code.matchAll(/\brequire\(\s*["']([^"'./][^"']*)["']\s*\)/g)) names.add(m[1]);
  return names;
}

describe('packaging: the .vsix', function () {
  this.timeout(5 * 60_000);
  let vsix: string;
  let entries: VsixEntry[];
  let files: Map<string, number>;

  before(async () => {
    vsix = await packagedVsix();
    entries = await vsixEntries(vsix);
    files = new Map(entries.filter((e) => e.name.startsWith('extension/')).map((e) => [e.name.slice('extension/'.length), e.size]));
  });

  it('holds the bundles, the addon, the webview, the manifest and every file the manifest names', async () => {
    const manifest = JSON.parse((await vsixFile(vsix, 'extension/package.json')).toString('utf8'));
    const named = manifestFiles(manifest);
    assert.ok(named.includes('dist/extension.js'), `the manifest's main should be dist/extension.js (found ${JSON.stringify(named)})`);
    assert.ok(
      named.some((f) => f.startsWith('syntaxes/')) && named.some((f) => f.startsWith('media/')),
      `the manifest should name grammars and icons; it names ${JSON.stringify(named)}`,
    );
    for (const f of [...named, 'dist/server.js', 'dist/native/qwen_native.node', 'dist/webview/chat.js', 'dist/webview/chat.css']) {
      assert.ok((files.get(f) ?? 0) > 0, `${f} (named by the manifest or loaded at run time) is missing or empty in ${vsix}`);
    }
  });

  it('holds nothing else: no sources, tests, node_modules, source maps or build output', () => {
    const unexpected = entries
      .map((e) => e.name)
      .filter((name) => {
        if (allowedTopLevel.includes(name)) return false;
        if (!name.startsWith('extension/')) return true;
        const rel = name.slice('extension/'.length);
        return !allowedInExtension.some((re) => re.test(rel));
      });
    assert.deepStrictEqual(unexpected, [], `unexpected files in ${vsix}`);
    const total = entries.reduce((sum, e) => sum + e.size, 0);
    // The addon is ~6 MB and the bundles ~2 MB; much more means something big slipped in.
    assert.ok(total < 20 * 1024 * 1024, `the unpacked extension is ${(total / 1048576).toFixed(1)} MiB`);
  });

  it('carries the addon built in this tree, as a linux-x64 ELF shared object, for the linux-x64 target', async () => {
    const addon = await vsixFile(vsix, 'extension/dist/native/qwen_native.node');
    // ELF magic, 64-bit class, little endian, e_machine 62 (x86-64).
    assert.deepStrictEqual([...addon.subarray(0, 4)], [0x7f, 0x45, 0x4c, 0x46], 'the addon is not an ELF file');
    assert.strictEqual(addon[4], 2, 'the addon is not a 64-bit ELF');
    assert.strictEqual(addon.readUInt16LE(18), 62, 'the addon is not built for x86-64');
    const built = path.join(repoRoot, 'build', 'native', 'Release', 'qwen_native.node');
    if (!process.env.QWEN_E2E_VSIX) {
      const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');
      assert.strictEqual(sha(addon), sha(fs.readFileSync(built)), `the packaged addon differs from ${built}`);
    }
    const vsixManifest = (await vsixFile(vsix, 'extension.vsixmanifest')).toString('utf8');
    assert.match(vsixManifest, /TargetPlatform="linux-x64"/, 'the .vsix should be a linux-x64 platform package');
  });

  it('ships self-contained bundles: only Node built-ins (and vscode in the extension host) are required', async () => {
    const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
    const expectations: [string, Set<string>][] = [
      ['dist/extension.js', new Set(['vscode'])],
      ['dist/server.js', new Set()],
      ['dist/webview/chat.js', new Set()],
    ];
    for (const [file, allowedExtra] of expectations) {
      const source = (await vsixFile(vsix, `extension/${file}`)).toString('utf8');
      const missing = [...bareRequires(source)].filter((name) => !builtins.has(name) && !allowedExtra.has(name));
      assert.deepStrictEqual(missing, [], `${file} requires modules that are not in the .vsix`);
    }
    const webview = (await vsixFile(vsix, 'extension/dist/webview/chat.js')).toString('utf8');
    assert.strictEqual(bareRequires(webview).size, 0, 'the webview bundle must not require anything (it runs in a browser)');
  });
});
