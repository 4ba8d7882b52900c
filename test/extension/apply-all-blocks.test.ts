// "Apply All" finds the fenced blocks of a reply that name their file, and only safe
// workspace-relative paths.
import * as assert from 'assert';
import { extractPathBlocks, safeRelativePath } from '../../src/extension/apply-all-blocks';

describe('extension: Apply All path blocks', () => {
  it('reads the path from the info string or a first-line comment; the last block per path wins', () => {
    const reply = [
      'Change both files:',
      '```ts src/math.ts',
      'export const add = (a: number, b: number) => a + b;',
      '```',
      '```python title="tools/run.py"',
      'print("hi")',
      '```',
      '```js',
      '// File: lib/util.js',
      'module.exports = {};',
      '```',
      '```ts',
      'const noPath = 1;',
      '```',
      '```ts path=src/math.ts',
      'export const add = (a: number, b: number): number => a + b;',
      '```',
    ].join('\n');
    assert.deepStrictEqual(extractPathBlocks(reply), [
      { path: 'tools/run.py', code: 'print("hi")\n' },
      { path: 'lib/util.js', code: '// File: lib/util.js\nmodule.exports = {};\n' },
      { path: 'src/math.ts', code: 'export const add = (a: number, b: number): number => a + b;\n' },
    ]);
  });

  it('refuses paths outside the workspace or into .git', () => {
    for (const bad of ['/etc/passwd', '../secret.txt', 'src/../../x.ts', 'C:/Windows/x.ini', '.git/config.txt', 'a//b.ts', 'noextension']) {
      assert.strictEqual(safeRelativePath(bad), undefined, bad);
    }
    assert.strictEqual(safeRelativePath('./src/a.ts'), 'src/a.ts');
    assert.deepStrictEqual(extractPathBlocks('```ts ../../etc/evil.ts\nx\n```\n```sh\n# /etc/passwd.txt\nrm -rf /\n```'), []);
  });
});
