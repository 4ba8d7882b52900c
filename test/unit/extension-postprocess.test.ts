// Clean-up of completions before they are shown, and when automatic requests are skipped.
import * as assert from 'assert';
import { cutEchoedSuffix, cutRepeats, dropDoubledCloser, postProcessCompletion, shouldRequestAutomatically } from '../../src/extension/postProcess';

describe('extension: completion post-processing', () => {
  it('cuts a line repeated three times in a row to one copy', () => {
    assert.deepStrictEqual(cutRepeats(['a', 'x', 'x', 'x', 'x', 'b'], 3), ['a', 'x']);
    assert.deepStrictEqual(cutRepeats(['x', 'x', 'y'], 3), ['x', 'x', 'y']);
    assert.deepStrictEqual(cutRepeats(['', '', '', 'z'], 3), ['', '', '', 'z'], 'blank lines are not a loop');
  });

  it('removes code the model repeated from below the cursor', () => {
    const suffix = '\n  return total;\n}\n';
    assert.deepStrictEqual(cutEchoedSuffix(['total += x;', '  return total;', '}'], suffix), ['total += x;']);
    assert.deepStrictEqual(cutEchoedSuffix(['total += x;', '  log(total);'], suffix), ['total += x;', '  log(total);']);
  });

  it('drops a closer already present right of the cursor', () => {
    assert.strictEqual(dropDoubledCloser('value)', ')\nnext'), 'value');
    assert.strictEqual(dropDoubledCloser('a, b);', ');'), 'a, b');
    assert.strictEqual(dropDoubledCloser('value)', ' + 1)'), 'value)', 'not only closers on the line');
    assert.strictEqual(dropDoubledCloser('x)\ny)', ')'), 'x)\ny)', 'multi-line left alone');
  });

  it('limits lines, trims trailing blanks and rejects whitespace-only results', () => {
    const text = postProcessCompletion({ completion: 'a\nb\nc\nd\n\n  \n', linePrefix: '', suffix: '', maxLines: 3 });
    assert.strictEqual(text, 'a\nb\nc');
    assert.strictEqual(postProcessCompletion({ completion: 'x  \n\n', linePrefix: '', suffix: '', maxLines: 5 }), 'x');
    assert.strictEqual(postProcessCompletion({ completion: ' \n\t\n', linePrefix: '', suffix: '', maxLines: 5 }), '');
    assert.strictEqual(postProcessCompletion({ completion: 'a\r\nb', linePrefix: '', suffix: '', maxLines: 5 }), 'a\nb');
  });

  it('combines the rules on a realistic completion', () => {
    const completion = 'sum(items));\n  return total;\n}';
    const out = postProcessCompletion({ completion, linePrefix: '  const total = ', suffix: '\n  return total;\n}\n', maxLines: 10 });
    assert.strictEqual(out, 'sum(items));');
  });

  it('skips automatic requests mid-word and in the middle of a line', () => {
    assert.strictEqual(shouldRequestAutomatically('const x = ', ''), true);
    assert.strictEqual(shouldRequestAutomatically('foo(', ')'), true);
    assert.strictEqual(shouldRequestAutomatically('  retu', 'rn'), false);
    assert.strictEqual(shouldRequestAutomatically('x = ', 'compute(a, b, c);'), false);
  });
});
