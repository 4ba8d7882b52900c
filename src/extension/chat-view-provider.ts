// The chat view in the activity bar. The host side owns the conversation (kept per workspace in
// workspaceState, so it survives reloads), talks to the server, and treats the webview as an
// untrusted renderer: every message from it is validated (webview-messages.ts) before anything
// happens, and code it sends back is only inserted at the cursor or offered as a diff.
import { randomUUID } from 'crypto';
import * as vscode from 'vscode';
import type { ChatMessage } from '../protocol';
import type { HostMessage, ViewMessage, WebviewMessage } from '../protocol/webview';
import { chatHtml } from './chat-html';
import type { ServerConnection } from './client';
import type { ExtensionSettings } from './config';
import type { DiffPreview } from './diff-preview';
import { EditorContext, editorContext, lastTextEditor } from './editor-context';
import { fitToContext, systemPrompt } from './action-prompts';
import { formatTranscript, transcriptFileName, transcriptTitle } from './transcript';
import { validateWebviewMessage } from './webview-messages';
import { ChatMentions, PendingAttachment } from './chat-mentions';
import type { ApplyAll } from './apply-all';
import { extractPathBlocks } from './apply-all-blocks';
import type { ChatParamsWithContext, ChatResultWithContext } from '../protocol/workspace';

const historyKey = 'qwenLocal.chatHistory.v1';
const maxStoredMessages = 200;

/** A message as the host keeps it: what the view shows plus what the model was actually sent. */
interface StoredMessage extends ViewMessage {
  modelText?: string;
  /** Sent again on regenerate: the @-mention attachments of a user turn. */
  pendingAttachments?: PendingAttachment[];
}

interface History {
  sessionId: string;
  messages: StoredMessage[];
}

