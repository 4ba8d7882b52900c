// Background prefill (warm-ups and long-prompt fills) over the fake engine's model, in process:
// the scheduler's background priority, preemption by real requests within one micro-batch
// (counted in tokens, never in wall time), superseding, and the slots it may and may not touch.
import * as assert from 'assert';
import { SlotPool } from '../../../src/server/cache/slot-pool';
import { BackgroundPrefill } from '../../../src/server/completion/background-prefill';
import { PrefillRate } from '../../../src/server/completion/prefill-rate';
import type { LoadedModel } from '../../../src/server/model-host';
import { EngineScheduler } from '../../../src/server/scheduler/engine-scheduler';
import { FakeModel, fakeModelInfo } from '../fake-engine';

const MICRO_BATCH = 32;

function setup(
  contextSize = 8192,
  prefillMsPerToken = 0.5,
): { model: FakeModel; pool: SlotPool; scheduler: EngineScheduler; fills: BackgroundPrefill; loaded: LoadedModel } {
  const model = new FakeModel(fakeModelInfo(contextSize), { prefillMsPerToken, decodeMs: 1 });
  const pool = new SlotPool(model, 4);
  const scheduler = new EngineScheduler({ chatTurnAfter: 4, maxChatWaitMs: 60000 });
  const fills = new BackgroundPrefill({ scheduler, rate: new PrefillRate(), microBatch: MICRO_BATCH });
  return { model, pool, scheduler, fills, loaded: { model, pool } };
}

