// Writes Qwen2.5-shaped GGUF files with seeded random weights and the real Qwen2.5 tokenizer.
// The engine, the quantizer and the oracle tests run on these instead of downloaded models:
// the shapes, metadata keys, tensor names and tokenizer are those of the official Qwen2.5 GGUFs,
// only the weight values are random.
//
//   node out/scripts/make-synthetic-model.js --shape tiny|0.5b|1.5b|7b --type f32|f16|bf16 --seed N --out F.gguf
//
// Weights are drawn so that a forward pass stays numerically sensible: every matrix is
// N(0, 1/sqrt(fan_in)), so each projection keeps unit-variance activations unit-variance;
// attention scores and logits (tied or not) then have a standard deviation of about 1, which is
// neither flat nor saturated. Biases are N(0, 0.05) and norm gains 1 ± 0.1. Norms and biases stay
// F32 whatever --type says, as in the official files. Each tensor has its own generator seeded from
// (seed, tensor name), so a tensor's values do not depend on which other tensors exist.

import * as path from 'path';
import { QWEN_LOCAL_CHAT_TEMPLATE } from '../src/engine/chat-template';
import { writeGguf, type GgufMetadataEntry, type GgufTensorSpec } from '../src/engine/gguf-writer';
import { qwen2TokenizerMetadata, readQwen25Vocab } from '../src/engine/tokenizer/hf-vocab';

export type SyntheticShape = 'tiny' | '0.5b' | '1.5b' | '7b';
export type SyntheticType = 'f32' | 'f16' | 'bf16';

interface ShapeParams {
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  ffn: number;
  tied: boolean;
  label: string;
}

export const SHAPES: Record<SyntheticShape, ShapeParams> = {
  tiny: { hidden: 256, layers: 2, heads: 4, kvHeads: 2, ffn: 768, tied: true, label: 'tiny' },
  '0.5b': { hidden: 896, layers: 24, heads: 14, kvHeads: 2, ffn: 4864, tied: true, label: '0.5B' },
  '1.5b': { hidden: 1536, layers: 28, heads: 12, kvHeads: 2, ffn: 8960, tied: true, label: '1.5B' },
  '7b': { hidden: 3584, layers: 28, heads: 28, kvHeads: 4, ffn: 18944, tied: false, label: '7B' },
};

/** Embedding rows in every Qwen2.5 model (the real tokenizer uses ids up to 151664). */
export const QWEN25_VOCAB_ROWS = 151936;

/** llama.cpp's general.file_type values for the float formats. */
const FILE_TYPE: Record<SyntheticType, number> = { f32: 0, f16: 1, bf16: 32 };
const GGML_NAME: Record<SyntheticType, string> = { f32: 'F32', f16: 'F16', bf16: 'BF16' };

// ---- seeded random numbers -------------------------------------------------------------------

