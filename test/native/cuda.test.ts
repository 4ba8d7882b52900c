// The CUDA backend's native tests (native/tests/test_cuda*.cpp): every GEMV/GEMM weight format,
// row lookup, norm/activation, rope + paged attention (prefill and split-K decode), and the whole
// model's logits against a naive reference. They need an NVIDIA GPU; where there is none this
// test prints why and is reported as skipped (never silently passed). The CUDA sources are still
// compiled on every machine with nvcc by the ordinary native build, whose test binary prints
// "SKIP cuda: <reason>" for each of these tests.
import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '../../..');
const BUILD = path.join(ROOT, 'build', 'cuda-tests');

/** Why no CUDA GPU can run the tests here, or null when nvcc and a GPU are both present. */
function noGpuReason(): string | null {
  const nvcc = spawnSync('nvcc', ['--version'], { encoding: 'utf8' });
  if (nvcc.error) return 'nvcc not found, so the CUDA backend is not built';
  const smi = spawnSync('nvidia-smi', ['-L'], { encoding: 'utf8' });
  if (smi.error) return 'nvidia-smi not found: no NVIDIA driver';
  if (smi.status !== 0) return `nvidia-smi failed: ${(smi.stderr || smi.stdout).trim().split('\n')[0]}`;
  if (!/GPU \d+:/.test(smi.stdout)) return 'nvidia-smi lists no GPU';
  return null;
}

function run(cmd: string, args: string[]): { status: number | null; output: string } {
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return { status: r.status, output: `${r.stdout ?? ''}\n${r.stderr ?? ''}` };
}

describe('CUDA backend (native kernels and model vs CPU reference)', function () {
  // Configuring and compiling the CUDA library for the local GPU's architecture only.
  this.timeout(900_000);

  it('GPU kernels and logits match the CPU reference within their tolerances', function () {
    const why = noGpuReason();
    if (why) {
      console.log(`      skipped: no CUDA GPU on this machine (${why})`);
      this.skip();
    }
    // Build for this machine's GPU only ("native"), in a folder of our own.
    const conf = run('cmake', ['-S', 'native', '-B', BUILD, '-DQWEN_CUDA_ARCHS=native', '-DCMAKE_BUILD_TYPE=Release']);
    assert.equal(conf.status, 0, `cmake configure failed:\n${conf.output.slice(-4000)}`);
    assert.match(conf.output, /CUDA backend enabled/, 'nvcc is present but CMake did not enable the CUDA backend');
    const build = run('cmake', ['--build', BUILD, '-j2', '--target', 'qwen_native_tests']);
    assert.equal(build.status, 0, `build failed:\n${build.output.slice(-4000)}`);

    const exe = path.join(BUILD, 'qwen_native_tests');
    assert.ok(fs.existsSync(exe), `${exe} was not built`);
    const t = run(exe, ['cuda']);
    console.log(t.output.split('\n').filter((l) => /cuda|worst|heads|SKIP/.test(l)).map((l) => `      ${l}`).join('\n'));
    const skip = /SKIP cuda: (.*)/.exec(t.output);
    if (skip) {
      // nvidia-smi saw a GPU but the CUDA runtime cannot use it (driver too old, compute capability < 8.0, ...).
      console.log(`      skipped: no usable CUDA GPU on this machine (${skip[1]})`);
      this.skip();
    }
    assert.equal(t.status, 0, `CUDA native tests failed:\n${t.output.slice(-6000)}`);
    for (const name of ['cuda_gemv_matches_scalar_reference_for_every_weight_type', 'cuda_gemm_matches_scalar_reference_for_every_weight_type',
      'cuda_attention_matches_naive_attention_7b_heads', 'cuda_model_logits_match_reference_q8_0']) {
      assert.ok(t.output.includes(name), `the test binary did not run ${name}:\n${t.output.slice(-3000)}`);
    }
  });
});
