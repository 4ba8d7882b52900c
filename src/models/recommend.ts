// Which catalogue model suits this machine. The answer is a trade-off between quality (bigger is
// better) and responsiveness (ghost text must appear within a few hundred milliseconds):
//  - With an NVIDIA GPU, the weights should fit in free GPU memory with room for the KV cache and
//    the CUDA context; then the largest model that fits is fast enough.
//  - On the CPU, decoding speed is bound by memory bandwidth over the weight bytes, so the model
//    is also capped by core count, and it must fit comfortably in RAM next to the editor.
// The probe (os + nvidia-smi) is separate from the pure choice, so the choice is testable.
import { execFile } from 'child_process';
import * as os from 'os';
import { CatalogModel, formatBytes, MODEL_CATALOG } from './catalog';

export interface GpuInfo {
  name: string;
  memoryTotalBytes: number;
  memoryFreeBytes: number;
}

export interface MachineInfo {
  totalMemBytes: number;
  freeMemBytes: number;
  cpuCount: number;
  gpus: GpuInfo[];
}

export interface Recommendation {
  model: CatalogModel;
  device: 'cuda' | 'cpu';
  /** One sentence saying why, shown next to the pick. */
  reason: string;
}

const MiB = 1024 * 1024;

/** Runs a command and returns its stdout; injectable so tests need no nvidia-smi. */
export type ExecFn = (cmd: string, args: string[], timeoutMs: number) => Promise<string>;

const defaultExec: ExecFn = (cmd, args, timeoutMs) =>
  new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeoutMs, windowsHide: true }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
  });

/**
 * Parses `nvidia-smi --query-gpu=name,memory.total,memory.free --format=csv,noheader,nounits`
 * output (MiB values, one GPU per line). Malformed lines are skipped.
 */
export function parseNvidiaSmi(stdout: string): GpuInfo[] {
  const gpus: GpuInfo[] = [];
  for (const line of stdout.split(/\r?\n/)) {
    const parts = line.split(',').map((p) => p.trim());
    if (parts.length < 3) continue;
    const total = Number(parts[parts.length - 2]);
    const free = Number(parts[parts.length - 1]);
    const name = parts.slice(0, parts.length - 2).join(',');
    if (!name || !Number.isFinite(total) || !Number.isFinite(free) || total <= 0) continue;
    gpus.push({ name, memoryTotalBytes: total * MiB, memoryFreeBytes: free * MiB });
  }
  return gpus;
}

/** Reads RAM and CPU from `os`, and GPU memory from nvidia-smi when it exists (absence is not an error). */
export async function probeMachine(opts: { exec?: ExecFn; timeoutMs?: number } = {}): Promise<MachineInfo> {
  const exec = opts.exec ?? defaultExec;
  let gpus: GpuInfo[];
  try {
    const out = await exec('nvidia-smi', ['--query-gpu=name,memory.total,memory.free', '--format=csv,noheader,nounits'], opts.timeoutMs ?? 3000);
    gpus = parseNvidiaSmi(out);
  } catch {
    // No NVIDIA driver, no nvidia-smi, or it hung: treat as no GPU.
    gpus = [];
  }
  const cpus = os.availableParallelism ? os.availableParallelism() : os.cpus().length;
  return { totalMemBytes: os.totalmem(), freeMemBytes: os.freemem(), cpuCount: cpus, gpus };
}

/** Memory a model needs to run: weights plus KV cache, buffers and runtime (a modest context). */
export function runtimeBytes(m: CatalogModel): number {
  return m.sizeBytes * 1.1 + 512 * MiB;
}

/** The largest model the CPU can decode fast enough for ghost text, by core count. */
function cpuParameterCap(cpuCount: number): number {
  if (cpuCount >= 12) return 8e9;
  if (cpuCount >= 8) return 3.5e9;
  if (cpuCount >= 4) return 2e9;
  return 1e9;
}

function label(m: CatalogModel): string {
  return `${m.name} (${m.sizeApproximate ? '~' : ''}${formatBytes(m.sizeBytes)})`;
}

/** Picks a catalogue model for the machine; never throws for a real catalogue (falls back to the smallest). */
export function recommendModel(machine: MachineInfo, catalog: readonly CatalogModel[] = MODEL_CATALOG): Recommendation {
  if (catalog.length === 0) throw new Error('recommendModel: the catalogue is empty');
  const bySize = [...catalog].sort((a, b) => a.sizeBytes - b.sizeBytes);
  const smallest = bySize[0];
  const ram = formatBytes(machine.totalMemBytes);

  const gpu = [...machine.gpus].sort((a, b) => b.memoryFreeBytes - a.memoryFreeBytes)[0];
  if (gpu) {
    // Leave room for the CUDA context and other programs' allocations.
    const budget = gpu.memoryFreeBytes - 768 * MiB;
    const fits = bySize.filter((m) => runtimeBytes(m) <= budget && runtimeBytes(m) <= machine.totalMemBytes);
    // Prefer the biggest parameter count; between quantizations of it, q8_0 when it fits.
    const best = fits.sort((a, b) => a.parameterCount - b.parameterCount || (a.quant === 'q8_0' ? 1 : -1)).pop();
    if (best) {
      return {
        model: best,
        device: 'cuda',
        reason: `${gpu.name} has ${formatBytes(gpu.memoryFreeBytes)} free: ${label(best)} is the largest model that fits in GPU memory with room for its context.`,
      };
    }
  }

  // CPU: stay within half the RAM (the editor, language servers and the OS need the rest) and
  // what is actually available now, and within what the cores can decode quickly.
  const budget = Math.min(machine.totalMemBytes * 0.5, machine.freeMemBytes * 0.9);
  const cap = cpuParameterCap(machine.cpuCount);
  const q4 = bySize.filter((m) => m.quant === 'q4_k_m');
  const cpuFits = q4.filter((m) => runtimeBytes(m) <= budget && m.parameterCount <= cap);
  const pick = cpuFits[cpuFits.length - 1];
  const gpuNote = gpu ? `${gpu.name} has too little free memory (${formatBytes(gpu.memoryFreeBytes)}), so on the CPU` : 'No NVIDIA GPU found; on the CPU';
  if (pick) {
    return {
      model: pick,
      device: 'cpu',
      reason: `${gpuNote} with ${machine.cpuCount} cores and ${ram} RAM, ${label(pick)} keeps completions quick and fits in memory.`,
    };
  }
  return {
    model: q4[0] ?? smallest,
    device: 'cpu',
    reason: `Only ${formatBytes(machine.freeMemBytes)} of ${ram} RAM is free: ${label(q4[0] ?? smallest)} is the smallest model; close other programs if loading fails.`,
  };
}

/** Convenience for the extension: probe, then recommend. */
export async function recommendForThisMachine(opts: { exec?: ExecFn } = {}): Promise<Recommendation & { machine: MachineInfo }> {
  const machine = await probeMachine(opts);
  return { ...recommendModel(machine), machine };
}
