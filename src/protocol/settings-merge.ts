// Settings as both sides resolve them: the defaults from the settings table, and merging what a
// client sends (initializationOptions, workspace/didChangeConfiguration, or the extension's read
// of VS Code's configuration) over the previous values. Clients may send a partial object, or nest
// it under "settings" or "qwenLocal" (VS Code's section name); unknown or mistyped values keep the
// previous value so one bad field never takes the server down.
import type { ServerSettings, ServerTuning } from './index';
import { booleanSetting, clampSetting, settingsTable, stringSetting } from './settings-table';

export interface EffectiveSettings extends ServerSettings {
  completion: Required<ServerSettings['completion']>;
  tuning: Required<ServerTuning>;
}

const t = settingsTable;

export const defaultSettings: EffectiveSettings = {
  modelPath: t.modelPath.default,
  device: t.device.default,
  threads: t.threads.default,
  contextSize: t.contextSize.default,
  completion: {
    enabled: t['completion.enabled'].default,
    maxTokens: t['completion.maxTokens'].default,
    maxLines: t['completion.maxLines'].default,
    temperature: t['completion.temperature'].default,
    prefixLines: t['completion.prefixLines'].default,
    suffixLines: t['completion.suffixLines'].default,
    contextTokens: t['completion.contextTokens'].default,
    timeBudgetMs: t['completion.timeBudgetMs'].default,
    warmup: t['completion.warmup'].default,
    prefetch: t['completion.prefetch'].default,
    shortContextTokens: t['completion.shortContextTokens'].default,
  },
  chat: { maxTokens: t['chat.maxTokens'].default, temperature: t['chat.temperature'].default, topP: t['chat.topP'].default },
  remoteUrl: t.remoteUrl.default,
  tuning: {
    reusePrefix: t['tuning.reusePrefix'].default,
    completionSlots: t['tuning.completionSlots'].default,
    chatTurnAfterCompletions: t['tuning.chatTurnAfterCompletions'].default,
    speculativeDraft: t['tuning.speculativeDraft'].default,
  },
};

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The short-window size: 0 turns it off; anything else is at least the smallest window, 64 tokens. */
function shortWindowTokens(value: unknown, prev: number): number {
  const v = clampSetting('completion.shortContextTokens', value, prev);
  return v === 0 ? 0 : Math.max(64, v);
}

/** Finds the settings object in what a client sent: itself, `.settings`, or `.qwenLocal`. */
export function unwrapSettings(raw: unknown): Obj | undefined {
  let v = raw;
  if (isObj(v) && isObj(v.settings)) v = v.settings;
  if (isObj(v) && isObj(v.qwenLocal)) v = v.qwenLocal;
  return isObj(v) ? v : undefined;
}

/** Returns `prev` with every valid field of `raw` applied, each clamped to its range in the table. */
export function mergeSettings(prev: EffectiveSettings, raw: unknown): EffectiveSettings {
  const s = unwrapSettings(raw);
  if (!s) return prev;
  const c = isObj(s.completion) ? s.completion : {};
  const ch = isObj(s.chat) ? s.chat : {};
  const tu = isObj(s.tuning) ? s.tuning : {};
  const pc = prev.completion;
  return {
    modelPath: stringSetting('modelPath', s.modelPath, prev.modelPath),
    device: stringSetting('device', s.device, prev.device) as ServerSettings['device'],
    threads: clampSetting('threads', s.threads, prev.threads),
    contextSize: clampSetting('contextSize', s.contextSize, prev.contextSize),
    completion: {
      enabled: booleanSetting(c.enabled, pc.enabled),
      maxTokens: clampSetting('completion.maxTokens', c.maxTokens, pc.maxTokens),
      maxLines: clampSetting('completion.maxLines', c.maxLines, pc.maxLines),
      temperature: clampSetting('completion.temperature', c.temperature, pc.temperature),
      prefixLines: clampSetting('completion.prefixLines', c.prefixLines, pc.prefixLines),
      suffixLines: clampSetting('completion.suffixLines', c.suffixLines, pc.suffixLines),
      contextTokens: clampSetting('completion.contextTokens', c.contextTokens, pc.contextTokens),
      timeBudgetMs: clampSetting('completion.timeBudgetMs', c.timeBudgetMs, pc.timeBudgetMs),
      warmup: booleanSetting(c.warmup, pc.warmup),
      prefetch: booleanSetting(c.prefetch, pc.prefetch),
      shortContextTokens: shortWindowTokens(c.shortContextTokens, pc.shortContextTokens),
    },
    chat: {
      maxTokens: clampSetting('chat.maxTokens', ch.maxTokens, prev.chat.maxTokens),
      temperature: clampSetting('chat.temperature', ch.temperature, prev.chat.temperature),
      topP: clampSetting('chat.topP', ch.topP, prev.chat.topP),
    },
    remoteUrl: stringSetting('remoteUrl', s.remoteUrl, prev.remoteUrl ?? ''),
    tuning: {
      reusePrefix: booleanSetting(tu.reusePrefix, prev.tuning.reusePrefix),
      completionSlots: clampSetting('tuning.completionSlots', tu.completionSlots, prev.tuning.completionSlots),
      chatTurnAfterCompletions: clampSetting('tuning.chatTurnAfterCompletions', tu.chatTurnAfterCompletions, prev.tuning.chatTurnAfterCompletions),
      speculativeDraft: clampSetting('tuning.speculativeDraft', tu.speculativeDraft, prev.tuning.speculativeDraft),
    },
  };
}
