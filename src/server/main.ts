// The Qwen Local language server: one process that owns the model and answers completions and
// chat over LSP (stdio for `qwen-local serve --stdio` and other editors, node IPC for the VS Code
// extension). This file only wires the connection to the services; each job lives in its folder:
// completion/ (FIM prompt, post-processing), cache/ (KV slots), scheduler/ (who runs next),
// chat/ (qwen/chat).
import {
  createConnection,
  Connection,
  DidChangeConfigurationNotification,
  DidChangeWatchedFilesNotification,
  FileChangeType,
  InitializeResult,
  IPCMessageReader,
  IPCMessageWriter,
  MessageType,
  ProgressType,
  ShowMessageNotification,
  StreamMessageReader,
  StreamMessageWriter,
  TextDocuments,
  TextDocumentSyncKind,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { ChatProgress, StatusParams } from '../protocol';
import { ClientNotifications, Requests, ServerNotifications } from '../protocol/messages';
import { collectDebugStats } from './debug-stats';
import { ChatService } from './chat/chat-service';
import { CompletionService } from './completion/completion-service';
import { CompletionContextStore } from './completion/context-store';
import { asResponseError, invalidParams } from './errors';
import { defaultEngine, EngineModule, ModelHost } from './model-host';
import { EngineScheduler } from './scheduler/engine-scheduler';
import { defaultSettings, EffectiveSettings, mergeSettings, needsReload } from './settings';
import { WorkspacePaths } from './workspace-paths';
import type { DeviceSetting } from '../engine/api';
import { IndexService } from './workspace-index/index-service';
import { notify, onNotification, onRequest } from './typed-connection';

export interface StartServerOptions {
  /** 'stdio' or 'ipc'; left out, vscode-languageserver picks from argv (--stdio, --node-ipc). */
  transport?: 'stdio' | 'ipc';
  /** The engine to run models with (tests may pass their own); defaults to src/engine. */
  engine?: EngineModule;
  /** Wait a chat turn may wait behind completions before it is served anyway. */
  maxChatWaitMs?: number;
  /** `serve --stdio --device X`: overrides the client's device setting. */
  device?: DeviceSetting;
}

export interface RunningServer {
  connection: Connection;
  /** Resolves when the connection closes. */
  closed: Promise<void>;
}

function makeConnection(transport: StartServerOptions['transport']): Connection {
  if (transport === 'stdio') return createConnection(new StreamMessageReader(process.stdin), new StreamMessageWriter(process.stdout));
  if (transport === 'ipc') return createConnection(new IPCMessageReader(process), new IPCMessageWriter(process));
  return createConnection();
}

export function startServer(options: StartServerOptions = {}): RunningServer {
  const connection = makeConnection(options.transport);
  // Anything written to stdout would corrupt the stdio stream; route console output to the log.
  console.log = (...args: unknown[]) => connection.console.log(args.map(String).join(' '));
  console.warn = (...args: unknown[]) => connection.console.warn(args.map(String).join(' '));
  const documents = new TextDocuments(TextDocument);
  const paths = new WorkspacePaths();
  const context = new CompletionContextStore();
  let settings: EffectiveSettings = defaultSettings;
  let engine: EngineModule | undefined = options.engine;
  const scheduler = new EngineScheduler({
    chatTurnAfter: settings.tuning.chatTurnAfterCompletions,
    maxChatWaitMs: options.maxChatWaitMs ?? 2000,
  });
  const host = new ModelHost(
    () => (engine ??= defaultEngine()),
    scheduler,
    (status: StatusParams) => notify(connection, ServerNotifications.status, status),
    (message) => connection.console.log(message),
  );
  const openDocuments = () => documents.all().map((d) => ({ uri: d.uri, path: paths.relativePath(d.uri), getText: () => d.getText() }));
  const completions = new CompletionService({
    host,
    settings: () => settings,
    document: (uri) => documents.get(uri),
    openDocuments,
    paths,
    context,
    log: (message) => connection.console.log(message),
  });
  // The workspace index for @workspace questions: built in the background, never leaves this process.
  const workspaceIndex = new IndexService({
    notify: (status) => notify(connection, ServerNotifications.indexStatus, status),
    startProgress: async (title) => {
      if (!workDoneProgress) return undefined;
      const progress = await connection.window.createWorkDoneProgress();
      progress.begin(title, undefined, undefined, false);
      return { report: (message: string) => progress.report(message), done: () => progress.done() };
    },
    engineBusy: () => scheduler.busy,
    log: (message) => connection.console.log(message),
    // A notification, not a request: nothing to wait for, and a client without a handler is fine.
    warn: (message) => void connection.sendNotification(ShowMessageNotification.type, { type: MessageType.Warning, message }).catch(() => undefined),
  });
  let workDoneProgress = false;
  const chat = new ChatService({
    workspace: workspaceIndex,
    host,
    settings: () => settings,
    sendDelta: (token, delta) => {
      const value: ChatProgress = { delta };
      void connection.sendProgress(new ProgressType<ChatProgress>(), token, value).catch(() => undefined);
    },
  });

  const withDevice = (s: EffectiveSettings): EffectiveSettings => (options.device ? { ...s, device: options.device } : s);
  const applySettings = (raw: unknown, initial: boolean): void => {
    const next = withDevice(mergeSettings(settings, raw));
    const reload = initial || needsReload(settings, next);
    settings = next;
    scheduler.configure({ chatTurnAfter: settings.tuning.chatTurnAfterCompletions, maxChatWaitMs: options.maxChatWaitMs ?? 2000 });
    // Warm-ups turned off stop the ones under way; a reload stops them anyway (the model goes).
    if (!settings.completion.warmup || reload) completions.background.stopAll();
    host.apply(settings, reload);
  };

  connection.onInitialize((params): InitializeResult => {
    paths.setFolders(params.workspaceFolders, params.rootUri);
    workspaceIndex.setFolders(params.workspaceFolders ?? (params.rootUri ? [{ uri: params.rootUri, name: 'workspace' }] : []));
    workDoneProgress = params.capabilities?.window?.workDoneProgress === true;
    settings = withDevice(mergeSettings(defaultSettings, params.initializationOptions));
    return {
      capabilities: {
        textDocumentSync: TextDocumentSyncKind.Incremental,
        inlineCompletionProvider: true,
      },
      serverInfo: { name: 'qwen-local', version: '0.1.0' },
    };
  });
  connection.onInitialized(() => {
    applySettings({}, true);
    // Clients that support it are asked to push configuration changes.
    void connection.client.register(DidChangeConfigurationNotification.type, undefined).catch(() => undefined);
    // Saves, creations and deletions anywhere in the workspace keep the index current.
    void connection.client.register(DidChangeWatchedFilesNotification.type, { watchers: [{ globPattern: '**/*' }] }).catch(() => undefined);
    workspaceIndex.start();
  });
  connection.onDidChangeWatchedFiles((params) => {
    const type = (t: FileChangeType) => (t === FileChangeType.Created ? 'created' : t === FileChangeType.Deleted ? 'deleted' : 'changed');
    void workspaceIndex.onFilesChanged(params.changes.map((c) => ({ uri: c.uri, type: type(c.type) })));
  });
  onNotification(connection, ClientNotifications.indexSettings, (params) => workspaceIndex.applySettings(params));
  onRequest(connection, Requests.indexStatus, () => workspaceIndex.status);
  onRequest(connection, Requests.workspaceFiles, (params) => {
    if (!params || typeof params.query !== 'string') throw invalidParams('qwen/workspaceFiles: params.query must be a string');
    const limit = Number.isInteger(params.limit) && params.limit! > 0 ? Math.min(params.limit!, 200) : 50;
    return workspaceIndex.files(params.query, limit);
  });
  onRequest(connection, Requests.workspaceSearch, async (params) => {
    if (!params || typeof params.query !== 'string') throw invalidParams('qwen/workspaceSearch: params.query must be a string');
    const limit = Number.isInteger(params.limit) && params.limit! > 0 ? Math.min(params.limit!, 200) : 20;
    await workspaceIndex.settled();
    return workspaceIndex.search(params.query, limit);
  });
  connection.onDidChangeConfiguration((change) => applySettings(change.settings, false));

  documents.onDidOpen((e) => context.touch(e.document.uri));
  documents.onDidChangeContent((e) => context.touch(e.document.uri));
  documents.onDidClose((e) => {
    context.forget(e.document.uri);
    completions.forget(e.document.uri);
  });

  connection.languages.inlineCompletion.on((params, token) => completions.complete(params, token));
  // A chat is foreground work from its arrival to its answer, also between its decode steps.
  onRequest(connection, Requests.chat, (params, token) => scheduler.whileForeground(() => chat.chat(params, token)));
  onNotification(connection, ClientNotifications.warmCompletion, (params) => completions.warm(params));
  onRequest(connection, Requests.prefetchCompletion, (params, token) => completions.prefetch(params, token));
  onRequest(connection, Requests.getStatus, () => host.getStatus());
  onRequest(connection, Requests.lastCompletionStats, () => completions.lastStats);
  onRequest(connection, Requests.debugStats, (params) => collectDebugStats(host, completions, chat, params));
  onRequest(connection, Requests.tokenize, async (params) => {
    if (!params || typeof params.text !== 'string') throw invalidParams('qwen/tokenize: params.text must be a string');
    const { model } = await host.require();
    try {
      return model.tokenizer.encode(params.text, { special: params.special === true });
    } catch (e) {
      throw asResponseError(e, 'Tokenizing');
    }
  });
  onNotification(connection, ClientNotifications.completionContext, (params) => context.set(params));

  const closed = new Promise<void>((resolve) => {
    connection.onExit(() => {
      void host.dispose().finally(resolve);
    });
    connection.onShutdown(() => host.dispose());
  });
  documents.listen(connection);
  connection.listen();
  return { connection, closed };
}

// Run directly (`node out/src/server/main.js --stdio`, or by the extension over IPC).
if (require.main === module) {
  const transport = process.argv.includes('--stdio') ? 'stdio' : process.argv.includes('--node-ipc') ? 'ipc' : undefined;
  startServer({ transport });
}
