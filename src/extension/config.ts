// Reads the `qwenLocal.*` settings. The server gets a `ServerSettings` object (initializationOptions
// at start, workspace/didChangeConfiguration on change); settings that only the extension uses
// (debounce, disabled languages) are read here too so no other file touches the configuration API.
import * as vscode from 'vscode';
import type { ServerSettings } from '../protocol';
import { defaultSettings, mergeSettings } from '../protocol/settings-merge';
import { clampSetting, settingsTable } from '../protocol/settings-table';

export const section = 'qwenLocal';

export interface ExtensionSettings {
  server: ServerSettings;
  completionEnabled: boolean;
  debounceMs: number;
  disabledLanguages: Set<string>;
}

export function readSettings(): ExtensionSettings {
  const c = vscode.workspace.getConfiguration(section);
  // The same merge the server applies, over the table's defaults: a mistyped value falls back to
  // the default and a number out of range is clamped, exactly as the server would treat it.
  const { tuning: _serverOnly, ...server } = mergeSettings(defaultSettings, {
    modelPath: c.get('modelPath'),
    device: c.get('device'),
    threads: c.get('threads'),
    contextSize: c.get('contextSize'),
    completion: {
      enabled: c.get('completion.enabled'),
      maxTokens: c.get('completion.maxTokens'),
      maxLines: c.get('completion.maxLines'),
      temperature: c.get('completion.temperature'),
      warmup: c.get('completion.warmup'),
      prefetch: c.get('completion.prefetch'),
    },
    chat: { maxTokens: c.get('chat.maxTokens'), temperature: c.get('chat.temperature') },
    remoteUrl: c.get('remoteUrl'),
  });
  const debounce = settingsTable['completion.debounceMs'];
  const disabled = c.get<unknown>('completion.disabledLanguages', settingsTable['completion.disabledLanguages'].default);
  return {
    server,
    completionEnabled: server.completion.enabled,
    debounceMs: clampSetting('completion.debounceMs', c.get('completion.debounceMs'), debounce.default),
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
