// quantizeModel end to end on the tiny synthetic model: the per-tensor types it writes, the
// metadata it keeps (every key with its stored type), and its errors on bad input.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { readTypedMetadata } from '../../src/engine/gguf-typed-metadata';
import { loadNative } from '../../src/engine/native';
import { chooseTensorType, quantTarget } from '../../src/engine/quant-mix';
import { quantizeModel } from '../../src/engine/quantize';
import { getTestModel } from '../helpers/models';

function tmpFile(name: string): string {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'qwen-quant-')), name);
}

describe('quantizer: quantizeModel on the tiny model', function () {
  this.timeout(5 * 60 * 1000);

  it('Q8_0: every tensor gets the planned type, metadata is kept with its types, file_type = 7', async () => {
    const native = loadNative();
    const input = await getTestModel('tiny', 'F32');
    const output = await getTestModel('tiny', 'Q8_0');
    const inInfo = native.readGguf(input);
    const outInfo = native.readGguf(output);
    const shape = { nLayer: 2, nHead: 4, nHeadKv: 2, tiedEmbeddings: !inInfo.tensors.some((t) => t.name === 'output.weight') };
    assert.deepStrictEqual(
      outInfo.tensors.map((t) => t.name),
      inInfo.tensors.map((t) => t.name),
    );
    for (const t of inInfo.tensors) {
      const written = outInfo.tensors.find((x) => x.name === t.name)!;
      assert.strictEqual(written.typeName, chooseTensorType(quantTarget('Q8_0'), t, shape), t.name);
      assert.deepStrictEqual(written.dims, t.dims, t.name);
    }
    assert.ok(outInfo.tensors.some((t) => t.typeName === 'Q8_0'));
    assert.strictEqual(outInfo.tensors.find((t) => t.name === 'output_norm.weight')!.typeName, 'F32');

    const before = new Map(readTypedMetadata(input).map(([k, type, v]) => [k, { type, v }]));
    const after = new Map(readTypedMetadata(output).map(([k, type, v]) => [k, { type, v }]));
    for (const [k, { type, v }] of before) {
      if (k === 'general.file_type') continue;
      assert.ok(after.has(k), `key ${k} was dropped`);
      assert.strictEqual(after.get(k)!.type, type, `key ${k} changed type`);
      assert.deepStrictEqual(after.get(k)!.v, v, `key ${k} changed value`);
    }
    assert.deepStrictEqual(after.get('general.file_type'), { type: 'uint32', v: 7 });
    assert.deepStrictEqual(after.get('general.quantization_version'), { type: 'uint32', v: 2 });
  });

  it('refuses an unknown type before writing anything', async () => {
    const input = await getTestModel('tiny', 'F32');
    const out = tmpFile('never.gguf');
    assert.throws(() => quantizeModel(input, out, 'Q9_9'), /unknown quantization type 'Q9_9'/);
    assert.ok(!fs.existsSync(out));
  });

  it('refuses to re-quantize an already quantized tensor, naming it', async () => {
    const input = await getTestModel('tiny', 'Q8_0');
    const out = tmpFile('requant.gguf');
    assert.throws(() => quantizeModel(input, out, 'Q4_0'), /tensor \S+ is stored as Q8_0; re-quantizing/);
    assert.ok(!fs.existsSync(out), 'a partial output file was left behind');
  });

  it('names the file when the input is not a GGUF', () => {
    const bad = tmpFile('not-a-model.gguf');
    fs.writeFileSync(bad, 'this is not a model file at all, just some text of reasonable length');
    assert.throws(
      () => quantizeModel(bad, tmpFile('x.gguf'), 'Q8_0'),
      (e: Error) => e.message.includes('not-a-model.gguf'),
    );
  });
});
