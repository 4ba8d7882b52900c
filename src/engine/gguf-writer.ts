// Writes GGUF v3 files (little endian): header, metadata key/values, tensor infos, then the
// tensor data, each tensor starting at a multiple of the alignment (general.alignment, 32 unless
// the metadata says otherwise). The header is built in memory (it is at most a few MB even with a
// 150k-entry vocabulary); tensor data is streamed to the file piece by piece so that a 7B-shaped
// model never has to exist in one buffer.
//
// Layout written (all integers little endian):
//   u32 magic "GGUF" | u32 version 3 | u64 tensor count | u64 metadata count
//   metadata: string key | u32 value type | value   (arrays: u32 element type | u64 count | items)
//   tensor infos: string name | u32 n_dims | u64 dims[n_dims] (GGML order, dims[0] = row length)
//                 | u32 GGML type | u64 offset (relative to the data section, aligned)
//   zero padding to the alignment | tensor data (each tensor zero-padded to the alignment)
// where a string is u64 byte length + UTF-8 bytes (no terminator).

import * as fs from 'fs';

/** Block geometry of a GGML tensor type (the numbers GGML defines for each id). */
export interface GgmlTypeInfo {
  id: number;
  name: string;
  blockSize: number;
  typeSize: number;
}

/** The GGML types a Qwen2 GGUF may hold: id, name, elements per block, bytes per block. */
export const GGML_TYPES: readonly GgmlTypeInfo[] = [
  { id: 0, name: 'F32', blockSize: 1, typeSize: 4 },
  { id: 1, name: 'F16', blockSize: 1, typeSize: 2 },
  { id: 2, name: 'Q4_0', blockSize: 32, typeSize: 18 },
  { id: 3, name: 'Q4_1', blockSize: 32, typeSize: 20 },
  { id: 6, name: 'Q5_0', blockSize: 32, typeSize: 22 },
  { id: 7, name: 'Q5_1', blockSize: 32, typeSize: 24 },
  { id: 8, name: 'Q8_0', blockSize: 32, typeSize: 34 },
  { id: 9, name: 'Q8_1', blockSize: 32, typeSize: 36 },
  { id: 10, name: 'Q2_K', blockSize: 256, typeSize: 84 },
  { id: 11, name: 'Q3_K', blockSize: 256, typeSize: 110 },
  { id: 12, name: 'Q4_K', blockSize: 256, typeSize: 144 },
  { id: 13, name: 'Q5_K', blockSize: 256, typeSize: 176 },
  { id: 14, name: 'Q6_K', blockSize: 256, typeSize: 210 },
  { id: 15, name: 'Q8_K', blockSize: 256, typeSize: 292 },
  { id: 30, name: 'BF16', blockSize: 1, typeSize: 2 },
];

export function ggmlTypeByName(name: string): GgmlTypeInfo | undefined {
  const upper = name.toUpperCase();
  return GGML_TYPES.find((t) => t.name === upper);
}

export function ggmlTypeById(id: number): GgmlTypeInfo | undefined {
  return GGML_TYPES.find((t) => t.id === id);
}

export type GgufScalarType = 'uint8' | 'int8' | 'uint16' | 'int16' | 'uint32' | 'int32' | 'float32' | 'bool' | 'string' | 'uint64' | 'int64' | 'float64';
/** A scalar type name, or the same name with "[]" for an array of that type. */
export type GgufValueTypeName = GgufScalarType | `${GgufScalarType}[]`;
/** One metadata entry: [key, value type, value]. 64-bit integers may be given as number or bigint. */
export type GgufMetadataEntry = [key: string, type: GgufValueTypeName, value: unknown];

export interface GgufTensorSpec {
  name: string;
  /** GGML type name ("F32", "Q8_0", ...) or numeric GGML type id. */
  type: string | number;
  /** GGML order: dims[0] is the row length (the contiguous dimension). */
  dims: readonly number[];
  /** The tensor's bytes, when they fit in memory. */
  data?: Uint8Array;
  /** Alternative to data for big tensors: yields the bytes in order, one chunk at a time. */
  chunks?: () => Iterable<Uint8Array>;
}

