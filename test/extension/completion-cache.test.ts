// The completion cache: typing through a suggestion, partial accepts, undo back to it, auto-closed
// brackets, and the cases that must miss (edits before the cursor, other documents, typed past it).
import * as assert from 'assert';
import { CompletionCache, CursorText } from '../../src/extension/completion-cache';

const doc = 'file:///a.ts#typescript';
const before = 'function add(a: number, b: number) {\n  return ';
const after = '\n}\n';
const at = (prefix: string, suffix = after, documentKey = doc): CursorText => ({ documentKey, prefix, suffix });

describe('extension: completion cache and typing-through', () => {
  it('shows the rest of the suggestion as the user types through it', () => {
    const cache = new CompletionCache();
    cache.store(at(before), 'a + b;', 0);
    for (let typed = 0; typed < 'a + b;'.length; typed++) {
      const hit = cache.lookup(at(before + 'a + b;'.slice(0, typed)), 1);
      assert.ok(hit, `miss after typing ${typed} characters`);
      assert.strictEqual(hit.remaining, 'a + b;'.slice(typed));
      assert.strictEqual(hit.typed, typed);
      assert.strictEqual(hit.replaceChars, 0);
    }
  });

  it('undoing back to where the suggestion was made shows it whole again', () => {
    const cache = new CompletionCache();
    cache.store(at(before), 'a + b;', 0);
    assert.strictEqual(cache.lookup(at(before + 'a +'), 1)?.remaining, ' b;');
    assert.strictEqual(cache.lookup(at(before), 2)?.remaining, 'a + b;');
  });

  it('misses when the typed text diverges, the whole suggestion was typed, or the cursor moved back', () => {
    const cache = new CompletionCache();
    cache.store(at(before), 'a + b;', 0);
    assert.strictEqual(cache.lookup(at(before + 'a - '), 1), undefined);
    assert.strictEqual(cache.lookup(at(before + 'a + b;'), 1), undefined);
    assert.strictEqual(cache.lookup(at(before.slice(0, -1)), 1), undefined);
  });

  it('misses when the code before the cursor or after it changed, or in another document', () => {
    const cache = new CompletionCache();
    cache.store(at(before), 'a + b;', 0);
    assert.strictEqual(cache.lookup(at(before.replace('add', 'sum') + 'a'), 1), undefined);
    assert.strictEqual(cache.lookup(at(before + 'a', '\n  other();\n}\n'), 1), undefined);
    assert.strictEqual(cache.lookup(at(before + 'a', after, 'file:///b.ts#typescript'), 1), undefined);
  });

  it('accepts closers the editor auto-inserted when the suggestion supplies them', () => {
    const cache = new CompletionCache();
    const p = 'console.log';
    cache.store(at(p, '\n'), '(value);', 0);
    const hit = cache.lookup(at(p + '(', ')\n'), 1);
    assert.ok(hit);
    assert.strictEqual(hit.remaining, 'value);');
    assert.strictEqual(hit.replaceChars, 1);
    // A closer the suggestion never writes is a real change: miss.
    assert.strictEqual(cache.lookup(at(p + '(', ']\n'), 1), undefined);
  });

  it('prefers the suggestion made closest to the cursor, forgets documents, and expires old entries', () => {
    const cache = new CompletionCache({ maxAgeMs: 1000 });
    cache.store(at(before), 'a + b;', 0);
    cache.store(at(before + 'a + '), 'b; // sum', 10);
    assert.strictEqual(cache.lookup(at(before + 'a + b'), 20)?.remaining, '; // sum');
    assert.strictEqual(cache.lookup(at(before + 'a + b'), 5000), undefined, 'expired');
    cache.forgetDocument(doc);
    assert.strictEqual(cache.size, 0);
  });

  it('keeps at most maxEntries and replaces a suggestion made at the same place', () => {
    const cache = new CompletionCache({ maxEntries: 3 });
    cache.store(at(before), 'first', 0);
    cache.store(at(before), 'second', 1);
    assert.strictEqual(cache.size, 1);
    assert.strictEqual(cache.lookup(at(before), 2)?.remaining, 'second');
    for (let i = 0; i < 5; i++) cache.store(at(`${before}${i}`), `x${i}`, 3);
    assert.strictEqual(cache.size, 3);
    cache.store(at(before), '', 4);
    assert.strictEqual(cache.size, 3, 'empty suggestions are not stored');
  });
});
