// Every setting, once: its type, default and range. The extension reads VS Code's configuration
// through this table, the language server merges what any client sends through it, and
// test/protocol/settings-table.test.ts holds the `contributed` rows to package.json's
// `contributes.configuration` (key, default, minimum, maximum, enum), so the settings UI, the
// extension's clamps and the server's clamps cannot drift apart.
//
// Keys are the dotted paths of the `qwenLocal.*` configuration and of the ServerSettings object
// ('completion.maxTokens' is `settings.completion.maxTokens`). Rows that are not `contributed` are
// the prompt shape and tuning knobs a client may send but the settings UI does not offer.
//
// The context size here is the editor's (8192 tokens: room for a FIM prompt, a chat with
// attached files, and their reply). The engine has its own default for callers that name none
// (DEFAULT_CONTEXT_SIZE in src/engine/model.ts, 4096, what `qwen-local run` uses); the native
// ModelOptions default mirrors that one and is never reached from JavaScript, which always passes
// a size. test/protocol/settings-table.test.ts checks that the two engine defaults agree.

interface SettingBase {
  /** Offered in VS Code's settings UI (listed in package.json). */
  contributed: boolean;
  /** Read only by the extension (not part of ServerSettings). */
  extensionOnly?: boolean;
}

export interface NumberSetting extends SettingBase {
  type: 'integer' | 'number';
  default: number;
  minimum: number;
  maximum: number;
}

export interface StringSetting extends SettingBase {
  type: 'string';
  default: string;
  enum?: readonly string[];
}

export interface BooleanSetting extends SettingBase {
  type: 'boolean';
  default: boolean;
}

export interface StringListSetting extends SettingBase {
  type: 'array';
  default: readonly string[];
}

export type SettingSpec = NumberSetting | StringSetting | BooleanSetting | StringListSetting;

export const settingsTable = {
  modelPath: { type: 'string', default: '', contributed: true },
  device: { type: 'string', default: 'auto', enum: ['auto', 'cpu', 'cuda'], contributed: true },
  threads: { type: 'integer', default: 0, minimum: 0, maximum: 256, contributed: true },
  contextSize: { type: 'integer', default: 8192, minimum: 256, maximum: 131072, contributed: true },
  remoteUrl: { type: 'string', default: '', contributed: true },

  'completion.enabled': { type: 'boolean', default: true, contributed: true },
  'completion.debounceMs': { type: 'integer', default: 0, minimum: 0, maximum: 2000, contributed: true, extensionOnly: true },
  'completion.maxTokens': { type: 'integer', default: 128, minimum: 1, maximum: 1024, contributed: true },
  'completion.maxLines': { type: 'integer', default: 12, minimum: 1, maximum: 200, contributed: true },
  // Greedy by default: the most likely code, the same suggestion for the same text, and the
  // engine may decode it speculatively (src/server/completion/completion-sampling.ts).
  'completion.temperature': { type: 'number', default: 0, minimum: 0, maximum: 2, contributed: true },
  'completion.warmup': { type: 'boolean', default: true, contributed: true },
  'completion.prefetch': { type: 'boolean', default: true, contributed: true },
  'completion.disabledLanguages': { type: 'array', default: ['plaintext', 'markdown', 'scminput'], contributed: true, extensionOnly: true },
  // The FIM prompt's shape follows the measurements in the project notes: 256 lines before the
  // cursor, 64 after, a 1.5k-token budget, and what is ready after 2 s is returned.
  'completion.prefixLines': { type: 'integer', default: 256, minimum: 1, maximum: 100000, contributed: false },
  'completion.suffixLines': { type: 'integer', default: 64, minimum: 0, maximum: 100000, contributed: false },
  'completion.contextTokens': { type: 'integer', default: 1536, minimum: 32, maximum: 1 << 20, contributed: false },
  'completion.timeBudgetMs': { type: 'integer', default: 2000, minimum: 10, maximum: 600000, contributed: false },
  // 0 never answers from a short window; any other value is at least the smallest window (64).
  'completion.shortContextTokens': { type: 'integer', default: 384, minimum: 0, maximum: 1 << 16, contributed: false },

  'chat.maxTokens': { type: 'integer', default: 1024, minimum: 1, maximum: 8192, contributed: true },
  'chat.temperature': { type: 'number', default: 0.7, minimum: 0, maximum: 2, contributed: true },
  'chat.topP': { type: 'number', default: 0.8, minimum: 0, maximum: 1, contributed: false },

  'tuning.reusePrefix': { type: 'boolean', default: true, contributed: false },
  'tuning.completionSlots': { type: 'integer', default: 4, minimum: 1, maximum: 64, contributed: false },
  'tuning.chatTurnAfterCompletions': { type: 'integer', default: 4, minimum: 1, maximum: 1000, contributed: false },
  // Most draft tokens per speculative verify step of a greedy completion (0: no speculation).
  'tuning.speculativeDraft': { type: 'integer', default: 8, minimum: 0, maximum: 64, contributed: false },
} as const satisfies Record<string, SettingSpec>;

export type SettingKey = keyof typeof settingsTable;
type KeysOf<T> = { [K in SettingKey]: (typeof settingsTable)[K] extends T ? K : never }[SettingKey];
export type NumberKey = KeysOf<{ type: 'integer' | 'number' }>;
export type StringKey = KeysOf<{ type: 'string' }>;
export type BooleanKey = KeysOf<{ type: 'boolean' }>;

/** `value` clamped to the setting's range (rounded for integers), or `prev` when it is not a finite number. */
export function clampSetting(key: NumberKey, value: unknown, prev: number): number {
  const spec: NumberSetting = settingsTable[key];
  if (typeof value !== 'number' || !Number.isFinite(value)) return prev;
  const x = Math.min(spec.maximum, Math.max(spec.minimum, value));
  return spec.type === 'integer' ? Math.round(x) : x;
}

/** `value` trimmed, or one of the setting's enum values; otherwise `prev`. */
export function stringSetting(key: StringKey, value: unknown, prev: string): string {
  const spec: StringSetting = settingsTable[key];
  if (typeof value !== 'string') return prev;
  const v = value.trim();
  return spec.enum && !spec.enum.includes(v) ? prev : v;
}

export function booleanSetting(value: unknown, prev: boolean): boolean {
  return typeof value === 'boolean' ? value : prev;
}
