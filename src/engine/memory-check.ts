// Refuses, before anything is mapped or allocated, a model that cannot run on this machine: the
// weights (the file is mapped whole) plus the KV cache for the chosen context would not fit in
// physical memory. Such a model would "load" (mmap is lazy) and then page from disk on every token,
// freezing the editor with it; a clear error up front is better.
import * as os from 'os';

/** Share of physical memory the weights and KV cache may take; the rest is the OS and the editor. */
export const MAX_MEMORY_SHARE = 0.9;

export interface ModelFootprint {
  weightBytes: number;
  kvBytes: number;
}

function numberAt(meta: Record<string, unknown>, key: string): number {
  const v = meta[key];
  return typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : NaN;
}

/** Weights (the file size, since the whole file is mapped) and an F16 KV cache of contextSize tokens. */
export function modelFootprint(fileSize: number, meta: Record<string, unknown>, contextSize: number): ModelFootprint {
  const nLayer = numberAt(meta, 'qwen2.block_count');
  const nEmbd = numberAt(meta, 'qwen2.embedding_length');
  const nHead = numberAt(meta, 'qwen2.attention.head_count');
  const nHeadKv = numberAt(meta, 'qwen2.attention.head_count_kv');
  const kvBytes = nLayer * nHeadKv * (nEmbd / nHead) * 2 /* K and V */ * 2 /* f16 */ * contextSize;
  // Missing or broken keys are the native loader's to report, with the key named.
  return { weightBytes: fileSize, kvBytes: Number.isFinite(kvBytes) && kvBytes > 0 ? kvBytes : 0 };
}

function gib(n: number): string {
  return `${(n / 2 ** 30).toFixed(1)} GiB`;
}

/** Throws naming the sizes when the model would not fit in MAX_MEMORY_SHARE of physical memory. */
export function checkModelFitsInMemory(file: string, footprint: ModelFootprint, totalMemory = os.totalmem()): void {
  const need = footprint.weightBytes + footprint.kvBytes;
  const limit = MAX_MEMORY_SHARE * totalMemory;
  if (need > limit) {
    throw new Error(
      `${file}: the model needs ${gib(need)} of memory (${gib(footprint.weightBytes)} of weights + ${gib(footprint.kvBytes)} of KV cache), ` +
        `more than this machine can give it (${gib(totalMemory)} of RAM); choose a smaller or more quantized model, or a smaller context size`,
    );
  }
}
