// The synthetic Qwen2.5 models (scripts/make-synthetic-model.ts), read back through the
// independent reader: metadata as in official Qwen2.5 GGUFs, tensor names/shapes/types, weight
// statistics, determinism from the seed, float16/bfloat16 rounding, and a tokenizer built from the
// file's own metadata.

import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  encodeFloats,
  f32ToBf16Bits,
  f32ToF16Bits,
  parseArgs,
  planTensors,
  tensorChunks,
  writeSyntheticModel,
  Xoshiro128,
} from '../../scripts/make-synthetic-model';
import { QWEN_LOCAL_CHAT_TEMPLATE } from '../../src/engine/chat-template';
import { createTokenizerFromGguf } from '../../src/engine/tokenizer';
import { readBytes, readGgufHeader, type Readback } from './gguf-writer-readback';

function f16ToF32(h: number): number {
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  const v = e === 0 ? m * 2 ** -24 : e === 31 ? (m ? NaN : Infinity) : (1 + m / 1024) * 2 ** (e - 15);
  return h & 0x8000 ? -v : v;
}

function stats(xs: ArrayLike<number>): { mean: number; std: number; min: number; max: number } {
  let s = 0,
    s2 = 0,
    min = Infinity,
    max = -Infinity;
  for (let i = 0; i < xs.length; i++) {
    s += xs[i];
    s2 += xs[i] * xs[i];
    min = Math.min(min, xs[i]);
    max = Math.max(max, xs[i]);
  }
  const mean = s / xs.length;
  return { mean, std: Math.sqrt(s2 / xs.length - mean * mean), min, max };
}

function concat(chunks: Iterable<Uint8Array>): Buffer {
  return Buffer.concat([...chunks].map((c) => Buffer.from(c)));
}

