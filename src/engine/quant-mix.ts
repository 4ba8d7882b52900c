// Which GGML type each tensor of a Qwen2 GGUF gets when a model is quantized to a given target.
//
// The rules are llama.cpp's (src/llama-quant.cpp, llama_tensor_get_type and its fallback), restated
// for the tensors a Qwen2 model has, so that our synthetic files carry the same per-tensor types as
// the official Qwen2.5 GGUFs:
//   - only 2-D tensors whose name ends in "weight" and is not a norm are converted; biases and norms
//     keep their stored type (F32 in every Qwen2 file);
//   - the output head gets Q6_K (Q8_0 when its row length does not split into the target's blocks),
//     except for a Q8_0 target; with tied embeddings token_embd IS the head, so it gets the same;
//   - the _M mixes spend more bits on attn_v and ffn_down in the "use_more_bits" layers (the first
//     and last eighth, and every third layer in between);
//   - a tensor whose row length is not a multiple of the chosen type's block falls back:
//     Q2_K/Q3_K -> Q4_0, Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0, and to F16 if even that does not fit.
// The plain K types (Q3_K, Q4_K, Q5_K) are "pure": every converted tensor takes that type, subject
// only to the fallback, as llama-quantize --pure would do.

export interface QuantTargetSpec {
  /** Name a user passes: a GGML type name or a llama.cpp mix name. */
  name: string;
  /** The type most converted tensors get. */
  baseType: string;
  /** llama.cpp's LLAMA_FTYPE value, written to general.file_type. */
  fileType: number;
  /** True: no per-tensor rules beyond the fallback. */
  pure: boolean;
}

const TARGETS: readonly QuantTargetSpec[] = [
  { name: 'F32', baseType: 'F32', fileType: 0, pure: false },
  { name: 'F16', baseType: 'F16', fileType: 1, pure: false },
  { name: 'BF16', baseType: 'BF16', fileType: 32, pure: false },
  { name: 'Q4_0', baseType: 'Q4_0', fileType: 2, pure: false },
  { name: 'Q4_1', baseType: 'Q4_1', fileType: 3, pure: false },
  { name: 'Q8_0', baseType: 'Q8_0', fileType: 7, pure: false },
  { name: 'Q5_0', baseType: 'Q5_0', fileType: 8, pure: false },
  { name: 'Q5_1', baseType: 'Q5_1', fileType: 9, pure: false },
  { name: 'Q2_K', baseType: 'Q2_K', fileType: 10, pure: false },
  { name: 'Q3_K_M', baseType: 'Q3_K', fileType: 12, pure: false },
  { name: 'Q4_K_M', baseType: 'Q4_K', fileType: 15, pure: false },
  { name: 'Q5_K_M', baseType: 'Q5_K', fileType: 17, pure: false },
  { name: 'Q6_K', baseType: 'Q6_K', fileType: 18, pure: false },
  // No llama.cpp file type is "all Q3_K/Q4_K/Q5_K"; the closest (the _S variants) is recorded.
  { name: 'Q3_K', baseType: 'Q3_K', fileType: 11, pure: true },
  { name: 'Q4_K', baseType: 'Q4_K', fileType: 14, pure: true },
  { name: 'Q5_K', baseType: 'Q5_K', fileType: 16, pure: true },
];

export const QUANT_TARGET_NAMES: readonly string[] = TARGETS.map((t) => t.name);

export function quantTarget(name: string): QuantTargetSpec {
  const t = TARGETS.find((x) => x.name === name.toUpperCase());
  if (!t) throw new Error(`unknown quantization type '${name}' (known: ${QUANT_TARGET_NAMES.join(', ')})`);
  return t;
}

/** Elements per block of the GGML types a target can produce. */
const BLOCK_SIZE: Record<string, number> = {
  F32: 1,
  F16: 1,
  BF16: 1,
  Q4_0: 32,
  Q4_1: 32,
  Q5_0: 32,
  Q5_1: 32,
  Q8_0: 32,
  Q2_K: 256,
  Q3_K: 256,
  Q4_K: 256,
  Q5_K: 256,
  Q6_K: 256,
};
const FLOAT_TYPES = new Set(['F32', 'F16', 'BF16']);

/** What the rules need to know about the model as a whole. */
export interface ModelShapeForMix {
  nLayer: number;
  nHead: number;
  nHeadKv: number;
  /** True when the file has no output.weight (the head reuses token_embd). */
  tiedEmbeddings: boolean;
}

