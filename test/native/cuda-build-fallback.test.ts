// The build never fails because of CUDA (native/cmake/cuda.cmake): a CMake configure of native/
// with an nvcc that is missing, that fails every command, that is too old, or that does not know
// one architecture ends with a CPU-only (or reduced) CUDA backend and a printed warning, never a
// configure error. Only configures (no compilation of the engine), in folders of their own.
import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '../../..');

interface Configure { status: number | null; output: string; cache: string }

function configure(dir: string, args: string[], env: Record<string, string> = {}): Configure {
  const r = spawnSync('cmake', ['-S', path.join(ROOT, 'native'), '-B', path.join(dir, 'build'), ...args], {
    encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024, timeout: 600_000,
  });
  const cacheFile = path.join(dir, 'build', 'CMakeCache.txt');
  // CMake wraps warning text at ~80 columns and indents it: match against the words, one space apart.
  const output = `${r.stdout ?? ''}\n${r.stderr ?? ''}`.replace(/\s+/g, ' ');
  return { status: r.status, output, cache: fs.existsSync(cacheFile) ? fs.readFileSync(cacheFile, 'utf8') : '' };
}

function script(dir: string, name: string, body: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return file;
}

function realNvcc(): string | null {
  const r = spawnSync('sh', ['-c', 'command -v nvcc'], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() ? r.stdout.trim() : null;
}

describe('native build: CUDA problems give a CPU-only build with a warning', function () {
  this.timeout(900_000);
  let tmp: string;
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'qwen-cuda-cmake-'));
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  const assertCpuOnly = (c: Configure, warning: RegExp) => {
    assert.equal(c.status, 0, `configure failed:\n${c.output.slice(-3000)}`);
    assert.match(c.output, /CMake Warning/);
    assert.match(c.output, warning);
    assert.match(c.cache, /QWEN_CUDA_ENABLED:INTERNAL=OFF/);
    assert.doesNotMatch(c.output, /CUDA backend enabled/);
  };

  it('an nvcc that exits 1 for everything (given as CMAKE_CUDA_COMPILER)', () => {
    const fake = script(tmp, 'nvcc', 'echo "nvcc: simulated failure" >&2\nexit 1');
    assertCpuOnly(configure(tmp, [`-DCMAKE_CUDA_COMPILER=${fake}`]), /building the CPU backend only, without CUDA: .*--version failed/s);
  });

  it('an nvcc that exits 1, found first on the PATH', () => {
    const bin = path.join(tmp, 'bin');
    fs.mkdirSync(bin);
    script(bin, 'nvcc', 'exit 1');
    const c = configure(tmp, [], { PATH: `${bin}:${process.env.PATH}`, CUDACXX: '' });
    assertCpuOnly(c, /building the CPU backend only, without CUDA: .*(cannot compile a CUDA program|--version failed)/s);
  });

  it('an nvcc path that does not exist', () => {
    assertCpuOnly(configure(tmp, ['-DCMAKE_CUDA_COMPILER=/nonexistent/cuda/bin/nvcc']), /without CUDA: .*nvcc --version failed/s);
  });

  it('an nvcc older than CUDA 12', () => {
    const old = script(tmp, 'nvcc', 'echo "Cuda compilation tools, release 11.8, V11.8.89"');
    assertCpuOnly(configure(tmp, [`-DCMAKE_CUDA_COMPILER=${old}`]), /nvcc 11\.8 is older than CUDA 12\.0/);
  });

  it('an nvcc that knows none of the architectures asked for', () => {
    const odd = script(tmp, 'nvcc', 'case "$1" in --version) echo "Cuda compilation tools, release 12.4, V12.4.1";; --list-gpu-arch) echo compute_50;; *) exit 1;; esac');
    assertCpuOnly(configure(tmp, [`-DCMAKE_CUDA_COMPILER=${odd}`]), /knows none of the architectures/);
  });

  it('an nvcc that cannot compile the probe', () => {
    const broken = script(tmp, 'nvcc', 'case "$1" in --version) echo "Cuda compilation tools, release 12.4, V12.4.1";; --list-gpu-arch) printf "compute_80\\ncompute_86\\ncompute_89\\ncompute_90\\n";; *) echo "internal compiler error" >&2; exit 1;; esac');
    assertCpuOnly(configure(tmp, [`-DCMAKE_CUDA_COMPILER=${broken}`]), /failed to compile native\/cmake\/cuda_probe\.cu .*internal compiler error/s);
  });

  it('a real nvcc that does not know one architecture drops it and keeps the rest', function () {
    const nvcc = realNvcc();
    if (!nvcc) {
      console.log('      skipped: no nvcc on this machine, so there is no real compiler to wrap');
      this.skip();
    }
    // The real compiler, except that sm_90 is missing from its architecture list.
    const wrapper = script(tmp, 'nvcc', `if [ "$1" = --list-gpu-arch ]; then "${nvcc}" --list-gpu-arch | grep -v '^compute_90$'; else exec "${nvcc}" "$@"; fi`);
    const c = configure(tmp, [`-DCMAKE_CUDA_COMPILER=${wrapper}`, '-DQWEN_CUDA_ARCHS=80-real;90']);
    assert.equal(c.status, 0, `configure failed:\n${c.output.slice(-3000)}`);
    assert.match(c.output, /does not know CUDA architecture\(s\) 90; building without them/);
    assert.match(c.output, /CUDA backend enabled \(nvcc 1\d\.\d+\) for architectures 80-real/);
    assert.match(c.cache, /QWEN_CUDA_ENABLED:INTERNAL=ON/);
  });
});
