// The model manager's VS Code-free parts: the progress notification text and increments, the
// quick-pick entries (order, wording, actions), what is on disk, the download URL with a mirror,
// and that every command the manager registers is declared in package.json.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { findCatalogModel, MODEL_CATALOG } from '../../../src/models/catalog';
import type { Recommendation } from '../../../src/models/recommend';
import { describeDownloadProgress, formatDuration, ProgressIncrements } from '../../../src/extension/models/download-progress-text';
import { modelChoices } from '../../../src/extension/models/model-choices';
import { downloadUrlFor, inspectModelOnDisk, ModelOnDisk, modelsFolder } from '../../../src/extension/models/model-files';
import { repoRoot } from '../../helpers/models';

const q15 = findCatalogModel('qwen2.5-coder-1.5b-instruct-q4_k_m')!;
const q7q8 = findCatalogModel('qwen2.5-coder-7b-instruct-q8_0')!;

describe('models: download progress text', () => {
  it('formats durations from seconds to hours, and nothing for unknown', () => {
    assert.strictEqual(formatDuration(0.4), '0 s');
    assert.strictEqual(formatDuration(45), '45 s');
    assert.strictEqual(formatDuration(185), '3 min 5 s');
    assert.strictEqual(formatDuration(120), '2 min');
    assert.strictEqual(formatDuration(4320), '1 h 12 min');
    assert.strictEqual(formatDuration(NaN), '');
    assert.strictEqual(formatDuration(Infinity), '');
    assert.strictEqual(formatDuration(-1), '');
  });

  it('says bytes, percentage, speed and time left', () => {
    assert.strictEqual(describeDownloadProgress(412_000_000, 1_117_320_768, 23_400_000, 30.6), '412 MB of 1.1 GB (36%) · 23.4 MB/s · 31 s left');
    // No speed yet (first report, or a resume that just started): no "0 B/s", no ETA.
    assert.strictEqual(describeDownloadProgress(0, 1_117_320_768, 0, NaN), '0 B of 1.1 GB (0%)');
    // Unknown total (a server without Content-Length and no catalogue size).
    assert.strictEqual(describeDownloadProgress(5_000_000, 0, 1_000_000, NaN), '5.0 MB · 1.0 MB/s');
    // Done: 100 %, no "0 s left".
    assert.strictEqual(describeDownloadProgress(1000, 1000, 500, 0), '1.0 kB of 1.0 kB (100%) · 500 B/s');
  });

  it('hands VS Code increments that add up to the absolute percentage, never going back', () => {
    const inc = new ProgressIncrements();
    const total = 1000;
    // A resumed download starts at 40 %.
    const steps = [400, 400, 550, 500 /* restart after an ignored Range */, 900, 1000, 1000];
    const given = steps.map((b) => inc.next(b, total));
    assert.deepStrictEqual(
      given.map((g) => Math.round(g * 1000) / 1000),
      [40, 0, 15, 0, 35, 10, 0],
    );
    assert.ok(Math.abs(given.reduce((a, b) => a + b, 0) - 100) < 1e-9);
    assert.strictEqual(inc.percent, 100);
    assert.strictEqual(new ProgressIncrements().next(500, 0), 0, 'unknown total: no bar movement');
  });
});