export interface GgufWriteInput {
  metadata: readonly GgufMetadataEntry[];
  tensors: readonly GgufTensorSpec[];
}

/** Numeric GGUF value type ids, as the file stores them. */
export const GGUF_VALUE_TYPE_IDS: Record<GgufScalarType | 'array', number> = {
  uint8: 0,
  int8: 1,
  uint16: 2,
  int16: 3,
  uint32: 4,
  int32: 5,
  float32: 6,
  bool: 7,
  string: 8,
  array: 9,
  uint64: 10,
  int64: 11,
  float64: 12,
};

const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
const GGUF_VERSION = 3;
const DEFAULT_ALIGNMENT = 32;
const MAX_TENSOR_NAME_BYTES = 63; // GGML keeps names in 64-byte arrays with a terminator.

/** A growable little-endian byte buffer for the header. */
class ByteSink {
  private buf = Buffer.alloc(1 << 16);
  length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = Buffer.alloc(size);
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }
  u8(v: number): void {
    this.reserve(1);
    this.buf.writeUInt8(v, this.length);
    this.length += 1;
  }
  i8(v: number): void {
    this.reserve(1);
    this.buf.writeInt8(v, this.length);
    this.length += 1;
  }
  u16(v: number): void {
    this.reserve(2);
    this.buf.writeUInt16LE(v, this.length);
    this.length += 2;
  }
  i16(v: number): void {
    this.reserve(2);
    this.buf.writeInt16LE(v, this.length);
    this.length += 2;
  }
  u32(v: number): void {
    this.reserve(4);
    this.buf.writeUInt32LE(v, this.length);
    this.length += 4;
  }
  i32(v: number): void {
    this.reserve(4);
    this.buf.writeInt32LE(v, this.length);
    this.length += 4;
  }
  f32(v: number): void {
    this.reserve(4);
    this.buf.writeFloatLE(v, this.length);
    this.length += 4;
  }
  f64(v: number): void {
    this.reserve(8);
    this.buf.writeDoubleLE(v, this.length);
    this.length += 8;
  }
  u64(v: bigint): void {
    this.reserve(8);
    this.buf.writeBigUInt64LE(v, this.length);
    this.length += 8;
  }
  i64(v: bigint): void {
    this.reserve(8);
    this.buf.writeBigInt64LE(v, this.length);
    this.length += 8;
  }
  str(s: string): void {
    const bytes = Buffer.from(s, 'utf8');
    this.u64(BigInt(bytes.length));
    this.reserve(bytes.length);
    bytes.copy(this.buf, this.length);
    this.length += bytes.length;
  }
  zeros(n: number): void {
    this.reserve(n);
    this.buf.fill(0, this.length, this.length + n);
    this.length += n;
  }
  bytes(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}

const INT_RANGES: Record<string, [bigint, bigint]> = {
  uint8: [0n, 255n],
  int8: [-128n, 127n],
  uint16: [0n, 65535n],
  int16: [-32768n, 32767n],
  uint32: [0n, 4294967295n],
  int32: [-2147483648n, 2147483647n],
  uint64: [0n, (1n << 64n) - 1n],
  int64: [-(1n << 63n), (1n << 63n) - 1n],
};

function toCheckedInteger(key: string, type: GgufScalarType, v: unknown): bigint {
  let b: bigint;
  if (typeof v === 'bigint') b = v;
  else if (typeof v === 'number' && Number.isInteger(v)) b = BigInt(v);
  else throw new Error(`GGUF metadata "${key}": expected an integer for ${type}, got ${String(v)}`);
  const [lo, hi] = INT_RANGES[type];
  if (b < lo || b > hi) throw new Error(`GGUF metadata "${key}": ${b} is out of range for ${type}`);
  return b;
}

