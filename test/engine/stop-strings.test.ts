// StopStringMatcher: streamed text is released as soon as it cannot start a stop string, and a
// stop string cuts the text right before it, even when it arrives split over several pieces.
import * as assert from 'assert';
import { StopStringMatcher } from '../../src/engine/stop-strings';

function feed(stops: string[], pieces: string[]): { released: string[]; stopped: boolean; flushed: string } {
  const m = new StopStringMatcher(stops);
  const released: string[] = [];
  let stopped = false;
  for (const p of pieces) {
    const r = m.push(p);
    released.push(r.text);
    if (r.stopped) {
      stopped = true;
      break;
    }
  }
  return { released, stopped, flushed: stopped ? '' : m.flush() };
}

describe('engine: stop strings', () => {
  it('passes text through when there are no stop strings', () => {
    const r = feed([], ['a', 'b<', 'c']);
    assert.deepStrictEqual(r.released, ['a', 'b<', 'c']);
    assert.strictEqual(r.stopped, false);
  });

  it('cuts before a stop string that arrives in one piece', () => {
    const r = feed(['\n\n'], ['hello', ' world\n\nmore']);
    assert.deepStrictEqual(r.released, ['hello', ' world']);
    assert.strictEqual(r.stopped, true);
  });

  it('holds back a possible start and cuts a stop string split over pieces', () => {
    const r = feed(['</end>'], ['abc</', 'en', 'd> tail']);
    assert.deepStrictEqual(r.released, ['abc', '', '']);
    assert.strictEqual(r.stopped, true);
  });

  it('releases held-back text once it can no longer become a stop string', () => {
    const r = feed(['</end>'], ['abc</', 'x', 'yz']);
    assert.deepStrictEqual(r.released, ['abc', '</x', 'yz']);
    assert.strictEqual(r.stopped, false);
  });

  it('flushes a held-back tail when generation ends', () => {
    const r = feed(['STOP'], ['value ST']);
    assert.deepStrictEqual(r.released, ['value ']);
    assert.strictEqual(r.flushed, 'ST');
  });

  it('stops at the earliest of several stop strings', () => {
    const r = feed(['bb', 'a b'], ['xx a bb']);
    assert.deepStrictEqual(r.released, ['xx ']);
    assert.strictEqual(r.stopped, true);
  });
});
