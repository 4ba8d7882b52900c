// loadModel: api.ts's Model over the native addon. Options are checked here, before any native
// work, so a bad setting fails fast with a message naming the option; the GGUF header is read
// once to build the tokenizer, the info block and the metadata view.
import * as fs from 'fs';
import * as path from 'path';
import type { DeviceReport, DeviceSetting, GpuUnavailableCode, LoadOptions, Model, ModelInfo, Sequence, Tokenizer } from './api';
import { EvalQueue } from './eval-queue';
import { checkModelFitsInMemory, modelFootprint } from './memory-check';
import { GgufInfo, GgufMetadataValue, GPU_FAULT_CODE, loadNative, NativeDeviceReport, NativeModel } from './native';
import { SequenceHost, SequenceImpl } from './sequence';
import { createTokenizerFromGguf } from './tokenizer';

/** KV capacity used when the caller does not ask for one (clamped to the trained context). */
export const DEFAULT_CONTEXT_SIZE = 4096;
/** The smallest context worth having: a chat template alone takes a few dozen tokens. */
export const MIN_CONTEXT_SIZE = 16;
/** Above this a request is a mistake (a typo, bytes for tokens), not something to clamp. */
export const MAX_REASONABLE_CONTEXT = 1 << 20;
export const MAX_THREADS = 256;

/** Metadata keys holding the vocabulary: huge, and only the tokenizer needs them. */
const VOCAB_KEYS = new Set(['tokenizer.ggml.tokens', 'tokenizer.ggml.merges', 'tokenizer.ggml.token_type', 'tokenizer.ggml.scores']);

export interface ResolvedLoadOptions {
  threads: number;
  contextSize: number;
  device: DeviceSetting;
  gpuSelfCheck: boolean;
  /** Human-readable notes about adjustments made (for example a clamped context). */
  notes: string[];
}

/** Checks LoadOptions against the model's trained context; throws an Error naming the bad option. */
export function resolveLoadOptions(opts: LoadOptions, trainedContext: number): ResolvedLoadOptions {
  const notes: string[] = [];
  const threads = opts.threads ?? 0;
  if (!Number.isInteger(threads) || threads < 0 || threads > MAX_THREADS) {
    throw new RangeError(`threads must be an integer from 0 (automatic) to ${MAX_THREADS}, got ${String(opts.threads)}`);
  }
  const device = opts.device ?? 'auto';
  if (device !== 'auto' && device !== 'cpu' && device !== 'cuda') {
    throw new RangeError(`device must be 'auto', 'cpu' or 'cuda', got '${String(device)}'`);
  }
  const gpuSelfCheck = opts.gpuSelfCheck ?? true;
  if (typeof gpuSelfCheck !== 'boolean') throw new TypeError(`gpuSelfCheck must be true or false, got ${String(opts.gpuSelfCheck)}`);
  let contextSize = opts.contextSize ?? Math.min(DEFAULT_CONTEXT_SIZE, trainedContext);
  if (!Number.isInteger(contextSize) || contextSize < MIN_CONTEXT_SIZE) {
    throw new RangeError(`contextSize must be an integer of at least ${MIN_CONTEXT_SIZE} tokens, got ${String(opts.contextSize)}`);
  }
  if (contextSize > MAX_REASONABLE_CONTEXT) {
    throw new RangeError(`contextSize ${contextSize} is far beyond what this model was trained for (${trainedContext} tokens)`);
  }
  if (contextSize > trainedContext) {
    notes.push(`contextSize ${contextSize} exceeds the trained context; using ${trainedContext}`);
    contextSize = trainedContext;
  }
  return { threads, contextSize, device, gpuSelfCheck, notes };
}

function metaNumber(meta: Record<string, GgufMetadataValue>, key: string, file: string): number {
  const v = meta[key];
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  throw new Error(`${file}: metadata key '${key}' is missing or not a number`);
}

/** Reads the GGUF header and checks that it is a Qwen2 model, before any weights are mapped. */
export function readModelHeader(file: string): GgufInfo {
  if (!fs.existsSync(file)) throw new Error(`${file}: no such file`);
  if (fs.statSync(file).isDirectory()) throw new Error(`${file}: is a directory, not a GGUF file`);
  const gguf = loadNative().readGguf(file);
  const arch = gguf.metadata['general.architecture'];
  if (arch !== 'qwen2') {
    throw new Error(`${file}: architecture is '${String(arch)}', but only 'qwen2' (Qwen2.5 / Qwen2.5-Coder) is supported`);
  }
  return gguf;
}

class ModelImpl implements Model, SequenceHost {
  readonly queue = new EvalQueue();
  readonly nVocab: number;
  readonly contextSize: number;
  /** Fixed for the model's life, so read once (the native call is refused while an eval runs). */
  readonly blockTokens: number;
  private readonly sequences = new Set<SequenceImpl>();
  private nextSequenceId = 1;
  private kvUsedSnapshot = 0;
  private closed = false;

