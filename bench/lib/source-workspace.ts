// A workspace of real code that is not ours, for the index benchmarks: the first `count`
// JavaScript/TypeScript sources under node_modules (sorted by path, each under 200 KB, .d.ts,
// .min.js and maps left out), copied into a temporary folder so they have the file sizes and
// vocabulary of real packages.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export interface SourceWorkspace {
  dir: string;
  files: number;
  bytes: number;
  /** Deletes the folder. */
  remove(): void;
}

/** Source files under `dir`, depth first in sorted order, until `limit`. */
function collectSources(dir: string, limit: number, out: string[] = []): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name));
  } catch {
    return out;
  }
  for (const e of entries) {
    if (out.length >= limit) break;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) collectSources(p, limit, out);
    else if (e.isFile() && /\.(?:m?js|ts)$/.test(e.name) && !e.name.endsWith('.d.ts') && !e.name.endsWith('.min.js')) {
      if (fs.statSync(p).size < 200_000) out.push(p);
    }
  }
  return out;
}

export function copySourceWorkspace(repoRoot: string, count: number): SourceWorkspace {
  const modules = path.join(repoRoot, 'node_modules');
  const sources = collectSources(modules, count);
  if (sources.length < count) throw new Error(`node_modules holds only ${sources.length} usable source files`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qwen-index-bench-'));
  let bytes = 0;
  for (const src of sources) {
    const dest = path.join(dir, path.relative(modules, src));
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.copyFileSync(src, dest);
    bytes += fs.statSync(dest).size;
  }
  return { dir, files: sources.length, bytes, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
