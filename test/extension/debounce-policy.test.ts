// The adaptive debounce: the delay follows typing speed and model latency, stays within bounds,
// ignores pauses, and a fixed setting overrides it.
import * as assert from 'assert';
import { DebouncePolicy, waitUnlessCancelled } from '../../src/extension/debounce-policy';

function typeAt(policy: DebouncePolicy, gapMs: number, keys: number, start = 0): number {
  let t = start;
  for (let i = 0; i < keys; i++) {
    policy.recordKeystroke(t);
    t += gapMs;
  }
  return t;
}

describe('extension: debounce policy', () => {
  it('waits longer for a slow typist than for a fast one', () => {
    const fast = new DebouncePolicy();
    const slow = new DebouncePolicy();
    typeAt(fast, 60, 40);
    typeAt(slow, 350, 40);
    // 1.5 x gap + 0.25 x the initial 300 ms latency guess, within a few ms of rounding.
    assert.ok(Math.abs(fast.delayMs() - (1.5 * 60 + 75)) <= 2, `fast: ${fast.delayMs()}`);
    assert.ok(Math.abs(slow.delayMs() - (1.5 * 350 + 75)) <= 2, `slow: ${slow.delayMs()}`);
  });

  it('does not count pauses as typing speed', () => {
    const policy = new DebouncePolicy();
    let t = typeAt(policy, 80, 30);
    const before = policy.delayMs();
    t += 10_000; // a 10 s pause (thinking, reading)
    policy.recordKeystroke(t);
    assert.strictEqual(policy.delayMs(), before);
  });

  it('adds a share of the measured latency and clamps to [min, max]', () => {
    const policy = new DebouncePolicy({ minMs: 40, maxMs: 600 });
    typeAt(policy, 100, 20);
    for (let i = 0; i < 30; i++) policy.recordLatency(800);
    assert.ok(Math.abs(policy.delayMs() - (150 + 200)) <= 2, `got ${policy.delayMs()}`);
    for (let i = 0; i < 30; i++) policy.recordLatency(100_000);
    assert.strictEqual(policy.delayMs(), 600);
    const quick = new DebouncePolicy({ minMs: 40 });
    typeAt(quick, 5, 50);
    for (let i = 0; i < 30; i++) quick.recordLatency(0);
    assert.strictEqual(quick.delayMs(), 40);
  });

  it('ignores nonsense latencies and honours a fixed delay from the settings', () => {
    const policy = new DebouncePolicy();
    const before = policy.delayMs();
    policy.recordLatency(Number.NaN);
    policy.recordLatency(-5);
    assert.strictEqual(policy.delayMs(), before);
    policy.setFixedDelay(250);
    typeAt(policy, 30, 50);
    assert.strictEqual(policy.delayMs(), 250);
    policy.setFixedDelay(0);
    assert.notStrictEqual(policy.delayMs(), 250);
  });

  it('one hesitation raises the delay for a while, then it returns to the typing rhythm', () => {
    const policy = new DebouncePolicy();
    const t = typeAt(policy, 100, 50);
    const steady = policy.delayMs();
    policy.recordKeystroke(t - 100 + 900); // one 900 ms gap: slower than typing, shorter than a pause
    const after = policy.delayMs();
    assert.ok(after > steady && after < 600, `steady ${steady}, after ${after}`);
    typeAt(policy, 100, 25, t + 900);
    assert.ok(Math.abs(policy.delayMs() - steady) <= 0.1 * steady, `recovered to ${policy.delayMs()}, steady ${steady}`);
  });

  it('waitUnlessCancelled resolves true after the delay and false on cancellation', async () => {
    const never = () => ({ dispose: () => undefined });
    const started = Date.now();
    assert.strictEqual(await waitUnlessCancelled(30, never), true);
    assert.ok(Date.now() - started >= 25);
    let fire: (() => void) | undefined;
    let disposed = false;
    const pending = waitUnlessCancelled(10_000, (listener) => {
      fire = listener;
      return { dispose: () => (disposed = true) };
    });
    fire!();
    assert.strictEqual(await pending, false);
    assert.strictEqual(disposed, true);
  });
});
