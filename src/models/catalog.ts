// The recommended Qwen2.5-Coder Instruct GGUF files the extension can download: the official
// Qwen repositories on Hugging Face, two quantizations each (q4_k_m: small and fast; q8_0: near
// the original quality at twice the size).
//
// Where the numbers come from. We have no network at build time, so sizes and SHA-256 digests were
// taken from public records of these exact files (repository + file name), and only kept when
// they could be trusted:
//  - sha256 is filled in only where at least two independent public sources agree on the digest
//    for the official Qwen file (for example a pinned download manifest and a Nix fetchurl hash,
//    which fails the build when the file differs). Sizes that came with those records are exact.
//  - Where no trustworthy digest was found, sha256 is null. The downloader then still checks the
//    size (when exact) and tells the user "checksum unknown — not verified" instead of pretending.
//  - Sizes marked `sizeApproximate: true` are estimates (from the quantization's bits per weight
//    and third-party copies of the same quantization); the downloader uses them only for the
//    disk-space check and progress, never to reject a file.
// The Qwen team may re-upload a file; a re-upload changes the digest, and the downloader will then
// refuse it with a checksum mismatch. Update the entry (and its source note) when that happens.

export type CatalogQuant = 'q4_k_m' | 'q8_0';

export interface CatalogModel {
  /** Stable id used in settings and commands: qwen2.5-coder-1.5b-instruct-q4_k_m. */
  id: string;
  /** Human-readable name for pickers. */
  name: string;
  /** Hugging Face repository, owner/name. */
  repo: string;
  /** File name inside the repository (also the name it gets on disk). */
  file: string;
  /** Download URL, always https://huggingface.co/{repo}/resolve/main/{file}. */
  url: string;
  quant: CatalogQuant;
  /** File size in bytes; exact unless sizeApproximate. */
  sizeBytes: number;
  sizeApproximate: boolean;
  /** Lower-case hex SHA-256 of the file, or null when no trustworthy public value was found. */
  sha256: string | null;
  /** Parameters of the model (the model card's figure, rounded to 10 million). */
  parameterCount: number;
  /** Context length the model was trained for, in tokens (qwen2.context_length). */
  contextLength: number;
  /** Where the size/hash came from, for whoever updates this table. */
  source: string;
}

/** The download URL Hugging Face serves a repository file from (it answers with a redirect to its CDN). */
export function huggingFaceUrl(repo: string, file: string): string {
  return `https://huggingface.co/${repo}/resolve/main/${file}`;
}

interface Entry {
  size: '0.5B' | '1.5B' | '3B' | '7B';
  quant: CatalogQuant;
  sizeBytes: number;
  sizeApproximate: boolean;
  sha256: string | null;
  source: string;
}

// Parameter counts from the Qwen2.5-Coder model cards (0.49B, 1.54B, 3.09B, 7.61B). The 0.5B's
// vocabulary embedding (151936 x 896) is a large share of it, which is why its files are
// relatively big for the parameter count.
const PARAMS: Record<Entry['size'], number> = {
  '0.5B': 490_000_000,
  '1.5B': 1_540_000_000,
  '3B': 3_090_000_000,
  '7B': 7_610_000_000,
};

// All four are trained with a 32,768-token context (the 7B reaches 128K with YaRN scaling,
// which the GGUF does not enable by default).
const CONTEXT = 32_768;

