// The server's settings: the defaults and the merge live beside the settings table in
// src/protocol (the extension resolves VS Code's configuration through the same code); this file
// adds what only the server decides.
import type { ServerSettings } from '../protocol';

export { defaultSettings, mergeSettings, unwrapSettings } from '../protocol/settings-merge';
export type { EffectiveSettings } from '../protocol/settings-merge';

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
