// Where downloaded models live (the extension's global storage, under models/) and what is already
// there for a catalogue entry: a finished file, a partial download that can be resumed, or nothing.
// Also the download URL, which a mirror can replace (QWEN_LOCAL_MODEL_MIRROR, for networks that
// cannot reach Hugging Face and for tests against a local server). No vscode import.
import * as fs from 'fs';
import * as path from 'path';
import type { CatalogModel } from '../../models/catalog';

export interface ModelOnDisk {
  /** Where the finished file is (or will be). */
  path: string;
  /** True when the finished file exists (it was size- and checksum-checked when it was renamed into place). */
  finished: boolean;
  /** Bytes in the .part file of an interrupted download (0 when there is none). */
  partialBytes: number;
}

/** The folder downloads go to, inside the extension's global storage. */
export function modelsFolder(globalStorageDir: string): string {
  return path.join(globalStorageDir, 'models');
}

function sizeOf(file: string): number | null {
  try {
    const st = fs.statSync(file);
    return st.isFile() ? st.size : null;
  } catch {
    return null;
  }
}

export function inspectModelOnDisk(folder: string, model: CatalogModel): ModelOnDisk {
  const finalPath = path.join(folder, model.file);
  const finished = sizeOf(finalPath) !== null;
  return { path: finalPath, finished, partialBytes: finished ? 0 : (sizeOf(`${finalPath}.part`) ?? 0) };
}

/**
 * The URL to download `model` from: Hugging Face, or the same repository path under a mirror's
 * base URL (https://mirror.example/hf → https://mirror.example/hf/Qwen/…/resolve/main/file.gguf).
 */
export function downloadUrlFor(model: CatalogModel, mirror: string | undefined): string {
  const base = (mirror ?? '').trim();
  if (base === '') return model.url;
  let u: URL;
  try {
    u = new URL(base);
  } catch {
    throw new Error(`QWEN_LOCAL_MODEL_MIRROR is not a valid URL: '${base}'`);
  }
  return `${u.toString().replace(/\/+$/, '')}/${model.repo}/resolve/main/${model.file}`;
}
