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

// One 'vscode' module object for the whole mocha run, acting on the fake of the latest install:
// modules that imported 'vscode' under an earlier install (Node caches them across test files)
// then still reach the current test's fake instead of a stale one.
let current: FakeVscode | undefined;
let sharedApi: object | undefined;
const now = (): FakeVscode => {
  if (!current) throw new Error('fake vscode used before installFakeVscode()');
  return current;
};

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
  current = fake;

  sharedApi ??= {
    ProgressLocation: { Notification: 15 },
    ConfigurationTarget: { Global: 1 },
    window: {
      showInformationMessage: async (message: string) => {
        now().info.push(message);
        return undefined;
      },
      showErrorMessage: async (message: string, ...buttons: string[]) => {
        now().errors.push(message);
        return now().pressButton(message, buttons);
      },
      showQuickPick: async (items: unknown[]) => now().pickQuickPick(items),
      showOpenDialog: async () => undefined,
      withProgress: async <T>(
        opts: { title: string },
        task: (progress: { report(r: ProgressReport): void }, token: { onCancellationRequested(cb: () => void): void }) => Promise<T>,
      ): Promise<T> => {
        now().progressTitles.push(opts.title);
        const listeners: Array<() => void> = [];
        const cancel = (): void => listeners.splice(0).forEach((l) => l());
        return task(
          {
            report: (r) => {
              now().reports.push(r);
              now().onReport(r, cancel);
            },
          },
          { onCancellationRequested: (cb) => listeners.push(cb) },
        );
      },
    },
    workspace: {
      getConfiguration: () => ({
        get: <T>(key: string, fallback?: T): T | undefined => (now().settings.has(key) ? (now().settings.get(key) as T) : fallback),
        update: async (key: string, value: unknown) => {
          now().settings.set(key, value);
        },
      }),
    },
    commands: {
      registerCommand: (id: string, fn: (...args: unknown[]) => unknown) => {
        now().commands.set(id, fn);
        return { dispose: () => now().commands.delete(id) };
      },
    },
  };

  const loader = Module as unknown as { _load: (request: string, parent: unknown, isMain: boolean) => unknown };
  const original = loader._load;
  loader._load = function (request: string, parent: unknown, isMain: boolean) {
    if (request === 'vscode') return sharedApi;
    return original.call(this, request, parent, isMain);
  };
  return {
    fake,
    uninstall: () => {
      loader._load = original;
    },
  };
}
