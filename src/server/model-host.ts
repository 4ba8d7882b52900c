// Owns the loaded model: loads it from the settings, reloads it when the path (or anything the load
// depends on) changes, reports progress and state as qwen/status notifications, and hands the model
// to requests — waiting for a load in progress, or failing with a clear error when there is none.
// The engine is injected (the default is src/engine), which lets tests run the server with a
// model of their own making. When the GPU fails for good during generation (a sticky CUDA error,
// code QWEN_GPU_FAULT), the request fails with a clear error and the model is reloaded on the
// CPU, where it stays until the model path or the device setting changes.
import type { GenerateOptions, GenerateResult, LoadOptions, Model, Sequence } from '../engine/api';
import type { StatusParams } from '../protocol';
import { modelLoadError, noModelError } from './errors';
import { EngineScheduler } from './scheduler/engine-scheduler';
import { SlotPool } from './cache/slot-pool';
import { urlWithoutKey } from './remote/client';
import type { EffectiveSettings } from './settings';

/** What the server needs from an engine. */
export interface EngineModule {
  loadModel(path: string, opts: LoadOptions): Promise<Model>;
  generate(model: Model, seq: Sequence, promptTokens: readonly number[], opts: GenerateOptions): Promise<GenerateResult>;
  renderChatPrompt(
    template: string | null,
    messages: ReadonlyArray<{ role: 'system' | 'user' | 'assistant'; content: string }>,
    opts: { addGenerationPrompt: boolean },
  ): string;
}

export function defaultEngine(): EngineModule {
  // Loaded on first use: the native addon is only needed once a model is.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const engine = require('../engine') as typeof import('../engine');
  return { loadModel: engine.loadModel, generate: engine.generate, renderChatPrompt: engine.renderChatPrompt };
}

/** A model ready for requests, with the state that lives exactly as long as it. */
export interface LoadedModel {
  model: Model;
  pool: SlotPool;
}

/** The error code a GPU model's evals fail with once the GPU is unusable (src/engine/native.ts). */
const GPU_FAULT_CODE = 'QWEN_GPU_FAULT';

function isGpuFault(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: unknown }).code === GPU_FAULT_CODE;
}

export class ModelHost {
  private loaded: LoadedModel | null = null;
  /** Set after a GPU fault: this model and device setting run on the CPU, for this reason. */
  private gpuFault: { modelPath: string; device: string; message: string } | null = null;
  private settings: EffectiveSettings | null = null;
  private loading: Promise<LoadedModel | null> | null = null;
  private status: StatusParams = { state: 'noModel', message: 'No model configured' };
  private loadedPath = '';
  private generation = 0;
  lastTokensPerSecond: number | undefined;

  constructor(
    private readonly engine: () => EngineModule,
    readonly scheduler: EngineScheduler,
    private readonly notify: (status: StatusParams) => void,
    private readonly log: (message: string) => void,
  ) {}

  /** The ready model, if any, without waiting for a load. */
  get current(): LoadedModel | null {
    return this.loaded;
  }

  get state(): StatusParams['state'] {
    return this.status.state;
  }

  /** The engine, with generate() watching for a GPU that failed for good. */
  get engineModule(): EngineModule {
    const engine = this.engine();
    return {
      ...engine,
      generate: (model, seq, prompt, opts) =>
        engine.generate(model, seq, prompt, opts).catch((e: unknown) => {
          throw this.onGenerateError(model, e);
        }),
    };
  }

  /** A GPU fault reloads the model on the CPU; the request gets an error saying so. */
  private onGenerateError(model: Model, e: unknown): unknown {
    if (!isGpuFault(e) || !this.settings) return e;
    const message = e instanceof Error ? e.message : String(e);
    if (this.loaded?.model === model && !this.gpuFault) {
      this.gpuFault = { modelPath: this.settings.modelPath, device: this.settings.device, message };
      this.log(`the GPU failed during generation (${message}); reloading ${this.settings.modelPath} on the CPU`);
      const settings = this.settings;
      // After the failing request has unwound (its slot released), not under it.
      setImmediate(() => void this.load(settings));
    }
    const err = new Error(`the GPU failed during generation (${message}); the model is being reloaded on the CPU, try again in a moment`);
    (err as Error & { code?: string }).code = GPU_FAULT_CODE;
    return err;
  }

  getStatus(): StatusParams {
    const s = { ...this.status };
    if (this.lastTokensPerSecond !== undefined) s.lastTokensPerSecond = this.lastTokensPerSecond;
    if (s.state === 'ready' && this.loaded) s.model = this.describe(this.loaded.model);
    return s;
  }

  /** Applies settings; with `reload` (re)loads the model from them, without waiting for the load. */
  apply(settings: EffectiveSettings, reload: boolean): void {
    this.loaded?.pool.setMaxCompletionSlots(settings.tuning.completionSlots);
    if (reload) void this.load(settings);
  }

