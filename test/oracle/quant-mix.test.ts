// Per-tensor type choices of the quantizer against what llama.cpp's llama-quantize picks for the
// same shapes (worked out from src/llama-quant.cpp and matching the official Qwen2.5 GGUFs, e.g.
// the 0.5B Q4_K_M file holding Q5_0/Q8_0 matrices and Q6_K/Q4_K ffn_down).
import * as assert from 'assert';
import { chooseTensorType, quantTarget, useMoreBits, type ModelShapeForMix } from '../../src/engine/quant-mix';

const SHAPES: Record<string, ModelShapeForMix & { nEmbd: number; nFf: number; kvDim: number }> = {
  tiny: { nLayer: 2, nHead: 4, nHeadKv: 2, tiedEmbeddings: true, nEmbd: 256, nFf: 768, kvDim: 128 },
  '0.5b': { nLayer: 24, nHead: 14, nHeadKv: 2, tiedEmbeddings: true, nEmbd: 896, nFf: 4864, kvDim: 128 },
  '1.5b': { nLayer: 28, nHead: 12, nHeadKv: 2, tiedEmbeddings: true, nEmbd: 1536, nFf: 8960, kvDim: 256 },
};

/** The type each tensor of `shape` gets for `target`, keyed by name (layers as given). */
function plan(shapeName: string, target: string, layers: number[]): Record<string, string> {
  const s = SHAPES[shapeName];
  const t = quantTarget(target);
  const dims: Record<string, number[]> = {
    'token_embd.weight': [s.nEmbd, 151936],
    'output_norm.weight': [s.nEmbd],
  };
  for (const l of layers) {
    Object.assign(dims, {
      [`blk.${l}.attn_norm.weight`]: [s.nEmbd],
      [`blk.${l}.attn_q.weight`]: [s.nEmbd, s.nEmbd],
      [`blk.${l}.attn_q.bias`]: [s.nEmbd],
      [`blk.${l}.attn_k.weight`]: [s.nEmbd, s.kvDim],
      [`blk.${l}.attn_v.weight`]: [s.nEmbd, s.kvDim],
      [`blk.${l}.attn_output.weight`]: [s.nEmbd, s.nEmbd],
      [`blk.${l}.ffn_gate.weight`]: [s.nEmbd, s.nFf],
      [`blk.${l}.ffn_up.weight`]: [s.nEmbd, s.nFf],
      [`blk.${l}.ffn_down.weight`]: [s.nFf, s.nEmbd],
    });
  }
  const out: Record<string, string> = {};
  for (const [name, d] of Object.entries(dims)) out[name] = chooseTensorType(t, { name, dims: d, typeName: 'F32' }, s);
  return out;
}

