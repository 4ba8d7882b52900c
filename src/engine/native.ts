// The native addon's surface, typed, and the one place that loads it. Everything here mirrors
// native/src/napi/*.cpp one to one; src/engine/model.ts builds the friendlier Model/Sequence API
// on top. The addon is loaded lazily so that code paths that never touch it (argument errors in
// the CLI, the extension host) work even where it was not built.
import * as fs from 'fs';
import * as path from 'path';
import type { GpuSelfCheck } from './api';

/** Bumped in addon.cpp whenever this surface changes incompatibly. */
export const EXPECTED_BINDING_VERSION = 2;

export interface GgufTensorInfo {
  name: string;
  /** GGML type id as stored in the file. */
  type: number;
  typeName: string;
  /** GGML order: dims[0] is the contiguous row length. */
  dims: number[];
  /** Byte offset relative to the start of the data section. */
  offset: number;
  nbytes: number;
}

/**
 * Metadata values: integers become numbers (bigint above 2^53), floats numbers, bools booleans,
 * strings strings, arrays JS arrays of those.
 */
export type GgufMetadataValue = number | bigint | boolean | string | GgufMetadataValue[];

export interface GgufInfo {
  version: number;
  alignment: number;
  /** Absolute file offset of the (aligned) tensor data section. */
  dataOffset: number;
  fileSize: number;
  /** Keys in file order. */
  metadata: Record<string, GgufMetadataValue>;
  tensors: GgufTensorInfo[];
}

export interface GgmlTypeInfo {
  id: number;
  name: string;
  blockSize: number;
  typeSize: number;
  /** False for types GGUF knows but this engine cannot compute with. */
  supported: boolean;
  canQuantize: boolean;
}

/** What the engine detected on this CPU (native/src/base/cpu_features.h). */
export interface CpuFeatures {
  arch: 'x86_64' | 'aarch64' | 'unknown';
  avx2: boolean;
  fma: boolean;
  f16c: boolean;
  /** QWEN_FORCE_SCALAR=1 was set. */
  forcedScalar: boolean;
  /** The kernel family in use. */
  simd: 'avx2' | 'scalar';
  logicalCores: number;
}

/** What the GPU probe found (native/src/loader/device.h), the same probe loadModel uses. */
export interface NativeGpuInfo {
  builtWithCuda: boolean;
  usable: boolean;
  /** 'none' when usable, else a GpuUnavailableCode. */
  reasonCode: string;
  reason: string;
  deviceName: string;
  freeBytes: number;
  totalBytes: number;
  /** CUDA versions as 12040 = 12.4; 0 when absent. */
  driverVersion: number;
  runtimeVersion: number;
  peakBandwidthBytesPerSec: number;
}

/** NativeModel.deviceReport(). */
export interface NativeDeviceReport {
  requested: 'auto' | 'cpu' | 'cuda';
  used: 'cpu' | 'cuda';
  /** 'none' when the GPU runs the model. */
  reasonCode: string;
  reason: string;
  gpuName: string;
  selfCheck?: GpuSelfCheck;
}

export interface NativeLoadOptions {
  /** Default 'auto'. */
  device?: 'auto' | 'cpu' | 'cuda';
  /** Default true: compare GPU with CPU logits before using the GPU. */
  gpuSelfCheck?: boolean;
  /** 0 = physical cores. */
  threads?: number;
  /** KV capacity in tokens over all sequences. */
  contextSize?: number;
  /** Tokens per forward chunk in prefill; cancellation is checked between chunks. */
  microBatch?: number;
}

export interface NativeHParams {
  nVocab: number;
  nEmbd: number;
  nLayer: number;
  nHead: number;
  nHeadKv: number;
  nFf: number;
  nCtxTrain: number;
  rmsEps: number;
  ropeFreqBase: number;
  ropeScalingType: string;
  ropeScalingFactor: number;
  ropeOrigCtx: number;
  tiedEmbeddings: boolean;
}