const ENTRIES: Entry[] = [
  {
    size: '0.5B',
    quant: 'q4_k_m',
    sizeBytes: 491_400_064,
    sizeApproximate: false,
    sha256: '1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32',
    source: 'several public manifests pinning revision ebb2015119c907b064c512bf053e945850b5875f agree on digest and size',
  },
  {
    size: '0.5B',
    quant: 'q8_0',
    sizeBytes: 675_710_848,
    sizeApproximate: false,
    sha256: 'e1a77721fa97d412f121878223eec81fb4ae6f271e18f922d746711f67b344d1',
    source: 'a manifest pinning revision ebb2015119c9 and an independent Nix fetchurl hash agree',
  },
  {
    size: '1.5B',
    quant: 'q4_k_m',
    sizeBytes: 1_117_320_768,
    sizeApproximate: false,
    sha256: 'cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046',
    source: 'many independent manifests (and a mocked Hugging Face API listing) agree on digest and size',
  },
  {
    size: '1.5B',
    quant: 'q8_0',
    sizeBytes: 1_894_532_160,
    sizeApproximate: false,
    sha256: '507de59046601282ba768a9789900e6ccf60ed93ddf346730b7c68eb0715bc47',
    source: 'a manifest pinning revision f86cb2c1fa58255f8052cc32aeede1b7482d4361 and several independent projects agree on digest and size',
  },
  {
    size: '3B',
    quant: 'q4_k_m',
    sizeBytes: 2_104_932_800,
    sizeApproximate: false,
    sha256: '724fb256bec1ff062b2f65e4569e871ad2e95ab2a3989723d1769c54294730b7',
    source: 'several manifests pinning revision f74adce6aa16316c625447af059dbebe4983757c agree on digest and size',
  },
  {
    size: '3B',
    quant: 'q8_0',
    sizeBytes: 3_616_088_512,
    sizeApproximate: false,
    sha256: 'f648c25dfd5a0870c4ad76724a745124ab5667ff97b664534fcbe46089b75ab8',
    source: 'a manifest pinning revision f74adce6aa16316c625447af059dbebe4983757c and two independent download scripts agree on digest and size',
  },
  {
    size: '7B',
    quant: 'q4_k_m',
    sizeBytes: 4_683_073_536,
    sizeApproximate: false,
    sha256: '509287f78cb4d4cf6b3843734733b914b2c158e43e22a7f4bf5e963800894d3c',
    // 4_683_073_504 (32 bytes less) is the size of other uploaders' 7B Q4_K_M files, not Qwen's.
    source: 'many independent records agree on the digest; manifests pinning revision 13fb94bfda8c8cf22497dc57b78f391a9acb426a give the size',
  },
  {
    size: '7B',
    quant: 'q8_0',
    sizeBytes: 8_098_525_184,
    sizeApproximate: false,
    // One manifest (revision 13fb94bf) gives b36a4e1c3ddf2ba6fd5501b926128e5fc6430881caaff07e9629bd18f06f685f;
    // no second source confirms it, so it is not enforced (a wrong digest would reject a good 8 GB file).
    sha256: null,
    source: 'size: a pinned manifest and an independent file listing agree; digest found in one source only, so unverified',
  },
];

function toModel(e: Entry): CatalogModel {
  const lower = e.size.toLowerCase();
  const repo = `Qwen/Qwen2.5-Coder-${e.size}-Instruct-GGUF`;
  const file = `qwen2.5-coder-${lower}-instruct-${e.quant}.gguf`;
  return {
    id: `qwen2.5-coder-${lower}-instruct-${e.quant}`,
    name: `Qwen2.5-Coder ${e.size} Instruct (${e.quant.toUpperCase()})`,
    repo,
    file,
    url: huggingFaceUrl(repo, file),
    quant: e.quant,
    sizeBytes: e.sizeBytes,
    sizeApproximate: e.sizeApproximate,
    sha256: e.sha256,
    parameterCount: PARAMS[e.size],
    contextLength: CONTEXT,
    source: e.source,
  };
}

/** The catalogue, smallest model first, q4_k_m before q8_0 within a size. */
export const MODEL_CATALOG: readonly CatalogModel[] = Object.freeze(ENTRIES.map(toModel));

/** The catalogue entry with this id, or undefined. */
export function findCatalogModel(id: string): CatalogModel | undefined {
  return MODEL_CATALOG.find((m) => m.id === id);
}

/** "1.1 GB" style size for pickers (decimal units, as Hugging Face shows them). */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return 'unknown size';
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = bytes;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v >= 100 || i === 0 ? Math.round(v) : v.toFixed(1)} ${units[i]}`;
}

/** One line describing an entry: name, size and whether its checksum is known. */
export function describeCatalogModel(m: CatalogModel): string {
  const size = `${m.sizeApproximate ? '~' : ''}${formatBytes(m.sizeBytes)}`;
  return `${m.name}, ${size}${m.sha256 ? '' : ', checksum unknown'}`;
}
