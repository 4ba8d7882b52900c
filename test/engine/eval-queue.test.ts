// The engine's FIFO of evals on the model's worker (src/engine/eval-queue.ts), driven directly.
import * as assert from 'assert';
import { EvalQueue } from '../../src/engine/eval-queue';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('engine eval queue', () => {
  it('runs one job at a time, in the order queued', async () => {
    const q = new EvalQueue();
    const log: string[] = [];
    const gate = deferred();
    const a = q.run(async () => {
      log.push('a start');
      await gate.promise;
      log.push('a end');
      return 'a';
    });
    const b = q.run(async () => {
      log.push('b');
      return 'b';
    });
    await new Promise((r) => setImmediate(r));
    assert.deepStrictEqual(log, ['a start'], 'b waits for a');
    assert.ok(q.busy);
    gate.resolve();
    assert.deepStrictEqual(await Promise.all([a, b]), ['a', 'b']);
    assert.deepStrictEqual(log, ['a start', 'a end', 'b']);
  });

  it('starts the next job on a later macrotask than the previous settlement', async () => {
    const q = new EvalQueue();
    const log: string[] = [];
    const a = q.run(async () => undefined).then(() => log.push('after a (caller follow-up)'));
    const b = q.run(async () => {
      log.push('b');
    });
    await Promise.all([a, b]);
    assert.deepStrictEqual(log, ['after a (caller follow-up)', 'b']);
  });

  it('drops a waiting job whose signal aborts; a failing job does not stop the queue', async () => {
    const q = new EvalQueue();
    const gate = deferred();
    const first = q.run(() => gate.promise);
    const controller = new AbortController();
    let ran = false;
    const dropped = q.run(async () => {
      ran = true;
    }, controller.signal);
    const failing = q.run(async () => {
      throw new Error('eval failed');
    });
    const last = q.run(async () => 'last');
    controller.abort();
    await assert.rejects(dropped, (e: Error) => e.name === 'AbortError');
    gate.resolve();
    await first;
    await assert.rejects(failing, /eval failed/);
    assert.strictEqual(await last, 'last');
    assert.strictEqual(ran, false);
    await assert.rejects(
      q.run(async () => 1, AbortSignal.abort()),
      (e: Error) => e.name === 'AbortError',
    );
  });

  it('rejects waiting jobs on dispose and reports idle once nothing runs', async () => {
    const q = new EvalQueue();
    const gate = deferred();
    const running = q.run(() => gate.promise);
    const waiting = q.run(async () => 'never');
    let idle = false;
    const whenIdle = q.whenIdle().then(() => (idle = true));
    q.rejectWaiting(new Error('model disposed'));
    await assert.rejects(waiting, /model disposed/);
    assert.strictEqual(idle, false, 'the running job still holds the queue');
    gate.resolve();
    await running;
    await whenIdle;
    assert.strictEqual(q.busy, false);
  });
});
