// Walking a workspace folder and reading its files for the index, defensively: a workspace is
// anything on disk. The walk never follows a symbolic link (a linked folder may lead anywhere,
// including out of the workspace or round in a loop), and a file is read only when its real path
// (every link on the way resolved) is inside the folder. Binary files (a NUL byte in the first
// 8 KiB) and files over the size limit are skipped. A file that vanishes, or changes type, between
// listing and reading is skipped with its reason; nothing here throws for one bad file.
import { promises as fsp } from 'fs';
import * as path from 'path';
import type { FileFilter } from './file-filter';

export interface WalkedFile {
  /** Workspace-relative, '/' separators. */
  relPath: string;
  absPath: string;
}

export type ReadResult =
  { ok: true; text: string; bytes: number } | { ok: false; reason: 'vanished' | 'binary' | 'tooLarge' | 'outside' | 'notAFile' | 'unreadable' };

/** Lists the files of `root` the filter lets through, depth first; reads each folder's .gitignore first. */
export async function* walkFolder(root: string, filter: FileFilter, isCancelled: () => boolean = () => false): AsyncGenerator<WalkedFile> {
  const stack: string[] = [''];
  while (stack.length > 0) {
    if (isCancelled()) return;
    const rel = stack.pop()!;
    const dir = rel === '' ? root : path.join(root, rel);
    let entries: import('fs').Dirent[];
    try {
      entries = await fsp.readdir(dir, { withFileTypes: true });
    } catch {
      continue; // vanished or unreadable: nothing to index there
    }
    if (entries.some((e) => e.name === '.gitignore' && e.isFile())) {
      try {
        filter.addGitignore(rel, await fsp.readFile(path.join(dir, '.gitignore'), 'utf8'));
      } catch {
        // Gone since the listing: its rules no longer apply.
      }
    }
    const folders: string[] = [];
    for (const entry of entries) {
      const childRel = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) {
        if (!filter.skips(childRel, true)) folders.push(childRel);
      } else if (entry.isFile() || entry.isSymbolicLink()) {
        if (!filter.skips(childRel, false)) yield { relPath: childRel, absPath: path.join(root, childRel) };
      }
    }
    // Reverse so the walk visits folders in listing order.
    for (let i = folders.length - 1; i >= 0; i--) stack.push(folders[i]);
  }
}

/** Reads one file for the index; `root` bounds where a linked file may point. */
export async function readIndexableFile(root: string, absPath: string, maxBytes: number): Promise<ReadResult> {
  let handle: import('fs').promises.FileHandle | undefined;
  try {
    // The real path, not just the file's own link: a saved file reported by the editor's watcher
    // may sit under a linked folder the walk never entered.
    const target = await fsp.realpath(absPath);
    const inside = path.relative(await fsp.realpath(root), target);
    if (inside === '' || inside === '..' || inside.startsWith(`..${path.sep}`) || path.isAbsolute(inside)) return { ok: false, reason: 'outside' };
    // Open once and read through the handle: the file may be replaced between stat and read, and
    // what we check is then what we read.
    handle = await fsp.open(target, 'r');
    const stat = await handle.stat();
    if (!stat.isFile()) return { ok: false, reason: 'notAFile' };
    if (stat.size > maxBytes) return { ok: false, reason: 'tooLarge' };
    const buffer = Buffer.alloc(stat.size);
    let filled = 0;
    while (filled < buffer.length) {
      const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, filled);
      if (bytesRead === 0) break; // shrank while we read: index what is there
      filled += bytesRead;
    }
    const bytes = buffer.subarray(0, filled);
    if (bytes.subarray(0, 8192).includes(0)) return { ok: false, reason: 'binary' };
    return { ok: true, text: bytes.toString('utf8'), bytes: filled };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { ok: false, reason: code === 'ENOENT' || code === 'ENOTDIR' ? 'vanished' : code === 'EISDIR' ? 'notAFile' : 'unreadable' };
  } finally {
    await handle?.close().catch(() => undefined);
  }
}
