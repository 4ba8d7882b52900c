// Proposed edits from the model are never written straight into a file. They are shown as a diff
// between the real document and a virtual document holding the proposal (scheme
// qwen-local-proposal), with Accept / Reject in the editor title, a notification, and commands.
// Accepting applies one WorkspaceEdit (so Undo reverts it in one step) only if the replaced text
// is still what it was when the proposal was made; otherwise the user is told and nothing changes.
import * as vscode from 'vscode';

export const proposalScheme = 'qwen-local-proposal';

interface Proposal {
  id: number;
  target: vscode.Uri;
  range: vscode.Range;
  originalText: string;
  newText: string;
  proposalUri: vscode.Uri;
  settle: (accepted: boolean) => void;
}

export class DiffPreview implements vscode.Disposable, vscode.TextDocumentContentProvider {
  private readonly contents = new Map<string, string>();
  private pending: Proposal | undefined;
  private nextId = 1;
  private readonly disposables: vscode.Disposable[];

  constructor() {
    this.disposables = [
      vscode.workspace.registerTextDocumentContentProvider(proposalScheme, this),
      vscode.commands.registerCommand('qwenLocal.acceptDiff', () => this.settle(true)),
      vscode.commands.registerCommand('qwenLocal.rejectDiff', () => this.settle(false)),
    ];
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.contents.get(uri.toString()) ?? '';
  }

  /**
   * Shows `newText` replacing `range` of `document` as a diff and resolves true if the user
   * accepted (and the edit was applied), false if rejected or superseded by another proposal.
   */
  async propose(document: vscode.TextDocument, range: vscode.Range, newText: string, title: string): Promise<boolean> {
    if (this.pending) this.pending.settle(false);
    const originalText = document.getText(range);
    const full = document.getText();
    const proposed = full.slice(0, document.offsetAt(range.start)) + newText + full.slice(document.offsetAt(range.end));
    const id = this.nextId++;
    const base = document.uri.path.split('/').pop() || 'untitled';
    const proposalUri = vscode.Uri.from({ scheme: proposalScheme, path: `/${id}/${base}` });
    this.contents.set(proposalUri.toString(), proposed);

    const decision = new Promise<boolean>((resolve) => {
      this.pending = {
        id,
        target: document.uri,
        range,
        originalText,
        newText,
        proposalUri,
        settle: (accepted) => {
          if (this.pending?.id === id) this.pending = undefined;
          void vscode.commands.executeCommand('setContext', 'qwenLocal.diffPending', this.pending !== undefined);
          resolve(accepted);
        },
      };
    });
    await vscode.commands.executeCommand('setContext', 'qwenLocal.diffPending', true);
    await vscode.commands.executeCommand('vscode.diff', document.uri, proposalUri, `${base} ↔ ${title} (proposed)`, {
      preview: true,
    });
    void vscode.window.showInformationMessage(`Qwen Local: ${title} — apply the proposed change to ${base}?`, 'Accept', 'Reject').then((choice) => {
      if (choice && this.pending?.id === id) void this.settle(choice === 'Accept');
    });

    const accepted = await decision;
    await this.closeDiff(proposalUri);
    this.contents.delete(proposalUri.toString());
    return accepted;
  }

  private async settle(accept: boolean): Promise<void> {
    const p = this.pending;
    if (!p) {
      void vscode.window.showInformationMessage('Qwen Local: there is no proposed change to accept or reject.');
      return;
    }
    if (!accept) {
      p.settle(false);
      return;
    }
    const document = await vscode.workspace.openTextDocument(p.target);
    if (document.getText(p.range) !== p.originalText) {
      p.settle(false);
      void vscode.window.showWarningMessage(
        `Qwen Local: ${vscode.workspace.asRelativePath(p.target)} changed where the proposal would go; the proposal was not applied.`,
      );
      return;
    }
    const edit = new vscode.WorkspaceEdit();
    edit.replace(p.target, p.range, p.newText);
    const applied = await vscode.workspace.applyEdit(edit);
    if (!applied) void vscode.window.showErrorMessage(`Qwen Local: could not edit ${vscode.workspace.asRelativePath(p.target)}.`);
    p.settle(applied);
  }

  private async closeDiff(proposalUri: vscode.Uri): Promise<void> {
    for (const group of vscode.window.tabGroups.all) {
      for (const tab of group.tabs) {
        const input = tab.input;
        if (input instanceof vscode.TabInputTextDiff && input.modified.toString() === proposalUri.toString()) {
          await vscode.window.tabGroups.close(tab);
        }
      }
    }
  }

  dispose(): void {
    this.pending?.settle(false);
    for (const d of this.disposables) d.dispose();
  }
}
