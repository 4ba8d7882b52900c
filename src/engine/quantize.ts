// quantizeModel: rewrites a Qwen2 GGUF with its weights in another format, the way llama-quantize
// does (per-tensor choices in quant-mix.ts), keeping every metadata key with its stored type.
//
// Weights are read as float32 through the native addon (tensorToF32), quantized there with the
// reference rounding (quantize(typeName, f32)), and streamed to the output one tensor at a time,
// so memory stays around the size of the largest single tensor. Tensors that keep their type are
// copied byte for byte. The output is written to a temporary name and renamed at the end, so a
// crash never leaves a half-written file under the final name.
import * as fs from 'fs';
import { loadNative, type GgufInfo, type GgufTensorInfo, type NativeBinding } from './native';
import { writeGguf, type GgufMetadataEntry, type GgufTensorSpec } from './gguf-writer';
import { readTypedMetadata } from './gguf-typed-metadata';
import { chooseTensorType, quantTarget, type ModelShapeForMix } from './quant-mix';

/** GGML's quantization format version (GGML_QNT_VERSION), which llama-quantize records. */
const GGML_QNT_VERSION = 2;
const FLOAT_SOURCE_TYPES = new Set(['F32', 'F16', 'BF16']);

export interface QuantizeOptions {
  /** Called after each tensor with (tensors done, total, tensor name). */
  onProgress?: (done: number, total: number, name: string) => void;
  /** The addon to use (tests may pass one); loaded from the default place when absent. */
  native?: NativeBinding;
}

export interface QuantizeResult {
  outPath: string;
  fileType: number;
  /** GGML type name -> number of tensors written in it. */
  tensorTypes: Record<string, number>;
  bytesIn: number;
  bytesOut: number;
}

function metaNumber(info: GgufInfo, key: string, path: string): number {
  const v = info.metadata[key];
  if (typeof v !== 'number') throw new Error(`${path}: metadata ${key} is missing or not a number`);
  return v;
}

function modelShape(info: GgufInfo, path: string): ModelShapeForMix {
  const arch = info.metadata['general.architecture'];
  if (arch !== 'qwen2') throw new Error(`${path}: architecture is '${String(arch)}', the quantizer handles qwen2 only`);
  const nHead = metaNumber(info, 'qwen2.attention.head_count', path);
  return {
    nLayer: metaNumber(info, 'qwen2.block_count', path),
    nHead,
    nHeadKv: typeof info.metadata['qwen2.attention.head_count_kv'] === 'number' ? (info.metadata['qwen2.attention.head_count_kv'] as number) : nHead,
    tiedEmbeddings: !info.tensors.some((t) => t.name === 'output.weight'),
  };
}

/** The output metadata: the input's, with the file type (and quantization version) updated. */
function outputMetadata(inPath: string, fileType: number, quantized: boolean): GgufMetadataEntry[] {
  const entries = readTypedMetadata(inPath).filter(([k]) => k !== 'general.file_type' && k !== 'general.quantization_version');
  const out: GgufMetadataEntry[] = [];
  for (const e of entries) {
    out.push(e);
    // Keep the general.* keys together, as llama.cpp's writer does.
    if (e[0] === 'general.architecture') {
      if (quantized) out.push(['general.quantization_version', 'uint32', GGML_QNT_VERSION]);
      out.push(['general.file_type', 'uint32', fileType]);
    }
  }
  return out;
}

function readRawBytes(path: string, info: GgufInfo, t: GgufTensorInfo): Uint8Array {
  const buf = Buffer.alloc(t.nbytes);
  const fd = fs.openSync(path, 'r');
  try {
    const got = fs.readSync(fd, buf, 0, t.nbytes, info.dataOffset + t.offset);
    if (got !== t.nbytes) throw new Error(`${path}: tensor ${t.name} is truncated (${got} of ${t.nbytes} bytes)`);
  } finally {
    fs.closeSync(fd);
  }
  return buf;
}

function convertTensor(native: NativeBinding, path: string, t: GgufTensorInfo, newType: string): Uint8Array {
  const f32 = native.tensorToF32(path, t.name);
  if (newType === 'F32') return new Uint8Array(f32.buffer, f32.byteOffset, f32.byteLength);
  return native.quantize(newType, f32);
}

/** Quantizes the model at inPath into outPath. `type`: see QUANT_TARGET_NAMES in quant-mix.ts. */
export function quantizeModel(inPath: string, outPath: string, type: string, opts: QuantizeOptions = {}): QuantizeResult {
  const target = quantTarget(type);
  const native = opts.native ?? loadNative();
  const info = native.readGguf(inPath);
  const shape = modelShape(info, inPath);
  if (!info.tensors.some((t) => t.name === 'token_embd.weight')) throw new Error(`${inPath}: no token_embd.weight tensor`);

  const plan = info.tensors.map((t) => ({ t, newType: chooseTensorType(target, t, shape) }));
  // Everything that can be refused is refused before the output file is created.
  for (const p of plan) {
    if (p.newType === p.t.typeName) continue;
    if (!FLOAT_SOURCE_TYPES.has(p.t.typeName)) {
      throw new Error(
        `${inPath}: tensor ${p.t.name} is stored as ${p.t.typeName}; re-quantizing a quantized tensor is not supported (start from an F32/F16/BF16 file)`,
      );
    }
    if (p.newType !== 'F32' && !native.typeInfo(p.newType).canQuantize) {
      throw new Error(`${inPath}: tensor ${p.t.name} needs type ${p.newType}, which this engine cannot write yet`);
    }
  }

  const tensorTypes: Record<string, number> = {};
  for (const p of plan) tensorTypes[p.newType] = (tensorTypes[p.newType] ?? 0) + 1;

  let done = 0;
  const tensors: GgufTensorSpec[] = plan.map(({ t, newType }) => ({
    name: t.name,
    type: newType,
    dims: t.dims,
    // Produced lazily while the writer streams, one tensor in memory at a time.
    chunks: function* () {
      yield newType === t.typeName ? readRawBytes(inPath, info, t) : convertTensor(native, inPath, t, newType);
      opts.onProgress?.(++done, plan.length, t.name);
    },
  }));

  const quantized = !['F32', 'F16', 'BF16'].includes(target.baseType);
  const tmpPath = `${outPath}.tmp-${process.pid}`;
  try {
    writeGguf(tmpPath, { metadata: outputMetadata(inPath, target.fileType, quantized), tensors });
    fs.renameSync(tmpPath, outPath);
  } catch (e) {
    fs.rmSync(tmpPath, { force: true });
    throw e;
  }
  return { outPath, fileType: target.fileType, tensorTypes, bytesIn: info.fileSize, bytesOut: fs.statSync(outPath).size };
}
