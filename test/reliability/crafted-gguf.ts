// Hostile GGUF files for the limits tests, made without writing gigabytes:
//  - writeSparseQwen2: a well-formed Qwen2 header whose tensors claim tens of GB; the file is
//    extended to the size the header promises with ftruncate, so it is sparse (a few KB on disk)
//    and passes every size check the parser makes, exactly like a real model too big for the RAM.
//  - writeOtherArchitecture: a small valid GGUF of a llama model.
//  - writeTruncatedCopy: the first bytes of a real model.
// The header is written here (GGUF v3, little endian) rather than with src/engine/gguf-writer.ts,
// which insists on being given every tensor byte.
import * as fs from 'fs';

const ALIGNMENT = 32;
const TYPE_U32 = 4;
const TYPE_STRING = 8;
const GGML_F32 = 0;

class HeaderSink {
  private readonly parts: Buffer[] = [];
  u32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    this.parts.push(b);
  }
  u64(v: number | bigint): void {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    this.parts.push(b);
  }
  str(s: string): void {
    const bytes = Buffer.from(s, 'utf8');
    this.u64(bytes.length);
    this.parts.push(bytes);
  }
  bytes(): Buffer {
    return Buffer.concat(this.parts);
  }
}

export interface CraftedTensor {
  name: string;
  dims: number[]; // GGML order, F32
}

type Meta = [key: string, value: string | number][];

/** Writes header + tensor infos, then extends the file to hold every tensor (sparse). Returns its size. */
function writeHeaderAndExtend(file: string, metadata: Meta, tensors: CraftedTensor[]): number {
  const h = new HeaderSink();
  h.u32(0x46554747); // "GGUF"
  h.u32(3);
  h.u64(tensors.length);
  h.u64(metadata.length);
  for (const [key, value] of metadata) {
    h.str(key);
    if (typeof value === 'string') {
      h.u32(TYPE_STRING);
      h.str(value);
    } else {
      h.u32(TYPE_U32);
      h.u32(value);
    }
  }
  let offset = 0n;
  for (const t of tensors) {
    h.str(t.name);
    h.u32(t.dims.length);
    for (const d of t.dims) h.u64(d);
    h.u32(GGML_F32);
    h.u64(offset);
    const bytes = BigInt(t.dims.reduce((a, b) => a * b, 1)) * 4n;
    offset += ((bytes + BigInt(ALIGNMENT) - 1n) / BigInt(ALIGNMENT)) * BigInt(ALIGNMENT);
  }
  const header = h.bytes();
  const dataStart = Math.ceil(header.length / ALIGNMENT) * ALIGNMENT;
  const total = dataStart + Number(offset);
  const fd = fs.openSync(file, 'w');
  try {
    fs.writeSync(fd, header);
    fs.ftruncateSync(fd, total);
  } finally {
    fs.closeSync(fd);
  }
  return total;
}

export interface Qwen2Shape {
  nLayer: number;
  nEmbd: number;
  nHead: number;
  nHeadKv: number;
  nFf: number;
  nVocab: number;
}

/** Bytes of F32 weights one layer of this shape takes. */
export function layerBytes(s: Qwen2Shape): number {
  const hd = s.nEmbd / s.nHead;
  const kv = s.nHeadKv * hd;
  return 4 * (2 * s.nEmbd * s.nEmbd + 2 * s.nEmbd * kv + 3 * s.nEmbd * s.nFf + 2 * s.nEmbd + s.nEmbd + 2 * kv);
}

/** A complete, consistent Qwen2 header (every tensor the loader wants) over a sparse file. */
export function writeSparseQwen2(file: string, s: Qwen2Shape): number {
  const hd = s.nEmbd / s.nHead;
  const kv = s.nHeadKv * hd;
  const tensors: CraftedTensor[] = [
    { name: 'token_embd.weight', dims: [s.nEmbd, s.nVocab] },
    { name: 'output_norm.weight', dims: [s.nEmbd] },
  ];
  for (let l = 0; l < s.nLayer; l++) {
    const p = `blk.${l}.`;
    tensors.push(
      { name: `${p}attn_norm.weight`, dims: [s.nEmbd] },
      { name: `${p}attn_q.weight`, dims: [s.nEmbd, s.nEmbd] },
      { name: `${p}attn_k.weight`, dims: [s.nEmbd, kv] },
      { name: `${p}attn_v.weight`, dims: [s.nEmbd, kv] },
      { name: `${p}attn_q.bias`, dims: [s.nEmbd] },
      { name: `${p}attn_k.bias`, dims: [kv] },
      { name: `${p}attn_v.bias`, dims: [kv] },
      { name: `${p}attn_output.weight`, dims: [s.nEmbd, s.nEmbd] },
      { name: `${p}ffn_norm.weight`, dims: [s.nEmbd] },
      { name: `${p}ffn_gate.weight`, dims: [s.nEmbd, s.nFf] },
      { name: `${p}ffn_up.weight`, dims: [s.nEmbd, s.nFf] },
      { name: `${p}ffn_down.weight`, dims: [s.nFf, s.nEmbd] },
    );
  }
  // A minimal byte-level vocabulary so the tokenizer can be built if the loader gets that far.
  return writeHeaderAndExtend(
    file,
    [
      ['general.architecture', 'qwen2'],
      ['general.name', 'crafted too-large model'],
      ['qwen2.block_count', s.nLayer],
      ['qwen2.embedding_length', s.nEmbd],
      ['qwen2.feed_forward_length', s.nFf],
      ['qwen2.attention.head_count', s.nHead],
      ['qwen2.attention.head_count_kv', s.nHeadKv],
      ['qwen2.context_length', 32768],
      ['tokenizer.ggml.model', 'gpt2'],
    ],
    tensors,
  );
}

/** A small valid GGUF that says it is a llama model. */
export function writeOtherArchitecture(file: string): void {
  writeHeaderAndExtend(
    file,
    [
      ['general.architecture', 'llama'],
      ['llama.block_count', 1],
      ['llama.embedding_length', 8],
      ['llama.context_length', 2048],
    ],
    [{ name: 'token_embd.weight', dims: [8, 4] }],
  );
}

/** The first `bytes` bytes of `source`. */
export function writeTruncatedCopy(source: string, file: string, bytes: number): void {
  const fd = fs.openSync(source, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    const got = fs.readSync(fd, buf, 0, bytes, 0);
    fs.writeFileSync(file, buf.subarray(0, got));
  } finally {
    fs.closeSync(fd);
  }
}