function writeScalar(sink: ByteSink, key: string, type: GgufScalarType, v: unknown): void {
  switch (type) {
    case 'uint8':
      sink.u8(Number(toCheckedInteger(key, type, v)));
      return;
    case 'int8':
      sink.i8(Number(toCheckedInteger(key, type, v)));
      return;
    case 'uint16':
      sink.u16(Number(toCheckedInteger(key, type, v)));
      return;
    case 'int16':
      sink.i16(Number(toCheckedInteger(key, type, v)));
      return;
    case 'uint32':
      sink.u32(Number(toCheckedInteger(key, type, v)));
      return;
    case 'int32':
      sink.i32(Number(toCheckedInteger(key, type, v)));
      return;
    case 'uint64':
      sink.u64(toCheckedInteger(key, type, v));
      return;
    case 'int64':
      sink.i64(toCheckedInteger(key, type, v));
      return;
    case 'float32':
    case 'float64':
      if (typeof v !== 'number') throw new Error(`GGUF metadata "${key}": expected a number for ${type}, got ${typeof v}`);
      if (type === 'float32') sink.f32(v);
      else sink.f64(v);
      return;
    case 'bool':
      if (typeof v !== 'boolean') throw new Error(`GGUF metadata "${key}": expected a boolean, got ${typeof v}`);
      sink.u8(v ? 1 : 0);
      return;
    case 'string':
      if (typeof v !== 'string') throw new Error(`GGUF metadata "${key}": expected a string, got ${typeof v}`);
      sink.str(v);
      return;
    default:
      throw new Error(`GGUF metadata "${key}": unknown value type "${String(type)}"`);
  }
}

function writeMetadataEntry(sink: ByteSink, [key, typeName, value]: GgufMetadataEntry): void {
  if (typeof key !== 'string' || key.length === 0) throw new Error('GGUF metadata: every key must be a non-empty string');
  sink.str(key);
  if (typeName.endsWith('[]')) {
    const elemType = typeName.slice(0, -2) as GgufScalarType;
    if (!(elemType in GGUF_VALUE_TYPE_IDS)) throw new Error(`GGUF metadata "${key}": unknown array element type "${elemType}"`);
    if (!Array.isArray(value) && !ArrayBuffer.isView(value)) {
      throw new Error(`GGUF metadata "${key}": expected an array for ${typeName}`);
    }
    const items = value as ArrayLike<unknown>;
    sink.u32(GGUF_VALUE_TYPE_IDS.array);
    sink.u32(GGUF_VALUE_TYPE_IDS[elemType]);
    sink.u64(BigInt(items.length));
    for (let i = 0; i < items.length; i++) writeScalar(sink, `${key}[${i}]`, elemType, items[i]);
  } else {
    const scalar = typeName as GgufScalarType;
    if (!(scalar in GGUF_VALUE_TYPE_IDS)) throw new Error(`GGUF metadata "${key}": unknown value type "${typeName}"`);
    sink.u32(GGUF_VALUE_TYPE_IDS[scalar]);
    writeScalar(sink, key, scalar, value);
  }
}

function resolveType(t: GgufTensorSpec): GgmlTypeInfo {
  const info = typeof t.type === 'number' ? ggmlTypeById(t.type) : ggmlTypeByName(t.type);
  if (!info) throw new Error(`GGUF tensor "${t.name}": unknown GGML type ${JSON.stringify(t.type)}`);
  return info;
}

/** Bytes a tensor of this type and shape occupies, checking that rows split into whole blocks. */
export function tensorByteSize(name: string, type: GgmlTypeInfo, dims: readonly number[]): number {
  if (dims.length < 1 || dims.length > 4) throw new Error(`GGUF tensor "${name}": ${dims.length} dims (must be 1..4)`);
  for (const d of dims) {
    if (!Number.isInteger(d) || d < 1) throw new Error(`GGUF tensor "${name}": bad dimension ${d} in [${dims.join(', ')}]`);
  }
  if (dims[0] % type.blockSize !== 0) {
    throw new Error(`GGUF tensor "${name}": row length ${dims[0]} is not a multiple of the ${type.name} block size ${type.blockSize}`);
  }
  const rows = dims.slice(1).reduce((a, b) => a * b, 1);
  return (dims[0] / type.blockSize) * type.typeSize * rows;
}

const alignUp = (n: number, a: number): number => Math.ceil(n / a) * a;

