// The workspace index as a whole: walks the workspace folders, reads what may be read, feeds the
// lexical index, keeps count of what it skipped and why, and stops adding at a size limit (the
// index lives in the server's memory). Updates for single files (saved, created, deleted) go
// through the same checks as the first build. Everything stays in this process: the index is
// never written to disk or sent anywhere but to this machine's editor.
import * as path from 'path';
import { excludeGlobs, FileFilter } from './file-filter';
import { readIndexableFile, ReadResult, walkFolder } from './file-reader';
import { LexicalIndex, SearchHit } from './lexical-index';

export interface IndexLimits {
  /** Files larger than this are skipped (generated bundles, data). */
  maxFileBytes: number;
  /** The index stops adding files at this many... */
  maxFiles: number;
  /** ...or at this many bytes of text in all. */
  maxTotalBytes: number;
}

export const defaultIndexLimits: IndexLimits = { maxFileBytes: 1_000_000, maxFiles: 20_000, maxTotalBytes: 200_000_000 };

export interface IndexFolder {
  /** Absolute path of the workspace folder. */
  root: string;
  name: string;
}

export type SkipReason = Exclude<ReadResult, { ok: true }>['reason'];

export interface IndexCounts {
  files: number;
  chunks: number;
  bytes: number;
  skipped: Record<SkipReason, number>;
  /** Files left out because the size limit was reached. */
  overLimit: number;
}

export interface IndexProgress {
  indexed: number;
  /** Files seen so far (the walk and the reading go together, so this grows too). */
  seen: number;
}

export interface IndexedHit extends SearchHit {
  absPath: string;
}

const noSkips = (): Record<SkipReason, number> => ({ vanished: 0, binary: 0, tooLarge: 0, outside: 0, notAFile: 0, unreadable: 0 });

export class WorkspaceIndex {
  readonly lexical = new LexicalIndex();
  private folders: IndexFolder[] = [];
  private filter = new FileFilter([]);
  private excludes: string[] = [];
  private readonly bytesOf = new Map<string, number>();
  private readonly absOf = new Map<string, string>();
  private totalBytes = 0;
  private skipped = noSkips();
  private overLimit = 0;

  constructor(private readonly limits: IndexLimits = defaultIndexLimits) {}

  get counts(): IndexCounts {
    return { files: this.lexical.fileCount, chunks: this.lexical.chunkCount, bytes: this.totalBytes, skipped: { ...this.skipped }, overLimit: this.overLimit };
  }

  get limitReached(): boolean {
    return this.overLimit > 0;
  }

  get limitsInUse(): IndexLimits {
    return this.limits;
  }

  /**
   * Indexes `folders` from scratch. `filesExclude` is the files.exclude setting (glob -> true).
   * `pause` is awaited between files and, within a large file, every few milliseconds (after giving
   * the event loop back), so the caller can hold the build back while something more
   * urgent runs; `isCancelled` stops it (a newer build replaces this one).
   */
  async build(
    folders: IndexFolder[],
    filesExclude: unknown,
    opts: { onProgress?: (p: IndexProgress) => void; pause?: () => Promise<void>; isCancelled?: () => boolean } = {},
  ): Promise<void> {
    this.folders = folders;
    this.excludes = excludeGlobs(filesExclude);
    this.filter = new FileFilter(this.excludes);
    this.lexical.clear();
    this.bytesOf.clear();
    this.absOf.clear();
    this.totalBytes = 0;
    this.skipped = noSkips();
    this.overLimit = 0;
    const cancelled = opts.isCancelled ?? (() => false);
    // Within a large file: let other work run (setImmediate), then honour the caller's pause.
    const step = async (): Promise<void> => {
      await new Promise<void>((r) => setImmediate(r));
      if (opts.pause) await opts.pause();
    };
    let seen = 0;
    for (const folder of folders) {
      for await (const file of walkFolder(folder.root, this.filter, cancelled)) {
        if (cancelled()) return;
        seen++;
        await this.addFile(folder, file.relPath, file.absPath, step);
        if (seen % 25 === 0) opts.onProgress?.({ indexed: this.lexical.fileCount, seen });
        if (opts.pause) await opts.pause();
      }
    }
    opts.onProgress?.({ indexed: this.lexical.fileCount, seen });
  }

