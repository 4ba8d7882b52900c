// Reads the `qwenLocal.*` settings. The server gets a `ServerSettings` object (initializationOptions
// at start, workspace/didChangeConfiguration on change); settings that only the extension uses
// (debounce, disabled languages) are read here too so no other file touches the configuration API.
import * as vscode from 'vscode';
import type { ServerSettings } from '../protocol';

export const section = 'qwenLocal';

export interface ExtensionSettings {
  server: ServerSettings;
  completionEnabled: boolean;
  debounceMs: number;
  disabledLanguages: Set<string>;
}

// Prompt-shape values the server needs but users rarely should tune; they follow the measurements
// in the project notes (256 lines before the cursor, 64 after, a 1.5k-token FIM budget).
const completionPromptDefaults = {
  prefixLines: 256,
  suffixLines: 64,
  contextTokens: 1536,
  timeBudgetMs: 2000,
  shortContextTokens: 384,
};

function num(config: vscode.WorkspaceConfiguration, key: string, fallback: number, min: number, max: number): number {
  const value = config.get<number>(key, fallback);
  if (typeof value !== 'number' || !Number.isFinite(value)) return fallback;
  return Math.min(max, Math.max(min, value));
}

export function readSettings(): ExtensionSettings {
  const c = vscode.workspace.getConfiguration(section);
  const device = c.get<string>('device', 'auto');
  const server: ServerSettings = {
    modelPath: c.get<string>('modelPath', '').trim(),
    device: device === 'cpu' || device === 'cuda' ? device : 'auto',
    threads: Math.round(num(c, 'threads', 0, 0, 256)),
    contextSize: Math.round(num(c, 'contextSize', 8192, 512, 131072)),
    completion: {
      enabled: c.get<boolean>('completion.enabled', true),
      maxTokens: Math.round(num(c, 'completion.maxTokens', 128, 1, 1024)),
      maxLines: Math.round(num(c, 'completion.maxLines', 12, 1, 200)),
      temperature: num(c, 'completion.temperature', 0, 0, 2),
      warmup: c.get<boolean>('completion.warmup', true),
      prefetch: c.get<boolean>('completion.prefetch', true),
      ...completionPromptDefaults,
    },
    chat: {
      maxTokens: Math.round(num(c, 'chat.maxTokens', 1024, 16, 8192)),
      temperature: num(c, 'chat.temperature', 0.7, 0, 2),
      topP: 0.8,
    },
    remoteUrl: c.get<string>('remoteUrl', '').trim(),
  };
  const disabled = c.get<unknown>('completion.disabledLanguages', []);
  return {
    server,
    completionEnabled: server.completion.enabled,
    debounceMs: Math.round(num(c, 'completion.debounceMs', 0, 0, 2000)),
    disabledLanguages: new Set(Array.isArray(disabled) ? disabled.filter((x): x is string => typeof x === 'string') : []),
  };
}

/** Whether VS Code itself shows inline suggestions in this document (the user may turn them off). */
export function inlineSuggestEnabled(document: vscode.TextDocument): boolean {
  return vscode.workspace.getConfiguration('editor', document).get<boolean>('inlineSuggest.enabled', true);
}

export async function updateSetting(key: string, value: unknown): Promise<void> {
  // Global (user) scope: a model path or on/off switch is a property of the machine and person,
  // not of one workspace; a workspace value, if present, still wins as VS Code defines.
  await vscode.workspace.getConfiguration(section).update(key, value, vscode.ConfigurationTarget.Global);
}