/** Writes a GGUF v3 file. Throws (naming the path and the problem) on invalid input. */
export function writeGguf(path: string, input: GgufWriteInput): void {
  const metadata = [...input.metadata];
  const seenKeys = new Set<string>();
  for (const [key] of metadata) {
    if (seenKeys.has(key)) throw new Error(`${path}: GGUF metadata key "${key}" appears twice`);
    seenKeys.add(key);
  }
  // The alignment is stated explicitly so readers never depend on the default.
  let alignment = DEFAULT_ALIGNMENT;
  const alignEntry = metadata.find(([k]) => k === 'general.alignment');
  if (alignEntry) {
    alignment = Number(alignEntry[2]);
    if (alignEntry[1] !== 'uint32' || !Number.isInteger(alignment) || alignment < 1 || (alignment & (alignment - 1)) !== 0) {
      throw new Error(`${path}: general.alignment must be a uint32 power of two, got ${alignEntry[1]} ${String(alignEntry[2])}`);
    }
  } else {
    metadata.push(['general.alignment', 'uint32', alignment]);
  }

  // Tensor placement: offsets relative to the data section, each aligned.
  const seenNames = new Set<string>();
  const placed = input.tensors.map((t) => {
    if (typeof t.name !== 'string' || t.name.length === 0) throw new Error(`${path}: a tensor has an empty name`);
    if (Buffer.byteLength(t.name, 'utf8') > MAX_TENSOR_NAME_BYTES)
      throw new Error(`${path}: tensor name "${t.name}" is longer than ${MAX_TENSOR_NAME_BYTES} bytes`);
    if (seenNames.has(t.name)) throw new Error(`${path}: tensor "${t.name}" appears twice`);
    seenNames.add(t.name);
    if ((t.data === undefined) === (t.chunks === undefined)) throw new Error(`${path}: tensor "${t.name}" needs exactly one of data or chunks`);
    const type = resolveType(t);
    const nbytes = tensorByteSize(t.name, type, t.dims);
    if (t.data && t.data.byteLength !== nbytes) {
      throw new Error(`${path}: tensor "${t.name}" has ${t.data.byteLength} bytes, ${type.name} [${t.dims.join(', ')}] needs ${nbytes}`);
    }
    return { spec: t, type, nbytes, offset: 0 };
  });
  let cursor = 0;
  for (const p of placed) {
    p.offset = cursor;
    cursor = alignUp(cursor + p.nbytes, alignment);
  }

  const sink = new ByteSink();
  sink.u32(GGUF_MAGIC);
  sink.u32(GGUF_VERSION);
  sink.u64(BigInt(placed.length));
  sink.u64(BigInt(metadata.length));
  try {
    for (const entry of metadata) writeMetadataEntry(sink, entry);
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`, { cause: e });
  }
  for (const p of placed) {
    sink.str(p.spec.name);
    sink.u32(p.spec.dims.length);
    for (const d of p.spec.dims) sink.u64(BigInt(d));
    sink.u32(p.type.id);
    sink.u64(BigInt(p.offset));
  }
  sink.zeros(alignUp(sink.length, alignment) - sink.length);

  const fd = fs.openSync(path, 'w');
  try {
    writeAll(fd, sink.bytes());
    let written = 0;
    const padding = new Uint8Array(alignment);
    for (const p of placed) {
      if (written !== p.offset) writeAll(fd, padding.subarray(0, p.offset - written));
      let got = 0;
      const pieces: Iterable<Uint8Array> = p.spec.data ? [p.spec.data] : p.spec.chunks!();
      for (const piece of pieces) {
        got += piece.byteLength;
        if (got > p.nbytes) break;
        writeAll(fd, piece);
      }
      if (got !== p.nbytes) {
        throw new Error(`${path}: tensor "${p.spec.name}" produced ${got > p.nbytes ? 'more than' : 'only'} ${got} bytes, expected ${p.nbytes}`);
      }
      written = p.offset + p.nbytes;
    }
    if (written !== cursor) writeAll(fd, padding.subarray(0, cursor - written));
  } catch (e) {
    // A half-written model must not be mistaken for a good one later: remove it.
    fs.closeSync(fd);
    fs.rmSync(path, { force: true });
    throw e;
  }
  fs.closeSync(fd);
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.byteLength) off += fs.writeSync(fd, bytes, off, bytes.byteLength - off);
}
