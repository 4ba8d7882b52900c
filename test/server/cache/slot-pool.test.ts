// The KV slot pool and the scheduled (pausable) sequence, over the fake engine's model: slot
// choice per document, LRU overwrite, the budget counted in whole KV blocks with reservations of
// running requests, and truncation deferred until the engine lease is held.
import * as assert from 'assert';
import { SlotPool } from '../../../src/server/cache/slot-pool';
import { EngineScheduler } from '../../../src/server/scheduler/engine-scheduler';
import { ScheduledSequence } from '../../../src/server/scheduler/scheduled-sequence';
import { FakeModel, fakeModelInfo } from '../fake-engine';

function fakeModel(contextSize: number): FakeModel {
  return new FakeModel(fakeModelInfo(contextSize), { prefillMsPerToken: 0, decodeMs: 0 });
}

const range = (n: number, from = 0): number[] => Array.from({ length: n }, (_, i) => from + i);

describe('KV slot pool', () => {
  it('gives each document its own slot and overwrites the least recently used one at the limit', async () => {
    const pool = new SlotPool(fakeModel(4096), 2);
    const a = pool.pickCompletionSlot('a', range(10), true).slot;
    await a.seq.eval(range(10));
    const b = pool.pickCompletionSlot('b', range(10), true).slot;
    await b.seq.eval(range(10));
    assert.notStrictEqual(a, b, 'b does not take a’s slot even though they share a prefix');
    const again = pool.pickCompletionSlot('a', range(12), true);
    assert.strictEqual(again.slot, a);
    assert.strictEqual(again.sharedTokens, 10);
    const c = pool.pickCompletionSlot('c', range(5, 500), true).slot;
    assert.strictEqual(c, b, 'c overwrites the least recently used slot');
    assert.strictEqual(pool.all.length, 2);
  });

  // The block size is the engine's (kvUsage().blockTokens), not a constant of the server's.
  for (const KV_BLOCK_TOKENS of [32, 16])
    it(`counts whole blocks of the engine's size (${KV_BLOCK_TOKENS}) and the reservations of running requests`, async () => {
      // 4 blocks in all.
      const model = fakeModel(4 * KV_BLOCK_TOKENS);
      model.blockTokens = KV_BLOCK_TOKENS;
      const pool = new SlotPool(model, 4);
      const chat = pool.chatSlot('s');
      pool.setBusy(chat, true);
      // A running chat plans to grow to 1.5 blocks: 2 blocks are taken although it holds nothing yet.
      assert.strictEqual(pool.makeRoom(chat, KV_BLOCK_TOKENS + KV_BLOCK_TOKENS / 2), 4 * KV_BLOCK_TOKENS);
      const idle = pool.pickCompletionSlot('x', range(1), true).slot;
      await idle.seq.eval(range(1));
      const comp = pool.pickCompletionSlot('y', range(1), true).slot;
      pool.setBusy(comp, true);
      // One token in the idle slot holds a whole block; it is evicted to make room, the chat's 2 blocks are not.
      const limit = pool.makeRoom(comp, 2 * KV_BLOCK_TOKENS);
      assert.strictEqual(limit, 2 * KV_BLOCK_TOKENS);
      assert.ok(!pool.all.includes(idle), 'the idle slot was evicted');
      assert.ok(pool.all.includes(chat), 'the busy chat slot was kept');
      // Nothing more fits next to both reservations.
      pool.setBusy(comp, false);
      const third = pool.pickCompletionSlot('z', range(1), true).slot;
      pool.setBusy(third, true);
      assert.strictEqual(pool.makeRoom(third, 3 * KV_BLOCK_TOKENS), 2 * KV_BLOCK_TOKENS, 'a freed reservation is given back, the chat’s is not');
      pool.setBusy(chat, false);
      assert.strictEqual(pool.makeRoom(third, 3 * KV_BLOCK_TOKENS), 4 * KV_BLOCK_TOKENS);
    });

  it('frees every idle slot on request', async () => {
    const model = fakeModel(1024);
    const pool = new SlotPool(model, 3);
    for (const key of ['a', 'b']) await pool.pickCompletionSlot(key, range(40), true).slot.seq.eval(range(40));
    assert.strictEqual(model.kvUsage().used, 80);
    assert.strictEqual(pool.evictIdle(), 2);
    assert.strictEqual(model.kvUsage().used, 0);
  });
});

describe('scheduled sequence', () => {
  it('applies a truncate only once it holds the engine lease, and not at all when cancelled first', async () => {
    const model = fakeModel(1024);
    const inner = model.createSequence();
    await inner.eval(range(50));
    const scheduler = new EngineScheduler({ chatTurnAfter: 4, maxChatWaitMs: 60000 });
    const other = await scheduler.acquire('completion');
    const seq = new ScheduledSequence(inner, scheduler, 'chat');
    seq.truncate(10);
    assert.strictEqual(seq.tokens.length, 10, 'the caller sees the truncated view');
    assert.strictEqual(inner.tokens.length, 50, 'the engine keeps its cells while another job runs');
    const controller = new AbortController();
    const pending = seq.eval([7], { signal: controller.signal });
    controller.abort();
    await assert.rejects(pending, (e: Error) => e.name === 'AbortError');
    assert.strictEqual(inner.tokens.length, 50, 'cancelled before the lease: the pool still sees what the engine holds');
    other.release();
    await seq.eval([7]);
    assert.deepStrictEqual(inner.tokens, [...range(10), 7], 'applied under the lease, then evaluated');
  });
});
