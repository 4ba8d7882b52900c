// The language server (real engine, tiny model) on a GPU that fails: the addon's stand-in GPU
// backend (QWEN_TEST_FAKE_GPU, native/src/loader/gpu_stand_in.h) passes the self-check and then
// hits a sticky error during generation. The request must fail cleanly, the model must come back
// on the CPU with the status saying why, the next request must work, and the server stay up.
// A second server shows a failed self-check reported with its numbers.
import * as assert from 'assert';
import type { StatusParams } from '../../src/protocol';
import { getTestModel } from '../helpers/models';
import type { LspTestClient } from './lsp-client';
import { realServerUnavailable, startRealServer } from './real-server';

const why = realServerUnavailable();

describe('language server: GPU failures fall back to the CPU', function () {
  this.timeout(240000);
  let client: LspTestClient | undefined;
  afterEach(async () => {
    await client?.close();
    client = undefined;
  });

  before(function () {
    if (why) {
      console.log(`      skipped: ${why}`);
      this.skip();
    }
  });

  const chat = (c: LspTestClient, n: number) =>
    c.chat({ sessionId: `s${n}`, messages: [{ role: 'user', content: `hello ${n}` }], maxTokens: 4, temperature: 0 });

  it('a sticky GPU error during a chat: the request fails cleanly, the model reloads on the CPU, the next chat works', async () => {
    const model = await getTestModel('tiny', 'F32');
    // 5 evals for the self-check, 2 more work, then the GPU is lost for good.
    client = await startRealServer({ modelPath: model, device: 'auto', contextSize: 512, threads: 1 }, { QWEN_TEST_FAKE_GPU: 'fault-after:7' });
    const before: StatusParams = await client.waitForState();
    assert.strictEqual(before.model?.runsOn, 'cuda', JSON.stringify(before));
    assert.match(before.model?.gpuSelfCheck ?? '', /^passed: cosine min/);

    await assert.rejects(chat(client, 1), (e: Error) =>
      /Chat failed: the GPU failed during generation \(.*illegal memory access.*\); the model is being reloaded on the CPU/.test(e.message),
    );
    // The reload happens in the background; wait for a ready model on the CPU.
    let after: StatusParams = await client.waitForState();
    for (let i = 0; i < 200 && after.model?.runsOn !== 'cpu'; i++) {
      await new Promise((r) => setTimeout(r, 50));
      after = await client.waitForState();
    }
    assert.strictEqual(after.state, 'ready');
    assert.strictEqual(after.model?.runsOn, 'cpu', JSON.stringify(after));
    assert.strictEqual(after.model?.gpuNotUsed?.code, 'gpu_fault');
    assert.match(after.model?.gpuNotUsed?.message ?? '', /the GPU failed during generation .*reloaded on the CPU/);
    assert.match(after.model?.device ?? '', /^CPU /);
    const ok = await chat(client, 2);
    assert.ok(ok.stats.generatedTokens > 0, 'the chat after the reload generated text');
  });

  it('a GPU that fails its self-check: the model runs on the CPU and the status gives the numbers', async () => {
    const model = await getTestModel('tiny', 'F32');
    client = await startRealServer({ modelPath: model, device: 'auto', contextSize: 512, threads: 1 }, { QWEN_TEST_FAKE_GPU: 'perturb:0.5' });
    const s: StatusParams = await client.waitForState();
    assert.strictEqual(s.model?.runsOn, 'cpu');
    assert.strictEqual(s.model?.gpuNotUsed?.code, 'self_check_failed');
    assert.match(s.model?.gpuNotUsed?.message ?? '', /self-check failed: cosine min 0\.\d+ \(threshold 0\.99\)/);
    assert.match(s.model?.gpuSelfCheck ?? '', /^failed: cosine min/);
    const ok = await chat(client, 3);
    assert.ok(ok.stats.generatedTokens > 0);
  });
});
