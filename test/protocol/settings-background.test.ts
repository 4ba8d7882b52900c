// The server settings that switch background work: warm-up, prefetch and the short window's size,
// merged over the defaults like every other field (mistyped values keep the previous one).
import * as assert from 'assert';
import { defaultSettings, mergeSettings } from '../../src/server/settings';

describe('server settings: warm-up, prefetch, short window', () => {
  it('defaults to warm-up and prefetch on and a 384-token short window', () => {
    assert.strictEqual(defaultSettings.completion.warmup, true);
    assert.strictEqual(defaultSettings.completion.prefetch, true);
    assert.strictEqual(defaultSettings.completion.shortContextTokens, 384);
  });

  it('takes valid values, keeps the previous one for mistyped ones, and 0 turns the short window off', () => {
    const off = mergeSettings(defaultSettings, { qwenLocal: { completion: { warmup: false, prefetch: false, shortContextTokens: 0 } } });
    assert.strictEqual(off.completion.warmup, false);
    assert.strictEqual(off.completion.prefetch, false);
    assert.strictEqual(off.completion.shortContextTokens, 0);
    const bad = mergeSettings(off, { completion: { warmup: 'yes', prefetch: 1, shortContextTokens: 'big' } });
    assert.deepStrictEqual(bad.completion, off.completion);
    assert.strictEqual(
      mergeSettings(defaultSettings, { completion: { shortContextTokens: 10 } }).completion.shortContextTokens,
      64,
      'clamped to the smallest window',
    );
    // A client that knows nothing of these fields (an older extension) leaves them as they were.
    assert.strictEqual(mergeSettings(off, { completion: { maxTokens: 16 } }).completion.warmup, false);
  });
});