  constructor(
    readonly native: NativeModel,
    readonly info: ModelInfo,
    readonly tokenizer: Tokenizer,
    readonly metadata: Record<string, unknown>,
    readonly chatTemplate: string | null,
    /** Adjustments made to the requested options. */
    readonly notes: readonly string[],
  ) {
    this.nVocab = info.nVocab;
    this.contextSize = info.contextSize;
    this.blockTokens = native.kvBlockTokens();
  }

  createSequence(): Sequence {
    if (this.closed) throw new Error('createSequence: the model was disposed');
    const seq = new SequenceImpl(this, this.nextSequenceId++);
    this.sequences.add(seq);
    return seq;
  }

  kvUsage(): { used: number; capacity: number; bytesPerToken: number; blockTokens: number } {
    // While an eval runs the native count cannot be read; the last snapshot is at most one
    // batch behind.
    if (!this.closed && !this.native.isBusy()) this.kvUsedSnapshot = this.native.kvUsed();
    return { used: this.kvUsedSnapshot, capacity: this.contextSize, bytesPerToken: this.native.kvBytesPerToken(), blockTokens: this.blockTokens };
  }

  onStateChange(): void {
    if (!this.closed && !this.native.isBusy()) this.kvUsedSnapshot = this.native.kvUsed();
  }

  onDispose(seq: SequenceImpl): void {
    this.sequences.delete(seq);
  }

  async dispose(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const err = new Error('the model was disposed');
    this.queue.rejectWaiting(err);
    for (const seq of this.sequences) seq.markDisposed();
    this.sequences.clear();
    // close() cancels a running eval and defers the free until it has stopped, so this never
    // races the worker thread.
    this.native.close();
    await this.queue.whenIdle();
  }
}

/** True for the error a GPU model throws once the GPU failed for good (reload on the CPU). */
export function isGpuFault(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: unknown }).code === GPU_FAULT_CODE;
}

/** The addon's report in the engine's terms. */
export function deviceReportOf(r: NativeDeviceReport): DeviceReport {
  const report: DeviceReport = { requested: r.requested, used: r.used };
  if (r.reasonCode !== 'none') report.gpuUnavailable = { code: r.reasonCode as GpuUnavailableCode, message: r.reason };
  if (r.gpuName) report.gpuName = r.gpuName;
  if (r.selfCheck) report.selfCheck = { ...r.selfCheck };
  return report;
}

function buildInfo(file: string, gguf: GgufInfo, native: NativeModel): ModelInfo {
  const h = native.hparams();
  const tensorTypes: Record<string, number> = {};
  let parameterCount = 0;
  for (const t of gguf.tensors) {
    tensorTypes[t.typeName] = (tensorTypes[t.typeName] ?? 0) + 1;
    parameterCount += t.dims.reduce((a, b) => a * b, 1);
  }
  const name = gguf.metadata['general.name'];
  const report = deviceReportOf(native.deviceReport());
  return {
    path: file,
    architecture: 'qwen2',
    name: typeof name === 'string' && name.length > 0 ? name : path.basename(file),
    nLayer: h.nLayer,
    nEmbd: h.nEmbd,
    nHead: h.nHead,
    nHeadKv: h.nHeadKv,
    nFf: h.nFf,
    nVocab: h.nVocab,
    trainedContext: h.nCtxTrain,
    contextSize: native.contextSize(),
    ropeFreqBase: h.ropeFreqBase,
    parameterCount,
    fileSizeBytes: gguf.fileSize,
    tensorTypes,
    device: report.used,
    deviceReport: report,
    backend: native.backend(),
  };
}

/** Loads a Qwen2 GGUF: validates options, builds the tokenizer, maps the weights natively. */
export async function loadModel(file: string, opts: LoadOptions = {}): Promise<Model> {
  const gguf = readModelHeader(file);
  const trained = metaNumber(gguf.metadata, 'qwen2.context_length', file);
  const resolved = resolveLoadOptions(opts, trained);
  checkModelFitsInMemory(file, modelFootprint(gguf.fileSize, gguf.metadata as Record<string, unknown>, resolved.contextSize));
  const tokenizer = createTokenizerFromGguf(gguf.metadata as Record<string, unknown>);

  const onProgress = opts.onProgress;
  let last = -1;
  const report = (f: number): void => {
    // Reports from the load thread can arrive late (even after the promise settled); only
    // forward ones that move forward, so a UI never sees 0.9 after 1.0.
    if (!onProgress || !(f > last)) return;
    last = f;
    try {
      onProgress(f);
    } catch {
      // The caller's progress display failing is no reason to fail the load.
    }
  };
  const native = await loadNative().loadModel(
    file,
    { threads: resolved.threads, contextSize: resolved.contextSize, device: resolved.device, gpuSelfCheck: resolved.gpuSelfCheck },
    onProgress ? report : undefined,
  );
  report(1);

  const metadata: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(gguf.metadata)) if (!VOCAB_KEYS.has(k)) metadata[k] = v;
  const template = gguf.metadata['tokenizer.chat_template'];
  return new ModelImpl(native, buildInfo(file, gguf, native), tokenizer, metadata, typeof template === 'string' ? template : null, resolved.notes);
}
