// What one decoded token must read from memory, for bandwidth figures: every weight matrix once
// (the token embedding is a lookup of one row, unless it is also the output head, tied), plus the
// K and V cache rows attention reads, n_layer * n_head_kv * head_dim * 2 (K and V) * 2 bytes (f16)
// per cached position.
import type { GgufInfo } from '../../src/engine/native';

export interface DecodeBytes {
  weightBytes: number;
  kvBytesPerPosition: number;
}

function num(meta: GgufInfo['metadata'], key: string): number {
  const v = meta[key];
  const n = typeof v === 'bigint' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n)) throw new Error(`GGUF metadata ${key} is missing`);
  return n;
}

export function decodeBytes(gguf: GgufInfo): DecodeBytes {
  const tied = !gguf.tensors.some((t) => t.name === 'output.weight');
  let weightBytes = 0;
  for (const t of gguf.tensors) {
    if (t.name === 'token_embd.weight' && !tied) continue;
    weightBytes += t.nbytes;
  }
  const m = gguf.metadata;
  const headDim = num(m, 'qwen2.embedding_length') / num(m, 'qwen2.attention.head_count');
  const kvBytesPerPosition = num(m, 'qwen2.block_count') * num(m, 'qwen2.attention.head_count_kv') * headDim * 2 * 2;
  return { weightBytes, kvBytesPerPosition };
}

/** Mean bytes per token over a decode of n tokens after `start` cached positions. */
export function meanDecodeBytesPerToken(b: DecodeBytes, start: number, n: number): number {
  return b.weightBytes + b.kvBytesPerPosition * (start + (n - 1) / 2 + 1);
}
