// The GGUF writer: exact header bytes, every metadata value type, tensor infos, aligned offsets,
// zero padding and streamed tensor data, read back with an independent DataView reader (and with
// the native reader too when the addon has been built).

import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { writeGguf, type GgufMetadataEntry, type GgufTensorSpec } from '../../src/engine/gguf-writer';
import { readBytes, readGgufHeader } from './gguf-writer-readback';

const bytes = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

const METADATA: GgufMetadataEntry[] = [
  ['general.architecture', 'string', 'qwen2'],
  ['test.u8', 'uint8', 255],
  ['test.i8', 'int8', -128],
  ['test.u16', 'uint16', 65535],
  ['test.i16', 'int16', -32768],
  ['test.u32', 'uint32', 4294967295],
  ['test.i32', 'int32', -2147483648],
  ['test.f32', 'float32', 0.1],
  ['test.bool', 'bool', true],
  ['test.u64', 'uint64', 2n ** 63n + 5n],
  ['test.i64', 'int64', -(2n ** 40n)],
  ['test.f64', 'float64', Math.PI],
  ['test.unicode', 'string', 'héllo 世界 😀'],
  ['test.strings', 'string[]', ['a', '', 'Ġhello', '<|im_start|>']],
  ['test.ints', 'int32[]', [1, -2, 3]],
  ['test.floats', 'float32[]', [1.5, -0.25]],
  ['test.bytes', 'uint8[]', new Uint8Array([1, 2, 3])],
  ['test.bools', 'bool[]', [true, false]],
  ['test.empty', 'uint32[]', []],
];

// a: F32 [3, 2] = 24 bytes (padded to 32); b: F16 [5] = 10 bytes streamed in two chunks
// (padded to 32); c: Q8_0 [32, 2] = 2 blocks of 34 bytes = 68 bytes.
const A = bytes(24, 1);
const B = bytes(10, 2);
const C = bytes(68, 3);
const TENSORS: GgufTensorSpec[] = [
  { name: 'a', type: 'F32', dims: [3, 2], data: A },
  {
    name: 'blk.0.b',
    type: 1,
    dims: [5],
    chunks: function* () {
      yield B.subarray(0, 4);
      yield B.subarray(4);
    },
  },
  { name: 'c', type: 'q8_0', dims: [32, 2], data: C },
];

