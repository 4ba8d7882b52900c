import * as assert from 'assert';
import { nextStepPassesDeadline, STEP_MARGIN } from '../../../src/server/completion/decode-deadline';

describe('decode deadline', () => {
  // 10 pieces in 200 ms: 20 ms a piece, so the next step is expected to take 30 ms.
  const started = 1000;
  const now = 1200;

  it('stops before a step expected to end past the deadline', () => {
    assert.strictEqual(nextStepPassesDeadline(now, started, 10, now + 20 * STEP_MARGIN - 1), true);
    assert.strictEqual(nextStepPassesDeadline(now, started, 10, now + 20 * STEP_MARGIN), true);
  });

  it('starts a step expected to end before the deadline', () => {
    assert.strictEqual(nextStepPassesDeadline(now, started, 10, now + 20 * STEP_MARGIN + 1), false);
  });

  it('goes on while there is no step time to judge by, or no deadline', () => {
    assert.strictEqual(nextStepPassesDeadline(now, started, 1, now + 1), false);
    assert.strictEqual(nextStepPassesDeadline(now, started, 0, now), false);
    assert.strictEqual(nextStepPassesDeadline(now, started, 10, Infinity), false);
  });
});
