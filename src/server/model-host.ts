// Owns the loaded model: loads it from the settings, reloads it when the path (or anything the load
// depends on) changes, reports progress and state as qwen/status notifications, and hands the model
// to requests — waiting for a load in progress, or failing with a clear error when there is none.
// The engine is injected (the default is src/engine), which lets tests run the server with a
// model of their own making.
import type { GenerateOptions, GenerateResult, LoadOptions, Model, Sequence } from '../engine/api';
import type { StatusParams } from '../protocol';
import { modelLoadError, noModelError } from './errors';
import { EngineScheduler } from './scheduler/engine-scheduler';
import { SlotPool } from './cache/slot-pool';
import { urlWithoutKey } from '../openai/client';
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
  const engine = require('../engine') as typeof import('../engine');
  return { loadModel: engine.loadModel, generate: engine.generate, renderChatPrompt: engine.renderChatPrompt };
}

/** A model ready for requests, with the state that lives exactly as long as it. */
export interface LoadedModel {
  model: Model;
  pool: SlotPool;
}

export class ModelHost {
  private loaded: LoadedModel | null = null;
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

  get engineModule(): EngineModule {
    return this.engine();
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
          device: settings.device,
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

  private describe(model: Model): NonNullable<StatusParams['model']> {
    const kv = model.kvUsage();
    return {
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