/** FNV-1a over a string, for deriving per-tensor seeds. */
function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** xoshiro128** (32-bit state words), seeded through splitmix32 so any seed gives a good state. */
export class Xoshiro128 {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    let z = seed >>> 0;
    const next = (): number => {
      z = (z + 0x9e3779b9) >>> 0;
      let t = z;
      t = Math.imul(t ^ (t >>> 16), 0x85ebca6b);
      t = Math.imul(t ^ (t >>> 13), 0xc2b2ae35);
      return (t ^ (t >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
  }

  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** Uniform in (0, 1], 24-bit resolution (never 0, so a logarithm of it is finite). */
  uniform(): number {
    return ((this.nextU32() >>> 8) + 1) * (1 / 16777216);
  }

  /**
   * Fills `out` with N(0, std) values by Box-Muller in Marsaglia's polar form (no sin/cos; each
   * accepted pair gives two values). The generator is inlined on local variables because this
   * loop produces billions of values for the 7B shape.
   */
  fillNormal(out: Float32Array, std: number): void {
    let { a, b, c, d } = this;
    let i = 0;
    const n = out.length;
    while (i < n) {
      // Two uniforms in (-1, 1) from two xoshiro128** outputs.
      let r = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
      let t = b << 9;
      c ^= a;
      d ^= b;
      b ^= c;
      a ^= d;
      c ^= t;
      d = rotl(d, 11);
      const u = (r >>> 8) * (2 / 16777216) - 1;
      r = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
      t = b << 9;
      c ^= a;
      d ^= b;
      b ^= c;
      a ^= d;
      c ^= t;
      d = rotl(d, 11);
      const v = (r >>> 8) * (2 / 16777216) - 1;
      const s = u * u + v * v;
      if (s >= 1 || s === 0) continue;
      const f = std * Math.sqrt((-2 * Math.log(s)) / s);
      out[i++] = u * f;
      if (i < n) out[i++] = v * f;
    }
    this.a = a;
    this.b = b;
    this.c = c;
    this.d = d;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

// ---- float conversions -----------------------------------------------------------------------

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** IEEE binary16 bits of a float32, rounding to nearest even (overflow -> inf, NaN kept). */
export function f32ToF16Bits(v: number): number {
  f32Scratch[0] = v;
  const x = u32Scratch[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal half: value = half * 2^-24, so shift the 24-bit significand right by 14 - e.
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rem > halfway || (rem === halfway && (half & 1) !== 0)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  // A carry out of the mantissa correctly bumps the exponent (up to infinity).
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1) !== 0)) half++;
  return sign | half;
}

/** bfloat16 bits of a float32 (the top 16 bits), rounding to nearest even; NaN stays NaN. */
export function f32ToBf16Bits(v: number): number {
  f32Scratch[0] = v;
  const x = u32Scratch[0];
  if ((x & 0x7fffffff) > 0x7f800000) return ((x >>> 16) | 0x40) & 0xffff;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

/** Encodes float32 values as the bytes of the given GGUF float type. */
export function encodeFloats(values: Float32Array, type: SyntheticType): Uint8Array {
  if (type === 'f32') return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  if (type === 'bf16') {
    for (let i = 0; i < bits.length; i++) {
      const x = bits[i];
      out[i] = (x & 0x7fffffff) > 0x7f800000 ? (x >>> 16) | 0x40 : (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
    }
  } else {
    for (let i = 0; i < bits.length; i++) {
      const x = bits[i];
      const e = (x >>> 23) & 0xff;
      // Fast path: the result is a normal half (exponent 113..142), rounded to nearest even.
      if (e > 112 && e < 143) {
        const half = (((x >>> 16) & 0x8000) | ((e - 112) << 10) | ((x >>> 13) & 0x3ff)) + 0;
        const rem = x & 0x1fff;
        out[i] = rem > 0x1000 || (rem === 0x1000 && (half & 1) !== 0) ? half + 1 : half;
      } else {
        out[i] = f32ToF16Bits(values[i]);
      }
    }
  }
  return new Uint8Array(out.buffer);
}

// ---- tensors ---------------------------------------------------------------------------------

type Init = { kind: 'normal'; std: number } | { kind: 'gain'; spread: number };

export interface TensorPlan {
  name: string;
  dims: number[];
  init: Init;
  type: SyntheticType;
}

/** The tensor list of a Qwen2 model, with GGML-order dims (dims[0] = input features). */
export function planTensors(shape: SyntheticShape, type: SyntheticType): TensorPlan[] {
  const p = SHAPES[shape];
  const headDim = p.hidden / p.heads;
  const kvDim = headDim * p.kvHeads;
  const matrix = (name: string, fanIn: number, fanOut: number): TensorPlan => ({
    name,
    dims: [fanIn, fanOut],
    init: { kind: 'normal', std: 1 / Math.sqrt(fanIn) },
    type,
  });
  const bias = (name: string, n: number): TensorPlan => ({ name, dims: [n], init: { kind: 'normal', std: 0.05 }, type: 'f32' });
  const norm = (name: string): TensorPlan => ({ name, dims: [p.hidden], init: { kind: 'gain', spread: 0.1 }, type: 'f32' });

  const plans: TensorPlan[] = [matrix('token_embd.weight', p.hidden, QWEN25_VOCAB_ROWS)];
  for (let l = 0; l < p.layers; l++) {
    const b = `blk.${l}.`;
    plans.push(
      norm(b + 'attn_norm.weight'),
      matrix(b + 'attn_q.weight', p.hidden, p.hidden),
      bias(b + 'attn_q.bias', p.hidden),
      matrix(b + 'attn_k.weight', p.hidden, kvDim),
      bias(b + 'attn_k.bias', kvDim),
      matrix(b + 'attn_v.weight', p.hidden, kvDim),
      bias(b + 'attn_v.bias', kvDim),
      matrix(b + 'attn_output.weight', p.hidden, p.hidden),
      norm(b + 'ffn_norm.weight'),
      matrix(b + 'ffn_gate.weight', p.hidden, p.ffn),
      matrix(b + 'ffn_up.weight', p.hidden, p.ffn),
      matrix(b + 'ffn_down.weight', p.ffn, p.hidden),
    );
  }
  plans.push(norm('output_norm.weight'));
  if (!p.tied) plans.push(matrix('output.weight', p.hidden, QWEN25_VOCAB_ROWS));
  return plans;
}

const CHUNK_ELEMENTS = 1 << 20;

/** Yields a tensor's bytes a chunk at a time, so the largest tensor never sits in memory whole. */
export function* tensorChunks(plan: TensorPlan, seed: number): Generator<Uint8Array> {
  const rng = new Xoshiro128((hashString(plan.name) ^ Math.imul(seed >>> 0, 0x9e3779b1)) >>> 0);
  const total = plan.dims.reduce((a, b) => a * b, 1);
  const values = new Float32Array(Math.min(total, CHUNK_ELEMENTS));
  for (let done = 0; done < total; done += values.length) {
    const n = Math.min(values.length, total - done);
    const view = n === values.length ? values : values.subarray(0, n);
    if (plan.init.kind === 'normal') {
      rng.fillNormal(view, plan.init.std);
    } else {
      const spread = plan.init.spread;
      for (let i = 0; i < n; i++) view[i] = 1 + spread * (2 * rng.uniform() - 1);
    }
    // encodeFloats returns a view of `values` for f32; the writer consumes it before the next chunk.
    yield encodeFloats(view, plan.type);
  }
}

// ---- the file --------------------------------------------------------------------------------

export interface SyntheticModelOptions {
  shape: SyntheticShape;
  type: SyntheticType;
  seed: number;
  out: string;
}

export interface SyntheticModelResult {
  path: string;
  tensors: number;
  parameters: number;
  milliseconds: number;
}

/** The non-tokenizer metadata of an official Qwen2.5 GGUF of this shape and type. */
export function modelMetadata(shape: SyntheticShape, type: SyntheticType, seed: number): GgufMetadataEntry[] {
  const p = SHAPES[shape];
  return [
    ['general.architecture', 'string', 'qwen2'],
    ['general.type', 'string', 'model'],
    ['general.name', 'string', `Qwen2.5 ${p.label} synthetic (seed ${seed})`],
    ['general.size_label', 'string', p.label],
    ['qwen2.block_count', 'uint32', p.layers],
    ['qwen2.context_length', 'uint32', 32768],
    ['qwen2.embedding_length', 'uint32', p.hidden],
    ['qwen2.feed_forward_length', 'uint32', p.ffn],
    ['qwen2.attention.head_count', 'uint32', p.heads],
    ['qwen2.attention.head_count_kv', 'uint32', p.kvHeads],
    ['qwen2.rope.freq_base', 'float32', 1000000],
    ['qwen2.attention.layer_norm_rms_epsilon', 'float32', 1e-6],
    ['general.file_type', 'uint32', FILE_TYPE[type]],
    ['general.quantization_version', 'uint32', 2],
  ];
}

function checkOptions(opts: SyntheticModelOptions): SyntheticModelOptions {
  const shape = String(opts.shape).toLowerCase() as SyntheticShape;
  const type = String(opts.type).toLowerCase() as SyntheticType;
  if (!(shape in SHAPES)) throw new Error(`make-synthetic-model: unknown shape ${JSON.stringify(opts.shape)} (tiny, 0.5b, 1.5b or 7b)`);
  if (!(type in FILE_TYPE)) throw new Error(`make-synthetic-model: unknown type ${JSON.stringify(opts.type)} (f32, f16 or bf16)`);
  if (!Number.isInteger(opts.seed) || opts.seed < 0 || opts.seed > 0xffffffff) {
    throw new Error(`make-synthetic-model: seed must be an integer in 0..4294967295, got ${String(opts.seed)}`);
  }
  if (typeof opts.out !== 'string' || opts.out.length === 0) throw new Error('make-synthetic-model: an output path is required');
  return { shape, type, seed: opts.seed, out: opts.out };
}

/** Writes one synthetic model; returns what was written and how long it took. */
export function writeSyntheticModel(options: SyntheticModelOptions): SyntheticModelResult {
  const started = Date.now();
  const { shape, type, seed, out } = checkOptions(options);
  const metadata = [...modelMetadata(shape, type, seed), ...qwen2TokenizerMetadata(readQwen25Vocab(), QWEN_LOCAL_CHAT_TEMPLATE)];
  const plans = planTensors(shape, type);
  const tensors: GgufTensorSpec[] = plans.map((plan) => ({
    name: plan.name,
    type: GGML_NAME[plan.type],
    dims: plan.dims,
    chunks: () => tensorChunks(plan, seed),
  }));
  writeGguf(out, { metadata, tensors });
  const parameters = plans.reduce((sum, p) => sum + p.dims.reduce((a, b) => a * b, 1), 0);
  return { path: out, tensors: plans.length, parameters, milliseconds: Date.now() - started };
}

// ---- command line ----------------------------------------------------------------------------

const USAGE = 'usage: node out/scripts/make-synthetic-model.js --shape tiny|0.5b|1.5b|7b --type f32|f16|bf16 --seed N --out F.gguf';

export function parseArgs(argv: readonly string[]): SyntheticModelOptions {
  const values: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (!['--shape', '--type', '--seed', '--out'].includes(flag)) throw new Error(`unknown argument ${JSON.stringify(flag)}\n${USAGE}`);
    if (i + 1 >= argv.length) throw new Error(`${flag} needs a value\n${USAGE}`);
    values[flag.slice(2)] = argv[++i];
  }
  for (const key of ['shape', 'out']) if (!(key in values)) throw new Error(`--${key} is required\n${USAGE}`);
  const seedText = values.seed ?? '0';
  if (!/^\d+$/.test(seedText)) throw new Error(`--seed must be a non-negative integer, got ${JSON.stringify(seedText)}\n${USAGE}`);
  return { shape: values.shape as SyntheticShape, type: (values.type ?? 'f32') as SyntheticType, seed: Number(seedText), out: path.resolve(values.out) };
}

if (require.main === module) {
  try {
    const result = writeSyntheticModel(parseArgs(process.argv.slice(2)));
    console.log(`wrote ${result.path}: ${result.tensors} tensors, ${result.parameters} parameters in ${(result.milliseconds / 1000).toFixed(1)} s`);
  } catch (e) {
    console.error((e as Error).message);
    process.exitCode = 2;
  }
}
