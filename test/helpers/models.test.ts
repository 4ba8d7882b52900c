// The test-model cache: two processes asking for the same (not yet generated) model at the same
// moment get the same file, written once, and no temporary or lock files are left behind.
import * as assert from 'assert';
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { promisify } from 'util';
import { testModelDir } from './models';

const run = promisify(execFile);

describe('test models: getTestModel cache and lock', function () {
  this.timeout(5 * 60 * 1000);
  // A seed no other test uses, so this test really generates.
  const seed = 4242;
  const file = path.join(testModelDir(), `tiny-f16-s${seed}.gguf`);

  const cleanup = () => {
    for (const f of [file, `${file}.stamp`]) fs.rmSync(f, { force: true });
    fs.rmSync(`${file}.lock`, { recursive: true, force: true });
  };
  before(cleanup);
  after(cleanup);

  it('two concurrent processes get one generated file', async () => {
    const helper = path.join(__dirname, 'models.js');
    const script =
      `require(${JSON.stringify(helper)}).getTestModel('tiny', 'F16', { seed: ${seed} })` +
      `.then((p) => { const s = require('fs').statSync(p); console.log(JSON.stringify({ p, ino: s.ino, mtime: s.mtimeMs })); })` +
      `.catch((e) => { console.error(e); process.exit(1); });`;
    const [a, b] = await Promise.all([run(process.execPath, ['-e', script]), run(process.execPath, ['-e', script])]);
    const ra = JSON.parse(a.stdout.trim()),
      rb = JSON.parse(b.stdout.trim());
    assert.strictEqual(ra.p, file);
    assert.strictEqual(rb.p, file);
    // A second generation would have renamed a new file over the first: a different inode.
    assert.strictEqual(ra.ino, rb.ino, 'the model was generated twice');
    assert.ok(fs.existsSync(`${file}.stamp`));
    assert.ok(!fs.existsSync(`${file}.lock`), 'lock directory left behind');
    const leftovers = fs.readdirSync(testModelDir()).filter((f) => f.startsWith(path.basename(file)) && f.includes('.tmp-'));
    assert.deepStrictEqual(leftovers, []);
  });
});
