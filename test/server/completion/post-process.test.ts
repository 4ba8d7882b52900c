// Post-processing of raw completions (src/server/completion/post-process.ts): the rules that decide
// when generation stops and what ghost text is shown, on hand-made model outputs.
import * as assert from 'assert';
import {
  completionShape,
  CursorContext,
  cutCompletion,
  cutEchoedSuffix,
  cutRepeats,
  dropDoubledCloser,
  postProcessCompletion,
  removeSuffixOverlap,
} from '../../../src/server/completion/post-process';

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

  it('stops generating after maxLines non-empty lines, and shows at most maxLines lines', () => {
    const c = ctx({ linePrefix: '', maxLines: 2 });
    assert.deepStrictEqual(cutCompletion('a();\n\nb();\nc();\nd();', c), { text: 'a();\n\nb();', ended: true });
    // The shown text counts blank lines too, and a blank line left last is dropped.
    assert.strictEqual(postProcessCompletion('a();\n\nb();\nc();\nd();', c), 'a();');
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

  it('cuts a line repeated three times in a row to one copy', () => {
    assert.deepStrictEqual(cutRepeats(['a', 'x', 'x', 'x', 'x', 'b'], 3), ['a', 'x']);
    assert.deepStrictEqual(cutRepeats(['x', 'x', 'y'], 3), ['x', 'x', 'y']);
    assert.deepStrictEqual(cutRepeats(['', '', '', 'z'], 3), ['', '', '', 'z'], 'blank lines are not a loop');
    const looped = postProcessCompletion('\n  step();\n  step();\n  step();\n  step();', ctx({ linePrefix: '  ', maxLines: 10 }));
    assert.strictEqual(looped, '\n  step();');
  });

  it('cuts code repeated from below the cursor even when more follows it', () => {
    const next = '  return total;\n}\n';
    assert.deepStrictEqual(cutEchoedSuffix(['total += x;', '  return total;', '}'], next), ['total += x;']);
    assert.deepStrictEqual(cutEchoedSuffix(['total += x;', '  return total;', '}', 'function more() {'], next), ['total += x;']);
    assert.deepStrictEqual(cutEchoedSuffix(['total += x;', '  log(total);'], next), ['total += x;', '  log(total);']);
  });

  it('drops a closer already present right of the cursor', () => {
    assert.strictEqual(dropDoubledCloser('value)', ')'), 'value');
    assert.strictEqual(dropDoubledCloser('a, b);', ');'), 'a, b');
    assert.strictEqual(dropDoubledCloser('value)', ' + 1)'), 'value)', 'not only closers on the line');
    assert.strictEqual(dropDoubledCloser('x)\ny)', ')'), 'x)\ny)', 'multi-line left alone');
  });

  it('limits lines, blank ones included, and trims trailing blank lines', () => {
    const text = postProcessCompletion('\na\n\nb\nc\nd\n\n  \n', ctx({ maxLines: 3 }));
    assert.strictEqual(text, '\na');
    assert.strictEqual(postProcessCompletion('x  \n\n', ctx({ linePrefix: 'let y = ' })), 'x');
  });

  it('combines the rules on a realistic completion', () => {
    const out = postProcessCompletion('sum(items));\n  return total;\n}', ctx({ linePrefix: '  const total = ', nextLines: '  return total;\n}' }));
    assert.strictEqual(out, 'sum(items));');
  });
});
