// Cuts a file into chunks a question can retrieve. Cuts go where code has its natural seams: before
// a line that starts a top-level declaration (function, class, def, fn, exports...), else at a
// blank line, else (a long run of code without either) wherever the size limit falls. A chunk
// aims at `targetLines`, so most functions stay whole and a retrieved piece is small enough to fit
// beside others in the prompt. Each chunk also notes the names its declarations define, which lets
// a question that names a function rank the chunk that defines it above those that call it.

export interface Chunk {
  /** 1-based first and last line. */
  startLine: number;
  endLine: number;
  text: string;
  /** Lowercased names declared in the chunk ("parseLinkLabel" -> "parselinklabel"). */
  definitions: string[];
}

export interface ChunkOptions {
  targetLines: number;
  maxLines: number;
  maxChars: number;
}

export const defaultChunkOptions: ChunkOptions = { targetLines: 40, maxLines: 120, maxChars: 6000 };

// A line that starts a declaration, in the languages people mostly keep in a workspace. The name
// is the first capture group that matched.
const declaration = new RegExp(
  [
    // JS/TS: function x, class x, interface x, type x =, enum x (nested too); const/let/var x only at
    // the top level, since indented ones are locals
    String.raw`^\s*(?:export\s+)?(?:default\s+)?(?:declare\s+)?(?:async\s+)?(?:abstract\s+)?(?:function\*?|class|interface|type|enum|namespace)\s+([A-Za-z_$][\w$]*)`,
    String.raw`^(?:export\s+)?(?:declare\s+)?(?:const|let|var)\s+([A-Za-z_$][\w$]*)`,
    // Python, Ruby, Go, Rust, Kotlin, Swift, Elixir, PHP: def / fn / func / fun / struct / trait / impl / module
    String.raw`^\s*(?:pub(?:\([^)]*\))?\s+)?(?:async\s+)?(?:def|fn|func|fun|struct|trait|impl|module|mod|defmodule|defp?)\s+(?:\([^)]*\)\s*)?([A-Za-z_][\w]*)`,
    // CommonJS and prototype assignments: exports.x = / module.exports.x = / X.prototype.y = / obj.x = function
    String.raw`^\s*(?:module\.)?exports\.([A-Za-z_$][\w$]*)\s*=`,
    String.raw`^\s*[A-Za-z_$][\w$]*\.prototype\.([A-Za-z_$][\w$]*)\s*=`,
    String.raw`^\s*(?:[A-Za-z_$][\w$]*\.)+([A-Za-z_$][\w$]*)\s*=\s*(?:async\s+)?function\b`,
    // Class members: "  name(args) {" or "  async name(args) {" (not keywords such as if/for/while)
    String.raw`^\s+(?:public\s+|private\s+|protected\s+|static\s+|async\s+|get\s+|set\s+)*(?!(?:if|for|while|switch|catch|return|function|else)\b)([A-Za-z_$][\w$]*)\s*\([^;]*\)\s*(?::[^{;]*)?\{\s*$`,
    // C/C++/Java/C#: "type name(args) {" at the start of a line, and #define NAME
    String.raw`^(?:[A-Za-z_][\w:<>,*&\s]*\s+)?\**([A-Za-z_][\w:]*)\s*\([^;]*\)\s*(?:const\s*)?\{?\s*$`,
    String.raw`^\s*#\s*define\s+([A-Za-z_]\w*)`,
  ].join('|'),
);

const topLevelStart =
  /^(?:export\s|default\s|async\s|function|class|interface|type\s|enum\s|const\s|let\s|var\s|def\s|fn\s|pub\s|func\s|fun\s|struct\s|impl\s|module\.exports|exports\.|[A-Za-z_$][\w$]*\.prototype\.|#\s*define|@)/;

/** The name a declaration line defines, lowercased, or undefined. */
export function declaredName(line: string): string | undefined {
  if (line.length > 400) return undefined;
  const m = declaration.exec(line);
  if (!m) return undefined;
  for (let i = 1; i < m.length; i++) if (m[i] !== undefined) return m[i].toLowerCase();
  return undefined;
}

export function chunkText(text: string, options: ChunkOptions = defaultChunkOptions): Chunk[] {
  const lines = text.split(/\r?\n/);
  const chunks: Chunk[] = [];
  let start = 0;
  let chars = 0;
  let lastBlank = -1;
  const emit = (end: number) => {
    // Lines start..end-1; blank chunks carry nothing to find.
    // Blank lines at either end belong to no chunk.
    let first = start;
    let last = end;
    while (first < last && lines[first].trim() === '') first++;
    while (last > first && lines[last - 1].trim() === '') last--;
    const body = lines.slice(first, last);
    if (body.length > 0) {
      const definitions: string[] = [];
      for (const l of body) {
        const name = declaredName(l);
        if (name !== undefined) definitions.push(name);
      }
      chunks.push({ startLine: first + 1, endLine: last, text: body.join('\n'), definitions });
    }
    start = end;
    chars = 0;
    lastBlank = -1;
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const size = i - start;
    if (size > 0) {
      const seam = topLevelStart.test(line) && (lines[i - 1].trim() === '' || /^\s*(?:\/\/|\/\*|\*|#)/.test(lines[i - 1]) === false);
      if (size >= options.targetLines && (seam || line.trim() === '')) emit(i);
      else if (size >= options.maxLines || chars + line.length > options.maxChars) {
        // Too long without a seam: cut at the last blank line if it leaves a useful chunk.
        emit(lastBlank > start + options.targetLines / 4 ? lastBlank : i);
      } else if (seam && size >= options.targetLines / 2 && lines[i - 1].trim() === '') emit(i);
    }
    if (line.trim() === '') lastBlank = i;
    chars += line.length + 1;
  }
  if (start < lines.length) emit(lines.length);
  return chunks;
}
