// The TextMate grammars in syntaxes/: the generated JSON matches its YAML source, the
// vscode-tmgrammar-test fixtures pass, and (through vscode-textmate + vscode-oniguruma directly)
// the parts those fixtures cannot reach: front matter at the start of a file, embedded languages,
// and a transcript exactly as "Save Chat As" writes it.
import * as assert from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as oniguruma from 'vscode-oniguruma';
import * as textmate from 'vscode-textmate';
import { formatTranscript } from '../../src/extension/transcript';

const root = path.resolve(__dirname, '..', '..', '..');
const syntaxes = path.join(root, 'syntaxes');
const grammarFiles: Record<string, string> = {
  'text.qwenchat': 'qwen-chat-transcript.tmLanguage.json',
  'text.qwenprompt': 'qwen-prompt.tmLanguage.json',
};

// Stand-ins for the language grammars VS Code ships (source.ts, …): enough to show that a fenced
// block hands its content to the embedded grammar.
function stubGrammar(scopeName: string): textmate.IRawGrammar {
  const raw = { scopeName, patterns: [{ match: '\\b(const|def|let|fn)\\b', name: `keyword.stub.${scopeName}` }] };
  return textmate.parseRawGrammar(JSON.stringify(raw), `${scopeName}.json`);
}

let registry: textmate.Registry;
async function grammar(scope: string): Promise<textmate.IGrammar> {
  if (!registry) {
    const wasm = fs.readFileSync(path.join(root, 'node_modules/vscode-oniguruma/release/onig.wasm'));
    await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
    registry = new textmate.Registry({
      onigLib: Promise.resolve({
        createOnigScanner: (patterns: string[]) => new oniguruma.OnigScanner(patterns),
        createOnigString: (s: string) => new oniguruma.OnigString(s),
      }),
      loadGrammar: async (scopeName: string) => {
        const file = grammarFiles[scopeName];
        if (file) return textmate.parseRawGrammar(fs.readFileSync(path.join(syntaxes, file), 'utf8'), file);
        return /^(source|text\.html)\./.test(scopeName) ? stubGrammar(scopeName) : null;
      },
    });
  }
  const g = await registry.loadGrammar(scope);
  assert.ok(g, `grammar ${scope} did not load`);
  return g;
}

/** Scopes of every token, per line: [line][token] = { text, scopes }. */
async function tokenize(scope: string, text: string): Promise<{ text: string; scopes: string[] }[][]> {
  const g = await grammar(scope);
  let stack = textmate.INITIAL;
  return text.split('\n').map((line) => {
    const r = g.tokenizeLine(line, stack);
    stack = r.ruleStack;
    return r.tokens.map((t) => ({ text: line.slice(t.startIndex, t.endIndex), scopes: t.scopes }));
  });
}

const scopesOf = (tokens: { text: string; scopes: string[] }[], text: string) => tokens.find((t) => t.text === text)?.scopes ?? [];

