// Architecture invariants checked on the real esbuild output (its metafile lists every source that
// went into a bundle): the extension host bundle never contains the engine, the server or the
// native addon (a native crash must not be able to take VS Code down), and the chat page bundle
// contains nothing from Node or vscode, only the page and its three rendering libraries.
import * as assert from 'assert';
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const root = path.resolve(__dirname, '..', '..', '..');

function inputsOf(bundle: string): string[] {
  const meta = JSON.parse(fs.readFileSync(path.join(root, 'build', 'bundles', `${bundle}.meta.json`), 'utf8'));
  return Object.keys(meta.inputs as Record<string, unknown>);
}

/** node_modules/@scope/name/... -> @scope/name; other paths -> their first two segments. */
function owner(input: string): string {
  const m = /^node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
  return m ? m[1] : input.split('/').slice(0, 2).join('/');
}

describe('extension: bundle contents', function () {
  this.timeout(60_000);

  before(() => {
    execFileSync(process.execPath, [path.join(root, 'scripts/build-bundles.mjs'), 'extension', 'webview', '--no-typecheck'], { stdio: 'pipe' });
  });

  it('the extension bundle holds no engine, server or native code', () => {
    const inputs = inputsOf('extension');
    assert.ok(inputs.includes('src/extension/extension.ts'));
    const forbidden = inputs.filter((i) => /^(src\/(engine|server|cli)\/|native\/)|node-llama-cpp|\.node$/.test(i));
    assert.deepStrictEqual(forbidden, []);
    const packages = new Set(inputs.map(owner).filter((o) => !o.startsWith('src/')));
    assert.deepStrictEqual([...packages].sort(), [
      'semver',
      'vscode-jsonrpc',
      'vscode-languageclient',
      'vscode-languageserver-protocol',
      'vscode-languageserver-types',
    ]);
  });

  it('the webview bundle holds only the page and its rendering libraries', () => {
    const owners = new Set(inputsOf('webview').map(owner));
    assert.deepStrictEqual([...owners].sort(), [
      'dompurify',
      'highlight.js',
      'linkify-it',
      'markdown-it',
      'mdurl',
      'punycode.js',
      'uc.micro',
      'webview/chat.css',
      'webview/chat.ts',
      'webview/markdown.ts',
    ]);
    const js = fs.readFileSync(path.join(root, 'dist/webview/chat.js'), 'utf8');
    assert.ok(!/require\(["'](vscode|fs|path|child_process)["']\)/.test(js), 'a Node or vscode require reached the page');
  });

  it('the build script names an unknown bundle instead of guessing', () => {
    const result = spawnSync(process.execPath, [path.join(root, 'scripts/build-bundles.mjs'), 'extenson'], { encoding: 'utf8' });
    assert.strictEqual(result.status, 2);
    assert.match(result.stderr, /unknown bundle "extenson" \(known: extension, server, webview, grammars\)/);
  });
});