  /** A file was created or saved: (re)index it if the rules let it in. Returns whether it is indexed. */
  async updateFile(absPath: string): Promise<boolean> {
    const where = this.locate(absPath);
    if (!where) return false;
    const { folder, relPath } = where;
    if (path.posix.basename(relPath) === '.gitignore') {
      // New ignore rules change which files belong: the caller rebuilds.
      return false;
    }
    if (this.isFiltered(relPath)) {
      this.removeKey(this.keyOf(folder, relPath));
      return false;
    }
    return this.addFile(folder, relPath, absPath);
  }

  /** A file (or folder) was deleted: drops it, or everything under it. */
  removePath(absPath: string): number {
    const where = this.locate(absPath);
    if (!where) return 0;
    const key = this.keyOf(where.folder, where.relPath);
    let removed = this.removeKey(key) ? 1 : 0;
    const prefix = `${key}/`;
    for (const k of [...this.absOf.keys()]) if (k.startsWith(prefix) && this.removeKey(k)) removed++;
    return removed;
  }

  /** True when a change to `absPath` means the walk rules changed (a .gitignore). */
  changesRules(absPath: string): boolean {
    return path.basename(absPath) === '.gitignore' && this.locate(absPath) !== undefined;
  }

  search(question: string, limit: number): IndexedHit[] {
    return this.lexical.search(question, limit).map((h) => ({ ...h, absPath: this.absOf.get(h.chunk.path) ?? h.chunk.path }));
  }

  /** Workspace-relative keys of every indexed file. */
  files(): string[] {
    return [...this.lexical.paths()];
  }

  absolutePath(key: string): string | undefined {
    return this.absOf.get(key);
  }

  /** `step`, during the build: the file is added in steps that give the event loop back. */
  private async addFile(folder: IndexFolder, relPath: string, absPath: string, step?: () => Promise<void>): Promise<boolean> {
    const key = this.keyOf(folder, relPath);
    const previous = this.bytesOf.get(key) ?? 0;
    if (!this.bytesOf.has(key) && this.lexical.fileCount >= this.limits.maxFiles) {
      this.overLimit++;
      return false;
    }
    const read = await readIndexableFile(folder.root, absPath, this.limits.maxFileBytes);
    if (!read.ok) {
      this.skipped[read.reason]++;
      this.removeKey(key);
      return false;
    }
    if (this.totalBytes - previous + read.bytes > this.limits.maxTotalBytes) {
      this.overLimit++;
      return false;
    }
    if (step) await this.lexical.setFileInSteps(key, read.text, step);
    else this.lexical.setFile(key, read.text);
    this.totalBytes += read.bytes - previous;
    this.bytesOf.set(key, read.bytes);
    this.absOf.set(key, absPath);
    return true;
  }

  private removeKey(key: string): boolean {
    const had = this.lexical.removeFile(key);
    this.totalBytes -= this.bytesOf.get(key) ?? 0;
    this.bytesOf.delete(key);
    this.absOf.delete(key);
    return had;
  }

  /** With several folders each key starts with its folder's name, so paths stay unambiguous. */
  private keyOf(folder: IndexFolder, relPath: string): string {
    return this.folders.length > 1 ? `${folder.name}/${relPath}` : relPath;
  }

  private locate(absPath: string): { folder: IndexFolder; relPath: string } | undefined {
    let best: { folder: IndexFolder; relPath: string } | undefined;
    for (const folder of this.folders) {
      const rel = path.relative(folder.root, absPath);
      if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) continue;
      if (!best || folder.root.length > best.folder.root.length) best = { folder, relPath: rel.split(path.sep).join('/') };
    }
    return best;
  }

  /** The walk's rules for one path: every folder on the way and the file itself. */
  private isFiltered(relPath: string): boolean {
    const parts = relPath.split('/');
    for (let i = 1; i < parts.length; i++) if (this.filter.skips(parts.slice(0, i).join('/'), true)) return true;
    return this.filter.skips(relPath, false);
  }
}
