// The lookup drafter: which tokens it proposes for speculative decoding, from the context alone.
import * as assert from 'assert';
import { lookupDraft } from '../../src/engine/lookup-drafter';

describe('lookup drafter', () => {
  it('proposes what followed the most recent earlier occurrence of the trailing tokens', () => {
    // ... 1 2 3 [4 5 6] ... 1 2 3 [7 8] ... 1 2 3 -> the latest match (followed by 7 8) wins.
    const ctx = [1, 2, 3, 4, 5, 6, 9, 1, 2, 3, 7, 8, 9, 9, 1, 2, 3];
    assert.deepStrictEqual(lookupDraft(ctx, 2), [7, 8]);
    assert.deepStrictEqual(lookupDraft(ctx, 8), [7, 8, 9, 9, 1, 2, 3]);
  });

  it('prefers the longest matching run over a more recent shorter one', () => {
    // Trailing [5 1 2 3]: the four-token run occurs at the start (followed by 40); the more
    // recent [1 2 3] (followed by 77) matches only three.
    const ctx = [5, 1, 2, 3, 40, 41, 1, 2, 3, 77, 78, 5, 1, 2, 3];
    assert.deepStrictEqual(lookupDraft(ctx, 2), [40, 41]);
  });

  it('never proposes more than asked, and nothing for max 0', () => {
    const ctx = [1, 2, 3, 4, 5, 6, 7, 1, 2];
    assert.deepStrictEqual(lookupDraft(ctx, 3), [3, 4, 5]);
    assert.deepStrictEqual(lookupDraft(ctx, 0), []);
  });

  it('proposes nothing when only a single token repeats, or the context is too short', () => {
    assert.deepStrictEqual(lookupDraft([1, 2, 3, 9, 4, 5, 3], 4), [], 'one repeated token is not a match');
    assert.deepStrictEqual(lookupDraft([1, 2], 4), []);
    assert.deepStrictEqual(lookupDraft([], 4), []);
  });

  it('continues a run of one repeated token with that token', () => {
    // [7 7] also occurs one position earlier, followed by the last 7.
    assert.deepStrictEqual(lookupDraft([1, 7, 7, 7], 4), [7]);
  });

  it('honours other n-gram limits', () => {
    const ctx = [1, 2, 3, 9, 4, 5, 3];
    assert.deepStrictEqual(lookupDraft(ctx, 2, { maxNgram: 3, minNgram: 1 }), [9, 4]);
  });
});
