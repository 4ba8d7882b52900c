// Synthetic test models, generated once and cached under build/test-models/.
//
// getTestModel('tiny', 'Q4_K_M') returns the path of a Qwen2.5-shaped GGUF with random weights:
// float formats come straight from the synthetic-model generator (scripts/make-synthetic-model.ts),
// quantized ones from our quantizer applied to the float file. Mocha may run several test files
// (or several processes) that ask for the same model at once, so generation takes a lock directory
// next to the file; the others wait for it. A stamp file records which generator/quantizer/addon
// produced each model, and a stale model is regenerated.
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

export type TestShape = 'tiny' | '0.5b' | '1.5b' | '7b';

/** Seed every test model uses unless a caller asks otherwise. */
export const DEFAULT_SEED = 1234;

export function repoRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    dir = path.dirname(dir);
  }
  throw new Error(`cannot find the repository root above ${__dirname}`);
}

export function testModelDir(): string {
  return path.join(repoRoot(), 'build', 'test-models');
}

const FLOAT_TYPES = ['F32', 'F16', 'BF16'];

interface SyntheticModule {
  writeSyntheticModel(opts: { shape: TestShape; type: string; seed: number; out: string }): unknown;
}

/** What produced a model: the code that wrote it, so a changed generator or quantizer invalidates it. */
function fingerprint(quantized: boolean): string {
  // The compiled modules next to this one (out/ or wherever tsc put them).
  const modules = ['../../scripts/make-synthetic-model', '../../src/engine/gguf-writer'];
  if (quantized) modules.push('../../src/engine/quantize', '../../src/engine/quant-mix', '../../src/engine/gguf-typed-metadata');
  const h = crypto.createHash('sha256');
  for (const m of modules) h.update(fs.readFileSync(require.resolve(m)));
  if (quantized) {
    // The addon does the rounding; its identity is its size and modification time.
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only when a model must be made
    const { nativeAddonPath } = require('../../src/engine/native') as typeof import('../../src/engine/native');
    const addon = nativeAddonPath();
    const st = fs.existsSync(addon) ? fs.statSync(addon) : undefined;
    h.update(st ? `${st.size}:${st.mtimeMs}` : 'no-addon');
  }
  return h.digest('hex').slice(0, 16);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Runs `make` while holding `lockDir`; waits (up to `timeoutMs`) while another process holds it. */
async function withLock<T>(lockDir: string, timeoutMs: number, make: () => T | Promise<T>): Promise<T> {
  const started = Date.now();
  for (;;) {
    try {
      fs.mkdirSync(lockDir);
      fs.writeFileSync(path.join(lockDir, 'pid'), String(process.pid));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      // A lock left by a process that died is taken over.
      let holder = NaN;
      try {
        holder = Number(fs.readFileSync(path.join(lockDir, 'pid'), 'utf8'));
      } catch {
        /* being created */
      }
      if (Number.isInteger(holder) && !pidAlive(holder)) {
        fs.rmSync(lockDir, { recursive: true, force: true });
        continue;
      }
      if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${lockDir}`, { cause: e });
      await sleep(500);
    }
  }
  try {
    return await make();
  } finally {
    fs.rmSync(lockDir, { recursive: true, force: true });
  }
}

function isFresh(file: string, stamp: string): boolean {
  return fs.existsSync(file) && fs.existsSync(`${file}.stamp`) && fs.readFileSync(`${file}.stamp`, 'utf8') === stamp;
}

/** The float file quantized models are made from: F32 for the tiny shape, F16 for big ones (disk, time). */
function baseFloatType(shape: TestShape): string {
  return shape === 'tiny' ? 'F32' : 'F16';
}

/**
 * Path of a cached synthetic GGUF of this shape and type (a GGML float type, or any quantizer target
 * such as Q8_0 or Q4_K_M), generating it first when needed.
 */
export async function getTestModel(shape: TestShape, type: string, opts: { seed?: number } = {}): Promise<string> {
  const seed = opts.seed ?? DEFAULT_SEED;
  const upper = type.toUpperCase();
  const quantized = !FLOAT_TYPES.includes(upper);
  const dir = testModelDir();
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${shape}-${upper.toLowerCase()}-s${seed}.gguf`);
  const stamp = fingerprint(quantized);
  if (isFresh(file, stamp)) return file;

  // The base file is made (under its own lock) before this one's lock is taken.
  const base = quantized ? await getTestModel(shape, baseFloatType(shape), { seed }) : null;
  return withLock(`${file}.lock`, 30 * 60 * 1000, () => {
    if (isFresh(file, stamp)) return file; // made by someone else while we waited
    const tmp = `${file}.tmp-${process.pid}`;
    try {
      if (base) {
        // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only when a model must be made
        const { quantizeModel } = require('../../src/engine/quantize') as typeof import('../../src/engine/quantize');
        quantizeModel(base, tmp, upper);
      } else {
        // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only when a model must be made
        const gen = require('../../scripts/make-synthetic-model') as SyntheticModule;
        gen.writeSyntheticModel({ shape, type: upper.toLowerCase(), seed, out: tmp });
      }
      fs.renameSync(tmp, file);
      fs.writeFileSync(`${file}.stamp`, stamp);
    } finally {
      fs.rmSync(tmp, { force: true });
    }
    return file;
  });
}