export interface TensorForMix {
  name: string;
  dims: readonly number[]; // GGML order, dims[0] = row length
  typeName: string; // as stored in the input file
}

type Category = 'token_embd' | 'output' | 'attn_v' | 'attn_k' | 'attn_q' | 'attn_output' | 'ffn_up' | 'ffn_gate' | 'ffn_down' | 'other';

function category(name: string): Category {
  if (name === 'output.weight') return 'output';
  if (name === 'token_embd.weight') return 'token_embd';
  for (const c of ['attn_v', 'attn_k', 'attn_q', 'attn_output'] as const) if (name.includes(`${c}.weight`)) return c;
  for (const c of ['ffn_up', 'ffn_gate', 'ffn_down'] as const) if (name.includes(c)) return c;
  return 'other';
}

/** llama.cpp's choice of layers that get more bits in the _M mixes. */
export function useMoreBits(layer: number, nLayer: number): boolean {
  const eighth = Math.floor(nLayer / 8);
  return layer < eighth || layer >= Math.floor((7 * nLayer) / 8) || (layer - eighth) % 3 === 2;
}

function layerIndex(name: string): number {
  const m = /^blk\.(\d+)\./.exec(name);
  if (!m) throw new Error(`tensor ${name}: cannot tell its layer from the name`);
  return Number(m[1]);
}

/** Whether llama.cpp would convert this tensor at all (else it is copied as stored). */
export function isConvertible(t: TensorForMix): boolean {
  // GGML counts dimensions up to the last one above 1, so [n, 1] is a 1-D tensor.
  let nDims = 1;
  t.dims.forEach((d, i) => {
    if (d > 1) nDims = Math.max(nDims, i + 1);
  });
  return nDims >= 2 && t.name.endsWith('weight') && !t.name.includes('_norm.weight');
}

/** A type that cannot hold this row length is replaced by the nearest one that can. */
function withFallback(type: string, rowLength: number): string {
  if (rowLength % BLOCK_SIZE[type] === 0) return type;
  const next: Record<string, string> = { Q2_K: 'Q4_0', Q3_K: 'Q4_0', Q4_K: 'Q5_0', Q5_K: 'Q5_1', Q6_K: 'Q8_0' };
  const alt = next[type] ?? type;
  return rowLength % BLOCK_SIZE[alt] === 0 ? alt : 'F16';
}

/** The GGML type name tensor `t` gets in a model quantized to `target`. */
export function chooseTensorType(target: QuantTargetSpec, t: TensorForMix, model: ModelShapeForMix): string {
  if (!isConvertible(t)) return t.typeName;
  const base = target.baseType;
  if (FLOAT_TYPES.has(base)) return base; // float targets: no per-tensor rules
  if (target.pure) return withFallback(base, t.dims[0]);

  const cat = category(t.name);
  const rowLength = t.dims[0];
  const nGqa = model.nHead / model.nHeadKv;
  const ft = target.name;
  let type = base;

  if (cat === 'output' || (cat === 'token_embd' && model.tiedEmbeddings)) {
    if (rowLength % BLOCK_SIZE[base] !== 0) type = 'Q8_0';
    else if (base !== 'Q8_0') type = 'Q6_K';
  } else if (cat === 'attn_v') {
    const layer = layerIndex(t.name);
    if (ft === 'Q2_K') type = nGqa >= 4 ? 'Q4_K' : 'Q3_K';
    else if (ft === 'Q3_K_M') type = layer < 2 ? 'Q5_K' : 'Q4_K';
    else if ((ft === 'Q4_K_M' || ft === 'Q5_K_M') && useMoreBits(layer, model.nLayer)) type = 'Q6_K';
  } else if (cat === 'ffn_down') {
    const layer = layerIndex(t.name);
    const n = model.nLayer;
    if (ft === 'Q2_K') type = 'Q3_K';
    else if (ft === 'Q3_K_M') type = layer < Math.floor(n / 16) ? 'Q5_K' : 'Q4_K';
    else if ((ft === 'Q4_K_M' || ft === 'Q5_K_M') && useMoreBits(layer, n)) type = 'Q6_K';
  } else if (cat === 'attn_output') {
    if (ft === 'Q2_K') type = 'Q3_K';
    else if (ft === 'Q3_K_M') type = 'Q4_K';
  }
  return withFallback(type, rowLength);
}