describe('quantizer: llama.cpp per-tensor type choices', () => {
  it('use_more_bits picks the first and last eighth and every third layer between (24 layers)', () => {
    const picked = Array.from({ length: 24 }, (_, i) => i).filter((l) => useMoreBits(l, 24));
    assert.deepStrictEqual(picked, [0, 1, 2, 5, 8, 11, 14, 17, 20, 21, 22, 23]);
  });

  it('0.5B Q4_K_M: 896-wide rows fall back to Q5_0 / Q8_0, ffn_down keeps Q6_K / Q4_K', () => {
    const p = plan('0.5b', 'Q4_K_M', [0, 5, 6]);
    assert.strictEqual(p['token_embd.weight'], 'Q8_0');
    assert.strictEqual(p['output_norm.weight'], 'F32');
    assert.strictEqual(p['blk.0.attn_norm.weight'], 'F32');
    assert.strictEqual(p['blk.0.attn_q.bias'], 'F32');
    for (const l of [0, 5, 6]) {
      for (const n of ['attn_q', 'attn_k', 'attn_output', 'ffn_gate', 'ffn_up']) assert.strictEqual(p[`blk.${l}.${n}.weight`], 'Q5_0', `${l} ${n}`);
    }
    assert.strictEqual(p['blk.0.attn_v.weight'], 'Q8_0');
    assert.strictEqual(p['blk.5.attn_v.weight'], 'Q8_0');
    assert.strictEqual(p['blk.6.attn_v.weight'], 'Q5_0');
    assert.strictEqual(p['blk.0.ffn_down.weight'], 'Q6_K');
    assert.strictEqual(p['blk.5.ffn_down.weight'], 'Q6_K');
    assert.strictEqual(p['blk.6.ffn_down.weight'], 'Q4_K');
  });

  it('1.5B Q4_K_M: 1536-wide rows keep the K types, the tied embedding gets Q6_K', () => {
    const p = plan('1.5b', 'Q4_K_M', [0, 4]);
    assert.strictEqual(p['token_embd.weight'], 'Q6_K');
    assert.strictEqual(p['blk.4.attn_q.weight'], 'Q4_K');
    assert.strictEqual(p['blk.0.attn_v.weight'], 'Q6_K');
    assert.strictEqual(p['blk.4.attn_v.weight'], 'Q4_K');
    assert.strictEqual(p['blk.4.ffn_down.weight'], 'Q4_K');
    assert.strictEqual(p['blk.0.ffn_down.weight'], 'Q6_K');
  });

  it('0.5B Q2_K: attn_v Q4_K (GQA >= 4), ffn_down Q3_K, attn_output Q3_K, with fallbacks', () => {
    const p = plan('0.5b', 'Q2_K', [0]);
    assert.strictEqual(p['blk.0.attn_v.weight'], 'Q5_0'); // Q4_K -> Q5_0 (896 rows)
    assert.strictEqual(p['blk.0.ffn_down.weight'], 'Q3_K'); // 4864 rows fit
    assert.strictEqual(p['blk.0.attn_output.weight'], 'Q4_0'); // Q3_K -> Q4_0
    assert.strictEqual(p['blk.0.attn_q.weight'], 'Q4_0'); // Q2_K -> Q4_0
    assert.strictEqual(p['token_embd.weight'], 'Q8_0');
  });

  it('tiny Q2_K and Q3_K_M: GQA 2 gives attn_v Q3_K; Q3_K_M gives the first layers Q5_K', () => {
    const q2 = plan('tiny', 'Q2_K', [0, 1]);
    assert.strictEqual(q2['blk.0.attn_v.weight'], 'Q3_K');
    assert.strictEqual(q2['blk.0.attn_q.weight'], 'Q2_K');
    assert.strictEqual(q2['token_embd.weight'], 'Q6_K');
    const q3 = plan('tiny', 'Q3_K_M', [0, 1]);
    assert.strictEqual(q3['blk.1.attn_v.weight'], 'Q5_K');
    assert.strictEqual(q3['blk.1.ffn_down.weight'], 'Q4_K');
    assert.strictEqual(q3['blk.1.attn_output.weight'], 'Q4_K');
    assert.strictEqual(q3['blk.1.ffn_up.weight'], 'Q3_K');
  });

  it('legacy types: the tied head gets Q6_K (Q8_0 when rows do not split into 256), Q8_0 stays Q8_0', () => {
    assert.strictEqual(plan('tiny', 'Q4_0', [0])['token_embd.weight'], 'Q6_K');
    assert.strictEqual(plan('tiny', 'Q4_0', [0])['blk.0.ffn_down.weight'], 'Q4_0');
    assert.strictEqual(plan('0.5b', 'Q4_0', [0])['token_embd.weight'], 'Q8_0');
    assert.strictEqual(plan('tiny', 'Q8_0', [0])['token_embd.weight'], 'Q8_0');
    assert.strictEqual(plan('tiny', 'Q5_1', [0])['blk.0.attn_v.weight'], 'Q5_1');
  });

  it('float targets convert every matrix and leave norms and biases alone; pure K types only fall back', () => {
    const f16 = plan('tiny', 'F16', [0]);
    assert.strictEqual(f16['token_embd.weight'], 'F16');
    assert.strictEqual(f16['blk.0.ffn_down.weight'], 'F16');
    assert.strictEqual(f16['blk.0.attn_norm.weight'], 'F32');
    assert.strictEqual(f16['blk.0.attn_k.bias'] ?? f16['blk.0.attn_q.bias'], 'F32');
    const pure = plan('0.5b', 'Q4_K', [0]);
    assert.strictEqual(pure['token_embd.weight'], 'Q5_0');
    assert.strictEqual(pure['blk.0.ffn_down.weight'], 'Q4_K');
    assert.strictEqual(pure['blk.0.attn_v.weight'], 'Q5_0');
  });

  it('an unknown target is refused with the list of known ones', () => {
    assert.throws(() => quantTarget('Q7_K'), /unknown quantization type 'Q7_K' \(known: .*Q4_K_M/);
  });
});
