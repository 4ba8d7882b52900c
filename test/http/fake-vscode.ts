// Just enough of the `vscode` API for the model manager to run under mocha: settings in a map,
// messages and progress reports recorded, quick picks and notification buttons answered by the
// test. Installed by hooking Node's module loader for the name 'vscode' (the real module exists
// only inside the editor).
import Module = require('module');

export interface ProgressReport {
  message?: string;
  increment?: number;
}

export interface FakeVscode {
  settings: Map<string, unknown>;
  info: string[];
  errors: string[];
  progressTitles: string[];
  reports: ProgressReport[];
  commands: Map<string, (...args: unknown[]) => unknown>;
  /** Answers the next showQuickPick: gets the items, returns the one to pick (or undefined). */
  pickQuickPick: (items: unknown[]) => unknown;
  /** Answers error-message buttons (default: dismiss). */
  pressButton: (message: string, buttons: string[]) => string | undefined;
  /** Called with each progress report; cancel() fires the notification's Cancel button. */
  onReport: (report: ProgressReport, cancel: () => void) => void;
}

export function installFakeVscode(): { fake: FakeVscode; uninstall: () => void } {
  const fake: FakeVscode = {
    settings: new Map(),
    info: [],
    errors: [],
    progressTitles: [],
    reports: [],
    commands: new Map(),
    pickQuickPick: () => undefined,
    pressButton: () => undefined,
    onReport: () => undefined,
  };

  const api = {
    ProgressLocation: { Notification: 15 },
    ConfigurationTarget: { Global: 1 },
    window: {
      showInformationMessage: async (message: string) => {
        fake.info.push(message);
        return undefined;
      },
      showErrorMessage: async (message: string, ...buttons: string[]) => {
        fake.errors.push(message);
        return fake.pressButton(message, buttons);
      },
      showQuickPick: async (items: unknown[]) => fake.pickQuickPick(items),
      showOpenDialog: async () => undefined,
      withProgress: async <T>(
        opts: { title: string },
        task: (progress: { report(r: ProgressReport): void }, token: { onCancellationRequested(cb: () => void): void }) => Promise<T>,
      ): Promise<T> => {
        fake.progressTitles.push(opts.title);
        const listeners: Array<() => void> = [];
        const cancel = (): void => listeners.splice(0).forEach((l) => l());
        return task(
          {
            report: (r) => {
              fake.reports.push(r);
              fake.onReport(r, cancel);
            },
          },
          { onCancellationRequested: (cb) => listeners.push(cb) },
        );
      },
    },
    workspace: {
      getConfiguration: () => ({
        get: <T>(key: string, fallback?: T): T | undefined => (fake.settings.has(key) ? (fake.settings.get(key) as T) : fallback),
        update: async (key: string, value: unknown) => {
          fake.settings.set(key, value);
        },
      }),
    },
    commands: {
      registerCommand: (id: string, fn: (...args: unknown[]) => unknown) => {
        fake.commands.set(id, fn);
        return { dispose: () => fake.commands.delete(id) };
      },
    },
  };

  const loader = Module as unknown as { _load: (request: string, parent: unknown, isMain: boolean) => unknown };
  const original = loader._load;
  loader._load = function (request: string, parent: unknown, isMain: boolean) {
    if (request === 'vscode') return api;
    return original.call(this, request, parent, isMain);
  };
  return {
    fake,
    uninstall: () => {
      loader._load = original;
    },
  };
}
