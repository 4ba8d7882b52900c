// Picks a local GGUF model with the file dialog and stores it in qwenLocal.modelPath. The file's
// header is checked here (magic bytes only: the extension never parses models or loads the
// addon) so an obviously wrong pick gets a clear message instead of a server error later.
import * as vscode from 'vscode';
import { readSettings, updateSetting } from './config';

/** The first 4 bytes of every GGUF file. */
const ggufMagic = [0x47, 0x47, 0x55, 0x46]; // "GGUF"

export async function looksLikeGguf(uri: vscode.Uri): Promise<string | undefined> {
  try {
    const stat = await vscode.workspace.fs.stat(uri);
    if (stat.type & vscode.FileType.Directory) return `${uri.fsPath} is a folder, not a .gguf file`;
    if (stat.size < 24) return `${uri.fsPath} is only ${stat.size} bytes: too small to be a GGUF model`;
  } catch (e) {
    return `${uri.fsPath} cannot be read: ${(e as Error).message}`;
  }
  // workspace.fs has no partial read; for a local file read 4 bytes with Node instead of the whole model.
  if (uri.scheme === 'file') {
    const fs = await import('fs/promises');
    const handle = await fs.open(uri.fsPath, 'r');
    try {
      const head = Buffer.alloc(4);
      await handle.read(head, 0, 4, 0);
      if (!ggufMagic.every((b, i) => head[i] === b)) {
        return `${uri.fsPath} does not start with the GGUF magic bytes: it is not a GGUF model (found ${JSON.stringify(head.toString('latin1'))})`;
      }
    } finally {
      await handle.close();
    }
  }
  return undefined;
}

export async function pickModel(): Promise<void> {
  const current = readSettings().server.modelPath;
  const picked = await vscode.window.showOpenDialog({
    title: 'Qwen Local: pick a Qwen2.5 GGUF model',
    canSelectMany: false,
    canSelectFolders: false,
    openLabel: 'Use this model',
    filters: { 'GGUF models': ['gguf'], 'All files': ['*'] },
    defaultUri: current ? vscode.Uri.file(current) : undefined,
  });
  const uri = picked?.[0];
  if (!uri) return;
  const problem = await looksLikeGguf(uri);
  if (problem) {
    void vscode.window.showErrorMessage(`Qwen Local: ${problem}.`);
    return;
  }
  await updateSetting('modelPath', uri.fsPath);
  void vscode.window.showInformationMessage(`Qwen Local: loading ${uri.path.split('/').pop()}…`);
}
