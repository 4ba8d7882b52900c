// The addon's quantize/dequantize of the legacy block formats against a TypeScript decoding written
// from the format description (block-formats.ts), plus GGML's reference rounding for Q8_0/Q4_0
// re-done in TypeScript, and the decoding of tensors inside a quantized test model.
import * as assert from 'assert';
import * as fs from 'fs';
import { loadNative } from '../../src/engine/native';
import { getTestModel } from '../helpers/models';
import { decodeBlocks, encodeQ4_0, encodeQ8_0 } from './block-formats';

/** Deterministic test data: blocks of very different scales, an all-zero block, outliers. */
function testData(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const rand = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
  const x = new Float32Array(n);
  for (let b = 0; b < n / 32; b++) {
    const scale = b % 7 === 3 ? 0 : 10 ** ((b % 5) - 2);
    for (let j = 0; j < 32; j++) x[b * 32 + j] = rand() * scale * (j === b % 32 ? 8 : 1);
  }
  return x;
}

const N = 32 * 512;

describe('oracle: dequantization vs TypeScript block decoding', function () {
  this.timeout(5 * 60 * 1000);
  for (const type of ['Q8_0', 'Q4_0', 'Q4_1', 'Q5_0', 'Q5_1']) {
    it(`${type}: addon dequantize equals the TypeScript decoding of the same bytes`, () => {
      const native = loadNative();
      const x = testData(N, 7);
      const bytes = native.quantize(type, x);
      assert.strictEqual(bytes.length, (N / 32) * native.typeInfo(type).typeSize);
      const theirs = native.dequantize(type, bytes, N);
      const ours = decodeBlocks(type, bytes, N);
      for (let i = 0; i < N; i++) {
        const tol = 1e-6 * Math.max(1, Math.abs(ours[i]));
        assert.ok(Math.abs(theirs[i] - ours[i]) <= tol, `${type} element ${i}: addon ${theirs[i]}, TypeScript ${ours[i]}`);
      }
      // And the round trip lands within one quantization step of the block (rounding gives half a
      // step; the clamped end of the symmetric formats up to a whole one), plus the f16 rounding of
      // the block's scale and minimum.
      const steps: Record<string, number> = { Q8_0: 127, Q4_0: 7, Q4_1: 15, Q5_0: 15, Q5_1: 31 };
      for (let b = 0; b < N / 32; b++) {
        let amax = 0,
          lo = Infinity,
          hi = -Infinity;
        for (let j = 0; j < 32; j++) {
          const v = x[b * 32 + j];
          amax = Math.max(amax, Math.abs(v));
          lo = Math.min(lo, v);
          hi = Math.max(hi, v);
        }
        const range = type.endsWith('_1') ? hi - lo : amax;
        const bound = range / steps[type] + range * 2e-3 + 1e-12;
        for (let j = 0; j < 32; j++) {
          const e = Math.abs(theirs[b * 32 + j] - x[b * 32 + j]);
          assert.ok(e <= bound, `${type} block ${b} element ${j}: error ${e} > ${bound}`);
        }
      }
    });
  }

  for (const [type, encode] of [
    ['Q8_0', encodeQ8_0],
    ['Q4_0', encodeQ4_0],
  ] as const) {
    it(`${type}: addon quantize writes GGML's reference rounding (TypeScript re-implementation)`, () => {
      const native = loadNative();
      const x = testData(N, 11);
      const theirs = native.quantize(type, x);
      const ours = encode(x);
      assert.strictEqual(theirs.length, ours.length);
      const blockBytes = type === 'Q8_0' ? 34 : 18;
      let differing = 0;
      for (let b = 0; b < N / 32; b++) {
        const o = b * blockBytes;
        assert.strictEqual(theirs[o] | (theirs[o + 1] << 8), ours[o] | (ours[o + 1] << 8), `${type} block ${b}: scale differs`);
        for (let i = o + 2; i < o + blockBytes; i++)
          if (theirs[i] !== ours[i]) {
            differing++;
            break;
          }
      }
      // A product rounded by a fused multiply-add may land on the other side of a .5 boundary; allow
      // a handful of such blocks and nothing more.
      assert.ok(differing <= N / 32 / 1000 + 1, `${differing} of ${N / 32} blocks differ`);
    });
  }

  for (const type of ['Q8_0', 'Q4_0']) {
    it(`${type}: tensorToF32 of a tensor in a quantized test model equals the TypeScript decoding of its bytes`, async () => {
      const native = loadNative();
      const file = await getTestModel('tiny', type);
      const info = native.readGguf(file);
      const t = info.tensors.find((x) => x.name === 'blk.0.attn_q.weight');
      assert.ok(t, 'blk.0.attn_q.weight missing');
      assert.strictEqual(t.typeName, type);
      const bytes = Buffer.alloc(t.nbytes);
      const fd = fs.openSync(file, 'r');
      try {
        fs.readSync(fd, bytes, 0, t.nbytes, info.dataOffset + t.offset);
      } finally {
        fs.closeSync(fd);
      }
      const n = t.dims.reduce((a, b) => a * b, 1);
      const ours = decodeBlocks(type, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length), n);
      const theirs = native.tensorToF32(file, t.name);
      assert.strictEqual(theirs.length, n);
      let maxDiff = 0;
      for (let i = 0; i < n; i++) maxDiff = Math.max(maxDiff, Math.abs(theirs[i] - ours[i]));
      assert.ok(maxDiff <= 1e-6, `max difference ${maxDiff}`);
    });
  }
});