describe('synthetic Qwen2.5 models', function () {
  let dir: string;
  let file: string;
  let rb: Readback;
  const meta = (key: string): unknown => rb.metadata.get(key)?.value;

  before(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'synthetic-'));
    file = path.join(dir, 'tiny-f16.gguf');
    const result = writeSyntheticModel({ shape: 'tiny', type: 'f16', seed: 7, out: file });
    console.log(`      tiny f16: ${result.parameters} parameters in ${result.milliseconds} ms`);
    rb = readGgufHeader(file);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('carries the metadata of an official Qwen2.5 GGUF, with value types', function () {
    const expect: [string, number, unknown][] = [
      ['general.architecture', 8, 'qwen2'],
      ['qwen2.block_count', 4, 2],
      ['qwen2.context_length', 4, 32768],
      ['qwen2.embedding_length', 4, 256],
      ['qwen2.feed_forward_length', 4, 768],
      ['qwen2.attention.head_count', 4, 4],
      ['qwen2.attention.head_count_kv', 4, 2],
      ['qwen2.rope.freq_base', 6, 1000000],
      ['general.file_type', 4, 1],
      ['tokenizer.ggml.model', 8, 'gpt2'],
      ['tokenizer.ggml.pre', 8, 'qwen2'],
      ['tokenizer.ggml.eos_token_id', 4, 151645],
      ['tokenizer.ggml.padding_token_id', 4, 151643],
      ['tokenizer.ggml.bos_token_id', 4, 151643],
      ['tokenizer.ggml.add_bos_token', 7, false],
      ['tokenizer.chat_template', 8, QWEN_LOCAL_CHAT_TEMPLATE],
      ['general.alignment', 4, 32],
    ];
    for (const [key, type, value] of expect) assert.deepStrictEqual(rb.metadata.get(key), { type, value }, key);
    assert.ok(Math.abs((meta('qwen2.attention.layer_norm_rms_epsilon') as number) - 1e-6) < 1e-12);
    const tokens = meta('tokenizer.ggml.tokens') as string[];
    const types = meta('tokenizer.ggml.token_type') as number[];
    assert.strictEqual(rb.metadata.get('tokenizer.ggml.token_type')!.elemType, 5, 'token types are int32');
    assert.strictEqual(tokens.length, 151936);
    assert.strictEqual(types.length, 151936);
    assert.deepStrictEqual(
      [tokens[0], tokens[198], tokens[151643], tokens[151657], tokens[151664], tokens[151665], tokens[151935]],
      ['!', 'Ċ', '<|endoftext|>', '<tool_call>', '<|file_sep|>', '[PAD151665]', '[PAD151935]'],
    );
    assert.deepStrictEqual([types[0], types[151643], types[151659], types[151657], types[151665]], [1, 3, 3, 4, 5]);
    assert.strictEqual((meta('tokenizer.ggml.merges') as string[]).length, 151387);
    assert.strictEqual((meta('tokenizer.ggml.merges') as string[])[0], 'Ġ Ġ');
  });

  it('has the Qwen2 tensor set with GGML-order shapes; norms and biases stay F32', function () {
    const byName = new Map(rb.tensors.map((t) => [t.name, t]));
    assert.strictEqual(rb.tensors.length, 1 + 2 * 12 + 1);
    assert.ok(!byName.has('output.weight'), 'tiny is tied: no output.weight');
    const want: [string, number[], number][] = [
      ['token_embd.weight', [256, 151936], 1],
      ['blk.0.attn_norm.weight', [256], 0],
      ['blk.0.attn_q.weight', [256, 256], 1],
      ['blk.0.attn_q.bias', [256], 0],
      ['blk.1.attn_k.weight', [256, 128], 1],
      ['blk.1.attn_k.bias', [128], 0],
      ['blk.1.attn_v.weight', [256, 128], 1],
      ['blk.1.attn_v.bias', [128], 0],
      ['blk.1.attn_output.weight', [256, 256], 1],
      ['blk.1.ffn_norm.weight', [256], 0],
      ['blk.1.ffn_gate.weight', [256, 768], 1],
      ['blk.1.ffn_up.weight', [256, 768], 1],
      ['blk.1.ffn_down.weight', [768, 256], 1],
      ['output_norm.weight', [256], 0],
    ];
    for (const [name, dims, type] of want) assert.deepStrictEqual(byName.get(name) && [byName.get(name)!.dims, byName.get(name)!.type], [dims, type], name);
    for (const t of rb.tensors) assert.strictEqual(t.offset % 32, 0, `${t.name} offset aligned`);
  });

  it('matches the official parameter counts of Qwen2.5 0.5B and 1.5B (7B: with 151936 vocabulary rows)', function () {
    const count = (shape: '0.5b' | '1.5b' | '7b') => planTensors(shape, 'f16').reduce((s, p) => s + p.dims.reduce((a, b) => a * b, 1), 0);
    assert.strictEqual(count('0.5b'), 494032768);
    assert.strictEqual(count('1.5b'), 1543714304);
    // The official 7B pads its vocabulary to 152064 rows (7,615,616,512 parameters); the team's
    // contract gives every synthetic shape 151936 rows, 2 x 128 x 3584 = 917,504 parameters fewer.
    assert.strictEqual(count('7b'), 7615616512 - 2 * 128 * 3584);
    assert.ok(
      planTensors('7b', 'bf16').some((p) => p.name === 'output.weight' && p.dims[1] === 151936),
      '7B is untied',
    );
  });

  it('draws weights at the intended scale: N(0, 1/sqrt(fan_in)), biases N(0, 0.05), gains 1 ± 0.1', function () {
    const tensor = (name: string, elemBytes: number): Buffer => {
      const t = rb.tensors.find((x) => x.name === name)!;
      return readBytes(file, rb.dataOffset + t.offset, t.dims.reduce((a, b) => a * b, 1) * elemBytes);
    };
    const f16 = (b: Buffer) => Array.from(new Uint16Array(b.buffer, b.byteOffset, b.length / 2), f16ToF32);
    const f32 = (b: Buffer) => Array.from(new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length)));
    const down = stats(f16(tensor('blk.0.ffn_down.weight', 2)));
    assert.ok(Math.abs(down.std - 1 / Math.sqrt(768)) < (0.02 / Math.sqrt(768)) * 10, `ffn_down std ${down.std}`);
    assert.ok(Math.abs(down.mean) < 0.002, `ffn_down mean ${down.mean}`);
    const q = stats(f16(tensor('blk.1.attn_q.weight', 2)));
    assert.ok(Math.abs(q.std - 1 / 16) < 0.002, `attn_q std ${q.std}`);
    const bias = stats(f32(tensor('blk.0.attn_k.bias', 4)));
    assert.ok(bias.std > 0.035 && bias.std < 0.065, `bias std ${bias.std}`);
    const gain = stats(f32(tensor('output_norm.weight', 4)));
    assert.ok(gain.min >= 0.9 && gain.max <= 1.1 && gain.std > 0.03, `gain ${JSON.stringify(gain)}`);
  });

  it('is deterministic in the seed, tensor by tensor', function () {
    const plan = planTensors('tiny', 'f16').find((p) => p.name === 'blk.0.attn_q.weight')!;
    const t = rb.tensors.find((x) => x.name === plan.name)!;
    const inFile = readBytes(file, rb.dataOffset + t.offset, 256 * 256 * 2);
    assert.ok(inFile.equals(concat(tensorChunks(plan, 7))), 'same seed, same bytes');
    assert.ok(!inFile.equals(concat(tensorChunks(plan, 8))), 'another seed, other bytes');
    const other = planTensors('tiny', 'f16').find((p) => p.name === 'blk.1.attn_q.weight')!;
    assert.ok(!inFile.equals(concat(tensorChunks(other, 7))), 'another tensor, other bytes');
  });

  it('rounds to float16 and bfloat16 to nearest even, including subnormals and overflow', function () {
    const cases: [number, number][] = [
      [0, 0],
      [-0, 0x8000],
      [1, 0x3c00],
      [-2, 0xc000],
      [0.1, 0x2e66],
      [65504, 0x7bff],
      [65520, 0x7c00],
      [Infinity, 0x7c00],
      [5.960464477539063e-8, 0x0001],
      [2.9e-8, 0],
      [6.097555160522461e-5, 0x03ff],
      [1 + 2 ** -11, 0x3c00],
      [1 + 3 * 2 ** -11, 0x3c02],
    ];
    for (const [v, bits] of cases) assert.strictEqual(f32ToF16Bits(v), bits, `f16(${v})`);
    assert.strictEqual(f32ToF16Bits(NaN) & 0x7c00, 0x7c00);
    assert.notStrictEqual(f32ToF16Bits(NaN) & 0x3ff, 0);
    for (const [v, bits] of [
      [1, 0x3f80],
      [0.1, 0x3dcd],
      [-3.5, 0xc060],
      [1 + 2 ** -8, 0x3f80],
      [1 + 3 * 2 ** -8, 0x3f82],
    ] as const) {
      assert.strictEqual(f32ToBf16Bits(v), bits, `bf16(${v})`);
    }
    // The bulk converter's fast path agrees with the scalar one over a wide range of magnitudes.
    const rng = new Xoshiro128(3);
    const xs = new Float32Array(50000);
    for (let i = 0; i < xs.length; i++) xs[i] = (rng.uniform() - 0.5) * 2 ** (Math.floor(rng.uniform() * 60) - 30);
    const bulk = encodeFloats(xs, 'f16');
    const halves = new Uint16Array(bulk.buffer, bulk.byteOffset, xs.length);
    for (let i = 0; i < xs.length; i++) assert.strictEqual(halves[i], f32ToF16Bits(xs[i]), `value ${xs[i]}`);
  });

  it("builds a working tokenizer from the file's own metadata", function () {
    const record: Record<string, unknown> = {};
    for (const [key, v] of rb.metadata) record[key] = v.value;
    const tok = createTokenizerFromGguf(record);
    const text = '<|im_start|>user\ndef hello():\n    print("你好")<|im_end|>';
    const ids = tok.encode(text, { special: true });
    assert.strictEqual(ids[0], 151644);
    assert.strictEqual(ids[ids.length - 1], 151645);
    assert.strictEqual(tok.decode(ids, { special: true }), text);
  });

  it('rejects bad command lines and options with clear messages', function () {
    assert.throws(() => parseArgs(['--shape', 'tiny', '--bogus', '1', '--out', 'x']), /unknown argument "--bogus"/);
    assert.throws(() => parseArgs(['--shape', 'tiny', '--seed', '-3', '--out', 'x']), /--seed must be a non-negative integer/);
    assert.throws(() => parseArgs(['--shape', 'tiny']), /--out is required/);
    assert.deepStrictEqual(parseArgs(['--shape', '0.5b', '--type', 'bf16', '--seed', '9', '--out', '/tmp/m.gguf']), {
      shape: '0.5b',
      type: 'bf16',
      seed: 9,
      out: '/tmp/m.gguf',
    });
    assert.throws(() => writeSyntheticModel({ shape: '3b' as never, type: 'f16', seed: 1, out: path.join(dir, 'x.gguf') }), /unknown shape "3b"/);
    assert.throws(() => writeSyntheticModel({ shape: 'tiny', type: 'q4' as never, seed: 1, out: path.join(dir, 'x.gguf') }), /unknown type "q4"/);
  });
});
