// Finds the code blocks of a reply that name the file they are for, for "Apply All". A block names
// its file in the fence's info string (```ts src/a.ts, ```src/a.ts, ```ts title="src/a.ts",
// ```ts path=src/a.ts) or in a first-line comment (// File: src/a.ts, # src/a.py, <!-- a.html -->).
// Only workspace-relative paths without ".." are accepted: a reply must never name /etc/passwd or
// a file outside the workspace. The last block for a path wins (models repeat a corrected file).
// Free of `vscode` so it is unit-tested.

export interface PathBlock {
  /** Workspace-relative, '/' separators. */
  path: string;
  /** The file's complete new content (a trailing newline added). */
  code: string;
}

const fencePattern = /^(`{3,}|~{3,})([^\n`]*)\n([\s\S]*?)\n?^\1[ \t]*$/gm;
const pathLike = /^[\w@.+-][\w@.+\-/]*\.[A-Za-z0-9]{1,10}$/;
const firstLineComment = /^\s*(?:\/\/|#|--|;|\/\*|<!--)\s*(?:file(?:name)?\s*:\s*)?([\w@.+\-/]+\.[A-Za-z0-9]{1,10})\s*(?:\*\/|-->)?\s*$/i;

/** A safe workspace-relative path, or undefined. */
export function safeRelativePath(candidate: string): string | undefined {
  const p = candidate
    .trim()
    .replace(/^["'`]|["'`]$/g, '')
    .replace(/^\.\//, '')
    .replace(/\\/g, '/');
  if (p === '' || p.startsWith('/') || /^[A-Za-z]:/.test(p) || p.includes('//')) return undefined;
  if (p.split('/').some((seg) => seg === '..' || seg === '.' || seg === '' || seg === '.git')) return undefined;
  return pathLike.test(p) ? p : undefined;
}

function pathFromInfo(info: string): string | undefined {
  const attr = /(?:title|path|file|filename)\s*=\s*["']?([^"'\s]+)["']?/i.exec(info);
  if (attr) return safeRelativePath(attr[1]);
  for (const word of info.trim().split(/\s+/)) {
    const stripped = word.replace(/:$/, '');
    if (stripped.includes('/') || /\.[A-Za-z0-9]{1,10}$/.test(stripped)) {
      const p = safeRelativePath(stripped);
      if (p) return p;
    }
  }
  return undefined;
}

export function extractPathBlocks(reply: string): PathBlock[] {
  const byPath = new Map<string, string>();
  for (const m of reply.matchAll(fencePattern)) {
    const info = m[2];
    let code = m[3];
    let path = pathFromInfo(info);
    if (!path) {
      const firstLine = code.split('\n', 1)[0];
      const c = firstLineComment.exec(firstLine);
      if (c) path = safeRelativePath(c[1]);
    }
    if (!path) continue;
    if (!code.endsWith('\n')) code += '\n';
    byPath.delete(path);
    byPath.set(path, code);
  }
  return [...byPath].map(([path, code]) => ({ path, code }));
}