describe('gguf-writer', function () {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gguf-writer-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes the GGUF v3 header fields byte for byte', function () {
    const file = path.join(dir, 'small.gguf');
    writeGguf(file, { metadata: METADATA, tensors: TENSORS });
    const head = readBytes(file, 0, 64);
    assert.deepStrictEqual([...head.subarray(0, 4)], [0x47, 0x47, 0x55, 0x46], 'magic "GGUF"');
    const view = new DataView(head.buffer, head.byteOffset, head.length);
    assert.strictEqual(view.getUint32(4, true), 3, 'version');
    assert.strictEqual(view.getBigUint64(8, true), 3n, 'tensor count');
    assert.strictEqual(view.getBigUint64(16, true), BigInt(METADATA.length + 1), 'metadata count (+ general.alignment)');
    // First key: u64 length 20, "general.architecture", u32 type 8 (string), u64 5, "qwen2".
    assert.strictEqual(view.getBigUint64(24, true), 20n);
    assert.strictEqual(head.toString('utf8', 32, 52), 'general.architecture');
    assert.strictEqual(view.getUint32(52, true), 8);
    assert.strictEqual(view.getBigUint64(56, true), 5n);
  });

  it('round-trips every metadata value type and adds general.alignment = 32', function () {
    const file = path.join(dir, 'meta.gguf');
    writeGguf(file, { metadata: METADATA, tensors: TENSORS });
    const rb = readGgufHeader(file);
    assert.deepStrictEqual(rb.keyOrder, [...METADATA.map(([k]) => k), 'general.alignment']);
    const expectType: Record<string, number> = {
      uint8: 0,
      int8: 1,
      uint16: 2,
      int16: 3,
      uint32: 4,
      int32: 5,
      float32: 6,
      bool: 7,
      string: 8,
      uint64: 10,
      int64: 11,
      float64: 12,
    };
    for (const [key, type, value] of METADATA) {
      const got = rb.metadata.get(key)!;
      if (type.endsWith('[]')) {
        assert.strictEqual(got.type, 9, key);
        assert.strictEqual(got.elemType, expectType[type.slice(0, -2)], key);
        const want = Array.from(value as ArrayLike<unknown>).map((v) => (type === 'float32[]' ? Math.fround(v as number) : v));
        assert.deepStrictEqual(got.value, want, key);
      } else {
        assert.strictEqual(got.type, expectType[type], key);
        assert.deepStrictEqual(got.value, type === 'float32' ? Math.fround(value as number) : value, key);
      }
    }
    assert.deepStrictEqual(rb.metadata.get('general.alignment'), { type: 4, value: 32 });
  });

  it('writes tensor infos in GGML order with aligned offsets, zero padding and the exact data', function () {
    const file = path.join(dir, 'tensors.gguf');
    writeGguf(file, { metadata: METADATA, tensors: TENSORS });
    const rb = readGgufHeader(file);
    assert.deepStrictEqual(rb.tensors, [
      { name: 'a', dims: [3, 2], type: 0, offset: 0 },
      { name: 'blk.0.b', dims: [5], type: 1, offset: 32 },
      { name: 'c', dims: [32, 2], type: 8, offset: 64 },
    ]);
    assert.strictEqual(rb.dataOffset % 32, 0);
    assert.ok(rb.dataOffset - rb.headerEnd < 32);
    assert.ok(
      readBytes(file, rb.headerEnd, rb.dataOffset - rb.headerEnd).every((b) => b === 0),
      'header padding is zero',
    );
    const data = readBytes(file, rb.dataOffset, rb.fileSize - rb.dataOffset);
    assert.deepStrictEqual([...data.subarray(0, 24)], [...A]);
    assert.deepStrictEqual([...data.subarray(32, 42)], [...B]);
    assert.deepStrictEqual([...data.subarray(64, 132)], [...C]);
    for (const [from, to] of [
      [24, 32],
      [42, 64],
      [132, 160],
    ]) {
      assert.ok(
        data.subarray(from, to).every((b) => b === 0),
        `padding ${from}..${to} is zero`,
      );
    }
    assert.strictEqual(rb.fileSize, rb.dataOffset + 160, 'the last tensor is padded to the alignment too');
  });

  it('honours an explicit general.alignment', function () {
    const file = path.join(dir, 'align64.gguf');
    writeGguf(file, { metadata: [['general.alignment', 'uint32', 64]], tensors: TENSORS });
    const rb = readGgufHeader(file);
    assert.strictEqual(rb.kvCount, 1);
    assert.strictEqual(rb.dataOffset % 64, 0);
    assert.deepStrictEqual(
      rb.tensors.map((t) => t.offset),
      [0, 64, 128],
    );
    assert.deepStrictEqual([...readBytes(file, rb.dataOffset + 128, 68)], [...C]);
  });

  it('streams chunked tensor data: each chunk is on disk before the next is asked for', function () {
    const file = path.join(dir, 'stream.gguf');
    const chunkBytes = 1 << 20;
    const sizesSeen: number[] = [];
    writeGguf(file, {
      metadata: [],
      tensors: [
        {
          name: 'big',
          type: 'F32',
          dims: [chunkBytes / 4, 8],
          chunks: function* () {
            for (let i = 0; i < 8; i++) {
              sizesSeen.push(fs.statSync(file).size);
              yield new Uint8Array(chunkBytes).fill(i + 1);
            }
          },
        },
      ],
    });
    const header = sizesSeen[0];
    assert.deepStrictEqual(
      sizesSeen,
      sizesSeen.map((_, i) => header + i * chunkBytes),
    );
    const rb = readGgufHeader(file);
    assert.strictEqual(readBytes(file, rb.dataOffset + 5 * chunkBytes + 17, 1)[0], 6);
  });

  it('rejects bad input with errors naming the file and the problem', function () {
    const file = path.join(dir, 'bad.gguf');
    const w =
      (metadata: GgufMetadataEntry[], tensors: GgufTensorSpec[] = []) =>
      () =>
        writeGguf(file, { metadata, tensors });
    assert.throws(w([], [{ name: 'a', type: 'F32', dims: [3, 2], data: bytes(20, 0) }]), /bad\.gguf: tensor "a" has 20 bytes, F32 \[3, 2\] needs 24/);
    assert.throws(
      w([
        ['k', 'uint8', 1],
        ['k', 'uint8', 2],
      ]),
      /metadata key "k" appears twice/,
    );
    assert.throws(w([], [TENSORS[0], TENSORS[0]]), /tensor "a" appears twice/);
    assert.throws(w([], [{ name: 'q', type: 'Q8_0', dims: [30, 2], data: bytes(60, 0) }]), /row length 30 is not a multiple of the Q8_0 block size 32/);
    assert.throws(
      w(
        [],
        [
          {
            name: 's',
            type: 'F16',
            dims: [8],
            chunks: function* () {
              yield bytes(10, 0);
            },
          },
        ],
      ),
      /tensor "s" produced only 10 bytes, expected 16/,
    );
    assert.throws(w([], [{ name: 'x', type: 'F99', dims: [8], data: bytes(8, 0) }]), /tensor "x": unknown GGML type "F99"/);
    assert.throws(w([['k', 'uint8', 300]]), /"k": 300 is out of range for uint8/);
    assert.throws(w([['k', 'int32[]', [1, 2.5]]]), /"k\[1\]": expected an integer for int32/);
    assert.throws(w([['k', 'string', 5]]), /"k": expected a string/);
    assert.throws(w([['general.alignment', 'uint32', 48]]), /general\.alignment must be a uint32 power of two/);
    assert.throws(w([], [{ name: 'd', type: 'F32', dims: [0], data: bytes(0, 0) }]), /bad dimension 0/);
  });

  it('agrees with the native reader (readGguf) when the addon is built', function () {
    let native: {
      readGguf(p: string): {
        version: number;
        alignment: number;
        dataOffset: number;
        metadata: Record<string, unknown>;
        tensors: { name: string; dims: number[]; offset: number; nbytes: number }[];
      };
    };
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      native = (require('../../src/engine/native') as typeof import('../../src/engine/native')).loadNative();
    } catch (e) {
      console.log(`      skipped: native addon not available (${(e as Error).message})`);
      this.skip();
    }
    const file = path.join(dir, 'native.gguf');
    writeGguf(file, { metadata: METADATA, tensors: TENSORS });
    const info = native.readGguf(file);
    const rb = readGgufHeader(file);
    assert.strictEqual(info.version, 3);
    assert.strictEqual(info.alignment, 32);
    assert.strictEqual(info.dataOffset, rb.dataOffset);
    assert.strictEqual(info.metadata['general.architecture'], 'qwen2');
    assert.deepStrictEqual(info.metadata['test.strings'], ['a', '', 'Ġhello', '<|im_start|>']);
    assert.deepStrictEqual(
      info.tensors.map((t) => [t.name, t.dims, t.offset, t.nbytes]),
      [
        ['a', [3, 2], 0, 24],
        ['blk.0.b', [5], 32, 10],
        ['c', [32, 2], 64, 68],
      ],
    );
  });
});