export class ChatViewProvider implements vscode.WebviewViewProvider, vscode.Disposable {
  static readonly viewId = 'qwenLocal.chatView';
  private view: vscode.WebviewView | undefined;
  private history: History;
  private running: { id: string; cancel: vscode.CancellationTokenSource } | undefined;
  private statusLine = { ready: false, label: 'Starting…' };
  private readonly disposables: vscode.Disposable[] = [];
  private readonly mentions: ChatMentions;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly state: vscode.Memento,
    private readonly server: ServerConnection,
    private readonly settings: () => ExtensionSettings,
    private readonly diff: DiffPreview,
    private readonly log: vscode.LogOutputChannel,
    private readonly applyAll: ApplyAll,
  ) {
    this.mentions = new ChatMentions(server, log);
    const saved = state.get<History>(historyKey);
    this.history = isHistory(saved) ? saved : { sessionId: randomUUID(), messages: [] };
    // A reply that was streaming when the window closed can never finish: mark it.
    for (const m of this.history.messages) {
      if (m.streaming) {
        m.streaming = false;
        m.error = m.error ?? 'interrupted (the window was closed)';
      }
    }
    this.disposables.push(
      vscode.window.onDidChangeTextEditorSelection(() => this.postContext()),
      vscode.window.onDidChangeActiveTextEditor(() => this.postContext()),
    );
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    this.view = view;
    const root = vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview');
    view.webview.options = { enableScripts: true, localResourceRoots: [root] };
    view.webview.html = chatHtml({
      cspSource: view.webview.cspSource,
      scriptUri: view.webview.asWebviewUri(vscode.Uri.joinPath(root, 'chat.js')).toString(),
      styleUri: view.webview.asWebviewUri(vscode.Uri.joinPath(root, 'chat.css')).toString(),
    });
    view.webview.onDidReceiveMessage(
      (raw: unknown) => {
        const checked = validateWebviewMessage(raw);
        if (!checked.ok) {
          this.log.warn(`Ignored a message from the chat view: ${checked.error}`);
          return;
        }
        this.handle(checked.message).catch((e: Error) => this.log.error(`Chat view: ${e.message}`));
      },
      undefined,
      this.disposables,
    );
    view.onDidDispose(() => (this.view = undefined), undefined, this.disposables);
  }

  setStatus(ready: boolean, label: string): void {
    this.statusLine = { ready, label };
    this.post({ type: 'status', ready, label });
  }

  /** Reveals the view and focuses its prompt box. */
  async reveal(): Promise<void> {
    await vscode.commands.executeCommand(`${ChatViewProvider.viewId}.focus`);
    this.post({ type: 'focusInput' });
  }

  /** Runs a prompt built by an action (e.g. Explain) in the chat, showing `shownText` as the user turn. */
  async ask(shownText: string, modelText: string, contextLabel?: string): Promise<void> {
    await this.reveal();
    await this.runTurn({ id: randomUUID(), role: 'user', text: shownText, modelText, contextLabel });
  }

  /** "Save Chat As…": writes the conversation as a .qwenchat.md transcript and opens it. */
  async saveAs(modelName: string): Promise<vscode.Uri | undefined> {
    // The transcript records what each message had attached and which files a reply used.
    const messages = this.history.messages
      .filter((m) => m.text.trim() !== '')
      .map(({ role, text, attachments, sources }) => ({
        role,
        text: [
          attachments?.length ? `_Attached: ${attachments.join(', ')}_\n` : '',
          text,
          sources?.length ? `\n\n_Workspace files used: ${sources.map((s) => `${s.path}:${s.startLine}-${s.endLine}`).join(', ')}_` : '',
        ].join(''),
      }));
    if (messages.length === 0) {
      void vscode.window.showInformationMessage('Qwen Local: the chat is empty; nothing to save.');
      return undefined;
    }
    const title = transcriptTitle(messages);
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    const target = await vscode.window.showSaveDialog({
      title: 'Qwen Local: save chat transcript',
      saveLabel: 'Save transcript',
      filters: { 'Qwen chat transcript': ['qwenchat.md'], Markdown: ['md'] },
      defaultUri: folder ? vscode.Uri.joinPath(folder, transcriptFileName(title)) : undefined,
    });
    if (!target) return undefined;
    const text = formatTranscript(messages, { title, savedAt: new Date(), model: modelName || 'unknown' });
    await vscode.workspace.fs.writeFile(target, new TextEncoder().encode(text));
    await vscode.window.showTextDocument(target);
    return target;
  }

  private async handle(message: WebviewMessage): Promise<void> {
    switch (message.type) {
      case 'ready':
        this.postState();
        return;
      case 'send': {
        const context = message.includeContext ? editorContext() : undefined;
        const modelText = context ? `${message.text}\n\n${context.block}` : message.text;
        const attached = this.mentions.take();
        this.post({ type: 'attachments', chips: [] });
        await this.runTurn({
          id: randomUUID(),
          role: 'user',
          text: message.text,
          modelText,
          contextLabel: context?.label,
          attachments: attached.length > 0 ? attached.map((a) => a.chip.label) : undefined,
          pendingAttachments: attached.length > 0 ? attached : undefined,
        });
        return;
      }
      case 'mentionQuery': {
        const items = await this.mentions.list(message.kind, message.query).catch((e: Error) => {
          this.log.warn(`@${message.kind}: ${e.message}`);
          return [];
        });
        this.post({ type: 'mentionItems', kind: message.kind, query: message.query, items });
        return;
      }
      case 'attach': {
        const problem = await this.mentions.attach(message.kind, message.id).catch((e: Error) => e.message);
        if (problem) void vscode.window.showInformationMessage(`Qwen Local: ${problem}.`);
        this.post({ type: 'attachments', chips: this.mentions.chips });
        return;
      }
      case 'detach':
        this.mentions.detach(message.id);
        this.post({ type: 'attachments', chips: this.mentions.chips });
        return;
      case 'openSource':
        await this.openSource(message.uri, message.line);
        return;
      case 'applyAll': {
        const reply = this.history.messages.find((m) => m.id === message.id && m.role === 'assistant' && !m.streaming);
        if (reply) await this.applyAll.review(reply.text);
        return;
      }
      case 'stop':
        this.running?.cancel.cancel();
        return;
      case 'regenerate':
        await this.regenerate();
        return;
      case 'newChat':
        await this.newChat();
        return;
      case 'copy':
        await vscode.env.clipboard.writeText(message.text);
        return;
      case 'insert':
        await this.insertAtCursor(message.code);
        return;
      case 'apply':
        await this.applyToSelection(message.code);
        return;
    }
  }

  async newChat(): Promise<void> {
    this.running?.cancel.cancel();
    this.history = { sessionId: randomUUID(), messages: [] };
    await this.save();
    this.postState();
  }

  private async regenerate(): Promise<void> {
    if (this.running) return;
    const messages = this.history.messages;
    while (messages.length > 0 && messages[messages.length - 1].role === 'assistant') messages.pop();
    const lastUser = messages.pop();
    if (!lastUser) return;
    this.postState();
    await this.runTurn(lastUser);
  }

  private async runTurn(user: StoredMessage): Promise<void> {
    if (this.running) {
      void vscode.window.showInformationMessage('Qwen Local: a reply is still being written; stop it first.');
      return;
    }
    const reply: StoredMessage = { id: randomUUID(), role: 'assistant', text: '', streaming: true };
    this.history.messages.push(user, reply);
    this.trimHistory();
    this.post({ type: 'append', message: toView(user) });
    this.post({ type: 'append', message: toView(reply) });
    const cancel = new vscode.CancellationTokenSource();
    this.running = { id: reply.id, cancel };
    const turns = this.history.messages
      .filter((m) => m !== reply && !(m.role === 'assistant' && m.error && m.text === ''))
      .map((m) => ({ role: m.role, content: m.modelText ?? m.text }));
    const modelMessages: ChatMessage[] = [{ role: 'system', content: systemPrompt }, ...fitToContext(turns, this.settings().server)];
    try {
      const s = this.settings().server.chat;
      const attached = user.pendingAttachments ?? [];
      const params: ChatParamsWithContext = {
        sessionId: this.history.sessionId,
        messages: modelMessages,
        maxTokens: s.maxTokens,
        temperature: s.temperature,
        topP: s.topP,
        // The server fits the turn to the context: never an error after the user pressed send.
        fitToContext: true,
        attachments: attached.flatMap((a) => (a.attachment ? [a.attachment] : [])),
        workspaceQuery: attached.some((a) => a.chip.kind === 'workspace') ? user.text : undefined,
      };
      const result: ChatResultWithContext = await this.server.chat(
        params,
        (delta) => {
          reply.text += delta;
          this.post({ type: 'delta', id: reply.id, text: delta });
        },
        cancel.token,
      );
      reply.streaming = false;
      const applyFiles = extractPathBlocks(reply.text).map((b) => b.path);
      if (result?.sources?.length || result?.notices?.length || applyFiles.length > 0) {
        reply.sources = result?.sources ?? [];
        reply.notices = result?.notices ?? [];
        this.post({ type: 'replyContext', id: reply.id, sources: reply.sources, notices: reply.notices, applyFiles });
      }
      this.post({
        type: 'done',
        id: reply.id,
        stats: result?.stats ? { generatedTokens: result.stats.generatedTokens, tokensPerSecond: result.stats.tokensPerSecond } : undefined,
      });
    } catch (e) {
      reply.streaming = false;
      reply.error = cancel.token.isCancellationRequested ? 'stopped' : (e as Error).message;
      this.post({ type: 'done', id: reply.id, error: reply.error });
    } finally {
      cancel.dispose();
      this.running = undefined;
      await this.save();
    }
  }

  private async insertAtCursor(code: string): Promise<void> {
    const editor = lastTextEditor();
    if (!editor) {
      void vscode.window.showWarningMessage('Qwen Local: open a file to insert the code into.');
      return;
    }
    // One edit per selection, replacing what is selected: the usual meaning of "insert here".
    await editor.edit((b) => editor.selections.forEach((s) => b.replace(s, code)));
  }

  private async applyToSelection(code: string): Promise<void> {
    const editor = lastTextEditor();
    if (!editor) {
      void vscode.window.showWarningMessage('Qwen Local: open a file and select the code to apply the change to.');
      return;
    }
    const doc = editor.document;
    const range = editor.selection.isEmpty ? new vscode.Range(0, 0, doc.lineCount, 0) : editor.selection;
    await this.diff.propose(doc, doc.validateRange(range), code, 'chat suggestion');
  }

  /** Opens a reply's source, only if it is a file inside a workspace folder. */
  private async openSource(uriText: string, line: number): Promise<void> {
    let uri: vscode.Uri;
    try {
      uri = vscode.Uri.parse(uriText, true);
    } catch {
      return;
    }
    if (uri.scheme !== 'file' || !vscode.workspace.getWorkspaceFolder(uri)) {
      this.log.warn(`Chat view asked to open ${uriText.slice(0, 200)}, which is not a workspace file; ignored.`);
      return;
    }
    const position = new vscode.Position(Math.max(0, line - 1), 0);
    await vscode.window.showTextDocument(uri, { selection: new vscode.Range(position, position), preview: true });
  }

  private postContext(): void {
    const context: EditorContext | undefined = editorContext();
    this.post({ type: 'context', label: context?.label ?? null });
  }

  private postState(): void {
    this.post({
      type: 'state',
      messages: this.history.messages.map(toView),
      busy: this.running !== undefined,
      modelLabel: this.statusLine.label,
      contextLabel: editorContext()?.label ?? null,
    });
    this.post({ type: 'status', ...this.statusLine });
    this.post({ type: 'attachments', chips: this.mentions.chips });
  }

  private post(message: HostMessage): void {
    void this.view?.webview.postMessage(message);
  }

  private trimHistory(): void {
    const extra = this.history.messages.length - maxStoredMessages;
    if (extra > 0) this.history.messages.splice(0, extra);
  }

  private async save(): Promise<void> {
    // Attachment texts stay in memory (for regenerate); the saved history keeps their labels only.
    const messages = this.history.messages.map(({ pendingAttachments: _dropped, ...m }) => m);
    await this.state.update(historyKey, { ...this.history, messages });
  }

  dispose(): void {
    this.running?.cancel.cancel();
    for (const d of this.disposables) d.dispose();
  }
}

function toView(m: StoredMessage): ViewMessage {
  const { id, role, text, error, streaming, contextLabel, attachments, sources, notices } = m;
  const applyFiles = role === 'assistant' && !streaming ? extractPathBlocks(text).map((b) => b.path) : [];
  return { id, role, text, error, streaming, contextLabel, attachments, sources, notices, applyFiles: applyFiles.length > 0 ? applyFiles : undefined };
}

// workspaceState is written only by this class, but a corrupted or older value must not break the view.
function isHistory(value: unknown): value is History {
  if (typeof value !== 'object' || value === null) return false;
  const h = value as History;
  return (
    typeof h.sessionId === 'string' &&
    Array.isArray(h.messages) &&
    h.messages.every((m) => typeof m?.id === 'string' && (m.role === 'user' || m.role === 'assistant') && typeof m.text === 'string')
  );
}
