// A plain TypeScript forward pass of Qwen2, written to be read top to bottom (in the spirit of
// llama2.c). It is the yardstick for the native engine: no batching, no quantization, no caching
// tricks beyond a simple per-layer key/value list. Weights arrive as float32; dot products
// accumulate in float64 so the reference's own rounding stays far below the tolerances tested.
//
// Conventions (as in GGUF): a weight with dims [nIn, nOut] is stored as nOut rows of nIn floats,
// so y = W x is y[o] = sum_i W[o * nIn + i] * x[i].

export interface WeightSource {
  metadata: Record<string, unknown>;
  has(name: string): boolean;
  /** Float32 values, row-major (rows of dims[0] elements). */
  tensor(name: string): Float32Array;
}

export interface Qwen2Config {
  nLayer: number;
  nEmbd: number;
  nHead: number;
  nHeadKv: number;
  headDim: number;
  nFf: number;
  nVocab: number;
  ropeBase: number;
  rmsEps: number;
}

interface LayerWeights {
  attnNorm: Float32Array;
  wq: Float32Array;
  bq: Float32Array;
  wk: Float32Array;
  bk: Float32Array;
  wv: Float32Array;
  bv: Float32Array;
  wo: Float32Array;
  ffnNorm: Float32Array;
  wGate: Float32Array;
  wUp: Float32Array;
  wDown: Float32Array;
}

function num(meta: Record<string, unknown>, key: string, fallback?: number): number {
  const v = meta[key];
  if (typeof v === 'number') return v;
  if (fallback !== undefined) return fallback;
  throw new Error(`GGUF metadata lacks ${key}`);
}

export function configFromMetadata(meta: Record<string, unknown>): Qwen2Config {
  if (meta['general.architecture'] !== 'qwen2') throw new Error(`reference handles qwen2 only, file is ${String(meta['general.architecture'])}`);
  const scaling = meta['qwen2.rope.scaling.type'];
  if (scaling !== undefined && scaling !== 'none') throw new Error(`reference does not implement rope scaling '${String(scaling)}'`);
  const nEmbd = num(meta, 'qwen2.embedding_length');
  const nHead = num(meta, 'qwen2.attention.head_count');
  const tokens = meta['tokenizer.ggml.tokens'];
  return {
    nLayer: num(meta, 'qwen2.block_count'),
    nEmbd,
    nHead,
    nHeadKv: num(meta, 'qwen2.attention.head_count_kv', nHead),
    headDim: nEmbd / nHead,
    nFf: num(meta, 'qwen2.feed_forward_length'),
    nVocab: Array.isArray(tokens) ? tokens.length : num(meta, 'qwen2.vocab_size'),
    ropeBase: num(meta, 'qwen2.rope.freq_base', 10000),
    rmsEps: num(meta, 'qwen2.attention.layer_norm_rms_epsilon', 1e-6),
  };
}

// out (nOut,) = W (nOut, nIn) @ x (nIn,) [+ b (nOut,)]
function matvec(w: Float32Array, x: Float32Array, nIn: number, nOut: number, b?: Float32Array): Float32Array {
  if (w.length !== nIn * nOut) throw new Error(`weight has ${w.length} values, expected ${nIn}x${nOut}`);
  const out = new Float32Array(nOut);
  for (let o = 0; o < nOut; o++) {
    let s = 0;
    const row = o * nIn;
    for (let i = 0; i < nIn; i++) s += w[row + i] * x[i];
    out[o] = b ? s + b[o] : s;
  }
  return out;
}

// x / sqrt(mean(x^2) + eps) * g
function rmsNorm(x: Float32Array, g: Float32Array, eps: number): Float32Array {
  let ss = 0;
  for (let i = 0; i < x.length; i++) ss += x[i] * x[i];
  const scale = 1 / Math.sqrt(ss / x.length + eps);
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i] * scale * g[i];
  return out;
}

// NEOX-style rotary embedding, in place, on each head of v (nHeads * headDim): element i of the
// first half pairs with element i + headDim/2 and is rotated by pos * base^(-2i/headDim).
function ropeNeox(v: Float32Array, nHeads: number, headDim: number, pos: number, base: number): void {
  const half = headDim / 2;
  for (let h = 0; h < nHeads; h++) {
    const o = h * headDim;
    for (let i = 0; i < half; i++) {
      const theta = pos * Math.pow(base, (-2 * i) / headDim);
      const c = Math.cos(theta),
        s = Math.sin(theta);
      const a = v[o + i],
        b = v[o + i + half];
      v[o + i] = a * c - b * s;
      v[o + i + half] = a * s + b * c;
    }
  }
}

export class Qwen2Reference {
  readonly cfg: Qwen2Config;
  private readonly tokEmbd: Float32Array;
  private readonly outNorm: Float32Array;
  private readonly head: Float32Array; // output.weight, or token_embd when tied
  private readonly layers: LayerWeights[] = [];
  // Per layer: keys and values of every position so far, each (nHeadKv * headDim,).
  private keys: Float32Array[][] = [];
  private values: Float32Array[][] = [];

