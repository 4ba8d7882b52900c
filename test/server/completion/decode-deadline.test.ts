import * as assert from 'assert';
import { STEP_MARGIN, StepClock } from '../../../src/server/completion/decode-deadline';

describe('decode deadline', () => {
  // A first piece after a long first step (the prompt's tail), then steps of 20 ms, one of them a
  // verify of 30 ms whose three accepted drafts arrive at once.
  function clock(): StepClock {
    const c = new StepClock();
    for (const t of [1500, 1520, 1540, 1570, 1570, 1570, 1590]) c.piece(t);
    return c;
  }
  const now = 1590;

  it('stops before a step as long as the longest seen would end past the deadline', () => {
    assert.strictEqual(clock().nextStepPassesDeadline(now, now + 30 * STEP_MARGIN - 1), true);
    assert.strictEqual(clock().nextStepPassesDeadline(now, now + 30 * STEP_MARGIN), true);
  });

  it('starts a step expected to end before the deadline', () => {
    assert.strictEqual(clock().nextStepPassesDeadline(now, now + 30 * STEP_MARGIN + 1), false);
  });

  it('judges by the longest step, not the mean time per piece that bursts of drafts shrink', () => {
    // Six gaps over 90 ms: 15 ms a piece on average, which would let a 30 ms verify overrun.
    assert.strictEqual(clock().nextStepPassesDeadline(now, now + 15 * STEP_MARGIN + 1), true);
  });

  it('leaves the first, prompt-carrying gap out', () => {
    const c = new StepClock();
    c.piece(2000); // 1 s after the decode started: the prompt's tail, not a step
    c.piece(2010);
    assert.strictEqual(c.nextStepPassesDeadline(2010, 2010 + 10 * STEP_MARGIN + 1), false);
  });

  it('goes on while there is no step to judge by, or no deadline', () => {
    const one = new StepClock();
    one.piece(1000);
    assert.strictEqual(one.nextStepPassesDeadline(1000, 1001), false);
    assert.strictEqual(new StepClock().nextStepPassesDeadline(1000, 1000), false);
    assert.strictEqual(clock().nextStepPassesDeadline(now, Infinity), false);
  });
});