describe('models: the choose-model quick pick', () => {
  const nothing = (m: { file: string }): ModelOnDisk => ({ path: `/store/models/${m.file}`, finished: false, partialBytes: 0 });
  const recommendation: Recommendation = { model: q15, device: 'cpu', reason: 'No NVIDIA GPU found; 4 cores.' };

  it('puts the recommended model first with its reason, the file picker last', () => {
    const choices = modelChoices(MODEL_CATALOG, nothing, recommendation, '');
    assert.strictEqual(choices.length, MODEL_CATALOG.length + 1);
    assert.strictEqual(choices[0].label, '$(star-full) Qwen2.5-Coder 1.5B Instruct (Q4_K_M)');
    assert.strictEqual(choices[0].description, 'recommended · download 1.1 GB');
    assert.strictEqual(choices[0].detail, 'No NVIDIA GPU found; 4 cores.');
    assert.deepStrictEqual(choices[0].action, { kind: 'download', model: q15, resumeFrom: 0 });
    // Every other catalogue entry appears once, in catalogue order.
    assert.deepStrictEqual(
      choices.slice(1, -1).map((c) => (c.action as { model: { id: string } }).model.id),
      MODEL_CATALOG.filter((m) => m.id !== q15.id).map((m) => m.id),
    );
    assert.deepStrictEqual(choices[choices.length - 1].action, { kind: 'pickFile' });
    // The one entry without a published digest says so.
    const q8 = choices.find((c) => c.label === q7q8.name)!;
    assert.strictEqual(q8.description, 'download 8.1 GB · checksum unknown');
  });

  it('offers downloaded files for use, partial ones for resuming, and marks the one in use', () => {
    const disk = (m: { id: string; file: string }): ModelOnDisk => {
      if (m.id === q15.id) return { path: `/store/models/${m.file}`, finished: true, partialBytes: 0 };
      if (m.id === q7q8.id) return { path: `/store/models/${m.file}`, finished: false, partialBytes: 2_000_000_000 };
      return nothing(m);
    };
    const choices = modelChoices(MODEL_CATALOG, disk, null, `/store/models/${q15.file}`);
    const inUse = choices.find((c) => c.action.kind === 'use')!;
    assert.strictEqual(inUse.label, q15.name, 'no star without a recommendation');
    assert.strictEqual(inUse.description, 'in use');
    assert.deepStrictEqual(inUse.action, { kind: 'use', model: q15, path: `/store/models/${q15.file}` });
    const resume = choices.find((c) => c.action.kind === 'download' && c.action.resumeFrom > 0)!;
    assert.strictEqual(resume.description, 'resume download: 2.0 GB of 8.1 GB done · checksum unknown');
    assert.strictEqual(choices[choices.length - 1].description, '', 'the model in use is already listed');
    // A hand-picked file in use is named on the file-picker entry.
    const custom = modelChoices(MODEL_CATALOG, nothing, null, '/home/me/my.gguf');
    assert.strictEqual(custom[custom.length - 1].description, 'in use: /home/me/my.gguf');
  });
});

describe('models: files on disk and download URLs', () => {
  let dir: string;
  beforeEach(() => {
    dir = modelsFolder(fs.mkdtempSync(path.join(os.tmpdir(), 'qwen-store-')));
    fs.mkdirSync(dir, { recursive: true });
  });
  afterEach(() => fs.rmSync(path.dirname(dir), { recursive: true, force: true }));

  it('tells finished, partial and missing downloads apart', () => {
    assert.deepStrictEqual(inspectModelOnDisk(dir, q15), { path: path.join(dir, q15.file), finished: false, partialBytes: 0 });
    fs.writeFileSync(path.join(dir, `${q15.file}.part`), Buffer.alloc(1234));
    assert.deepStrictEqual(inspectModelOnDisk(dir, q15), { path: path.join(dir, q15.file), finished: false, partialBytes: 1234 });
    fs.renameSync(path.join(dir, `${q15.file}.part`), path.join(dir, q15.file));
    assert.deepStrictEqual(inspectModelOnDisk(dir, q15), { path: path.join(dir, q15.file), finished: true, partialBytes: 0 });
    // A folder with the model's name is not a model.
    fs.mkdirSync(path.join(dir, q7q8.file));
    assert.strictEqual(inspectModelOnDisk(dir, q7q8).finished, false);
  });

  it('downloads from Hugging Face, or the same path under a mirror', () => {
    assert.strictEqual(downloadUrlFor(q15, undefined), q15.url);
    assert.strictEqual(downloadUrlFor(q15, '  '), q15.url);
    assert.strictEqual(
      downloadUrlFor(q15, 'http://127.0.0.1:8123/hf/'),
      'http://127.0.0.1:8123/hf/Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF/resolve/main/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf',
    );
    assert.throws(() => downloadUrlFor(q15, 'not a url'), /QWEN_LOCAL_MODEL_MIRROR is not a valid URL: 'not a url'/);
  });
});

describe('models: commands are declared', () => {
  it('declares in package.json every command the model manager registers', () => {
    const root = repoRoot();
    const source = fs.readFileSync(path.join(root, 'src', 'extension', 'models', 'model-manager.ts'), 'utf8');
    const registered = [...source.matchAll(/registerCommand\('([^']+)'/g)].map((m) => m[1]);
    assert.deepStrictEqual(registered.sort(), ['qwenLocal.chooseModel', 'qwenLocal.downloadModel']);
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { contributes: { commands: Array<{ command: string }> } };
    const declared = new Set(pkg.contributes.commands.map((c) => c.command));
    for (const id of registered) assert.ok(declared.has(id), `${id} is not in package.json contributes.commands`);
    const extension = fs.readFileSync(path.join(root, 'src', 'extension', 'extension.ts'), 'utf8');
    assert.match(extension, /\.\.\.models\.register\(\)/, 'extension.ts registers the model manager commands');
  });
});
