// The packaged extension for the end-to-end tests: built once per test run with
// scripts/package-vsix.sh (bundles + addon + vsce), shared by every test file in the same mocha
// process, and read back entry by entry so tests check what users actually install.
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { repoRoot } from './code-server';

let building: Promise<string> | undefined;

/**
 * Path of the .vsix built by this test run. Packaging again per run (about 20 s) keeps a stale
 * .vsix from an older tree from being tested; QWEN_E2E_VSIX points at a prebuilt one instead.
 */
export function packagedVsix(): Promise<string> {
  const given = process.env.QWEN_E2E_VSIX;
  if (given) {
    if (!fs.existsSync(given)) return Promise.reject(new Error(`QWEN_E2E_VSIX=${given} does not exist`));
    return Promise.resolve(path.resolve(given));
  }
  building ??= new Promise<string>((resolve, reject) => {
    execFile(path.join(repoRoot, 'scripts', 'package-vsix.sh'), [], { cwd: repoRoot, timeout: 5 * 60_000, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      if (error) {
        reject(new Error(`scripts/package-vsix.sh failed (${error.message}):\n${stderr}`));
        return;
      }
      const last = stdout.trim().split('\n').pop() ?? '';
      const file = path.resolve(repoRoot, last);
      if (!last.endsWith('.vsix') || !fs.existsSync(file)) {
        reject(new Error(`scripts/package-vsix.sh printed "${last}" as its last line; expected the path of an existing .vsix`));
        return;
      }
      resolve(file);
    });
  });
  return building;
}

/** The part of yauzl (the zip reader @vscode/vsce itself uses) these tests need. */
interface ZipEntry {
  fileName: string;
  uncompressedSize: number;
}
interface ZipFile {
  on(event: 'entry', cb: (entry: ZipEntry) => void): void;
  on(event: 'end', cb: () => void): void;
  on(event: 'error', cb: (err: Error) => void): void;
  readEntry(): void;
  openReadStream(entry: ZipEntry, cb: (err: Error | null, stream: NodeJS.ReadableStream) => void): void;
  close(): void;
}
interface Yauzl {
  open(file: string, opts: { lazyEntries: boolean }, cb: (err: Error | null, zip: ZipFile) => void): void;
}

function yauzl(): Yauzl {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only when a package is inspected
    return require('yauzl') as Yauzl;
  } catch {
    throw new Error('the zip reader "yauzl" is missing from node_modules (it comes with @vscode/vsce): run npm install');
  }
}

export interface VsixEntry {
  name: string;
  size: number;
}

/** Every file in the archive, with its uncompressed size. */
export function vsixEntries(file: string): Promise<VsixEntry[]> {
  return new Promise((resolve, reject) => {
    yauzl().open(file, { lazyEntries: true }, (err, zip) => {
      if (err) return reject(new Error(`${file} is not a readable zip: ${err.message}`));
      const entries: VsixEntry[] = [];
      zip.on('entry', (e) => {
        if (!e.fileName.endsWith('/')) entries.push({ name: e.fileName, size: e.uncompressedSize });
        zip.readEntry();
      });
      zip.on('end', () => resolve(entries));
      zip.on('error', reject);
      zip.readEntry();
    });
  });
}

/** One file's bytes from the archive. */
export function vsixFile(file: string, name: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    yauzl().open(file, { lazyEntries: true }, (err, zip) => {
      if (err) return reject(new Error(`${file} is not a readable zip: ${err.message}`));
      let found = false;
      zip.on('entry', (e) => {
        if (e.fileName !== name) return zip.readEntry();
        found = true;
        zip.openReadStream(e, (streamErr, stream) => {
          if (streamErr) return reject(streamErr);
          const chunks: Buffer[] = [];
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('end', () => {
            zip.close();
            resolve(Buffer.concat(chunks));
          });
          stream.on('error', reject);
        });
      });
      zip.on('end', () => {
        if (!found) reject(new Error(`${name} is not in ${file}`));
      });
      zip.on('error', reject);
      zip.readEntry();
    });
  });
}
