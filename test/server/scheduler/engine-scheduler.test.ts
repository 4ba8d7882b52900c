// The engine lease's policy (src/server/scheduler/engine-scheduler.ts), driven directly: who gets
// the engine next, when a waiting chat is owed a turn, and what cancellation and shutdown do.
import * as assert from 'assert';
import { EngineScheduler, JobPriority, Lease } from '../../../src/server/scheduler/engine-scheduler';

/** Records the order in which leases are granted; each grant is held until released by the test. */
function recorder(scheduler: EngineScheduler) {
  const order: string[] = [];
  const leases = new Map<string, Lease>();
  const ask = (name: string, priority: JobPriority, signal?: AbortSignal): Promise<Lease> =>
    scheduler.acquire(priority, signal).then((lease) => {
      order.push(name);
      leases.set(name, lease);
      return lease;
    });
  return { order, leases, ask };
}

const settle = () => new Promise<void>((r) => setImmediate(r));

describe('engine scheduler', () => {
  it('grants at once when idle, and one holder at a time', async () => {
    const s = new EngineScheduler({ chatTurnAfter: 4, maxChatWaitMs: 60_000 });
    const r = recorder(s);
    await r.ask('a', 'completion');
    void r.ask('b', 'completion');
    await settle();
    assert.deepStrictEqual(r.order, ['a']);
    assert.ok(s.busy);
    assert.strictEqual(s.waitingCount, 1);
    r.leases.get('a')!.release();
    r.leases.get('a')!.release(); // a second release must not free the engine for a third job
    await settle();
    assert.deepStrictEqual(r.order, ['a', 'b']);
    assert.strictEqual(s.waitingCount, 0);
  });

  it('serves a waiting completion before a chat that waited longer, and counts the yield', async () => {
    const s = new EngineScheduler({ chatTurnAfter: 4, maxChatWaitMs: 60_000 });
    const r = recorder(s);
    await r.ask('holder', 'chat');
    void r.ask('chat', 'chat');
    void r.ask('completion', 'completion');
    r.leases.get('holder')!.release();
    await settle();
    assert.deepStrictEqual(r.order, ['holder', 'completion']);
    assert.strictEqual(s.counters.chatYields, 1);
    r.leases.get('completion')!.release();
    await settle();
    assert.deepStrictEqual(r.order, ['holder', 'completion', 'chat']);
  });

  it('keeps first-come order within one priority', async () => {
    const s = new EngineScheduler({ chatTurnAfter: 4, maxChatWaitMs: 60_000 });
    const r = recorder(s);
    await r.ask('holder', 'completion');
    for (const n of ['c1', 'c2', 'c3']) void r.ask(n, 'completion');
    for (let i = 0; i < 3; i++) {
      r.leases.get(r.order[r.order.length - 1])!.release();
      await settle();
    }
    assert.deepStrictEqual(r.order, ['holder', 'c1', 'c2', 'c3']);
  });

  it('gives a waiting chat its turn after chatTurnAfter completions overtook it', async () => {
    const s = new EngineScheduler({ chatTurnAfter: 2, maxChatWaitMs: 60_000 });
    const r = recorder(s);
    await r.ask('holder', 'completion');
    void r.ask('chat', 'chat');
    for (const n of ['k1', 'k2', 'k3']) void r.ask(n, 'completion');
    let last = 'holder';
    for (let i = 0; i < 4; i++) {
      r.leases.get(last)!.release();
      await settle();
      last = r.order[r.order.length - 1];
    }
    assert.deepStrictEqual(r.order, ['holder', 'k1', 'k2', 'chat', 'k3']);
    assert.strictEqual(s.counters.chatGrants, 1);
  });

  it('gives a chat its turn once it has waited maxChatWaitMs, however many completions wait', async () => {
    const s = new EngineScheduler({ chatTurnAfter: 1000, maxChatWaitMs: 0 });
    const r = recorder(s);
    await r.ask('holder', 'completion');
    void r.ask('chat', 'chat');
    void r.ask('k1', 'completion');
    r.leases.get('holder')!.release();
    await settle();
    assert.deepStrictEqual(r.order, ['holder', 'chat']);
  });

  it('drops a waiter whose signal aborts, and refuses an already aborted one', async () => {
    const s = new EngineScheduler({ chatTurnAfter: 4, maxChatWaitMs: 60_000 });
    const r = recorder(s);
    await r.ask('holder', 'completion');
    const controller = new AbortController();
    const waiting = r.ask('cancelled', 'completion', controller.signal);
    void r.ask('next', 'completion');
    controller.abort();
    await assert.rejects(waiting, (e: Error) => e.name === 'AbortError');
    assert.strictEqual(s.waitingCount, 1);
    await assert.rejects(s.acquire('chat', AbortSignal.abort()), (e: Error) => e.name === 'AbortError');
    r.leases.get('holder')!.release();
    await settle();
    assert.deepStrictEqual(r.order, ['holder', 'next']);
  });

  it('rejects everything waiting when the model goes away', async () => {
    const s = new EngineScheduler({ chatTurnAfter: 4, maxChatWaitMs: 60_000 });
    await s.acquire('completion');
    const a = s.acquire('completion');
    const b = s.acquire('chat');
    s.failWaiting(new Error('model unloaded'));
    await assert.rejects(a, /model unloaded/);
    await assert.rejects(b, /model unloaded/);
    assert.strictEqual(s.waitingCount, 0);
  });

  it('releases the lease when the work of withLease throws', async () => {
    const s = new EngineScheduler({ chatTurnAfter: 4, maxChatWaitMs: 60_000 });
    await assert.rejects(
      s.withLease('chat', undefined, async () => {
        throw new Error('step failed');
      }),
      /step failed/,
    );
    assert.strictEqual(s.busy, false);
    assert.strictEqual(await s.withLease('completion', undefined, async () => 7), 7);
  });
});
