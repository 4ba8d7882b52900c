// downloadModel: fetch one model file into a folder, safely enough for multi-gigabyte files on
// flaky connections.
//  - Disk space is checked first (statfs, injectable for tests), so a 8 GB download does not
//    fail at 90 %.
//  - Bytes go to `<file>.part`; an existing .part is resumed with an HTTP Range request. The
//    server's answer is checked: 206 with a Content-Range starting where we stopped appends; a
//    200 means the server ignored Range, so the part is truncated and the download restarts.
//  - SHA-256 is computed while writing; on resume the existing part is hashed first.
//  - At the end size and digest are verified. A mismatch deletes the .part (resuming corrupt data
//    would only fail again) with "checksum mismatch: expected … got …". Success renames the part
//    to its final name, which is atomic on one file system, so a half-written file never carries
//    the real name.
//  - Cancellation through the AbortSignal keeps the .part for a later resume.
//  - Only https is allowed, plus plain http to loopback (the tests' local server). Redirects
//    (Hugging Face answers 302 to its CDN) are followed under the same rule.
import { createHash, Hash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { checkUrlAllowed, DownloadError, fetchFollowingRedirects, parseContentRange } from './http-fetch';
import { abortError } from '../common/abort-error';
import { ProgressMeter } from './progress';

export { DownloadError } from './http-fetch';

export interface DownloadSpec {
  url: string;
  /** Expected lower-case hex SHA-256, or null when unknown (the file is then not verified). */
  sha256: string | null;
  /** Expected size in bytes, or null when unknown. */
  size: number | null;
  /** True when `size` is an estimate: used for the disk check and progress, never to reject. */
  sizeApproximate?: boolean;
  /** File name on disk; defaults to the last segment of the URL path. */
  fileName?: string;
}

export interface FreeSpace {
  /** Bytes available to this user on the file system holding the folder. */
  freeBytes: number;
}

export interface DownloadOptions {
  /** Progress: bytes on disk so far, total (0 when unknown), speed, seconds left (NaN when unknown). */
  onProgress?: (bytes: number, total: number, bytesPerSec: number, etaSec: number) => void;
  signal?: AbortSignal;
  /** Free space of the folder's file system; defaults to fs.statfs. */
  statfs?: (dir: string) => Promise<FreeSpace>;
  /** Extra bytes that must stay free beyond the file itself (default 64 MiB). */
  reserveBytes?: number;
  /** Most redirects followed (default 5). */
  maxRedirects?: number;
}

export interface DownloadResult {
  path: string;
  sha256: string;
  bytes: number;
  /** True when the digest matched a known checksum; false when the catalogue had none. */
  verified: boolean;
  /** Bytes that were already in the .part file and not downloaded again. */
  resumedFrom: number;
  /** True when the final file was already there and checked (nothing downloaded). */
  alreadyPresent: boolean;
  /** What the user should know, e.g. "checksum unknown — not verified". */
  note: string | null;
}

export const CHECKSUM_UNKNOWN_NOTE = 'checksum unknown — not verified';

async function defaultStatfs(dir: string): Promise<FreeSpace> {
  const s = await fs.promises.statfs(dir);
  return { freeBytes: Number(s.bavail) * Number(s.bsize) };
}

/** The on-disk name: an explicit fileName, or the URL's last path segment, refusing path tricks. */
export function downloadFileName(spec: DownloadSpec): string {
  let name = spec.fileName;
  if (name === undefined) {
    const last = new URL(spec.url).pathname.split('/').pop() ?? '';
    name = decodeURIComponent(last);
  }
  if (!name || name === '.' || name === '..' || /[/\\\0]/.test(name)) {
    throw new DownloadError(`cannot derive a safe file name from ${spec.url} (got '${name}')`);
  }
  return name;
}

function checkSpec(spec: DownloadSpec): void {
  if (spec.sha256 !== null && !/^[0-9a-f]{64}$/.test(spec.sha256)) {
    throw new DownloadError(`expected sha256 must be 64 lower-case hex characters, got '${spec.sha256}'`);
  }
  if (spec.size !== null && (!Number.isSafeInteger(spec.size) || spec.size <= 0)) {
    throw new DownloadError(`expected size must be a positive integer, got ${spec.size}`);
  }
}

async function fileSize(file: string): Promise<number> {
  try {
    return (await fs.promises.stat(file)).size;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw e;
  }
}

/** Feeds a file's bytes into the hash (the part already on disk, before resuming). */
async function hashFile(file: string, hash: Hash, signal?: AbortSignal): Promise<void> {
  const stream = fs.createReadStream(file, { highWaterMark: 1 << 20 });
  for await (const chunk of stream) {
    if (signal?.aborted) {
      stream.destroy();
      throw cancelledError(file);
    }
    hash.update(chunk as Buffer);
  }
}

function cancelledError(partPath: string): Error {
  return abortError(`download cancelled; the partial file is kept for resuming: ${partPath}`);
}

function strictSize(spec: DownloadSpec): number | null {
  return spec.size !== null && !spec.sizeApproximate ? spec.size : null;
}

/** Size and digest check of a finished file; throws DownloadError naming the mismatch. */
function verify(spec: DownloadSpec, bytes: number, digest: string, where: string): void {
  const size = strictSize(spec);
  if (size !== null && bytes !== size) {
    throw new DownloadError(`size mismatch for ${where}: expected ${size} bytes, got ${bytes}`);
  }
  if (spec.sha256 !== null && digest !== spec.sha256) {
    throw new DownloadError(`checksum mismatch: expected ${spec.sha256} got ${digest} (${where})`);
  }
}

export async function downloadModel(spec: DownloadSpec, destDir: string, opts: DownloadOptions = {}): Promise<DownloadResult> {
  checkSpec(spec);
  checkUrlAllowed(spec.url);
  const fileName = downloadFileName(spec);
  await fs.promises.mkdir(destDir, { recursive: true });
  const finalPath = path.join(destDir, fileName);
  const partPath = `${finalPath}.part`;
  const note = spec.sha256 === null ? CHECKSUM_UNKNOWN_NOTE : null;

  // A finished file from an earlier run is checked, not downloaded again.
  if (fs.existsSync(finalPath)) {
    const hash = createHash('sha256');
    await hashFile(finalPath, hash, opts.signal);
    const digest = hash.digest('hex');
    const bytes = await fileSize(finalPath);
    try {
      verify(spec, bytes, digest, finalPath);
    } catch (e) {
      throw new DownloadError(`${finalPath} already exists but does not match the expected file (${(e as Error).message}); delete it and download again`);
    }
    return { path: finalPath, sha256: digest, bytes, verified: spec.sha256 !== null, resumedFrom: 0, alreadyPresent: true, note };
  }

  let existing = await fileSize(partPath);
  const expected = strictSize(spec);
  if (expected !== null && existing > expected) {
    // Longer than the whole file: not a prefix of it, so it cannot be resumed.
    await fs.promises.rm(partPath, { force: true });
    existing = 0;
  }

  // Disk space first: what is still to come, plus a reserve so the disk is not filled to the brim.
  if (spec.size !== null) {
    const need = Math.max(0, spec.size - existing) + (opts.reserveBytes ?? 64 * 1024 * 1024);
    const { freeBytes } = await (opts.statfs ?? defaultStatfs)(destDir);
    if (freeBytes < need) {
      throw new DownloadError(`not enough disk space in ${destDir}: ${fileName} needs ${need} bytes free, only ${freeBytes} available`);
    }
  }

  const hash = createHash('sha256');
  if (existing > 0) await hashFile(partPath, hash, opts.signal);
  const resumedFrom = existing;
  const { response, finalUrl } = await fetchFollowingRedirects(spec.url, {
    rangeStart: existing,
    signal: opts.signal,
    maxRedirects: opts.maxRedirects ?? 5,
  }).catch((e: unknown) => {
    if (opts.signal?.aborted) throw cancelledError(partPath);
    throw e;
  });

  let appendFrom = 0;
  if (response.status === 206 && existing > 0) {
    const range = parseContentRange(response.headers.get('content-range'));
    if (!range || range.start !== existing) {
      await response.body?.cancel();
      await fs.promises.rm(partPath, { force: true });
      throw new DownloadError(
        `server answered a resume of ${spec.url} with an unexpected range '${response.headers.get('content-range')}' (asked from byte ${existing}); the partial file was deleted, try again`,
      );
    }
    if (expected !== null && range.total !== null && range.total !== expected) {
      await response.body?.cancel();
      throw new DownloadError(`server reports ${range.total} bytes for ${spec.url}, expected ${expected}`);
    }
    appendFrom = existing;
  } else if (response.status === 416 && existing > 0 && existing === expected) {
    // The part already holds every byte (an earlier run stopped just before the rename).
    await response.body?.cancel();
    const digest = hash.digest('hex');
    try {
      verify(spec, existing, digest, spec.url);
    } catch (e) {
      await fs.promises.rm(partPath, { force: true });
      throw e;
    }
    await fs.promises.rename(partPath, finalPath);
    return { path: finalPath, sha256: digest, bytes: existing, verified: spec.sha256 !== null, resumedFrom, alreadyPresent: false, note };
  } else if (response.status !== 200) {
    await response.body?.cancel();
    if (response.status === 416) await fs.promises.rm(partPath, { force: true });
    throw new DownloadError(`unexpected HTTP ${response.status} for ${finalUrl}${response.status === 416 ? '; the partial file was deleted, try again' : ''}`);
  }
  // A 200 answer means no resume (nothing to resume, or the server ignored Range): the part is
  // rewritten from byte 0 with a fresh digest.
  const digestState = appendFrom > 0 ? hash : createHash('sha256');

  const lengthHeader = response.headers.get('content-length');
  const bodyLength = lengthHeader !== null && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : null;
  const total = spec.size ?? (bodyLength !== null ? appendFrom + bodyLength : 0);
  const meter = new ProgressMeter(appendFrom, total, opts.onProgress);

  const fh = await fs.promises.open(partPath, appendFrom > 0 ? 'a' : 'w');
  let bytes = appendFrom;
  try {
    if (!response.body) throw new DownloadError(`empty response body from ${finalUrl}`);
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        if (expected !== null && bytes + chunk.length > expected) {
          throw new DownloadError(`server sent more than the expected ${expected} bytes for ${spec.url}`);
        }
        await fh.write(chunk);
        digestState.update(chunk);
        bytes += chunk.length;
        meter.update(bytes);
      }
    } catch (e) {
      if (opts.signal?.aborted) throw cancelledError(partPath);
      if (e instanceof DownloadError) throw e;
      throw new DownloadError(
        `download of ${spec.url} was interrupted after ${bytes} bytes (${(e as Error).message}); run it again to resume from ${partPath}`,
      );
    }
    if (bodyLength !== null && bytes - appendFrom !== bodyLength) {
      throw new DownloadError(`download of ${spec.url} ended after ${bytes - appendFrom} of ${bodyLength} bytes; run it again to resume from ${partPath}`);
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
  meter.finish(bytes);

  const digest = digestState.digest('hex');
  try {
    verify(spec, bytes, digest, spec.url);
  } catch (e) {
    // A complete file with the wrong bytes cannot be repaired by resuming: start over next time.
    await fs.promises.rm(partPath, { force: true });
    throw e;
  }
  await fs.promises.rename(partPath, finalPath);
  return { path: finalPath, sha256: digest, bytes, verified: spec.sha256 !== null, resumedFrom: appendFrom > 0 ? resumedFrom : 0, alreadyPresent: false, note };
}
