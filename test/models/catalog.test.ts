// Integrity of the model catalogue: ids, URLs, sizes and hashes must be well-formed and plausible,
// because the downloader trusts them to accept or reject multi-gigabyte files.
import * as assert from 'assert';
import { describeCatalogModel, findCatalogModel, formatBytes, huggingFaceUrl, MODEL_CATALOG } from '../../src/models/catalog';

// Bytes per parameter a whole GGUF file can plausibly have. q8_0 stores 8.5 bits per weight;
// q4_k_m mixes 4.5-bit and 6-bit blocks; both keep some tensors (norms, often the embedding) at
// higher precision, and the 0.5B's large embedding pushes its ratio up.
const BYTES_PER_PARAM: Record<string, [number, number]> = {
  q4_k_m: [0.5, 1.1],
  q8_0: [1.0, 1.5],
};

describe('models: catalogue integrity', () => {
  it('has the four Qwen2.5-Coder sizes in q4_k_m and q8_0', () => {
    const ids = MODEL_CATALOG.map((m) => m.id);
    for (const size of ['0.5b', '1.5b', '3b', '7b']) {
      for (const quant of ['q4_k_m', 'q8_0']) assert.ok(ids.includes(`qwen2.5-coder-${size}-instruct-${quant}`), `missing ${size} ${quant}`);
    }
    assert.strictEqual(MODEL_CATALOG.length, 8);
  });

  it('has unique ids and file names', () => {
    assert.strictEqual(new Set(MODEL_CATALOG.map((m) => m.id)).size, MODEL_CATALOG.length);
    assert.strictEqual(new Set(MODEL_CATALOG.map((m) => m.file)).size, MODEL_CATALOG.length);
  });

  it('builds every URL as https://huggingface.co/{repo}/resolve/main/{file}', () => {
    for (const m of MODEL_CATALOG) {
      assert.strictEqual(m.url, `https://huggingface.co/${m.repo}/resolve/main/${m.file}`);
      assert.strictEqual(m.url, huggingFaceUrl(m.repo, m.file));
      const u = new URL(m.url);
      assert.strictEqual(u.protocol, 'https:');
      assert.strictEqual(u.hostname, 'huggingface.co');
      assert.match(m.repo, /^Qwen\/Qwen2\.5-Coder-(0\.5|1\.5|3|7)B-Instruct-GGUF$/);
      assert.match(m.file, /^qwen2\.5-coder-[0-9.]+b-instruct-(q4_k_m|q8_0)\.gguf$/);
      assert.ok(m.file.includes(m.quant), `${m.file} does not name its quantization ${m.quant}`);
    }
  });

  it('has positive sizes plausible for each quantization', () => {
    for (const m of MODEL_CATALOG) {
      assert.ok(Number.isSafeInteger(m.sizeBytes) && m.sizeBytes > 0, `${m.id}: size ${m.sizeBytes}`);
      const ratio = m.sizeBytes / m.parameterCount;
      const [lo, hi] = BYTES_PER_PARAM[m.quant];
      assert.ok(ratio >= lo && ratio <= hi, `${m.id}: ${ratio.toFixed(3)} bytes per parameter is outside ${lo}..${hi}`);
    }
    // Within one model size, q8_0 is larger than q4_k_m.
    for (const m of MODEL_CATALOG.filter((x) => x.quant === 'q4_k_m')) {
      const q8 = MODEL_CATALOG.find((x) => x.repo === m.repo && x.quant === 'q8_0')!;
      assert.ok(q8.sizeBytes > m.sizeBytes, `${q8.id} should be larger than ${m.id}`);
    }
  });

  it('has 64-hex-character hashes where known, and says where every value came from', () => {
    for (const m of MODEL_CATALOG) {
      if (m.sha256 !== null) assert.match(m.sha256, /^[0-9a-f]{64}$/, m.id);
      assert.ok(m.source.length > 10, `${m.id} has no source note`);
      // An approximate size can never come with a hash: a hash pins exact bytes.
      if (m.sizeApproximate) assert.strictEqual(m.sha256, null, `${m.id} has a hash but an approximate size`);
      // An entry without a digest must say so in its note, so nobody mistakes it for verified.
      if (m.sha256 === null) assert.match(m.source, /unverified|no digest/, `${m.id}: the note does not say the digest is missing`);
    }
    assert.strictEqual(new Set(MODEL_CATALOG.filter((m) => m.sha256).map((m) => m.sha256)).size, MODEL_CATALOG.filter((m) => m.sha256).length);
  });

  it('has trained context and parameter counts that grow with size', () => {
    const q4 = MODEL_CATALOG.filter((m) => m.quant === 'q4_k_m');
    for (let i = 1; i < q4.length; i++) assert.ok(q4[i].parameterCount > q4[i - 1].parameterCount);
    for (const m of MODEL_CATALOG) assert.strictEqual(m.contextLength, 32768);
  });

  it('finds entries by id and describes them', () => {
    const m = findCatalogModel('qwen2.5-coder-1.5b-instruct-q4_k_m');
    assert.ok(m);
    assert.strictEqual(m.file, 'qwen2.5-coder-1.5b-instruct-q4_k_m.gguf');
    assert.strictEqual(describeCatalogModel(m), 'Qwen2.5-Coder 1.5B Instruct (Q4_K_M), 1.1 GB');
    assert.strictEqual(describeCatalogModel(findCatalogModel('qwen2.5-coder-7b-instruct-q8_0')!), 'Qwen2.5-Coder 7B Instruct (Q8_0), 8.1 GB, checksum unknown');
    assert.strictEqual(describeCatalogModel({ ...m, sizeApproximate: true, sha256: null }), 'Qwen2.5-Coder 1.5B Instruct (Q4_K_M), ~1.1 GB, checksum unknown');
    assert.strictEqual(findCatalogModel('nope'), undefined);
    assert.strictEqual(formatBytes(491_400_064), '491 MB');
    assert.strictEqual(formatBytes(999), '999 B');
  });
});
