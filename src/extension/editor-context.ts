// The code the chat attaches as context: the selection of the last used text editor, or, with no
// selection, that editor's file (cut around the cursor when it is long). Focus moving into the
// chat view can leave no active text editor, so the last real one is remembered.
import * as vscode from 'vscode';
import { fenceFor } from './action-prompts';

export interface EditorContext {
  /** Shown to the user: "selection of src/a.ts:3-9" or "src/a.ts". */
  label: string;
  /** Appended to the prompt the model sees. */
  block: string;
}

const maxFileChars = 24_000;
let remembered: vscode.TextEditor | undefined;

/** Call once at activation: keeps `lastTextEditor()` pointing at the last editor of a real document. */
export function trackLastEditor(): vscode.Disposable {
  remembered = usable(vscode.window.activeTextEditor) ? vscode.window.activeTextEditor : undefined;
  return vscode.window.onDidChangeActiveTextEditor((editor) => {
    if (usable(editor)) remembered = editor;
  });
}

function usable(editor: vscode.TextEditor | undefined): editor is vscode.TextEditor {
  return !!editor && (editor.document.uri.scheme === 'file' || editor.document.uri.scheme === 'untitled');
}

export function lastTextEditor(): vscode.TextEditor | undefined {
  const active = vscode.window.activeTextEditor;
  if (usable(active)) return active;
  // The remembered editor may have been closed since.
  if (remembered && vscode.window.visibleTextEditors.includes(remembered)) return remembered;
  return remembered && !remembered.document.isClosed ? remembered : undefined;
}

export function editorContext(editor = lastTextEditor()): EditorContext | undefined {
  if (!editor) return undefined;
  const doc = editor.document;
  const path = vscode.workspace.asRelativePath(doc.uri, false);
  const sel = editor.selection;
  let code: string;
  let label: string;
  if (!sel.isEmpty) {
    code = doc.getText(sel);
    label = `selection of ${path}:${sel.start.line + 1}-${sel.end.line + 1}`;
  } else {
    code = doc.getText();
    label = path;
    if (code.length > maxFileChars) {
      // Keep the part of the file around the cursor; the model's context is limited.
      const cursor = doc.offsetAt(sel.active);
      const start = Math.max(0, Math.min(code.length - maxFileChars, cursor - maxFileChars / 2));
      code = code.slice(start, start + maxFileChars);
      label = `${path} (part around line ${sel.active.line + 1})`;
    }
  }
  if (code.trim() === '') return undefined;
  const fence = fenceFor(code);
  return { label, block: `Context: ${label} (${doc.languageId})\n${fence}${doc.languageId}\n${code}\n${fence}` };
}
