// Status bar wording for each server state, and the crash-restart allowance.
import * as assert from 'assert';
import { ErrorCodes, ResponseError } from 'vscode-languageserver';
import { connectionLostMessage, describeStatus, formatBytes, RestartPolicy } from '../../src/extension/server-status';

describe('extension: status text and restart policy', () => {
  it('says "no model — pick one" when no model is configured', () => {
    const v = describeStatus({ state: 'noModel' }, true);
    assert.match(v.text, /no model — pick one/);
    assert.strictEqual(v.severity, 'warning');
  });

  it('shows loading progress, and model, device and speed when ready', () => {
    assert.match(describeStatus({ state: 'loading', progress: 0.426 }, true).text, /loading 43%$/);
    const model = {
      name: 'qwen2.5-coder-1.5b-q4_k_m',
      path: '/m.gguf',
      device: 'CPU AVX2',
      contextSize: 8192,
      memoryBytes: 1.2 * 2 ** 30,
      parameterCount: 1.54e9,
    };
    const ready = describeStatus({ state: 'ready', model, lastTokensPerSecond: 23.456 }, true);
    assert.strictEqual(ready.text, '$(sparkle) qwen2.5-coder-1.5b-q4_k_m · CPU AVX2 · 23.5 tok/s');
    assert.match(ready.tooltip, /Memory: 1\.2 GiB/);
    assert.match(ready.tooltip, /Parameters: 1\.54 B/);
    assert.match(describeStatus({ state: 'ready', model }, false).text, /\(completions off\)$/);
  });

  it('says what runs the model and why the GPU is not used', () => {
    const base = { name: 'q', path: '/m.gguf', device: 'CPU AVX2, 2 threads', contextSize: 8192, memoryBytes: 2 ** 30, parameterCount: 1.5e9 };
    // No GPU on this machine: ordinary, said in the tooltip only.
    const noGpu = describeStatus(
      { state: 'ready', model: { ...base, runsOn: 'cpu', gpuNotUsed: { code: 'no_driver', message: 'no CUDA driver: libcuda.so was not found' } } },
      true,
    );
    assert.strictEqual(noGpu.severity, 'normal');
    assert.strictEqual(noGpu.text, '$(sparkle) q · CPU AVX2, 2 threads');
    assert.match(noGpu.tooltip, /Runs on: CPU\nGPU not used: no CUDA driver: libcuda\.so was not found/);
    // A GPU that failed its self-check: a warning in the bar, the numbers in the tooltip.
    const failed = describeStatus(
      {
        state: 'ready',
        model: {
          ...base,
          runsOn: 'cpu',
          gpuNotUsed: { code: 'self_check_failed', message: 'the GPU self-check failed: cosine min 0.912 (threshold 0.99), top-1 agrees in 11 of 16 rows' },
          gpuSelfCheck: 'failed: cosine min 0.912 (threshold 0.99), top-1 agrees in 11 of 16 rows',
        },
      },
      true,
    );
    assert.strictEqual(failed.severity, 'warning');
    assert.match(failed.text, /\(GPU not used\)/);
    assert.match(failed.tooltip, /GPU not used: the GPU self-check failed: cosine min 0\.912/);
    for (const code of ['driver_too_old', 'not_enough_memory', 'out_of_memory', 'gpu_fault', 'load_failed', 'unsupported_gpu']) {
      assert.strictEqual(
        describeStatus({ state: 'ready', model: { ...base, runsOn: 'cpu', gpuNotUsed: { code, message: code } } }, true).severity,
        'warning',
        code,
      );
    }
    for (const code of ['cpu_requested', 'built_without_cuda', 'no_device']) {
      assert.strictEqual(
        describeStatus({ state: 'ready', model: { ...base, runsOn: 'cpu', gpuNotUsed: { code, message: code } } }, true).severity,
        'normal',
        code,
      );
    }
    // On the GPU: says so, with the self-check.
    const gpu = describeStatus(
      { state: 'ready', model: { ...base, device: 'CUDA NVIDIA H100', runsOn: 'cuda', gpuSelfCheck: 'passed: cosine min 0.9999' } },
      true,
    );
    assert.strictEqual(gpu.severity, 'normal');
    assert.match(gpu.tooltip, /Runs on: GPU \(CUDA\)\nGPU self-check passed: cosine min 0\.9999/);
  });

  it('shows errors with their message in the tooltip', () => {
    const v = describeStatus({ state: 'error', message: 'model.gguf: unsupported architecture "llama"' }, true);
    assert.strictEqual(v.severity, 'error');
    assert.match(v.tooltip, /unsupported architecture/);
  });

  it('formats byte counts', () => {
    assert.strictEqual(formatBytes(0), '0 B');
    assert.strictEqual(formatBytes(512), '512 B');
    assert.strictEqual(formatBytes(1536), '1.5 KiB');
    assert.strictEqual(formatBytes(300 * 2 ** 20), '300 MiB');
  });

  it('allows N restarts per window, then refuses until the window passes or a reset', () => {
    const p = new RestartPolicy(3, 60_000);
    assert.deepStrictEqual([p.recordCrash(0), p.recordCrash(1000), p.recordCrash(2000), p.recordCrash(3000)], [true, true, true, false]);
    assert.strictEqual(p.recentCrashes(3000), 4);
    assert.strictEqual(p.recordCrash(70_000), true, 'old crashes left the window');
    p.reset();
    assert.strictEqual(p.recentCrashes(70_000), 0);
  });

  it("names a request lost with its server (the transport's own error codes), and nothing else", () => {
    const dropped = new ResponseError(ErrorCodes.PendingResponseRejected, 'Pending response rejected since connection got disposed');
    const inactive = new ResponseError(ErrorCodes.ConnectionInactive, 'Client is not running');
    assert.match(connectionLostMessage(dropped, false) ?? '', /stopped while writing this reply .*crashed.*restarts it/);
    assert.match(connectionLostMessage(inactive, false) ?? '', /stopped while writing this reply/);
    assert.match(connectionLostMessage(dropped, true) ?? '', /restarted on request/);
    // A server-side failure is shown in its own words.
    assert.strictEqual(connectionLostMessage(new ResponseError(ErrorCodes.InternalError, 'KV cache full'), false), undefined);
    assert.strictEqual(connectionLostMessage(new Error('boom'), false), undefined);
    assert.strictEqual(connectionLostMessage(undefined, false), undefined);
  });
});