const range = (n: number, from = 0): number[] => Array.from({ length: n }, (_, i) => from + i);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function until(cond: () => boolean, what: string, timeoutMs = 20000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

const slotTokens = (pool: SlotPool, key: string): number => pool.all.find((s) => s.key === key)?.seq.tokens.length ?? 0;

describe('background prefill', function () {
  this.timeout(60000);

  it("fills all but the last prompt token into the key's slot, one micro-batch per lease", async () => {
    const { pool, scheduler, fills, loaded } = setup(8192, 0);
    const prompt = range(300);
    await fills.start(loaded, { key: 'doc', tokens: prompt, reserve: 16, kind: 'warmup' });
    assert.deepStrictEqual(pool.all.find((s) => s.key === 'doc')!.seq.tokens, prompt.slice(0, 299));
    assert.strictEqual(scheduler.counters.backgroundGrants, Math.ceil(299 / MICRO_BATCH) + 1, 'one grant per micro-batch, and one to see it is done');
    assert.strictEqual(fills.counters.warmupTokens, 299);
    assert.strictEqual(fills.counters.completed, 1);
  });

  it('lets a real request start after at most one micro-batch of a long warm-up', async () => {
    const { pool, scheduler, fills, loaded } = setup();
    const prompt = range(3000);
    const job = fills.start(loaded, { key: 'doc', tokens: prompt, reserve: 16, kind: 'warmup' });
    await until(() => slotTokens(pool, 'doc') >= 3 * MICRO_BATCH, 'the warm-up to get going');
    for (let round = 0; round < 3; round++) {
      // A completion for another document arrives: it is foreground from now on.
      const atArrival = slotTokens(pool, 'doc');
      const endForeground = scheduler.beginForeground();
      const lease = await scheduler.acquire('completion');
      const atStart = slotTokens(pool, 'doc');
      assert.ok(
        atStart - atArrival <= MICRO_BATCH,
        `round ${round}: the warm-up evaluated ${atStart - atArrival} tokens after the request arrived (one micro-batch is ${MICRO_BATCH})`,
      );
      // While the request runs (and until it has answered), the warm-up evaluates nothing.
      await sleep(40);
      assert.strictEqual(slotTokens(pool, 'doc'), atStart, `round ${round}: nothing ran beside the request`);
      lease.release();
      await sleep(40);
      assert.strictEqual(slotTokens(pool, 'doc'), atStart, `round ${round}: nothing ran while the request was still answering`);
      endForeground();
      await until(() => slotTokens(pool, 'doc') > atStart, 'the warm-up to resume');
    }
    await job;
    assert.strictEqual(slotTokens(pool, 'doc'), 2999, 'the warm-up finished after the requests');
  });

  it('does not start while a request is pending, nor between the steps of a chat', async () => {
    const { pool, scheduler, fills, loaded } = setup(8192, 0.2);
    // A completion that is still waiting for its model counts as pending.
    const endPending = scheduler.beginForeground();
    const job = fills.start(loaded, { key: 'doc', tokens: range(500), reserve: 16, kind: 'warmup' });
    await sleep(60);
    assert.strictEqual(scheduler.counters.backgroundGrants, 0, 'no micro-batch while a request is pending');
    assert.strictEqual(slotTokens(pool, 'doc'), 0);
    endPending();
    await until(() => slotTokens(pool, 'doc') > 0, 'the warm-up to start once nothing is pending');
    // A chat takes the engine one step at a time and gives it back in between.
    const chatSlot = pool.chatSlot('chat');
    const chat = scheduler.whileForeground(async () => {
      for (let step = 0; step < 20; step++) {
        const lease = await scheduler.acquire('chat');
        try {
          await chatSlot.seq.eval([1]);
        } finally {
          lease.release();
        }
        // The chat samples and decides what comes next before asking again.
        await sleep(2);
      }
    });
    await until(() => chatSlot.seq.tokens.length >= 1, 'the chat to start');
    const grantsAtChatStart = scheduler.counters.backgroundGrants;
    await chat;
    assert.ok(
      scheduler.counters.backgroundGrants - grantsAtChatStart <= 1,
      `the warm-up got ${scheduler.counters.backgroundGrants - grantsAtChatStart} micro-batches during a 20-step chat (at most the one in flight when it began)`,
    );
    await job;
    assert.strictEqual(slotTokens(pool, 'doc'), 499);
  });

  it('drops a warm-up superseded by a newer one for the same slot, keeping what it filled', async () => {
    const { pool, fills, loaded } = setup();
    const first = fills.start(loaded, { key: 'doc', tokens: range(2000), reserve: 16, kind: 'warmup' });
    await until(() => slotTokens(pool, 'doc') >= 64, 'the first warm-up to get going');
    // The cursor jumped: same file, a prompt that shares its first 40 tokens.
    const second = [...range(40), ...range(200, 5000)];
    const later = fills.start(loaded, { key: 'doc', tokens: second, reserve: 16, kind: 'warmup' });
    await first;
    assert.strictEqual(fills.counters.superseded, 1);
    await later;
    assert.deepStrictEqual(pool.all.find((s) => s.key === 'doc')!.seq.tokens, second.slice(0, second.length - 1));
    assert.strictEqual(pool.all.filter((s) => s.key === 'doc').length, 1, 'one slot for the document');
  });

  it('stops when a real request for the same slot preempts it; the request finds the slot idle with what was filled', async () => {
    const { pool, fills, loaded } = setup();
    void fills.start(loaded, { key: 'doc', tokens: range(3000), reserve: 16, kind: 'warmup' });
    await until(() => slotTokens(pool, 'doc') >= 64, 'the warm-up to get going');
    await fills.preempt('doc');
    const slot = pool.all.find((s) => s.key === 'doc')!;
    assert.strictEqual(slot.busy, false, 'the slot is free for the request');
    const kept = slot.seq.tokens.length;
    assert.ok(kept >= 64 && kept < 2999, `kept ${kept} tokens`);
    assert.deepStrictEqual(slot.seq.tokens, range(kept), 'what was filled is a valid prefix');
    await sleep(40);
    assert.strictEqual(slot.seq.tokens.length, kept, 'nothing more was evaluated after the preemption');
    assert.strictEqual(fills.counters.preempted, 1);
  });

  it('never evicts or writes a slot a request is using, and gives up when there is no other room', async () => {
    const { model, pool, fills, loaded } = setup(256, 0);
    // A request holds 200 tokens of the 256-token context and is still running.
    const busy = pool.pickCompletionSlot('other', range(200), true).slot;
    await busy.seq.eval(range(200));
    pool.setBusy(busy, true);
    await fills.start(loaded, { key: 'doc', tokens: range(150, 1000), reserve: 16, kind: 'warmup' });
    assert.ok(pool.all.includes(busy), 'the busy slot was not evicted');
    assert.deepStrictEqual(busy.seq.tokens, range(200), 'and not written');
    assert.strictEqual(slotTokens(pool, 'doc'), 0, 'the warm-up gave up for want of room');
    assert.ok(model.kvUsage().used <= 256);
    // Idle, the same slot may be evicted for the warm-up.
    pool.setBusy(busy, false);
    await fills.start(loaded, { key: 'doc', tokens: range(150, 1000), reserve: 16, kind: 'warmup' });
    assert.strictEqual(slotTokens(pool, 'doc'), 149);
    assert.ok(!pool.all.includes(busy), 'the least recently used idle slot made room');
  });
});
