// What a benchmark figure must carry about the machine it was measured on: CPU model and the
// flags that decide which kernels run, transparent huge pages, load average, and our own commit.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';

export interface MachineState {
  cpuModel: string;
  /** The SIMD and bit-manipulation flags both engines choose kernels by. */
  cpuFlags: string[];
  logicalCores: number;
  memoryGiB: number;
  kernel: string;
  node: string;
  /** /sys/kernel/mm/transparent_hugepage/enabled, the selected mode ('always', 'madvise', 'never'). */
  transparentHugePages: string;
}

const KERNEL_FLAGS = /^(avx|avx2|avx512[a-z_0-9]*|avx_vnni|fma|f16c|sse4_2|bmi2|amx[a-z_0-9]*)$/;

function cpuInfoLine(key: string): string | undefined {
  try {
    const line = fs
      .readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith(key));
    return line?.split(':').slice(1).join(':').trim();
  } catch {
    return undefined;
  }
}

export function transparentHugePages(): string {
  try {
    const raw = fs.readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8').trim();
    return /\[(\w+)\]/.exec(raw)?.[1] ?? raw;
  } catch {
    return 'unknown (no /sys/kernel/mm/transparent_hugepage/enabled)';
  }
}

export function machineState(): MachineState {
  const flags = (cpuInfoLine('flags') ?? '')
    .split(/\s+/)
    .filter((f) => KERNEL_FLAGS.test(f))
    .sort();
  return {
    cpuModel: cpuInfoLine('model name') ?? os.cpus()[0]?.model ?? 'unknown CPU',
    cpuFlags: flags,
    logicalCores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    transparentHugePages: transparentHugePages(),
  };
}

/** The 1, 5 and 15 minute load averages. */
export function loadAverage(): number[] {
  return os.loadavg().map((v) => Math.round(v * 100) / 100);
}

/** HEAD of the repository at `dir`, marked when the working tree has uncommitted changes. */
export function gitCommit(dir: string): string {
  try {
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: dir, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: dir, encoding: 'utf8' }).trim();
    return dirty ? `${head} + uncommitted changes` : head;
  } catch {
    return 'unknown (not a git checkout)';
  }
}
