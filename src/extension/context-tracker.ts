// Watches what the user edits and visits, and keeps the server's completion context (snippets of
// other open files, ranked by context-ranking.ts) up to date with qwen/completionContext. It sends
// only when the chosen snippets change, and not on every keystroke, so the server can keep those
// snippets' KV cache across requests. It also feeds keystroke times to the debounce policy.
import * as vscode from 'vscode';
import { ClientNotifications } from '../protocol/messages';
import type { CompletionContextParams, CompletionContextSnippet } from '../protocol';
import type { ServerConnection } from './client';
import { ContextCandidate, rankContext, snippetsKey } from './context-ranking';
import type { DebouncePolicy } from './debounce-policy';

interface FileActivity {
  lastEditedAt?: number;
  lastVisitedAt?: number;
  editedLines: number[];
}

const maxEditedLines = 32;
const refreshDelayMs = 750;
// Lines around the cursor that stand for "what the user is working on" when ranking snippets.
const nearCursorLines = 40;

export class ContextTracker implements vscode.Disposable {
  private readonly activity = new Map<string, FileActivity>();
  private readonly disposables: vscode.Disposable[] = [];
  private timer: NodeJS.Timeout | undefined;
  private lastSentKey = '';

  constructor(
    private readonly server: ServerConnection,
    private readonly debounce: DebouncePolicy,
  ) {
    this.disposables.push(
      vscode.workspace.onDidChangeTextDocument((e) => this.onChange(e)),
      vscode.window.onDidChangeActiveTextEditor((editor) => {
        if (editor) this.touch(editor.document.uri).lastVisitedAt = Date.now();
        this.schedule(100);
      }),
      vscode.workspace.onDidSaveTextDocument(() => this.schedule(100)),
      vscode.workspace.onDidCloseTextDocument((doc) => this.activity.delete(doc.uri.toString())),
      server.onRunningChanged((running) => {
        // A restarted server has no context yet: send it again even if unchanged.
        if (running) {
          this.lastSentKey = '';
          this.schedule(100);
        }
      }),
    );
    const active = vscode.window.activeTextEditor;
    if (active) this.touch(active.document.uri).lastVisitedAt = Date.now();
  }

  private touch(uri: vscode.Uri): FileActivity {
    const key = uri.toString();
    let a = this.activity.get(key);
    if (!a) {
      a = { editedLines: [] };
      this.activity.set(key, a);
    }
    return a;
  }

  private onChange(e: vscode.TextDocumentChangeEvent): void {
    if (e.contentChanges.length === 0 || !isTrackable(e.document)) return;
    const now = Date.now();
    if (vscode.window.activeTextEditor?.document === e.document) this.debounce.recordKeystroke(now);
    const a = this.touch(e.document.uri);
    a.lastEditedAt = now;
    for (const change of e.contentChanges) {
      const line = change.range.start.line;
      a.editedLines = a.editedLines.filter((l) => l !== line);
      a.editedLines.push(line);
    }
    if (a.editedLines.length > maxEditedLines) a.editedLines.splice(0, a.editedLines.length - maxEditedLines);
    // Edits in another file change the best snippets; edits in the current one rarely do.
    this.schedule(vscode.window.activeTextEditor?.document === e.document ? 3000 : refreshDelayMs);
  }

  private schedule(delayMs: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.refresh();
    }, delayMs);
  }

  /**
   * Ranks the open documents for the active editor and sends the result if it changed. The most
   * relevant snippet comes first: the server fills its context budget in order and cuts the rest.
   */
  refresh(): void {
    const editor = vscode.window.activeTextEditor;
    if (!editor || !this.server.running || !isTrackable(editor.document)) return;
    const snippets = this.gather(editor);
    const key = `${editor.document.uri.toString()}|${snippetsKey(snippets)}`;
    if (key === this.lastSentKey) return;
    this.lastSentKey = key;
    const params: CompletionContextParams = { uri: editor.document.uri.toString(), snippets };
    this.server.notify(ClientNotifications.completionContext, params);
  }

  gather(editor: vscode.TextEditor): CompletionContextSnippet[] {
    const doc = editor.document;
    const line = editor.selection.active.line;
    const from = Math.max(0, line - nearCursorLines);
    const to = Math.min(doc.lineCount - 1, line + 10);
    const nearCursor = doc.getText(new vscode.Range(from, 0, to, doc.lineAt(to).text.length));
    const visible = new Set(vscode.window.visibleTextEditors.map((e) => e.document.uri.toString()));
    const candidates: ContextCandidate[] = [];
    for (const other of vscode.workspace.textDocuments) {
      if (other === doc || !isTrackable(other)) continue;
      const key = other.uri.toString();
      const a = this.activity.get(key);
      candidates.push({
        path: vscode.workspace.asRelativePath(other.uri, false),
        languageId: other.languageId,
        text: other.getText(),
        lastEditedAt: a?.lastEditedAt,
        lastVisitedAt: a?.lastVisitedAt,
        editedLines: a?.editedLines,
        visible: visible.has(key),
      });
    }
    const ranked = rankContext({ path: vscode.workspace.asRelativePath(doc.uri, false), languageId: doc.languageId, nearCursor, now: Date.now() }, candidates);
    return ranked.map(({ path, text }) => ({ path, text }));
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    for (const d of this.disposables) d.dispose();
  }
}

/** Real files and new untitled buffers; not output panes, git inputs, settings or our own diffs. */
export function isTrackable(doc: vscode.TextDocument): boolean {
  return doc.uri.scheme === 'file' || doc.uri.scheme === 'untitled';
}
