// Just enough of VS Code's editor API for the context tracker to run under mocha: open documents,
// an active editor, and the document/editor events, fired by the test. Installed by hooking Node's
// module loader for the name 'vscode', like test/http/fake-vscode.ts.
import Module = require('module');

type Listener<T> = (e: T) => void;

class FakeEvent<T> {
  private readonly listeners = new Set<Listener<T>>();
  readonly event = (listener: Listener<T>): { dispose(): void } => {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  };
  fire(e: T): void {
    for (const l of [...this.listeners]) l(e);
  }
}

export class FakeRange {
  constructor(
    readonly startLine: number,
    readonly startCharacter: number,
    readonly endLine: number,
    readonly endCharacter: number,
  ) {}
  get start(): { line: number; character: number } {
    return { line: this.startLine, character: this.startCharacter };
  }
}

export class FakeDocument {
  readonly uri: { scheme: string; path: string; toString(): string };
  constructor(
    scheme: string,
    path: string,
    readonly languageId: string,
    private text: string,
  ) {
    this.uri = { scheme, path, toString: () => `${scheme}://${path}` };
  }
  get lineCount(): number {
    return this.text.split('\n').length;
  }
  lineAt(line: number): { text: string } {
    return { text: this.text.split('\n')[line] ?? '' };
  }
  getText(range?: FakeRange): string {
    if (!range) return this.text;
    const lines = this.text.split('\n').slice(range.startLine, range.endLine + 1);
    return lines.join('\n');
  }
  setText(text: string): void {
    this.text = text;
  }
}

export interface FakeEditorApi {
  documents: FakeDocument[];
  active: { document: FakeDocument; selection: { active: { line: number } } } | undefined;
  changeDocument: FakeEvent<{ document: FakeDocument; contentChanges: Array<{ range: FakeRange }> }>;
  changeActiveEditor: FakeEvent<unknown>;
  saveDocument: FakeEvent<FakeDocument>;
  closeDocument: FakeEvent<FakeDocument>;
}

export function installFakeEditor(): { editor: FakeEditorApi; uninstall: () => void } {
  const editor: FakeEditorApi = {
    documents: [],
    active: undefined,
    changeDocument: new FakeEvent(),
    changeActiveEditor: new FakeEvent(),
    saveDocument: new FakeEvent(),
    closeDocument: new FakeEvent(),
  };
  const api = {
    Range: FakeRange,
    window: {
      get activeTextEditor() {
        return editor.active;
      },
      get visibleTextEditors() {
        return editor.active ? [editor.active] : [];
      },
      onDidChangeActiveTextEditor: editor.changeActiveEditor.event,
    },
    workspace: {
      get textDocuments() {
        return editor.documents;
      },
      asRelativePath: (uri: { path: string }) => uri.path.replace(/^\/ws\//, ''),
      onDidChangeTextDocument: editor.changeDocument.event,
      onDidSaveTextDocument: editor.saveDocument.event,
      onDidCloseTextDocument: editor.closeDocument.event,
    },
  };
  const loader = Module as unknown as { _load: (request: string, parent: unknown, isMain: boolean) => unknown };
  const original = loader._load;
  loader._load = function (request: string, parent: unknown, isMain: boolean) {
    if (request === 'vscode') return api;
    return original.call(this, request, parent, isMain);
  };
  return { editor, uninstall: () => (loader._load = original) };
}
