// The server's settings: defaults, and merging what the client sends (initializationOptions or
// workspace/didChangeConfiguration) over them. Clients may send a partial object, or nest it under
// "qwenLocal" (VS Code's section name); unknown or mistyped values keep the previous value so one
// bad field never takes the server down.
import type { ServerSettings, ServerTuning } from '../protocol';
import { COMPLETION_MAX_DRAFT } from './completion/completion-sampling';

export interface EffectiveSettings extends ServerSettings {
  completion: Required<ServerSettings['completion']>;
  tuning: Required<ServerTuning>;
}

export const defaultSettings: EffectiveSettings = {
  modelPath: '',
  device: 'auto',
  threads: 0,
  contextSize: 8192,
  completion: {
    enabled: true,
    maxTokens: 128,
    maxLines: 12,
    temperature: 0,
    prefixLines: 256,
    suffixLines: 64,
    contextTokens: 1536,
    timeBudgetMs: 2000,
    warmup: true,
    prefetch: true,
    shortContextTokens: 384,
  },
  chat: { maxTokens: 1024, temperature: 0.7, topP: 0.8 },
  remoteUrl: '',
  tuning: { reusePrefix: true, completionSlots: 4, chatTurnAfterCompletions: 4, speculativeDraft: COMPLETION_MAX_DRAFT },
};

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function num(v: unknown, prev: number, min: number, max: number, integer = true): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) return prev;
  const x = Math.min(max, Math.max(min, v));
  return integer ? Math.round(x) : x;
}

function bool(v: unknown, prev: boolean): boolean {
  return typeof v === 'boolean' ? v : prev;
}

function str(v: unknown, prev: string): string {
  return typeof v === 'string' ? v.trim() : prev;
}

/** Finds the settings object in what a client sent: itself, `.settings`, or `.qwenLocal`. */
export function unwrapSettings(raw: unknown): Obj | undefined {
  let v = raw;
  if (isObj(v) && isObj(v.settings)) v = v.settings;
  if (isObj(v) && isObj(v.qwenLocal)) v = v.qwenLocal;
  return isObj(v) ? v : undefined;
}

/** Returns `prev` with every valid field of `raw` applied. */
export function mergeSettings(prev: EffectiveSettings, raw: unknown): EffectiveSettings {
  const s = unwrapSettings(raw);
  if (!s) return prev;
  const c = isObj(s.completion) ? s.completion : {};
  const ch = isObj(s.chat) ? s.chat : {};
  const t = isObj(s.tuning) ? s.tuning : {};
  const pc = prev.completion;
  const device = s.device === 'auto' || s.device === 'cpu' || s.device === 'cuda' ? s.device : prev.device;
  return {
    modelPath: str(s.modelPath, prev.modelPath),
    device,
    threads: num(s.threads, prev.threads, 0, 256),
    contextSize: num(s.contextSize, prev.contextSize, 16, 1 << 20),
    completion: {
      enabled: bool(c.enabled, pc.enabled),
      maxTokens: num(c.maxTokens, pc.maxTokens, 1, 4096),
      maxLines: num(c.maxLines, pc.maxLines, 1, 1000),
      temperature: num(c.temperature, pc.temperature, 0, 2, false),
      prefixLines: num(c.prefixLines, pc.prefixLines, 1, 100000),
      suffixLines: num(c.suffixLines, pc.suffixLines, 0, 100000),
      contextTokens: num(c.contextTokens, pc.contextTokens, 32, 1 << 20),
      timeBudgetMs: num(c.timeBudgetMs, pc.timeBudgetMs, 10, 600000),
      warmup: bool(c.warmup, pc.warmup),
      prefetch: bool(c.prefetch, pc.prefetch),
      shortContextTokens: c.shortContextTokens === 0 ? 0 : num(c.shortContextTokens, pc.shortContextTokens, 64, 1 << 16),
    },
    chat: {
      maxTokens: num(ch.maxTokens, prev.chat.maxTokens, 1, 1 << 16),
      temperature: num(ch.temperature, prev.chat.temperature, 0, 2, false),
      topP: num(ch.topP, prev.chat.topP, 0, 1, false),
    },
    remoteUrl: str(s.remoteUrl, prev.remoteUrl ?? ''),
    tuning: {
      reusePrefix: bool(t.reusePrefix, prev.tuning.reusePrefix),
      completionSlots: num(t.completionSlots, prev.tuning.completionSlots, 1, 64),
      chatTurnAfterCompletions: num(t.chatTurnAfterCompletions, prev.tuning.chatTurnAfterCompletions, 1, 1000),
      speculativeDraft: num(t.speculativeDraft, prev.tuning.speculativeDraft, 0, 64),
    },
  };
}

/** True when the change needs the model loaded again (path, device, threads or context size). */
export function needsReload(a: ServerSettings, b: ServerSettings): boolean {
  return (
    a.modelPath !== b.modelPath ||
    a.device !== b.device ||
    a.threads !== b.threads ||
    a.contextSize !== b.contextSize ||
    // Switching to or from a remote server unloads or loads the local model.
    (a.remoteUrl ?? '') !== (b.remoteUrl ?? '')
  );
}
