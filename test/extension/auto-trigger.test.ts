// When the extension asks for an automatic completion at all (src/extension/auto-trigger.ts).
import * as assert from 'assert';
import { shouldRequestAutomatically } from '../../src/extension/auto-trigger';

describe('extension: automatic completion trigger', () => {
  it('skips automatic requests mid-word and in the middle of a line', () => {
    assert.strictEqual(shouldRequestAutomatically('const x = ', ''), true);
    assert.strictEqual(shouldRequestAutomatically('foo(', ')'), true);
    assert.strictEqual(shouldRequestAutomatically('  retu', 'rn'), false);
    assert.strictEqual(shouldRequestAutomatically('x = ', 'compute(a, b, c);'), false);
  });
});