  /** The ready model; waits for a load in progress; throws a ResponseError when there is none. */
  async require(): Promise<LoadedModel> {
    // A newer load may start while we wait for an older one; wait for whichever is current.
    while (this.loading) await this.loading;
    if (this.loaded) return this.loaded;
    if (this.status.state === 'error') throw modelLoadError(this.loadedPath, this.status.message ?? 'unknown error');
    throw noModelError();
  }

  async dispose(): Promise<void> {
    this.generation++;
    await this.unload();
  }

  private setStatus(status: StatusParams): void {
    this.status = status;
    this.notify(this.getStatus());
  }

  private async unload(): Promise<void> {
    const old = this.loaded;
    this.loaded = null;
    if (!old) return;
    this.scheduler.failWaiting(new Error('the model was unloaded (the settings changed)'));
    old.pool.disposeAll();
    await old.model.dispose().catch((e: Error) => this.log(`disposing the old model: ${e.message}`));
  }

  private load(settings: EffectiveSettings): Promise<LoadedModel | null> {
    const gen = ++this.generation;
    const path = settings.modelPath;
    this.loadedPath = path;
    this.settings = settings;
    // A GPU fault keeps this model on the CPU until the path or the device setting changes.
    if (this.gpuFault && (this.gpuFault.modelPath !== path || this.gpuFault.device !== settings.device)) this.gpuFault = null;
    const device = this.gpuFault ? 'cpu' : settings.device;
    const run = async (): Promise<LoadedModel | null> => {
      // One model in memory at a time: the old one goes before the new one maps its weights.
      await this.unload();
      // Remote mode: requests go to the OpenAI-compatible server, so no local model is loaded.
      if (settings.remoteUrl) {
        this.setStatus({ state: 'ready', message: `Using the OpenAI-compatible server at ${urlWithoutKey(settings.remoteUrl)}` });
        return null;
      }
      if (path === '') {
        this.setStatus({ state: 'noModel', message: 'No model configured' });
        return null;
      }
      this.setStatus({ state: 'loading', message: `Loading ${path}`, progress: 0 });
      let lastSent = 0;
      try {
        const model = await this.engine().loadModel(path, {
          threads: settings.threads,
          device,
          contextSize: settings.contextSize,
          onProgress: (f) => {
            // A notification per percent at most; more would flood a slow client.
            if (gen === this.generation && f - lastSent >= 0.01 && f < 1) {
              lastSent = f;
              this.setStatus({ state: 'loading', message: `Loading ${path}`, progress: f });
            }
          },
        });
        if (gen !== this.generation) {
          // Superseded while loading: the newer load owns the host now.
          await model.dispose();
          return null;
        }
        this.loaded = { model, pool: new SlotPool(model, settings.tuning.completionSlots) };
        this.log(`loaded ${path}: ${model.info.backend}, context ${model.info.contextSize}`);
        const gpu = this.gpuNote(model);
        if (model.info.deviceReport.selfCheck) this.log(`GPU self-check: ${model.info.deviceReport.selfCheck.summary}`);
        if (gpu) this.log(`running on the CPU, GPU not used (${gpu.code}): ${gpu.message}`);
        this.setStatus({ state: 'ready', message: `${model.info.name} ready` });
        return this.loaded;
      } catch (e) {
        const message = e instanceof Error ? e.message : String(e);
        if (gen === this.generation) {
          this.log(`loading ${path} failed: ${message}`);
          this.setStatus({ state: 'error', message });
        }
        return null;
      }
    };
    const p = run().finally(() => {
      if (this.loading === p) this.loading = null;
    });
    this.loading = p;
    return p;
  }

  /** Why the GPU does not run `model`, if it does not. */
  private gpuNote(model: Model): { code: string; message: string } | undefined {
    if (model.info.device === 'cuda') return undefined;
    if (this.gpuFault) return { code: 'gpu_fault', message: `the GPU failed during generation (${this.gpuFault.message}); the model was reloaded on the CPU` };
    return model.info.deviceReport.gpuUnavailable;
  }

  private describe(model: Model): NonNullable<StatusParams['model']> {
    const kv = model.kvUsage();
    const gpuNotUsed = this.gpuNote(model);
    const selfCheck = model.info.deviceReport.selfCheck;
    return {
      runsOn: model.info.device,
      ...(gpuNotUsed ? { gpuNotUsed } : {}),
      ...(selfCheck ? { gpuSelfCheck: `${selfCheck.passed ? 'passed' : 'failed'}: ${selfCheck.summary}` } : {}),
      name: model.info.name,
      path: model.info.path,
      device: model.info.backend,
      contextSize: model.info.contextSize,
      // Weights (mapped file) plus the whole KV pool, which is allocated up front.
      memoryBytes: model.info.fileSizeBytes + kv.capacity * kv.bytesPerToken,
      parameterCount: model.info.parameterCount,
    };
  }
}