export interface NativeSamplerParams {
  temperature?: number;
  topK?: number;
  topP?: number;
  minP?: number;
  repeatPenalty?: number;
  seed?: number | bigint;
}

/**
 * One loaded model. Evals run on a worker thread, one at a time per model: while one is pending,
 * a second eval() rejects and the state-reading methods marked "idle only" throw.
 */
export interface NativeModel {
  hparams(): NativeHParams;
  backend(): string;
  deviceReport(): NativeDeviceReport;
  contextSize(): number;
  kvBytesPerToken(): number;
  /** A sequence's KV cache grows in blocks of this many tokens. */
  kvBlockTokens(): number;
  /** Idle only. */
  kvUsed(): number;
  isBusy(): boolean;
  /** Idle only. */
  createSequence(): number;
  /** Idle only. */
  freeSequence(seq: number): void;
  /** Idle only. */
  sequenceLength(seq: number): number;
  /** Idle only. Keeps the first n positions. */
  truncate(seq: number, n: number): void;
  /**
   * Appends tokens at the end of seq. Resolves with logits rows [rows x nVocab] (null for 'none',
   * and for 'keep', which computes the last row for sample() without copying it out).
   * Rejects with an Error whose code is 'QWEN_CANCELLED' after cancel(seq).
   */
  eval(seq: number, tokens: Int32Array, mode: 'none' | 'keep' | 'last' | 'all'): Promise<Float32Array | null>;
  /** Any time: asks the running eval of seq to stop at the next micro-batch boundary. */
  cancel(seq: number): void;
  /** Idle only. Samples from seq's last evaluated row. */
  sample(seq: number, params: NativeSamplerParams, recent?: Int32Array): number;
  /** Frees the model (deferred to the end of a running eval, which is cancelled). */
  close(): void;
}

export interface NativeBinding {
  bindingVersion: number;
  cpuFeatures(): CpuFeatures;
  gpuInfo(): NativeGpuInfo;
  readGguf(path: string): GgufInfo;
  tensorToF32(path: string, tensorName: string): Float32Array;
  typeInfo(typeName: string): GgmlTypeInfo;
  quantize(typeName: string, data: Float32Array): Uint8Array;
  dequantize(typeName: string, data: Uint8Array, n: number): Float32Array;
  loadModel(path: string, opts?: NativeLoadOptions, onProgress?: (fraction: number) => void): Promise<NativeModel>;
}

/** The error code the binding puts on a cancelled eval. */
export const CANCELLED_CODE = 'QWEN_CANCELLED';
/** The error code of a GPU failure after which the model must be loaded again (on the CPU). */
export const GPU_FAULT_CODE = 'QWEN_GPU_FAULT';

let cached: NativeBinding | undefined;

/** The package root: the folder holding package.json above this file (src/ or out/src/). */
function packageRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    dir = path.dirname(dir);
  }
  return path.resolve(__dirname, '..', '..', '..');
}

/** Where the addon is looked for: $QWEN_NATIVE_PATH, else build/native/Release/qwen_native.node. */
export function nativeAddonPath(): string {
  const override = process.env.QWEN_NATIVE_PATH;
  if (override) return path.resolve(override);
  return path.join(packageRoot(), 'build', 'native', 'Release', 'qwen_native.node');
}

/** Loads (once) and returns the addon; throws a clear error when it is missing or stale. */
export function loadNative(): NativeBinding {
  if (cached) return cached;
  const file = nativeAddonPath();
  if (!fs.existsSync(file)) {
    throw new Error(`native addon not built: run npm install (looked for ${file})`);
  }
  let binding: NativeBinding;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    binding = require(file) as NativeBinding;
  } catch (e) {
    throw new Error(`native addon at ${file} could not be loaded: ${(e as Error).message}`, { cause: e });
  }
  if (binding.bindingVersion !== EXPECTED_BINDING_VERSION) {
    throw new Error(
      `native addon at ${file} has binding version ${binding.bindingVersion}, expected ` + `${EXPECTED_BINDING_VERSION}: rebuild it with npm run build:native`,
    );
  }
  cached = binding;
  return binding;
}
