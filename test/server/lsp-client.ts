// A real JSON-RPC client for the server tests: spawns a server process and talks LSP to it over
// its stdin/stdout with vscode-jsonrpc's stream reader and writer.
import { ChildProcess, spawn } from 'child_process';
import { CancellationTokenSource, createMessageConnection, MessageConnection, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node';
import type { ChatParams, ChatResult, CompletionContextParams, CompletionStats, DebugStats, DebugStatsParams, StatusParams } from '../../src/protocol';

export interface ServerProcessSpec {
  command: string;
  args: string[];
  env?: Record<string, string>;
}

export interface InlineItem {
  insertText: string;
  qwenStats?: CompletionStats;
}

export class LspTestClient {
  readonly proc: ChildProcess;
  readonly conn: MessageConnection;
  readonly statuses: StatusParams[] = [];
  readonly progress = new Map<string | number, string[]>();
  stderr = '';
  private versions = new Map<string, number>();
  private texts = new Map<string, string>();

  constructor(spec: ServerProcessSpec, cwd: string) {
    this.proc = spawn(spec.command, spec.args, { cwd, env: { ...process.env, ...spec.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.conn = createMessageConnection(new StreamMessageReader(this.proc.stdout!), new StreamMessageWriter(this.proc.stdin!));
    this.conn.onNotification('qwen/status', (s: StatusParams) => {
      this.statuses.push(s);
    });
    this.conn.onNotification('$/progress', (p: { token: string | number; value: { delta: string } }) => {
      const list = this.progress.get(p.token) ?? [];
      list.push(p.value.delta);
      this.progress.set(p.token, list);
    });
    // The server asks to register for configuration changes; accept.
    this.conn.onRequest('client/registerCapability', () => null);
    this.conn.onNotification('window/logMessage', () => undefined);
    this.conn.listen();
  }

  async initialize(settings: Record<string, unknown>, rootUri = 'file:///work/demo'): Promise<unknown> {
    const result = await this.conn.sendRequest('initialize', {
      processId: process.pid,
      rootUri,
      capabilities: {},
      workspaceFolders: [{ uri: rootUri, name: 'demo' }],
      initializationOptions: settings,
    });
    await this.conn.sendNotification('initialized', {});
    return result;
  }

  /** Waits until the server reports a final state (ready, error or noModel). */
  async waitForState(timeoutMs = 60000): Promise<StatusParams> {
    const start = Date.now();
    for (;;) {
      const s = (await this.conn.sendRequest('qwen/getStatus', {})) as StatusParams;
      if (s.state !== 'loading') return s;
      if (Date.now() - start > timeoutMs) throw new Error(`the model did not load within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  open(uri: string, text: string, languageId = 'typescript'): void {
    this.versions.set(uri, 1);
    this.texts.set(uri, text);
    void this.conn.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId, version: 1, text } });
  }

  /** Inserts `insert` at `offset` with an incremental change. */
  insert(uri: string, offset: number, insert: string): void {
    const text = this.texts.get(uri)!;
    const pos = positionAt(text, offset);
    const version = this.versions.get(uri)! + 1;
    this.versions.set(uri, version);
    this.texts.set(uri, text.slice(0, offset) + insert + text.slice(offset));
    void this.conn.sendNotification('textDocument/didChange', {
      textDocument: { uri, version },
      contentChanges: [{ range: { start: pos, end: pos }, text: insert }],
    });
  }

  text(uri: string): string {
    return this.texts.get(uri)!;
  }

  complete(uri: string, offset: number, token?: CancellationTokenSource): Promise<InlineItem[] | { items: InlineItem[] } | null> {
    const position = positionAt(this.texts.get(uri) ?? '', offset);
    const params = { textDocument: { uri }, position, context: { triggerKind: 1 } };
    // An explicit undefined third argument would be sent as a positional parameter.
    return token ? this.conn.sendRequest('textDocument/inlineCompletion', params, token.token) : this.conn.sendRequest('textDocument/inlineCompletion', params);
  }

  /** qwen/warmCompletion at `offset` of the document's current version. */
  warm(uri: string, offset: number): Promise<void> {
    const position = positionAt(this.texts.get(uri) ?? '', offset);
    return this.conn.sendNotification('qwen/warmCompletion', { textDocument: { uri, version: this.versions.get(uri) }, position });
  }

  /** qwen/prefetchCompletion at `offset` of the document's current version. */
  prefetch(uri: string, offset: number, token?: CancellationTokenSource): Promise<InlineItem[]> {
    const position = positionAt(this.texts.get(uri) ?? '', offset);
    const params = { textDocument: { uri, version: this.versions.get(uri) }, position };
    return token ? this.conn.sendRequest('qwen/prefetchCompletion', params, token.token) : this.conn.sendRequest('qwen/prefetchCompletion', params);
  }

  chat(params: ChatParams, token?: CancellationTokenSource): Promise<ChatResult> {
    return token ? this.conn.sendRequest('qwen/chat', params, token.token) : this.conn.sendRequest('qwen/chat', params);
  }

  lastStats(): Promise<CompletionStats | null> {
    return this.conn.sendRequest('qwen/lastCompletionStats', {});
  }

  debugStats(params: DebugStatsParams = {}): Promise<DebugStats> {
    return this.conn.sendRequest('qwen/debugStats', params);
  }

  /** Sends workspace/didChangeConfiguration with a partial settings object. */
  configure(settings: Record<string, unknown>): Promise<void> {
    return this.conn.sendNotification('workspace/didChangeConfiguration', { settings });
  }

  sendContext(params: CompletionContextParams): Promise<void> {
    return this.conn.sendNotification('qwen/completionContext', params);
  }

  /** Polls debugStats until `ready` holds (or fails after `timeoutMs`). */
  async waitForDebug(ready: (s: DebugStats) => boolean, what: string, timeoutMs = 30000): Promise<DebugStats> {
    const start = Date.now();
    for (;;) {
      const s = await this.debugStats();
      if (ready(s)) return s;
      if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}: ${JSON.stringify(s)}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  async close(): Promise<void> {
    try {
      await Promise.race([this.conn.sendRequest('shutdown'), new Promise((r) => setTimeout(r, 2000))]);
      await this.conn.sendNotification('exit');
    } catch {
      // Already gone.
    }
    await new Promise<void>((resolve) => {
      if (this.proc.exitCode !== null) return resolve();
      const t = setTimeout(() => {
        this.proc.kill();
        resolve();
      }, 3000);
      this.proc.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
    });
    this.conn.dispose();
  }
}

export function positionAt(text: string, offset: number): { line: number; character: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length - 1;
  return { line, character: offset - (before.lastIndexOf('\n') + 1) };
}

export function items(result: InlineItem[] | { items: InlineItem[] } | null): InlineItem[] {
  if (!result) return [];
  return Array.isArray(result) ? result : result.items;
}
