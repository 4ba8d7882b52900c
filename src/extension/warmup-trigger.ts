// Sends qwen/warmCompletion when a document is opened or focused or the cursor jumps (the rules
// are in warmup-policy.ts), once the cursor has rested for a moment, so the server can prefill
// that cursor's completion prompt while the user reads. The server does this at its lowest
// priority and drops it for any real request, so a wrong guess costs only idle CPU time.
import * as vscode from 'vscode';
import { ClientNotifications } from '../protocol/messages';
import type { WarmCompletionParams } from '../protocol';
import type { ServerConnection } from './client';
import type { ExtensionSettings } from './config';
import { isTrackable } from './context-tracker';
import { CursorCause, SelectionKind, WarmupPolicy } from './warmup-policy';

/** How long the cursor must rest before the warm-up is sent (arrow keys held, clicks in a row). */
const settleMs = 200;

export class WarmupTrigger implements vscode.Disposable {
  private readonly policy = new WarmupPolicy();
  private readonly disposables: vscode.Disposable[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly server: ServerConnection,
    private readonly settings: () => ExtensionSettings,
    private readonly enabledFor: (document: vscode.TextDocument) => boolean,
  ) {
    this.disposables.push(
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.contentChanges.length > 0) this.policy.recordEdit(e.document.uri.toString(), Date.now());
      }),
      // Opening a document makes it the active editor too; both count as 'focus'.
      vscode.window.onDidChangeActiveTextEditor((editor) => {
        if (editor) this.consider(editor, 'focus');
      }),
      vscode.window.onDidChangeTextEditorSelection((e) => {
        if (e.textEditor === vscode.window.activeTextEditor) this.consider(e.textEditor, 'selection', selectionKind(e.kind));
      }),
      vscode.workspace.onDidCloseTextDocument((doc) => this.policy.forget(doc.uri.toString())),
      // A (re)started server has nothing cached: warm where the user is.
      server.onRunningChanged((running) => {
        const editor = vscode.window.activeTextEditor;
        if (running && editor) this.consider(editor, 'open');
      }),
    );
  }

  private consider(editor: vscode.TextEditor, cause: CursorCause, kind?: SelectionKind): void {
    const document = editor.document;
    if (!isTrackable(document) || !this.settings().server.completion.warmup || !this.enabledFor(document)) return;
    const position = editor.selection.active;
    const warm = this.policy.shouldWarm({
      documentKey: document.uri.toString(),
      version: document.version,
      line: position.line,
      character: position.character,
      cause,
      kind,
      now: Date.now(),
    });
    if (!warm) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.send(editor);
    }, settleMs);
  }

  /** Sends the warm-up for where the editor's cursor is now (it may have moved while settling). */
  private send(editor: vscode.TextEditor): void {
    if (editor !== vscode.window.activeTextEditor || editor.document.isClosed || !this.server.running) return;
    const position = editor.selection.active;
    const params: WarmCompletionParams = {
      textDocument: { uri: editor.document.uri.toString(), version: editor.document.version },
      position: { line: position.line, character: position.character },
    };
    this.server.notify(ClientNotifications.warmCompletion, params);
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    for (const d of this.disposables) d.dispose();
  }
}

function selectionKind(kind: vscode.TextEditorSelectionChangeKind | undefined): SelectionKind {
  switch (kind) {
    case vscode.TextEditorSelectionChangeKind.Keyboard:
      return 'keyboard';
    case vscode.TextEditorSelectionChangeKind.Mouse:
      return 'mouse';
    case vscode.TextEditorSelectionChangeKind.Command:
      return 'command';
    default:
      return undefined;
  }
}
