// The engine's TypeScript surface: what the CLI, the language server and the tests build on.
// Implemented by model.ts over the native addon (native.ts mirrors the addon's own surface).
// Nothing here knows about VS Code or LSP.

export type DeviceSetting = 'auto' | 'cpu' | 'cuda';

export interface LoadOptions {
  /** Compute threads; 0 or undefined picks the number of physical cores. */
  threads?: number;
  /**
   * 'cpu' always runs on the CPU; 'cuda' runs on the GPU or fails naming the reason; 'auto' (the
   * default) uses the GPU only when it is usable and passes the load-time self-check.
   */
  device?: DeviceSetting;
  /**
   * Compare GPU with CPU logits at load before using the GPU (default true). Only diagnostics
   * that compare the two backends themselves (scripts/gpu-check.sh) turn it off.
   */
  gpuSelfCheck?: boolean;
  /** KV-cache capacity in tokens, shared by all sequences (clamped to the model's trained context). */
  contextSize?: number;
  /** Called with 0..1 while weights are mapped and prepared. */
  onProgress?: (fraction: number) => void;
}

/** Why the GPU does not run a model (native/src/model/device_report.h). */
export type GpuUnavailableCode =
  | 'cpu_requested'
  | 'built_without_cuda'
  | 'no_driver'
  | 'driver_too_old'
  | 'no_device'
  | 'unsupported_gpu'
  | 'not_enough_memory'
  | 'out_of_memory'
  | 'load_failed'
  | 'self_check_failed'
  | 'probe_failed'
  /** The GPU failed during generation and the model was reloaded on the CPU (the server's doing). */
  | 'gpu_fault';

/** The load-time comparison of GPU and CPU logits. */
export interface GpuSelfCheck {
  passed: boolean;
  /** Logits rows compared (one per token). */
  tokens: number;
  cosineMin: number;
  cosineThreshold: number;
  /** Rows whose best tokens differ by more than the tie margin. */
  top1Mismatches: number;
  tieMarginSd: number;
  /** "cosine min 0.999871 (threshold 0.99), top-1 agrees in 16 of 16 rows (tie margin 0.25 sd)" */
  summary: string;
}

/** Which device runs a model, and why not the GPU. */
export interface DeviceReport {
  requested: DeviceSetting;
  used: 'cpu' | 'cuda';
  /** Absent when the GPU runs the model. */
  gpuUnavailable?: { code: GpuUnavailableCode; message: string };
  /** The GPU that was seen, if any ("NVIDIA H100 80GB HBM3 (sm_90, 79 GiB)"). */
  gpuName?: string;
  /** Present when the self-check ran (device auto or cuda, a GPU that loaded). */
  selfCheck?: GpuSelfCheck;
}

export interface ModelInfo {
  path: string;
  architecture: string; // always 'qwen2' for a loaded model
  name: string; // general.name, or the file name
  nLayer: number;
  nEmbd: number;
  nHead: number;
  nHeadKv: number;
  nFf: number;
  nVocab: number;
  trainedContext: number; // qwen2.context_length
  contextSize: number; // KV capacity actually allocated
  ropeFreqBase: number;
  parameterCount: number;
  fileSizeBytes: number;
  tensorTypes: Record<string, number>; // GGML type name -> number of tensors
  device: 'cpu' | 'cuda'; // what actually runs the model
  deviceReport: DeviceReport;
  backend: string; // human readable: "CPU AVX2, 2 threads"
}

export interface SamplingOptions {
  temperature?: number; // 0 = greedy (default)
  topK?: number; // 0 = off
  topP?: number; // 1 = off
  minP?: number; // 0 = off
  repeatPenalty?: number; // 1 = off
  repeatLastN?: number; // window for the repeat penalty
  seed?: number;
}

/**
 * Which logits rows an eval computes and returns: 'none' computes none; 'keep' computes the final
 * row for sample() and keeps it native-side (generation: no 600 KB copy per token); 'last' also
 * returns it; 'all' returns one row per token.
 */
export type LogitsMode = 'none' | 'keep' | 'last' | 'all';

/** One token stream with its own KV cache entries. */
export interface Sequence {
  readonly id: number;
  /** Tokens whose keys/values are in the cache, in order. */
  readonly tokens: readonly number[];
  /** Keeps the first n tokens' KV, drops the rest (cheap). */
  truncate(n: number): void;
  /**
   * Appends tokens and runs the model over them in micro-batches. Returns logits rows
   * ([rows x nVocab], row-major) as asked (see LogitsMode; null for 'none' and 'keep'). The signal is checked
   * between micro-batches: on abort the promise rejects with an AbortError and `tokens` holds what
   * was evaluated so far (still valid cache for a later request).
   */
  eval(tokens: readonly number[], opts?: { logits?: LogitsMode; signal?: AbortSignal }): Promise<Float32Array | null>;
  /** Samples the next token from the last evaluated row (kept native-side). */
  sample(opts: SamplingOptions, recentTokens?: readonly number[]): number;
  dispose(): void;
}

export interface Tokenizer {
  readonly vocabSize: number;
  readonly eosId: number;
  readonly bosId: number | null;
  /** With special=true, special/control token texts such as <|im_start|> become their ids. */
  encode(text: string, opts?: { special?: boolean }): number[];
  decode(ids: readonly number[], opts?: { special?: boolean }): string;
  tokenId(text: string): number | undefined;
  /** Incremental decoding that holds back incomplete UTF-8 sequences across tokens. */
  createStreamDecoder(opts?: { special?: boolean }): { push(id: number): string; flush(): string };
  isSpecial(id: number): boolean;
}

export interface Model {
  readonly info: ModelInfo;
  readonly tokenizer: Tokenizer;
  /** Raw GGUF metadata (vocabulary arrays left out). */
  readonly metadata: Record<string, unknown>;
  readonly chatTemplate: string | null;
  createSequence(): Sequence;
  /** KV cells in use / capacity, over all sequences; the cache hands them out in blocks of blockTokens. */
  kvUsage(): { used: number; capacity: number; bytesPerToken: number; blockTokens: number };
  dispose(): Promise<void>;
}

export type StopReason = 'eos' | 'stopString' | 'maxTokens' | 'aborted' | 'contextFull' | 'callerStop';

export interface GenerateOptions {
  maxTokens?: number;
  sampling?: SamplingOptions;
  stopTokens?: readonly number[]; // in addition to the model's EOS
  stopStrings?: readonly string[];
  signal?: AbortSignal;
  /** Streams decoded text; returning false stops generation ('callerStop'). */
  onText?: (text: string) => boolean | void;
  /**
   * Speculative decoding for greedy sampling (temperature 0, no repeat penalty; ignored
   * otherwise): up to `maxDraft` tokens guessed by lookup in the prompt and the output so far are
   * checked in one batched eval. The output is exactly that of plain greedy decoding.
   */
  speculative?: { maxDraft: number };
}

export interface GenerateResult {
  text: string;
  tokens: number[];
  stopReason: StopReason;
  promptTokens: number;
  cachedTokens: number; // prompt tokens whose KV was reused
  evaluatedTokens: number; // prompt tokens actually run through the model
  prefillMs: number;
  decodeMs: number;
  tokensPerSecond: number; // decode speed
  draftTokens: number; // tokens guessed for speculative decoding (0 without it)
  acceptedDraftTokens: number; // of those, the ones the model agreed with
  decodeEvals: number; // evals after the prefill (one per token without speculation)
}
