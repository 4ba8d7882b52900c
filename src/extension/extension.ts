// Activation: wires the pieces together. Nothing here loads a model or the native addon; the
// language server process does that, so the extension activates (and its commands work) with no
// model configured, and a native crash cannot take the editor down.
import * as vscode from 'vscode';
import type { StatusParams } from '../protocol';
import { ClientNotifications } from '../protocol/messages';
import { Actions } from './actions';
import { ApplyAll } from './apply-all';
import { ChatViewProvider } from './chat-view-provider';
import { ServerConnection } from './client';
import { ExtensionSettings, readSettings, section, updateSetting } from './config';
import { ContextTracker } from './context-tracker';
import { QwenInlineCompletionProvider, suggestionAcceptedCommand } from './completion-provider';
import { AcceptedPrefetch } from './accepted-prefetch';
import { WarmupTrigger } from './warmup-trigger';
import { DebouncePolicy } from './debounce-policy';
import { DiffPreview } from './diff-preview';
import { trackLastEditor } from './editor-context';
import { pickModel } from './model-picker';
import { ModelManager } from './models/model-manager';
import { StatusBar } from './status-bar';

let connection: ServerConnection | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const log = vscode.window.createOutputChannel('Qwen Local', { log: true });
  let settings: ExtensionSettings = readSettings();
  const current = () => settings;

  const server = new ServerConnection(context.extensionPath, log, () => settings.server);
  connection = server;
  const status = new StatusBar();
  status.setCompletionsEnabled(settings.completionEnabled);
  const debounce = new DebouncePolicy({ fixedMs: settings.debounceMs });
  const diff = new DiffPreview();
  const applyAll = new ApplyAll(log);
  const chat = new ChatViewProvider(context.extensionUri, context.workspaceState, server, current, diff, log, applyAll);
  const provider = new QwenInlineCompletionProvider(server, current, debounce, log, () => status.current.state);
  const actions = new Actions(server, current, chat, diff, log);
  const prefetch = new AcceptedPrefetch({
    enabled: () => {
      const editor = vscode.window.activeTextEditor;
      return settings.server.completion.prefetch !== false && !!editor && provider.enabledFor(editor.document);
    },
    cursor: () => {
      const editor = vscode.window.activeTextEditor;
      return editor ? QwenInlineCompletionProvider.cursorOf(editor) : undefined;
    },
    request: (at, signal) => provider.prefetch(at, signal),
    store: (at, completion) => provider.cache.store(at, completion, Date.now()),
    show: () => void vscode.commands.executeCommand('editor.action.inlineSuggest.trigger'),
  });
  const models = new ModelManager(context.globalStorageUri.fsPath, log);

  context.subscriptions.push(
    log,
    server,
    status,
    diff,
    applyAll,
    chat,
    trackLastEditor(),
    new ContextTracker(server, debounce),
    new WarmupTrigger(server, current, (document) => provider.enabledFor(document)),
    vscode.commands.registerCommand(suggestionAcceptedCommand, () => void prefetch.onAccepted()),
    // Typing after an acceptance makes its prefetch pointless; the server drops it for the request anyway.
    vscode.workspace.onDidChangeTextDocument((e) => {
      if (e.contentChanges.length > 0) prefetch.onDocumentChanged(e.document.uri.toString(), e.document.version);
    }),
    // The server's workspace index honours files.exclude: send it on every (re)start and change.
    server.onRunningChanged((running) => {
      if (running) sendIndexSettings(server);
    }),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('files.exclude')) sendIndexSettings(server);
    }),
    server.onStatus((s) => {
      status.update(s);
      chat.setStatus(s.state === 'ready', chatStatusLabel(s));
    }),
    vscode.window.registerWebviewViewProvider(ChatViewProvider.viewId, chat, { webviewOptions: { retainContextWhenHidden: true } }),
    vscode.languages.registerInlineCompletionItemProvider([{ scheme: 'file' }, { scheme: 'untitled' }], provider),
    ...actions.register(),
    vscode.commands.registerCommand('qwenLocal.pickModel', pickModel),
    models,
    ...models.register(),
    vscode.commands.registerCommand('qwenLocal.toggleCompletions', async () => {
      await updateSetting('completion.enabled', !settings.completionEnabled);
    }),
    vscode.commands.registerCommand('qwenLocal.openChat', () => chat.reveal()),
    vscode.commands.registerCommand('qwenLocal.newChat', () => chat.newChat()),
    vscode.commands.registerCommand('qwenLocal.saveChatAs', () => chat.saveAs(status.current.model?.name ?? '')),
    vscode.commands.registerCommand('qwenLocal.showLogs', () => log.show()),
    vscode.commands.registerCommand('qwenLocal.restartServer', async () => {
      log.info('Restarting the language server on request.');
      await server.restart();
    }),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (!e.affectsConfiguration(section)) return;
      settings = readSettings();
      log.info('Settings changed; sending them to the language server.');
      debounce.setFixedDelay(settings.debounceMs);
      status.setCompletionsEnabled(settings.completionEnabled);
      if (!settings.completionEnabled) provider.cache.clear();
      server.pushSettings(settings.server);
    }),
  );

  log.info(`Qwen Local activating (VS Code ${vscode.version}, Node ${process.versions.node}).`);
  // Starting the server is not awaited: activation finishes at once and the status bar follows
  // the server's progress. A start failure ends in the status bar and the logs, never a throw.
  void server.start();
}

function sendIndexSettings(server: ServerConnection): void {
  const filesExclude = vscode.workspace.getConfiguration('files').get<Record<string, unknown>>('exclude') ?? {};
  server.notify(ClientNotifications.indexSettings, { filesExclude });
}

/** The one-line status at the top of the chat view. */
function chatStatusLabel(s: StatusParams): string {
  switch (s.state) {
    case 'ready':
      return [s.model?.name ?? 'model', s.model?.device].filter(Boolean).join(' · ');
    case 'noModel':
      return 'No model configured — use "Choose or Download Model…" in the view menu or the status bar.';
    case 'loading':
      return `Loading${s.progress !== undefined ? ` ${Math.round(s.progress * 100)}%` : ''}${s.message ? `: ${s.message}` : '…'}`;
    case 'error':
      return `Error: ${s.message ?? 'the language server reported an error'}`;
  }
}

export async function deactivate(): Promise<void> {
  await connection?.stop();
  connection = undefined;
}
