// When to ask the server for a completion at all; cheap checks on the cursor line, free of `vscode`
// so they are unit-tested. What the server sends back is already cleaned up (the server owns
// post-processing: src/server/completion/post-process.ts) and is shown as is.

/**
 * Whether an automatic request makes sense at this cursor. Explicit requests (Alt+\) skip this.
 *   - More than 8 non-blank characters right of the cursor: the user is editing inside a line.
 *   - The cursor is inside an identifier (letters on both sides): mid-word insertion is rare.
 */
export function shouldRequestAutomatically(linePrefix: string, lineSuffix: string): boolean {
  if (lineSuffix.replace(/\s/g, '').length > 8) return false;
  if (/[A-Za-z0-9_]$/.test(linePrefix) && /^[A-Za-z0-9_]/.test(lineSuffix)) return false;
  return true;
}
