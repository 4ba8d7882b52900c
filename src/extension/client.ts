// The connection to the language server: a vscode-languageclient LanguageClient over node IPC that
// runs the bundled server module (dist/server.js) in its own process. The model and the native
// addon live only in that process, so a native crash kills the server, never VS Code; the client
// restarts it a few times a minute (RestartPolicy) and then stops with a clear error and a
// "Restart" action. Settings go in initializationOptions and on every change.
import { randomUUID } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import {
  CloseAction,
  DidChangeConfigurationNotification,
  ErrorAction,
  LanguageClient,
  LanguageClientOptions,
  NotificationType,
  ProgressType,
  RequestParam,
  RequestType,
  ServerOptions,
  State,
  StateChangeEvent,
  TransportKind,
} from 'vscode-languageclient/node';
import { ChatProgress, ServerSettings, StatusParams } from '../protocol';
import { Requests, ServerNotifications, TypedNotification, TypedRequest } from '../protocol/messages';
import type { ChatParamsWithContext, ChatResultWithContext } from '../protocol/workspace';
import { connectionLostMessage, RestartPolicy } from './server-status';

export class ServerConnection implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private stopping = false;
  private readonly policy = new RestartPolicy(3, 60_000);
  private readonly statusEmitter = new vscode.EventEmitter<StatusParams>();
  private readonly runningEmitter = new vscode.EventEmitter<boolean>();
  /** The server's status notifications, plus statuses the client makes up when the server is gone. */
  readonly onStatus = this.statusEmitter.event;
  /** Fires true when a (re)started server is ready for requests, false when it went away. */
  readonly onRunningChanged = this.runningEmitter.event;

  constructor(
    private readonly extensionRoot: string,
    private readonly log: vscode.LogOutputChannel,
    private readonly getSettings: () => ServerSettings,
  ) {}

  get running(): boolean {
    return this.client?.state === State.Running;
  }

  /** The server module: the esbuild bundle, or the tsc output when running from a dev checkout. */
  serverModule(): string | undefined {
    const candidates = [path.join(this.extensionRoot, 'dist', 'server.js'), path.join(this.extensionRoot, 'out', 'src', 'server', 'main.js')];
    return candidates.find((file) => fs.existsSync(file));
  }

  // The addon is copied to dist/native/ in a packaged extension and built to build/native/Release
  // in a checkout; telling the server where it is keeps that knowledge in one place.
  private nativeAddonEnv(): Record<string, string> {
    if (process.env.QWEN_NATIVE_PATH) return {};
    const candidates = [
      path.join(this.extensionRoot, 'dist', 'native', 'qwen_native.node'),
      path.join(this.extensionRoot, 'build', 'native', 'Release', 'qwen_native.node'),
    ];
    const found = candidates.find((file) => fs.existsSync(file));
    return found ? { QWEN_NATIVE_PATH: found } : {};
  }

  async start(): Promise<void> {
    const module = this.serverModule();
    if (!module) {
      const message = `The language server is missing: neither dist/server.js nor out/src/server/main.js exists under ${this.extensionRoot}.`;
      this.log.error(message);
      this.statusEmitter.fire({ state: 'error', message });
      return;
    }
    const run = {
      module,
      transport: TransportKind.ipc,
      options: { env: { ...process.env, ...this.nativeAddonEnv() } },
    };
    const serverOptions: ServerOptions = { run, debug: run };
    const clientOptions: LanguageClientOptions = {
      documentSelector: [{ scheme: 'file' }, { scheme: 'untitled' }],
      outputChannel: this.log,
      initializationOptions: this.getSettings(),
      middleware: {
        // Inline completions go through our own provider (debounce, cache, context), which sends
        // the same LSP request itself; the client's built-in provider would show duplicates.
        provideInlineCompletionItems: () => undefined,
      },
      errorHandler: {
        error: (error) => {
          this.log.error(`Connection to the language server failed: ${error.message}`);
          return { action: ErrorAction.Continue, handled: true };
        },
        closed: () => this.onClosed(),
      },
    };
    const client = new LanguageClient('qwenLocal', 'Qwen Local', serverOptions, clientOptions);
    this.client = client;
    client.onNotification(new NotificationType<StatusParams>(ServerNotifications.status.method), (status) => {
      if (status.state === 'error') this.log.error(`The language server reports: ${status.message ?? 'an error'}`);
      this.statusEmitter.fire(status);
    });
    client.onDidChangeState((e: StateChangeEvent) => {
      if (e.newState === State.Running) this.runningEmitter.fire(true);
      if (e.oldState === State.Running) this.runningEmitter.fire(false);
    });
    this.statusEmitter.fire({ state: 'loading', message: 'starting the language server' });
    this.stopping = false;
    try {
      await client.start();
      const status = await client.sendRequest(new RequestType<unknown, StatusParams, void>(Requests.getStatus.method), {});
      this.statusEmitter.fire(status);
    } catch (e) {
      const message = `The language server did not start: ${(e as Error).message}`;
      this.log.error(message);
      this.statusEmitter.fire({ state: 'error', message });
    }
  }

  private onClosed(): { action: CloseAction; handled: boolean } {
    if (this.stopping) return { action: CloseAction.DoNotRestart, handled: true };
    const now = Date.now();
    if (this.policy.recordCrash(now)) {
      this.log.warn('The language server stopped unexpectedly; restarting it.');
      this.statusEmitter.fire({ state: 'loading', message: 'restarting the language server after a crash' });
      return { action: CloseAction.Restart, handled: true };
    }
    const count = this.policy.recentCrashes(now);
    const message = `The language server crashed ${count} times within a minute and was not restarted again. The logs may say why (for example a model file the engine cannot read).`;
    this.log.error(message);
    this.statusEmitter.fire({ state: 'error', message });
    void vscode.window.showErrorMessage(`Qwen Local: ${message}`, 'Restart', 'Show Logs').then((choice) => {
      if (choice === 'Restart') void vscode.commands.executeCommand('qwenLocal.restartServer');
      if (choice === 'Show Logs') this.log.show();
    });
    return { action: CloseAction.DoNotRestart, handled: true };
  }

  /** Stops the current server (if any) and starts a fresh one with a new crash allowance. */
  async restart(): Promise<void> {
    this.policy.reset();
    await this.stop();
    await this.start();
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    this.stopping = true;
    try {
      if (client.state !== State.Stopped) await client.stop(5000);
    } catch (e) {
      this.log.warn(`Stopping the language server: ${(e as Error).message}`);
    } finally {
      await client.dispose().catch(() => undefined);
    }
  }

  /** Sends changed settings; the server reloads the model when the path or device changed. */
  pushSettings(settings: ServerSettings): void {
    if (!this.running || !this.client) return;
    void this.client
      .sendNotification(DidChangeConfigurationNotification.type, { settings })
      .catch((e: Error) => this.log.warn(`Sending settings failed: ${e.message}`));
  }

  /** A request to the server; rejects with a clear error when it is not running. */
  async request<P, R>(type: TypedRequest<P, R>, params: RequestParam<P>, token?: vscode.CancellationToken): Promise<R> {
    const client = this.client;
    if (!client || client.state !== State.Running) {
      throw new Error('The Qwen Local language server is not running (see Qwen Local: Show Logs).');
    }
    const lspType = new RequestType<P, R, void>(type.method);
    return token ? client.sendRequest(lspType, params, token) : client.sendRequest(lspType, params);
  }

  notify<P>(type: TypedNotification<P>, params: RequestParam<P>): void {
    if (!this.client || !this.running) return;
    void this.client.sendNotification(new NotificationType<P>(type.method), params).catch((e: Error) => this.log.warn(`${type.method}: ${e.message}`));
  }

  /** Listens for $/progress values on one token (streamed chat text). */
  onProgress<P>(token: string, handler: (value: P) => void): vscode.Disposable {
    if (!this.client) return new vscode.Disposable(() => undefined);
    return this.client.onProgress(new ProgressType<P>(), token, handler);
  }

  /**
   * One streamed qwen/chat request: listens for $/progress on a fresh token, sends the request
   * with it, and forwards each text delta. Cancelling `token` cancels the request on the server.
   */
  async chat(
    params: Omit<ChatParamsWithContext, 'partialResultToken'>,
    onDelta: (text: string) => void,
    token: vscode.CancellationToken,
  ): Promise<ChatResultWithContext> {
    const partialResultToken = `qwen-chat-${randomUUID()}`;
    let streamed = '';
    const listener = this.onProgress<ChatProgress>(partialResultToken, (value) => {
      if (typeof value?.delta !== 'string' || value.delta === '') return;
      streamed += value.delta;
      onDelta(value.delta);
    });
    try {
      const result = await this.request(Requests.chat, { ...params, partialResultToken }, token);
      // A server that does not stream (or whose last progress raced the response) still returns
      // the whole text; forward whatever the deltas missed so the caller ends up complete.
      if (typeof result?.text === 'string' && result.text.startsWith(streamed) && result.text.length > streamed.length) {
        onDelta(result.text.slice(streamed.length));
      }
      return result;
    } catch (e) {
      // The transport's own words ("Pending response rejected since connection got disposed")
      // would tell the user nothing; say that the server went away and what happens next.
      const lost = token.isCancellationRequested ? undefined : connectionLostMessage(e, this.stopping);
      if (lost) {
        this.log.warn(`A chat request lost its language server after ${streamed.length} characters.`);
        throw new Error(lost, { cause: e });
      }
      throw e;
    } finally {
      listener.dispose();
    }
  }

  dispose(): void {
    void this.stop();
    this.statusEmitter.dispose();
    this.runningEmitter.dispose();
  }
}
