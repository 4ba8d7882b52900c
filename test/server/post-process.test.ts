// Post-processing of raw completions (src/server/completion/post-process.ts): the rules that decide
// when generation stops and what ghost text is shown, on hand-made model outputs.
import * as assert from 'assert';
import { completionShape, CursorContext, cutCompletion, postProcessCompletion, removeSuffixOverlap } from '../../src/server/completion/post-process';

function ctx(partial: Partial<CursorContext>): CursorContext {
  return { linePrefix: '', lineSuffix: '', lineAbove: '', nextLines: '', maxLines: 12, ...partial };
}

describe('completion post-processing', () => {
  it('decides single- vs multi-line from the cursor context', () => {
    assert.strictEqual(completionShape(ctx({ linePrefix: '  const x = ', lineSuffix: ' + 1;' })), 'singleLine', 'code right of the cursor');
    assert.strictEqual(completionShape(ctx({ linePrefix: '  const x = foo(' })), 'multiLine', 'after an opener');
    assert.strictEqual(completionShape(ctx({ linePrefix: 'function f() {', lineSuffix: '}' })), 'multiLine', 'only a closer right of the cursor');
    assert.strictEqual(completionShape(ctx({ linePrefix: '    ' })), 'multiLine', 'blank line');
    assert.strictEqual(completionShape(ctx({ linePrefix: '  return a' })), 'singleLine', 'mid-statement');
    assert.strictEqual(completionShape(ctx({ linePrefix: 'def f(x):' })), 'multiLine', 'python block opener');
  });

  it('keeps only the first line when single-line, and stops the stream there', () => {
    const c = ctx({ linePrefix: '  return a' });
    assert.strictEqual(postProcessCompletion(' + b;\n  }\nfoo();', c), ' + b;');
    assert.deepStrictEqual(cutCompletion(' + b;\n  }', c, false), { text: ' + b;', ended: true });
    assert.deepStrictEqual(cutCompletion(' + b', c, false), { text: ' + b', ended: false }, 'an unfinished line is not judged yet');
  });

  it('stops when the completion leaves the current block', () => {
    const c = ctx({ linePrefix: '    ', lineAbove: '  if (x) {' });
    const raw = 'y = 1;\n    z = 2;\n  }\n  other();';
    assert.strictEqual(postProcessCompletion(raw, c), 'y = 1;\n    z = 2;');
    assert.strictEqual(cutCompletion('y = 1;\n  }\n', c, false).ended, true, 'a finished outdented line stops the stream');
    assert.strictEqual(cutCompletion('y = 1;\n  }', c, false).ended, false, 'an unfinished one may still grow');
  });

  it('after an opener, keeps the body and the closing bracket, then ends', () => {
    const c = ctx({ linePrefix: '  function f() {' });
    const raw = '\n    return 1;\n  }\n  function g() {';
    assert.strictEqual(postProcessCompletion(raw, c), '\n    return 1;\n  }');
  });

  it('keeps indentation and trims trailing whitespace', () => {
    const c = ctx({ linePrefix: '' });
    assert.strictEqual(postProcessCompletion('  a();   \n    b();  \n\n', c), '  a();\n    b();');
  });

  it('stops after maxLines non-empty lines', () => {
    const c = ctx({ linePrefix: '', maxLines: 2 });
    assert.strictEqual(postProcessCompletion('a();\n\nb();\nc();\nd();', c), 'a();\n\nb();');
  });

  it('removes text the document already has after the cursor', () => {
    assert.strictEqual(removeSuffixOverlap('x, y)', ctx({ linePrefix: 'f(', lineSuffix: ')' })), 'x, y');
    assert.strictEqual(removeSuffixOverlap('x);', ctx({ linePrefix: 'f(', lineSuffix: ');' })), 'x');
    const multi = ctx({ linePrefix: '  ', nextLines: '  return total;\n}' });
    assert.strictEqual(removeSuffixOverlap('total += x;\n  return total;\n}', multi), 'total += x;');
    assert.strictEqual(postProcessCompletion('total += x;\nreturn total;', ctx({ linePrefix: '', nextLines: 'return total;' })), 'total += x;');
  });

  it('shows nothing for whitespace or a repeat of the line above', () => {
    assert.strictEqual(postProcessCompletion('   \n  ', ctx({ linePrefix: '' })), '');
    assert.strictEqual(postProcessCompletion('const a = 1;', ctx({ linePrefix: '', lineAbove: 'const a = 1;' })), '');
  });
});
