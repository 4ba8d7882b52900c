// Document uris to the names the FIM prompt shows the model: the workspace-relative path of the
// file and the name of its workspace folder (Qwen2.5-Coder's repo-level format was trained on real
// repository and file names, so placeholders waste what the model knows).
import * as path from 'path';
import { fileURLToPath } from 'url';

export interface WorkspaceFolderRef {
  uri: string;
  name: string;
}

export class WorkspacePaths {
  private folders: WorkspaceFolderRef[] = [];

  setFolders(folders: readonly WorkspaceFolderRef[] | null | undefined, rootUri?: string | null): void {
    this.folders = folders ? [...folders] : [];
    if (this.folders.length === 0 && rootUri) this.folders.push({ uri: rootUri, name: lastSegment(rootUri) });
  }

  /** The folder containing `uri` (longest match), if any. */
  folderOf(uri: string): WorkspaceFolderRef | undefined {
    let best: WorkspaceFolderRef | undefined;
    for (const f of this.folders) {
      const base = f.uri.endsWith('/') ? f.uri : `${f.uri}/`;
      if (uri.startsWith(base) && (!best || f.uri.length > best.uri.length)) best = f;
    }
    return best;
  }

  /** Workspace-relative path with '/' separators; the file name alone outside any folder. */
  relativePath(uri: string): string {
    const folder = this.folderOf(uri);
    const file = decodedPath(uri);
    if (folder) {
      const rel = path.posix.relative(decodedPath(folder.uri), file);
      if (rel && !rel.startsWith('..')) return rel;
    }
    return path.posix.basename(file) || uri;
  }

  repoName(uri: string): string {
    return this.folderOf(uri)?.name ?? (this.folders[0]?.name || 'workspace');
  }
}

function decodedPath(uri: string): string {
  try {
    if (uri.startsWith('file:')) return fileURLToPath(uri).split(path.sep).join('/');
    return decodeURIComponent(new URL(uri).pathname);
  } catch {
    return uri;
  }
}

function lastSegment(uri: string): string {
  const p = decodedPath(uri).replace(/\/+$/, '');
  return path.posix.basename(p) || 'workspace';
}