describe('extension: TextMate grammars', function () {
  this.timeout(60_000);

  it('the committed JSON grammars are generated from the YAML sources', () => {
    // js-yaml comes with mocha; typed loosely here since only load() is used.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const yaml = require('js-yaml') as { load(text: string): Record<string, unknown> };
    for (const json of Object.values(grammarFiles)) {
      const source = yaml.load(fs.readFileSync(path.join(syntaxes, json.replace(/\.json$/, '.yaml')), 'utf8'));
      for (const key of Object.keys(source)) if (key.startsWith('x-')) delete source[key];
      const generated = JSON.parse(fs.readFileSync(path.join(syntaxes, json), 'utf8'));
      assert.deepStrictEqual(generated, source, `${json} is stale: run node scripts/build-bundles.mjs grammars`);
    }
  });

  it('package.json contributes both languages and grammars with existing files', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
    const grammars = pkg.contributes.grammars as { scopeName: string; path: string; language: string }[];
    assert.deepStrictEqual(grammars.map((g) => g.scopeName).sort(), ['text.qwenchat', 'text.qwenprompt']);
    for (const g of grammars) assert.ok(fs.existsSync(path.join(root, g.path)), `${g.path} missing`);
    const languages = (pkg.contributes.languages as { id: string }[]).map((l) => l.id);
    for (const g of grammars) assert.ok(languages.includes(g.language), `language ${g.language} not contributed`);
  });

  it('passes the vscode-tmgrammar-test fixtures', () => {
    const cli = path.join(root, 'node_modules/vscode-tmgrammar-test/dist/unit.js');
    const result = spawnSync(process.execPath, [cli, '-c', 'test/syntaxes/grammar-fixtures/*.md'], { cwd: root, encoding: 'utf8' });
    const output = `${result.stdout}${result.stderr}`;
    assert.strictEqual(result.status, 0, output);
    assert.strictEqual((output.match(/run successfuly/g) ?? []).length, 2, output);
  });

  it('highlights front matter only at the start of a file', async () => {
    const lines = await tokenize('text.qwenchat', '---\ntitle: Reverse\n---\n\n## User\n\n---\ntitle: not front matter');
    assert.ok(scopesOf(lines[1], 'title').includes('entity.name.tag.frontmatter.key.qwenchat'));
    assert.ok(scopesOf(lines[1], 'Reverse').includes('string.unquoted.frontmatter.value.qwenchat'));
    assert.ok(!lines[7].some((t) => t.scopes.some((s) => s.includes('frontmatter'))));
    const prompt = await tokenize('text.qwenprompt', '---\ntitle: Log\ncontext: file\nmode: edit\nmodel: big\n---\nUse {{file}}.');
    assert.ok(scopesOf(prompt[1], 'title').includes('keyword.other.key.qwenprompt'));
    assert.ok(scopesOf(prompt[2], 'file').includes('constant.language.context.qwenprompt'));
    assert.ok(scopesOf(prompt[3], 'edit').includes('constant.language.mode.qwenprompt'));
    assert.ok(scopesOf(prompt[4], 'model: big').includes('invalid.illegal.frontmatter.qwenprompt'));
    assert.ok(scopesOf(prompt[6], 'file').includes('variable.other.qwenprompt'));
  });

  it('hands fenced code to the embedded language grammar', async () => {
    const lines = await tokenize('text.qwenchat', '```ts\nconst a = 1;\n```\n```python\ndef f(): pass\n```\n```unknown\nconst b\n```');
    assert.deepStrictEqual(scopesOf(lines[1], 'const').slice(-3), [
      'markup.fenced_code.block.qwenchat',
      'meta.embedded.block.typescript',
      'keyword.stub.source.ts',
    ]);
    assert.ok(scopesOf(lines[4], 'def').includes('keyword.stub.source.python'));
    assert.ok(!lines[7].some((t) => t.scopes.some((s) => s.startsWith('keyword.stub'))), 'unknown language is not highlighted');
    assert.ok(lines[7].every((t) => t.scopes.includes('meta.embedded.block.qwenchat')));
  });

  it('a transcript written by Save Chat As has role headings exactly on the message headings', async () => {
    const text = formatTranscript(
      [
        { role: 'user', text: 'Explain:\n## Assistant\nplease' },
        { role: 'assistant', text: 'Sure.\n\n```js\nlet x = 1;\n## User\n```' },
      ],
      { title: 'Explain', savedAt: new Date(0), model: 'm' },
    );
    const lines = text.split('\n');
    const tokens = await tokenize('text.qwenchat', text);
    const headingLines = tokens
      .map((line, i) => (line.some((t) => t.scopes.some((s) => s.startsWith('markup.heading.2.role'))) ? lines[i] : null))
      .filter((l): l is string => l !== null);
    assert.deepStrictEqual(headingLines, ['## User', '## Assistant']);
    const escaped = lines.indexOf('\\## Assistant');
    assert.ok(escaped > 0 && scopesOf(tokens[escaped], '\\').includes('constant.character.escape.qwenchat'));
  });
});
