// Which workspace files the index may read: not those .gitignore files ignore (every .gitignore
// from the root down applies to its own folder, as git does it), not those the user's
// `files.exclude` globs exclude, never .git itself. Gitignore syntax is matched by the `ignore`
// package (the matcher eslint and prettier use); files.exclude globs by minimatch, VS Code's own
// glob dialect being minimatch's with dot files included.
import ignore, { Ignore } from 'ignore';
import { Minimatch } from 'minimatch';

/** Folders never worth reading, whatever the ignore files say. */
const alwaysSkipped = new Set(['.git', '.hg', '.svn']);

export class FileFilter {
  /** Folder (workspace-relative, '' = root) -> the rules of its .gitignore. */
  private readonly gitignores = new Map<string, Ignore>();
  private readonly excludes: Minimatch[];

  /** `excludes`: the files.exclude globs whose value is true. */
  constructor(excludes: readonly string[]) {
    this.excludes = excludes.map((glob) => new Minimatch(glob, { dot: true, nocase: false }));
  }

  /** Reads one folder's .gitignore text (call before deciding about anything inside it). */
  addGitignore(folder: string, text: string): void {
    this.gitignores.set(folder, ignore().add(text));
  }

  forgetGitignore(folder: string): void {
    this.gitignores.delete(folder);
  }

  /** True when `relPath` (workspace-relative, '/' separators; `isDir` for folders) is skipped. */
  skips(relPath: string, isDir: boolean): boolean {
    const base = relPath.slice(relPath.lastIndexOf('/') + 1);
    if (isDir && alwaysSkipped.has(base)) return true;
    for (const glob of this.excludes) {
      if (glob.match(relPath)) return true;
    }
    // Each .gitignore on the way down judges the path relative to its own folder.
    const parts = relPath.split('/');
    for (let depth = 0; depth < parts.length; depth++) {
      const folder = parts.slice(0, depth).join('/');
      const rules = this.gitignores.get(folder);
      if (!rules) continue;
      const rel = parts.slice(depth).join('/') + (isDir ? '/' : '');
      if (rules.ignores(rel)) return true;
    }
    return false;
  }
}

/** The globs of a files.exclude setting object whose value is true (`when` clauses count as true). */
export function excludeGlobs(setting: unknown): string[] {
  if (typeof setting !== 'object' || setting === null) return [];
  return Object.entries(setting as Record<string, unknown>)
    .filter(([, v]) => v === true || (typeof v === 'object' && v !== null))
    .map(([k]) => k);
}
