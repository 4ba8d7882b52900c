// "Apply All" for replies whose code blocks name their files: one review of every file's diff (VS
// Code's multi-file diff editor), a checklist to accept or reject each file, and one WorkspaceEdit
// for the accepted ones, so a single Undo reverts them all. A file that changed on disk or in an
// editor since the review started is left alone and the user is told.
import * as vscode from 'vscode';
import { extractPathBlocks } from './apply-all-blocks';

export const applyAllScheme = 'qwen-local-apply-all';

interface FileChange {
  path: string;
  target: vscode.Uri;
  exists: boolean;
  original: string;
  proposed: string;
}

function lineDelta(before: string, after: string): string {
  const a = before === '' ? 0 : before.split('\n').length;
  const b = after.split('\n').length;
  return `${a} → ${b} lines`;
}

export class ApplyAll implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly contents = new Map<string, string>();
  private readonly registration: vscode.Disposable;
  private run = 0;

  constructor(private readonly log: vscode.LogOutputChannel) {
    this.registration = vscode.workspace.registerTextDocumentContentProvider(applyAllScheme, this);
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.contents.get(uri.toString()) ?? '';
  }

  /** Reviews and applies the path-naming blocks of `reply`. Returns the paths applied. */
  async review(reply: string): Promise<string[]> {
    const blocks = extractPathBlocks(reply);
    const folders = vscode.workspace.workspaceFolders ?? [];
    if (blocks.length === 0 || folders.length === 0) {
      void vscode.window.showInformationMessage('Qwen Local: the reply names no workspace files to apply (or no folder is open).');
      return [];
    }
    const id = ++this.run;
    const changes: FileChange[] = [];
    for (const block of blocks) {
      // In a multi-root workspace a path may start with its folder's name.
      const first = block.path.split('/')[0];
      const folder = folders.length > 1 ? folders.find((f) => f.name === first) : undefined;
      const rel = folder ? block.path.slice(first.length + 1) : block.path;
      const target = vscode.Uri.joinPath((folder ?? folders[0]).uri, rel);
      const { exists, text } = await readCurrent(target);
      if (exists && text === block.code) continue;
      changes.push({ path: block.path, target, exists, original: text, proposed: block.code });
    }
    if (changes.length === 0) {
      void vscode.window.showInformationMessage('Qwen Local: every file in the reply already has that content.');
      return [];
    }
    const entries = changes.map((c, i) => {
      // Both sides keep the file's own path (the review's headers show it; differing paths would
      // read as a rename); the query tells them and this review's files apart.
      const original = vscode.Uri.from({ scheme: applyAllScheme, path: `/${c.path}`, query: `review=${id}&file=${i}&side=original` });
      const proposed = vscode.Uri.from({ scheme: applyAllScheme, path: `/${c.path}`, query: `review=${id}&file=${i}&side=proposed` });
      this.contents.set(original.toString(), c.original);
      this.contents.set(proposed.toString(), c.proposed);
      return [c.target, original, proposed] as [vscode.Uri, vscode.Uri, vscode.Uri];
    });
    const title = `Qwen Local: Apply All (${changes.length} file${changes.length === 1 ? '' : 's'})`;
    try {
      // VS Code adds the file count to the multi-file diff's tab itself.
      await vscode.commands.executeCommand('vscode.changes', 'Qwen Local: Apply All', entries);
    } catch (e) {
      // Editors without the multi-file diff: show the first file's diff; the checklist lists all.
      this.log.warn(`Apply All: the multi-file diff is unavailable (${(e as Error).message}); showing one diff.`);
      await vscode.commands.executeCommand('vscode.diff', entries[0][1], entries[0][2], `${changes[0].path} (proposed)`, { preview: true });
    }
    interface Item extends vscode.QuickPickItem {
      change: FileChange;
    }
    const items: Item[] = changes.map((c) => ({
      label: c.path,
      description: c.exists ? lineDelta(c.original, c.proposed) : `new file, ${c.proposed.split('\n').length} lines`,
      picked: true,
      change: c,
    }));
    const picked = await vscode.window.showQuickPick(items, {
      title: `${title}: uncheck the files to reject`,
      canPickMany: true,
      ignoreFocusOut: true,
      placeHolder: 'Enter applies the checked files in one step (one Undo reverts them all); Escape rejects all',
    });
    for (const [, o, p] of entries) {
      this.contents.delete(o.toString());
      this.contents.delete(p.toString());
    }
    if (!picked || picked.length === 0) return [];
    const edit = new vscode.WorkspaceEdit();
    const applied: string[] = [];
    const skipped: string[] = [];
    for (const { change } of picked) {
      const now = await readCurrent(change.target);
      if (now.exists !== change.exists || now.text !== change.original) {
        skipped.push(change.path);
        continue;
      }
      if (change.exists) {
        const doc = await vscode.workspace.openTextDocument(change.target);
        edit.replace(change.target, new vscode.Range(0, 0, doc.lineCount, 0), change.proposed);
      } else {
        edit.createFile(change.target, { ignoreIfExists: false, contents: new TextEncoder().encode(change.proposed) });
      }
      applied.push(change.path);
    }
    if (applied.length > 0 && !(await vscode.workspace.applyEdit(edit))) {
      void vscode.window.showErrorMessage(`Qwen Local: Apply All could not edit ${applied.join(', ')}.`);
      return [];
    }
    if (skipped.length > 0) {
      void vscode.window.showWarningMessage(
        `Qwen Local: ${skipped.join(', ')} changed during the review and ${skipped.length === 1 ? 'was' : 'were'} not applied.`,
      );
    }
    this.log.info(`Apply All: applied ${applied.join(', ') || 'nothing'}; rejected ${changes.length - picked.length}; skipped ${skipped.length}.`);
    return applied;
  }

  dispose(): void {
    this.registration.dispose();
    this.contents.clear();
  }
}

async function readCurrent(uri: vscode.Uri): Promise<{ exists: boolean; text: string }> {
  const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
  if (open) return { exists: true, text: open.getText() };
  try {
    return { exists: true, text: new TextDecoder().decode(await vscode.workspace.fs.readFile(uri)) };
  } catch {
    return { exists: false, text: '' };
  }
}
