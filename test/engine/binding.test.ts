// The native binding as the engine sees it: it loads, reads a GGUF's header into JS values
// (including the 151936-entry vocabulary), converts types and quantizes, and reports bad input
// as JS errors that name the problem instead of crashing the process.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadNative } from '../../src/engine/native';
import { loadModel, resolveLoadOptions } from '../../src/engine/model';
import { writeGguf } from '../../src/engine/gguf-writer';
import { tinyModelPath } from './fixtures';

describe('engine: native binding', function () {
  this.timeout(120000);
  let tiny: string;
  let tmp: string;

  before(async () => {
    tiny = await tinyModelPath();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'qwen-binding-'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('loads and reports the host CPU', () => {
    const native = loadNative();
    const cpu = native.cpuFeatures();
    assert.ok(['x86_64', 'aarch64', 'unknown'].includes(cpu.arch), `arch ${cpu.arch}`);
    assert.ok(Number.isInteger(cpu.logicalCores) && cpu.logicalCores >= 1, `logicalCores ${cpu.logicalCores}`);
    assert.strictEqual(cpu.simd, cpu.avx2 && cpu.fma && cpu.f16c && !cpu.forcedScalar ? 'avx2' : 'scalar');
  });

  it('readGguf returns the header, the tokenizer arrays and the tensor table', () => {
    const g = loadNative().readGguf(tiny);
    assert.strictEqual(g.version, 3);
    assert.strictEqual(g.fileSize, fs.statSync(tiny).size);
    assert.strictEqual(g.metadata['general.architecture'], 'qwen2');
    const tokens = g.metadata['tokenizer.ggml.tokens'] as string[];
    assert.ok(Array.isArray(tokens));
    assert.strictEqual(tokens.length, 151936);
    assert.strictEqual(tokens[151644], '<|im_start|>');
    const merges = g.metadata['tokenizer.ggml.merges'] as string[];
    assert.ok(merges.length > 150000 && typeof merges[0] === 'string' && merges[0].includes(' '));
    const types = g.metadata['tokenizer.ggml.token_type'] as number[];
    assert.strictEqual(types.length, 151936);
    assert.strictEqual(typeof types[0], 'number');
    assert.strictEqual(g.metadata['qwen2.embedding_length'], 256);
    const embd = g.tensors.find((t) => t.name === 'token_embd.weight');
    assert.ok(embd, 'token_embd.weight missing');
    assert.deepStrictEqual(embd.dims, [256, 151936]);
    assert.strictEqual(embd.typeName, 'F32');
    assert.strictEqual(embd.nbytes, 256 * 151936 * 4);
  });

  it("tensorToF32 returns a tensor's values", () => {
    const g = loadNative().readGguf(tiny);
    const norm = g.tensors.find((t) => t.name === 'output_norm.weight');
    assert.ok(norm);
    const values = loadNative().tensorToF32(tiny, 'output_norm.weight');
    assert.strictEqual(values.length, 256);
    const raw = Buffer.alloc(norm.nbytes);
    const fd = fs.openSync(tiny, 'r');
    fs.readSync(fd, raw, 0, norm.nbytes, g.dataOffset + norm.offset);
    fs.closeSync(fd);
    const expected = new Float32Array(raw.buffer, raw.byteOffset, 256);
    assert.deepStrictEqual(Array.from(values), Array.from(expected));
    assert.throws(() => loadNative().tensorToF32(tiny, 'no.such.tensor'), /no tensor named 'no.such.tensor'/);
  });

  it('typeInfo, quantize and dequantize agree on Q8_0', () => {
    const native = loadNative();
    const q8 = native.typeInfo('Q8_0');
    assert.deepStrictEqual([q8.id, q8.blockSize, q8.typeSize], [8, 32, 34]);
    const x = Float32Array.from({ length: 256 }, (_, i) => Math.sin(i * 0.37) * 3);
    const bytes = native.quantize('Q8_0', x);
    assert.strictEqual(bytes.length, (256 / 32) * 34);
    const back = native.dequantize('Q8_0', bytes, 256);
    // Q8_0 stores q = round(x / d) with d = amax / 127 (amax <= 3 here) kept as fp16, so the error
    // is at most d/2 from rounding q plus 127 * d * 2^-11 from rounding d to fp16.
    const d = 3 / 127;
    const bound = d / 2 + 127 * d * 2 ** -11 + 1e-6;
    for (let i = 0; i < 256; i++) assert.ok(Math.abs(back[i] - x[i]) <= bound, `element ${i}: ${back[i]} vs ${x[i]}`);
    assert.throws(() => native.typeInfo('Q9_9'), /unknown GGML type name 'Q9_9'/);
    assert.throws(() => native.quantize('Q8_0', new Float32Array(33)), /not a multiple of the Q8_0 block size 32/);
    assert.throws(() => native.dequantize('Q8_0', new Uint8Array(10), 32), /need 34 bytes, got 10/);
  });

  it('turns bad files into errors that name the file', async () => {
    const native = loadNative();
    const missing = path.join(tmp, 'missing.gguf');
    assert.throws(
      () => native.readGguf(missing),
      (e: Error) => e.message.includes(missing),
    );
    const text = path.join(tmp, 'not-a-model.gguf');
    fs.writeFileSync(text, 'this is not a GGUF file at all, just some text');
    assert.throws(
      () => native.readGguf(text),
      (e: Error) => e.message.includes(text),
    );
    await assert.rejects(native.loadModel(text, {}), (e: Error) => e.message.includes(text));
    assert.throws(() => native.readGguf(42 as unknown as string), /readGguf: path must be a string/);
  });

  it('refuses a GGUF of another architecture, naming it', async () => {
    const llama = path.join(tmp, 'llama.gguf');
    writeGguf(llama, { metadata: [['general.architecture', 'string', 'llama']], tensors: [] });
    assert.strictEqual(loadNative().readGguf(llama).metadata['general.architecture'], 'llama');
    await assert.rejects(loadModel(llama), (e: Error) => e.message.includes(llama) && /architecture is 'llama'/.test(e.message));
  });

  it('reports load progress from 0 to 1 and in order', async () => {
    const seen: number[] = [];
    const model = await loadModel(tiny, { threads: 1, contextSize: 64, onProgress: (f) => seen.push(f) });
    await model.dispose();
    assert.ok(seen.length >= 1, 'no progress reported');
    assert.strictEqual(seen[seen.length - 1], 1);
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i] > seen[i - 1], `progress went ${seen[i - 1]} -> ${seen[i]}`);
  });

  it("reports the KV cache's block size, and a sequence takes whole blocks of it", async () => {
    const model = await loadModel(tiny, { threads: 1, contextSize: 256 });
    try {
      const kv = model.kvUsage();
      assert.strictEqual(kv.blockTokens, 32, 'native/src/cpu/kv_cache.h kBlockTokens');
      assert.strictEqual(kv.capacity % kv.blockTokens, 0);
      // The cache refuses what does not fit in whole blocks: 8 one-token sequences fill 8 blocks.
      const seqs = [];
      for (let i = 0; i < kv.capacity / kv.blockTokens; i++) {
        const s = model.createSequence();
        await s.eval([1]);
        seqs.push(s);
      }
      const extra = model.createSequence();
      await assert.rejects(extra.eval([1]), /KV cache full/);
      for (const s of [...seqs, extra]) s.dispose();
    } finally {
      await model.dispose();
    }
  });

  it("logits 'keep' resolves null but leaves the last row for sample(), as 'last' would", async () => {
    const model = await loadModel(tiny, { threads: 1, contextSize: 128 });
    try {
      const prompt = [151644, 872, 198, 9707, 11, 1879, 0, 151645];
      const kept = model.createSequence();
      const returned = model.createSequence();
      assert.strictEqual(await kept.eval(prompt, { logits: 'keep' }), null);
      const row = await returned.eval(prompt, { logits: 'last' });
      assert.ok(row instanceof Float32Array && row.length === 151936);
      const argmax = row.reduce((best, v, i) => (v > row[best] ? i : best), 0);
      // Greedy, sampled (same seed), and after a one-token step: the kept row is the same row.
      assert.strictEqual(kept.sample({ temperature: 0 }), argmax);
      const sampling = { temperature: 0.9, topK: 40, seed: 7 };
      assert.strictEqual(kept.sample(sampling), returned.sample(sampling));
      assert.strictEqual(await kept.eval([argmax], { logits: 'keep' }), null);
      const next = (await returned.eval([argmax], { logits: 'last' })) as Float32Array;
      assert.strictEqual(
        kept.sample({ temperature: 0 }),
        next.reduce((best, v, i) => (v > next[best] ? i : best), 0),
      );
      kept.dispose();
      returned.dispose();
    } finally {
      await model.dispose();
    }
  });

  it('checks load options before loading', () => {
    assert.deepStrictEqual(resolveLoadOptions({}, 32768), { threads: 0, contextSize: 4096, device: 'auto', gpuSelfCheck: true, notes: [] });
    // Every device reaches the native loader as asked; what runs is its decision (device.test.ts).
    for (const device of ['auto', 'cpu', 'cuda'] as const) assert.strictEqual(resolveLoadOptions({ device }, 32768).device, device);
    assert.strictEqual(resolveLoadOptions({ gpuSelfCheck: false }, 32768).gpuSelfCheck, false);
    const clamped = resolveLoadOptions({ contextSize: 65536 }, 32768);
    assert.strictEqual(clamped.contextSize, 32768);
    assert.match(clamped.notes[0], /exceeds the trained context/);
    assert.throws(() => resolveLoadOptions({ threads: -1 }, 32768), /threads must be an integer from 0/);
    assert.throws(() => resolveLoadOptions({ threads: 1.5 }, 32768), /threads must be an integer/);
    assert.throws(() => resolveLoadOptions({ contextSize: 8 }, 32768), /at least 16 tokens/);
    assert.throws(() => resolveLoadOptions({ contextSize: 1e9 }, 32768), /far beyond/);
    assert.throws(() => resolveLoadOptions({ device: 'tpu' as 'cpu' }, 32768), /device must be/);
  });
});
