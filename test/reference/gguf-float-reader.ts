// A small GGUF v3 reader of our own, used only by the test reference so that the reference forward
// pass does not depend on the native addon it is checking. It reads the header, every metadata value
// type and the tensor infos, and hands out tensors stored as F32, F16 or BF16 as Float32Array.
// Quantized tensors are refused: decoding them is the engine's job and the oracle tests check it
// against llama.cpp instead.
import * as fs from 'fs';

export interface GgufTensorInfo {
  name: string;
  dims: number[]; // GGML order: dims[0] is the row length
  type: number; // GGML type id
  offset: number; // relative to the data section
}

export interface GgufFloatFile {
  path: string;
  metadata: Record<string, unknown>;
  tensors: Map<string, GgufTensorInfo>;
  dataOffset: number;
  /** The tensor as float32, row-major with rows of dims[0] elements. */
  tensorF32(name: string): Float32Array;
}

const GGML_F32 = 0;
const GGML_F16 = 1;
const GGML_BF16 = 30;

/** Thrown by the cursor when the header is longer than the bytes read so far. */
class NeedMoreBytes extends Error {}

class Cursor {
  pos = 0;
  constructor(
    private readonly buf: Buffer,
    private readonly complete: boolean,
  ) {}

  private need(n: number): void {
    if (this.pos + n > this.buf.length) {
      if (this.complete) throw new Error(`header runs past the end of the file at byte ${this.pos}`);
      throw new NeedMoreBytes();
    }
  }
  u8(): number {
    this.need(1);
    return this.buf.readUInt8(this.pos++);
  }
  i8(): number {
    this.need(1);
    return this.buf.readInt8(this.pos++);
  }
  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16LE(this.pos);
    this.pos += 2;
    return v;
  }
  i16(): number {
    this.need(2);
    const v = this.buf.readInt16LE(this.pos);
    this.pos += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  i32(): number {
    this.need(4);
    const v = this.buf.readInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  f32(): number {
    this.need(4);
    const v = this.buf.readFloatLE(this.pos);
    this.pos += 4;
    return v;
  }
  f64(): number {
    this.need(8);
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }
  u64(): number {
    this.need(8);
    const v = this.buf.readBigUInt64LE(this.pos);
    this.pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`64-bit value ${v} at byte ${this.pos - 8} is too large`);
    return Number(v);
  }
  i64(): number {
    this.need(8);
    const v = this.buf.readBigInt64LE(this.pos);
    this.pos += 8;
    return Number(v);
  }
  str(): string {
    const n = this.u64();
    this.need(n);
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
}

// GGUF metadata value types, in the numbering of the format.
function readValue(c: Cursor, type: number): unknown {
  switch (type) {
    case 0:
      return c.u8();
    case 1:
      return c.i8();
    case 2:
      return c.u16();
    case 3:
      return c.i16();
    case 4:
      return c.u32();
    case 5:
      return c.i32();
    case 6:
      return c.f32();
    case 7:
      return c.u8() !== 0;
    case 8:
      return c.str();
    case 9: {
      const elemType = c.u32();
      const n = c.u64();
      const out: unknown[] = new Array(n);
      for (let i = 0; i < n; i++) out[i] = readValue(c, elemType);
      return out;
    }
    case 10:
      return c.u64();
    case 11:
      return c.i64();
    case 12:
      return c.f64();
    default:
      throw new Error(`unknown metadata value type ${type} at byte ${c.pos}`);
  }
}

function parseHeader(buf: Buffer, complete: boolean, path: string, fileSize: number): Omit<GgufFloatFile, 'tensorF32' | 'path'> {
  const c = new Cursor(buf, complete);
  if (buf.length < 4 || buf.toString('latin1', 0, 4) !== 'GGUF') throw new Error(`${path}: not a GGUF file (bad magic)`);
  c.pos = 4;
  const version = c.u32();
  if (version !== 3) throw new Error(`${path}: GGUF version ${version}, only 3 is read`);
  const nTensors = c.u64();
  const nKv = c.u64();
  const metadata: Record<string, unknown> = {};
  for (let i = 0; i < nKv; i++) {
    const key = c.str();
    metadata[key] = readValue(c, c.u32());
  }
  const tensors = new Map<string, GgufTensorInfo>();
  for (let i = 0; i < nTensors; i++) {
    const name = c.str();
    const nDims = c.u32();
    const dims: number[] = [];
    for (let d = 0; d < nDims; d++) dims.push(c.u64());
    tensors.set(name, { name, dims, type: c.u32(), offset: c.u64() });
  }
  const alignment = typeof metadata['general.alignment'] === 'number' ? (metadata['general.alignment'] as number) : 32;
  const dataOffset = Math.ceil(c.pos / alignment) * alignment;
  if (dataOffset > fileSize) throw new Error(`${path}: data section starts past the end of the file`);
  return { metadata, tensors, dataOffset };
}

export function readGgufFloat(path: string): GgufFloatFile {
  const fileSize = fs.statSync(path).size;
  const fd = fs.openSync(path, 'r');
  try {
    // The header (vocabulary included) is a few MiB; read a growing prefix until it parses.
    let want = Math.min(fileSize, 8 << 20);
    for (;;) {
      const buf = Buffer.alloc(want);
      fs.readSync(fd, buf, 0, want, 0);
      try {
        const head = parseHeader(buf, want === fileSize, path, fileSize);
        return { path, ...head, tensorF32: (name) => readTensor(path, head.dataOffset, head.tensors, fileSize, name) };
      } catch (e) {
        if (!(e instanceof NeedMoreBytes)) throw e;
        want = Math.min(fileSize, want * 2);
      }
    }
  } finally {
    fs.closeSync(fd);
  }
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24; // subnormal
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

function readTensor(path: string, dataOffset: number, tensors: Map<string, GgufTensorInfo>, fileSize: number, name: string): Float32Array {
  const t = tensors.get(name);
  if (!t) throw new Error(`${path}: no tensor named ${name}`);
  const n = t.dims.reduce((a, b) => a * b, 1);
  const elemBytes = t.type === GGML_F32 ? 4 : t.type === GGML_F16 || t.type === GGML_BF16 ? 2 : 0;
  if (elemBytes === 0) throw new Error(`${path}: tensor ${name} has GGML type ${t.type}; the reference reads only F32/F16/BF16`);
  const start = dataOffset + t.offset;
  if (start + n * elemBytes > fileSize) throw new Error(`${path}: tensor ${name} runs past the end of the file`);
  const raw = Buffer.alloc(n * elemBytes);
  const fd = fs.openSync(path, 'r');
  try {
    fs.readSync(fd, raw, 0, raw.length, start);
  } finally {
    fs.closeSync(fd);
  }
  const out = new Float32Array(n);
  if (t.type === GGML_F32) {
    for (let i = 0; i < n; i++) out[i] = raw.readFloatLE(i * 4);
  } else if (t.type === GGML_F16) {
    for (let i = 0; i < n; i++) out[i] = halfToFloat(raw.readUInt16LE(i * 2));
  } else {
    // BF16 is the top half of an IEEE float32.
    const u32 = new Uint32Array(1);
    const f32 = new Float32Array(u32.buffer);
    for (let i = 0; i < n; i++) {
      u32[0] = raw.readUInt16LE(i * 2) << 16;
      out[i] = f32[0];
    }
  }
  return out;
}
