// scripts/gpu-check.sh on a machine without a GPU must stop at once with exit code 3, a message
// saying so and a JSON file recording it — never hang or pretend to have checked anything. (On a
// GPU machine the script is the 8-minute check itself and is run by hand, not by npm test.)
import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '../../..');
const SCRIPT = path.join(ROOT, 'scripts', 'gpu-check.sh');

function run(env: Record<string, string>, out: string) {
  const t0 = Date.now();
  const r = spawnSync('bash', [SCRIPT, out], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });
  return { status: r.status, stderr: r.stderr ?? '', ms: Date.now() - t0 };
}

describe('scripts/gpu-check.sh without a GPU', function () {
  this.timeout(120_000);
  let tmp: string;
  beforeEach(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'qwen-gpu-check-')); });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('no nvidia-smi on the PATH: exit 3 at once, saying so', () => {
    const bin = path.join(tmp, 'bin');
    fs.mkdirSync(bin);
    for (const tool of ['node', 'bash', 'dirname', 'mkdir', 'date', 'grep', 'head']) {
      const which = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
      if (which) fs.symlinkSync(which, path.join(bin, tool));
    }
    const out = path.join(tmp, 'check.json');
    const r = run({ PATH: bin }, out);
    assert.equal(r.status, 3, r.stderr);
    assert.match(r.stderr, /gpu-check: no usable NVIDIA GPU here: nvidia-smi not found .*Nothing was checked \(exit 3\)/);
    assert.ok(r.ms < 20_000, `took ${r.ms} ms`);
    assert.deepEqual(JSON.parse(fs.readFileSync(out, 'utf8')), { ok: false, gpu: false, reason: 'nvidia-smi not found (no NVIDIA driver)' });
  });

  it('an nvidia-smi that lists no GPU: exit 3', () => {
    const bin = path.join(tmp, 'bin');
    fs.mkdirSync(bin);
    fs.writeFileSync(path.join(bin, 'nvidia-smi'), '#!/bin/sh\necho "No devices were found"\nexit 6\n', { mode: 0o755 });
    const out = path.join(tmp, 'check.json');
    const r = run({ PATH: `${bin}:${process.env.PATH}` }, out);
    assert.equal(r.status, 3, r.stderr);
    assert.match(r.stderr, /nvidia-smi failed: No devices were found/);
    assert.equal(JSON.parse(fs.readFileSync(out, 'utf8')).gpu, false);
  });
});
