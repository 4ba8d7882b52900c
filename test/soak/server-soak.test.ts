// CI-sized soak of the real server (test/soak/server-soak.ts): a few hundred mixed, randomly
// timed and randomly cancelled requests; the full 10,000 run is scripts/soak-server.sh.
import * as assert from 'assert';
import { realServerUnavailable } from '../server/real-server';
import { describeFigures, runSoak } from './server-soak';

const REQUESTS = Number(process.env.QWEN_SOAK_REQUESTS ?? '300');

describe('server soak (real engine, tiny model)', function () {
  this.timeout(30 * 60 * 1000);

  it(`answers or cancels ${REQUESTS} mixed requests without deadlock, and returns KV and RSS to baseline`, async function () {
    const unavailable = realServerUnavailable();
    if (unavailable) {
      console.log(`    skipped: ${unavailable}`);
      this.skip();
    }
    const f = await runSoak({ requests: REQUESTS, seed: 7, concurrency: 6, warmupRequests: 100, deadlineMs: Math.max(600, REQUESTS * 2) * 1000 });
    console.log(describeFigures(f).replace(/^/gm, '      '));
    assert.deepStrictEqual(f.errors, [], 'no request failed');
    assert.strictEqual(f.requests, REQUESTS);
    assert.strictEqual(f.answered + f.cancelled + f.empty, REQUESTS, 'every request got an answer');
    assert.ok(f.cancelRequests > REQUESTS / 10 && f.chats > REQUESTS / 10, 'the mix has cancels and chats');
    // The server's own books agree: everything it started has ended, none failed.
    const server = [f.server.completions, f.server.chats];
    assert.strictEqual(
      server.reduce((n, c) => n + c.started, 0),
      REQUESTS,
    );
    assert.ok(server.every((c) => c.failed === 0 && c.started === c.answered + c.cancelled + c.superseded));
    assert.strictEqual(f.end.inFlight, 0);
    assert.ok(f.server.completions.cancelled + f.server.chats.cancelled > 0, 'some work was really stopped by a cancel');
    assert.ok(f.peakKvUsedTokens > 0, 'the KV cache was used');
    assert.strictEqual(f.end.kvUsedTokens, f.baseline.kvUsedTokens, 'KV back to baseline');
    assert.strictEqual(f.end.slots, 0);
    // After the warm-up RSS moves within tens of MiB (allocator pools, GC timing), not in step with requests.
    const slack = Math.max(48 * 1048576, f.baseline.rssBytes * 0.2);
    assert.ok(f.end.rssBytes <= f.baseline.rssBytes + slack, `RSS ${f.end.rssBytes} vs baseline ${f.baseline.rssBytes}`);
  });
});
