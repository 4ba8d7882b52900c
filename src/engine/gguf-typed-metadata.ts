// Reads a GGUF file's metadata WITH each value's stored type, as [key, type, value] entries ready
// for gguf-writer. The native readGguf gives plain JS values, which is what most callers want, but
// a file that is rewritten (the quantizer) must keep every key's exact type: llama.cpp rejects a key
// whose type differs from what it expects (a uint32 written back as an int32, say).
import * as fs from 'fs';
import { GGUF_VALUE_TYPE_IDS, type GgufMetadataEntry, type GgufScalarType } from './gguf-writer';

const TYPE_NAMES = new Map<number, GgufScalarType>(
  (Object.entries(GGUF_VALUE_TYPE_IDS) as [GgufScalarType | 'array', number][])
    .filter(([name]) => name !== 'array')
    .map(([name, id]) => [id, name as GgufScalarType]),
);
const ARRAY_ID = GGUF_VALUE_TYPE_IDS.array;

class TruncatedHeader extends Error {}

class Reader {
  pos = 0;
  constructor(
    private readonly buf: Buffer,
    private readonly whole: boolean,
    private readonly path: string,
  ) {}

  private take(n: number): number {
    if (this.pos + n > this.buf.length) {
      if (this.whole) throw new Error(`${this.path}: GGUF header is truncated at byte ${this.pos}`);
      throw new TruncatedHeader();
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }
  u32(): number {
    return this.buf.readUInt32LE(this.take(4));
  }
  u64(): bigint {
    return this.buf.readBigUInt64LE(this.take(8));
  }
  count(what: string): number {
    const v = this.u64();
    if (v > BigInt(this.buf.length)) throw new Error(`${this.path}: implausible ${what} ${v} at byte ${this.pos - 8}`);
    return Number(v);
  }
  str(): string {
    const n = this.count('string length');
    const at = this.take(n);
    return this.buf.toString('utf8', at, at + n);
  }
  scalar(type: GgufScalarType): unknown {
    const b = this.buf;
    switch (type) {
      case 'uint8':
        return b.readUInt8(this.take(1));
      case 'int8':
        return b.readInt8(this.take(1));
      case 'uint16':
        return b.readUInt16LE(this.take(2));
      case 'int16':
        return b.readInt16LE(this.take(2));
      case 'uint32':
        return b.readUInt32LE(this.take(4));
      case 'int32':
        return b.readInt32LE(this.take(4));
      case 'float32':
        return b.readFloatLE(this.take(4));
      case 'bool':
        return b.readUInt8(this.take(1)) !== 0;
      case 'string':
        return this.str();
      case 'uint64':
        return b.readBigUInt64LE(this.take(8));
      case 'int64':
        return b.readBigInt64LE(this.take(8));
      case 'float64':
        return b.readDoubleLE(this.take(8));
    }
  }
}

function typeName(id: number, path: string, key: string): GgufScalarType {
  const t = TYPE_NAMES.get(id);
  if (!t) throw new Error(`${path}: metadata key ${key} has unknown value type ${id}`);
  return t;
}

function parse(buf: Buffer, whole: boolean, path: string): GgufMetadataEntry[] {
  const r = new Reader(buf, whole, path);
  if (buf.length < 4 || buf.toString('latin1', 0, 4) !== 'GGUF') throw new Error(`${path}: not a GGUF file (bad magic)`);
  r.pos = 4;
  const version = r.u32();
  if (version !== 3) throw new Error(`${path}: GGUF version ${version} is not supported (only 3)`);
  r.u64(); // tensor count, not needed here
  const nKv = r.count('metadata count');
  const out: GgufMetadataEntry[] = [];
  for (let i = 0; i < nKv; i++) {
    const key = r.str();
    const vt = r.u32();
    if (vt === ARRAY_ID) {
      const et = typeName(r.u32(), path, key);
      const n = r.count(`length of array ${key}`);
      const items: unknown[] = new Array(n);
      for (let j = 0; j < n; j++) items[j] = r.scalar(et);
      out.push([key, `${et}[]`, items]);
    } else {
      const t = typeName(vt, path, key);
      out.push([key, t, r.scalar(t)]);
    }
  }
  return out;
}

/** Every metadata entry of the file, in file order, with its stored type. */
export function readTypedMetadata(path: string): GgufMetadataEntry[] {
  const size = fs.statSync(path).size;
  const fd = fs.openSync(path, 'r');
  try {
    // The metadata (vocabulary included) is a few MiB: read a growing prefix until it parses.
    for (let want = Math.min(size, 8 << 20); ; want = Math.min(size, want * 2)) {
      const buf = Buffer.alloc(want);
      fs.readSync(fd, buf, 0, want, 0);
      try {
        return parse(buf, want === size, path);
      } catch (e) {
        if (!(e instanceof TruncatedHeader)) throw e;
      }
    }
  } finally {
    fs.closeSync(fd);
  }
}
