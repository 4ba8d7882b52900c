// The device setting through the engine and the addon: 'cpu' always runs on the CPU, 'cuda' runs
// on the GPU or fails naming the reason, 'auto' uses the GPU only after the self-check, and
// ModelInfo says what runs and why not the GPU. No GPU is needed: the addon's probe hook
// (QWEN_TEST_CUDA_UNAVAILABLE) reports each reason, and its stand-in GPU backend
// (QWEN_TEST_FAKE_GPU) returns exact, perturbed or failing results (native/src/loader/device.h).
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Model } from '../../src/engine/api';
import { generate } from '../../src/engine/generate';
import { isGpuFault, loadModel } from '../../src/engine/model';
import { loadNative } from '../../src/engine/native';
import { runCli, tinyModelPath } from './fixtures';

const PROBE_REASONS = ['built_without_cuda', 'no_driver', 'driver_too_old', 'no_device', 'unsupported_gpu', 'not_enough_memory', 'probe_failed'];

/** Runs fn with environment variables set, restoring them after (the addon reads them at load). */
async function withEnv<T>(vars: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const old: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(vars)) {
    old[k] = process.env[k];
    process.env[k] = v;
  }
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(old)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

describe('engine: device selection (cpu | cuda | auto)', function () {
  this.timeout(120000);
  let tiny: string;
  const open: Model[] = [];
  const load = async (device: 'auto' | 'cpu' | 'cuda', extra: { gpuSelfCheck?: boolean } = {}): Promise<Model> => {
    const m = await loadModel(tiny, { threads: 1, contextSize: 256, device, ...extra });
    open.push(m);
    return m;
  };

  before(async () => {
    tiny = await tinyModelPath();
  });
  afterEach(async () => {
    for (const m of open.splice(0)) await m.dispose();
  });

  it('the probe says whether this addon has a GPU backend and why no GPU is used', () => {
    const g = loadNative().gpuInfo();
    console.log(`      this machine: builtWithCuda=${g.builtWithCuda}, usable=${g.usable}, ${g.reasonCode}: ${g.reason}`);
    if (!g.builtWithCuda) assert.strictEqual(g.reasonCode, 'built_without_cuda');
    if (!g.usable) assert.ok(g.reason.length > 0 && g.reasonCode !== 'none');
    else assert.ok(g.deviceName.length > 0 && g.totalBytes > 0);
  });

  it("'cpu' runs on the CPU, even where a GPU is usable", async () => {
    await withEnv({ QWEN_TEST_FAKE_GPU: 'exact' }, async () => {
      const m = await load('cpu');
      assert.strictEqual(m.info.device, 'cpu');
      assert.deepStrictEqual(m.info.deviceReport.gpuUnavailable, { code: 'cpu_requested', message: "device 'cpu' was requested" });
      assert.match(m.info.backend, /^CPU /);
    });
  });

  it("'auto' without test hooks runs where the probe says, and says why", async () => {
    const g = loadNative().gpuInfo();
    const m = await load('auto');
    if (g.usable) {
      assert.ok(m.info.deviceReport.selfCheck, 'a usable GPU must be self-checked');
    } else {
      assert.strictEqual(m.info.device, 'cpu');
      assert.deepStrictEqual(m.info.deviceReport.gpuUnavailable, { code: g.reasonCode, message: g.reason });
    }
  });

  for (const code of PROBE_REASONS) {
    it(`reports '${code}': 'auto' runs on the CPU, 'cuda' fails naming it`, async () => {
      await withEnv({ QWEN_TEST_CUDA_UNAVAILABLE: code }, async () => {
        const m = await load('auto');
        assert.strictEqual(m.info.device, 'cpu');
        const why = m.info.deviceReport.gpuUnavailable;
        assert.ok(why && why.code === code && why.message.length > 10, JSON.stringify(why));
        await assert.rejects(load('cuda'), (e: Error) => e.message.includes(`${tiny}: device 'cuda' requested but ${why.message}`));
      });
    });
  }

  it("'auto' uses a GPU whose logits pass the self-check, and reports the numbers", async () => {
    await withEnv({ QWEN_TEST_FAKE_GPU: 'perturb:0.01' }, async () => {
      const m = await load('auto');
      assert.strictEqual(m.info.device, 'cuda');
      assert.strictEqual(m.info.deviceReport.gpuUnavailable, undefined);
      const c = m.info.deviceReport.selfCheck!;
      assert.ok(c.passed && c.tokens === 16 && c.cosineMin > 0.999 && c.top1Mismatches === 0, JSON.stringify(c));
      assert.match(c.summary, /^cosine min 0\.99\d+ \(threshold 0\.99\), top-1 agrees in 16 of 16 rows/);
      // The model works and its KV cache starts empty after the check.
      assert.strictEqual(m.kvUsage().used, 0);
      const r = await generate(m, m.createSequence(), [1, 2, 3, 4], { maxTokens: 4 });
      assert.strictEqual(r.tokens.length, 4);
    });
  });

  it("'auto' falls back to the CPU when the self-check fails, with the numbers; 'cuda' fails", async () => {
    await withEnv({ QWEN_TEST_FAKE_GPU: 'perturb:0.5' }, async () => {
      const m = await load('auto');
      assert.strictEqual(m.info.device, 'cpu');
      const why = m.info.deviceReport.gpuUnavailable!;
      assert.strictEqual(why.code, 'self_check_failed');
      assert.match(why.message, /^the GPU self-check failed: cosine min 0\.\d+ \(threshold 0\.99\)/);
      assert.strictEqual(m.info.deviceReport.selfCheck!.passed, false);
      assert.ok(m.info.deviceReport.selfCheck!.cosineMin < 0.99);
      await assert.rejects(load('cuda'), /device 'cuda' requested but the GPU self-check failed: cosine min/);
      // gpuSelfCheck: false (diagnostics only) takes the GPU as it is.
      const unchecked = await load('cuda', { gpuSelfCheck: false });
      assert.strictEqual(unchecked.info.device, 'cuda');
      assert.strictEqual(unchecked.info.deviceReport.selfCheck, undefined);
    });
  });

  it('GPU out of memory at load: the CPU with a notice for auto, an error for cuda', async () => {
    await withEnv({ QWEN_TEST_FAKE_GPU: 'oom' }, async () => {
      const m = await load('auto');
      assert.strictEqual(m.info.device, 'cpu');
      assert.strictEqual(m.info.deviceReport.gpuUnavailable!.code, 'out_of_memory');
      assert.match(m.info.deviceReport.gpuUnavailable!.message, /ran out of memory while loading the model/);
      await assert.rejects(load('cuda'), /device 'cuda' requested but the GPU ran out of memory/);
    });
  });

  it('a sticky GPU error during generation rejects with code QWEN_GPU_FAULT', async () => {
    // 5 evals for the self-check, then 3 more work; the 4th after load faults.
    await withEnv({ QWEN_TEST_FAKE_GPU: 'fault-after:8' }, async () => {
      const m = await load('auto');
      assert.strictEqual(m.info.device, 'cuda');
      const err = await generate(m, m.createSequence(), [1, 2, 3], { maxTokens: 20 }).then(
        () => assert.fail('generation should have failed'),
        (e: unknown) => e,
      );
      assert.ok(isGpuFault(err), `not a GPU fault: ${String(err)}`);
      assert.match((err as Error).message, /illegal memory access/);
      // Sticky: every later eval fails the same way, and dispose still works.
      await assert.rejects(m.createSequence().eval([5]), (e: unknown) => isGpuFault(e));
    });
  });

  it('refuses an unknown device before loading', async () => {
    await assert.rejects(loadModel(tiny, { device: 'tpu' as 'cpu' }), /device must be 'auto', 'cpu' or 'cuda', got 'tpu'/);
    // The addon refuses it synchronously, before queueing any work.
    assert.throws(() => loadNative().loadModel(tiny, { device: 'tpu' as 'cpu' }), /device must be 'auto', 'cpu' or 'cuda', got 'tpu'/);
  });

  describe('cli --device', () => {
    it('info --json says what runs and why not the GPU', async () => {
      const cpu = await runCli(['info', '--model', tiny, '--device', 'cpu', '--json']);
      assert.strictEqual(cpu.code, 0, cpu.stderr);
      const info = JSON.parse(cpu.stdout);
      assert.strictEqual(info.device, 'cpu');
      assert.strictEqual(info.deviceReport.gpuUnavailable.code, 'cpu_requested');
      const text = await runCli(['info', '--model', tiny, '--device', 'auto'], { env: { QWEN_TEST_CUDA_UNAVAILABLE: 'driver_too_old' } });
      assert.strictEqual(text.code, 0, text.stderr);
      assert.match(text.stdout, /^device +cpu \(GPU not used: the NVIDIA driver supports CUDA 11\.8, older than/m);
    });

    it('cuda without a usable GPU is a clear error naming the reason', async () => {
      const r = await runCli(['run', '--model', tiny, '--device', 'cuda', '--prompt', 'hi', '-n', '2'], { env: { QWEN_TEST_CUDA_UNAVAILABLE: 'no_device' } });
      assert.strictEqual(r.code, 1);
      assert.match(r.stderr, /^qwen-local: .*device 'cuda' requested but no GPU: the CUDA driver found no device/);
    });

    it('every model-loading command takes --device and refuses a bad one', async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qwen-device-'));
      const tokens = path.join(dir, 't.json');
      const text = path.join(dir, 't.txt');
      fs.writeFileSync(tokens, '[1, 2, 3]');
      fs.writeFileSync(text, 'hello world '.repeat(100));
      try {
        const commands: string[][] = [
          ['info'],
          ['run', '--prompt', 'x'],
          ['chat'],
          ['logits', '--tokens', tokens, '--out', path.join(dir, 'o.f32')],
          ['perplexity', '--file', text],
          ['bench'],
          ['serve', '--http'],
        ];
        for (const [cmd, ...rest] of commands) {
          const r = await runCli([cmd, '--model', tiny, '--device', 'gpu', ...rest]);
          assert.strictEqual(r.code, 1, `${cmd}: ${r.stderr}`);
          assert.match(r.stderr, /^qwen-local: --device must be auto, cpu or cuda, got 'gpu'/, cmd);
        }
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    it('a fallback is never silent: run notes it on stderr', async () => {
      const r = await runCli(['run', '--model', tiny, '--device', 'auto', '--prompt', 'hi', '-n', '2'], { env: { QWEN_TEST_FAKE_GPU: 'perturb:0.5' } });
      assert.strictEqual(r.code, 0, r.stderr);
      assert.match(r.stderr, /qwen-local: note: running on the CPU: the GPU self-check failed: cosine min/);
    });
  });
});