  constructor(w: WeightSource) {
    this.cfg = configFromMetadata(w.metadata);
    this.tokEmbd = w.tensor('token_embd.weight');
    this.outNorm = w.tensor('output_norm.weight');
    this.head = w.has('output.weight') ? w.tensor('output.weight') : this.tokEmbd;
    for (let l = 0; l < this.cfg.nLayer; l++) {
      const t = (n: string) => w.tensor(`blk.${l}.${n}`);
      this.layers.push({
        attnNorm: t('attn_norm.weight'),
        wq: t('attn_q.weight'),
        bq: t('attn_q.bias'),
        wk: t('attn_k.weight'),
        bk: t('attn_k.bias'),
        wv: t('attn_v.weight'),
        bv: t('attn_v.bias'),
        wo: t('attn_output.weight'),
        ffnNorm: t('ffn_norm.weight'),
        wGate: t('ffn_gate.weight'),
        wUp: t('ffn_up.weight'),
        wDown: t('ffn_down.weight'),
      });
    }
    this.reset();
  }

  reset(): void {
    this.keys = this.layers.map(() => []);
    this.values = this.layers.map(() => []);
  }

  /** Runs one token at the next position; returns its logits (nVocab,). */
  step(token: number): Float32Array {
    const { nEmbd, nHead, nHeadKv, headDim, nFf, nVocab, rmsEps, ropeBase } = this.cfg;
    if (!Number.isInteger(token) || token < 0 || token >= nVocab) throw new Error(`token ${token} outside the vocabulary`);
    const pos = this.keys[0].length;
    const kvDim = nHeadKv * headDim;
    const group = nHead / nHeadKv; // query heads per key/value head (GQA)

    // x (nEmbd,) = row `token` of the embedding table
    let x: Float32Array = this.tokEmbd.slice(token * nEmbd, (token + 1) * nEmbd);

    for (let l = 0; l < this.layers.length; l++) {
      const L = this.layers[l];
      // --- attention block ---
      const xn = rmsNorm(x, L.attnNorm, rmsEps);
      const q = matvec(L.wq, xn, nEmbd, nEmbd, L.bq); // (nHead * headDim,)
      const k = matvec(L.wk, xn, nEmbd, kvDim, L.bk); // (nHeadKv * headDim,)
      const v = matvec(L.wv, xn, nEmbd, kvDim, L.bv);
      ropeNeox(q, nHead, headDim, pos, ropeBase);
      ropeNeox(k, nHeadKv, headDim, pos, ropeBase);
      this.keys[l].push(k);
      this.values[l].push(v);

      const attn = new Float32Array(nEmbd);
      const scale = 1 / Math.sqrt(headDim);
      const nPos = pos + 1; // causal: positions 0..pos
      const scores = new Float64Array(nPos);
      for (let h = 0; h < nHead; h++) {
        const kvo = Math.floor(h / group) * headDim;
        const qo = h * headDim;
        let max = -Infinity;
        for (let p = 0; p < nPos; p++) {
          const kp = this.keys[l][p];
          let s = 0;
          for (let i = 0; i < headDim; i++) s += q[qo + i] * kp[kvo + i];
          scores[p] = s * scale;
          if (scores[p] > max) max = scores[p];
        }
        let sum = 0;
        for (let p = 0; p < nPos; p++) {
          scores[p] = Math.exp(scores[p] - max);
          sum += scores[p];
        }
        for (let i = 0; i < headDim; i++) {
          let acc = 0;
          for (let p = 0; p < nPos; p++) acc += scores[p] * this.values[l][p][kvo + i];
          attn[qo + i] = acc / sum;
        }
      }
      const attnOut = matvec(L.wo, attn, nEmbd, nEmbd);
      for (let i = 0; i < nEmbd; i++) x[i] += attnOut[i];

      // --- feed-forward block: down(silu(gate(x)) * up(x)) ---
      const xf = rmsNorm(x, L.ffnNorm, rmsEps);
      const gate = matvec(L.wGate, xf, nEmbd, nFf);
      const up = matvec(L.wUp, xf, nEmbd, nFf);
      for (let i = 0; i < nFf; i++) gate[i] = (gate[i] / (1 + Math.exp(-gate[i]))) * up[i];
      const down = matvec(L.wDown, gate, nFf, nEmbd);
      for (let i = 0; i < nEmbd; i++) x[i] += down[i];
    }

    x = rmsNorm(x, this.outNorm, rmsEps);
    return matvec(this.head, x, nEmbd, nVocab); // (nVocab,)
  }

  /** Logits of every position, row-major [tokens.length x nVocab], from an empty cache. */
  forward(tokens: readonly number[]): Float32Array {
    this.reset();
    const V = this.cfg.nVocab;
    const out = new Float32Array(tokens.length * V);
    tokens.forEach((t, i) => out.set(this.step(t), i * V));
    return out;
  }
}
