// A deliberately small, independent GGUF v3 reader for the writer's tests: it walks the header
// with a DataView exactly as the format describes it, so a writer bug cannot hide behind a reader
// that shares its code. It reads only the header into memory; tensor bytes are read on request.

import * as fs from 'fs';

export interface ReadbackValue {
  type: number;
  elemType?: number;
  value: unknown;
}
export interface ReadbackTensor {
  name: string;
  dims: number[];
  type: number;
  offset: number;
}
export interface Readback {
  version: number;
  tensorCount: number;
  kvCount: number;
  metadata: Map<string, ReadbackValue>;
  keyOrder: string[];
  tensors: ReadbackTensor[];
  /** File offset right after the last tensor info (before alignment padding). */
  headerEnd: number;
  dataOffset: number;
  alignment: number;
  fileSize: number;
}

export function readGgufHeader(path: string): Readback {
  const fileSize = fs.statSync(path).size;
  const fd = fs.openSync(path, 'r');
  const buf = Buffer.alloc(Math.min(fileSize, 32 << 20));
  fs.readSync(fd, buf, 0, buf.length, 0);
  fs.closeSync(fd);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.length);
  let pos = 0;
  const u32 = (): number => {
    const v = view.getUint32(pos, true);
    pos += 4;
    return v;
  };
  const u64 = (): number => {
    const v = view.getBigUint64(pos, true);
    pos += 8;
    return Number(v);
  };
  const str = (): string => {
    const n = u64();
    const s = buf.toString('utf8', pos, pos + n);
    pos += n;
    return s;
  };
  const scalar = (type: number): unknown => {
    switch (type) {
      case 0: {
        const v = view.getUint8(pos);
        pos += 1;
        return v;
      }
      case 1: {
        const v = view.getInt8(pos);
        pos += 1;
        return v;
      }
      case 2: {
        const v = view.getUint16(pos, true);
        pos += 2;
        return v;
      }
      case 3: {
        const v = view.getInt16(pos, true);
        pos += 2;
        return v;
      }
      case 4:
        return u32();
      case 5: {
        const v = view.getInt32(pos, true);
        pos += 4;
        return v;
      }
      case 6: {
        const v = view.getFloat32(pos, true);
        pos += 4;
        return v;
      }
      case 7: {
        const v = view.getUint8(pos);
        pos += 1;
        if (v > 1) throw new Error(`bool byte ${v}`);
        return v === 1;
      }
      case 8:
        return str();
      case 10: {
        const v = view.getBigUint64(pos, true);
        pos += 8;
        return v;
      }
      case 11: {
        const v = view.getBigInt64(pos, true);
        pos += 8;
        return v;
      }
      case 12: {
        const v = view.getFloat64(pos, true);
        pos += 8;
        return v;
      }
      default:
        throw new Error(`unknown value type ${type} at byte ${pos}`);
    }
  };

  const magic = buf.toString('latin1', 0, 4);
  if (magic !== 'GGUF') throw new Error(`${path}: magic ${JSON.stringify(magic)}`);
  pos = 4;
  const version = u32();
  const tensorCount = u64();
  const kvCount = u64();
  const metadata = new Map<string, ReadbackValue>();
  const keyOrder: string[] = [];
  for (let i = 0; i < kvCount; i++) {
    const key = str();
    const type = u32();
    if (type === 9) {
      const elemType = u32();
      const n = u64();
      const items: unknown[] = [];
      for (let j = 0; j < n; j++) items.push(scalar(elemType));
      metadata.set(key, { type, elemType, value: items });
    } else {
      metadata.set(key, { type, value: scalar(type) });
    }
    keyOrder.push(key);
  }
  const tensors: ReadbackTensor[] = [];
  for (let i = 0; i < tensorCount; i++) {
    const name = str();
    const nDims = u32();
    const dims: number[] = [];
    for (let d = 0; d < nDims; d++) dims.push(u64());
    const type = u32();
    const offset = u64();
    tensors.push({ name, dims, type, offset });
  }
  const headerEnd = pos;
  const alignment = Number(metadata.get('general.alignment')?.value ?? 32);
  const dataOffset = Math.ceil(headerEnd / alignment) * alignment;
  return { version, tensorCount, kvCount, metadata, keyOrder, tensors, headerEnd, dataOffset, alignment, fileSize };
}

/** Reads `length` bytes at an absolute file offset. */
export function readBytes(path: string, offset: number, length: number): Buffer {
  const fd = fs.openSync(path, 'r');
  try {
    const out = Buffer.alloc(length);
    const got = fs.readSync(fd, out, 0, length, offset);
    if (got !== length) throw new Error(`${path}: short read at ${offset} (${got} of ${length})`);
    return out;
  } finally {
    fs.closeSync(fd);
  }
}
