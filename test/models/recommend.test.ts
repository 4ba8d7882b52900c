// The machine-based model recommendation: nvidia-smi parsing, tolerance of a missing nvidia-smi,
// and the choice for typical machines (laptop without GPU, small and big GPUs, starved RAM).
import * as assert from 'assert';
import { MachineInfo, parseNvidiaSmi, probeMachine, recommendModel } from '../../src/models/recommend';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

function machine(over: Partial<MachineInfo>): MachineInfo {
  return { totalMemBytes: 16 * GiB, freeMemBytes: 12 * GiB, cpuCount: 8, gpus: [], ...over };
}

describe('models: machine recommendation', () => {
  it('parses nvidia-smi CSV, skipping junk lines', () => {
    const gpus = parseNvidiaSmi('NVIDIA GeForce RTX 3060, 12288, 11000\n\ngarbage\nNVIDIA H100 80GB HBM3, 81559, 80000\n');
    assert.deepStrictEqual(gpus, [
      { name: 'NVIDIA GeForce RTX 3060', memoryTotalBytes: 12288 * MiB, memoryFreeBytes: 11000 * MiB },
      { name: 'NVIDIA H100 80GB HBM3', memoryTotalBytes: 81559 * MiB, memoryFreeBytes: 80000 * MiB },
    ]);
  });

  it('treats a missing or failing nvidia-smi as no GPU', async () => {
    const m = await probeMachine({
      exec: async () => {
        throw Object.assign(new Error('spawn nvidia-smi ENOENT'), { code: 'ENOENT' });
      },
    });
    assert.deepStrictEqual(m.gpus, []);
    assert.ok(m.totalMemBytes > 0 && m.cpuCount > 0);
    const withGpu = await probeMachine({ exec: async () => 'Tesla T4, 15360, 15000\n' });
    assert.strictEqual(withGpu.gpus[0].name, 'Tesla T4');
  });

  it('picks a small q4_k_m model on a CPU-only laptop, and says why', () => {
    const r = recommendModel(machine({ cpuCount: 4 }));
    assert.strictEqual(r.device, 'cpu');
    assert.strictEqual(r.model.id, 'qwen2.5-coder-1.5b-instruct-q4_k_m');
    assert.match(r.reason, /No NVIDIA GPU found/);
    assert.match(r.reason, /4 cores/);
  });

  it('allows the 3B on an 8-core machine and the 7B on a big workstation', () => {
    assert.strictEqual(recommendModel(machine({ cpuCount: 8 })).model.id, 'qwen2.5-coder-3b-instruct-q4_k_m');
    assert.strictEqual(recommendModel(machine({ cpuCount: 16, totalMemBytes: 64 * GiB, freeMemBytes: 48 * GiB })).model.id, 'qwen2.5-coder-7b-instruct-q4_k_m');
  });

  it('falls back to the smallest model when memory is scarce', () => {
    const r = recommendModel(machine({ totalMemBytes: 2 * GiB, freeMemBytes: 600 * MiB, cpuCount: 2 }));
    assert.strictEqual(r.model.id, 'qwen2.5-coder-0.5b-instruct-q4_k_m');
    assert.match(r.reason, /smallest model/);
  });

  it('uses GPU memory: the largest model that fits, q8_0 when there is room', () => {
    const small = recommendModel(machine({ gpus: [{ name: 'RTX 3050', memoryTotalBytes: 4 * GiB, memoryFreeBytes: 3.6 * GiB }] }));
    assert.strictEqual(small.device, 'cuda');
    assert.strictEqual(small.model.id, 'qwen2.5-coder-3b-instruct-q4_k_m');
    const big = recommendModel(machine({ totalMemBytes: 64 * GiB, gpus: [{ name: 'RTX 4090', memoryTotalBytes: 24 * GiB, memoryFreeBytes: 22 * GiB }] }));
    assert.strictEqual(big.model.id, 'qwen2.5-coder-7b-instruct-q8_0');
    assert.match(big.reason, /RTX 4090/);
  });

  it('goes back to the CPU when the GPU is nearly full', () => {
    const r = recommendModel(machine({ cpuCount: 4, gpus: [{ name: 'Busy GPU', memoryTotalBytes: 8 * GiB, memoryFreeBytes: 700 * MiB }] }));
    assert.strictEqual(r.device, 'cpu');
    assert.match(r.reason, /Busy GPU has too little free memory/);
  });
});
