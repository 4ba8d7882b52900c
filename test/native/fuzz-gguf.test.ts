// Runs a short pass of the GGUF mutation fuzzer (scripts/fuzz-gguf.sh, built with g++ under
// AddressSanitizer + UBSan) and checks that no input crashed and that the mutations both kept
// some files valid and broke others, so the parser's accept and reject paths were both covered.
// The full 100,000-file run is `scripts/fuzz-gguf.sh` by hand; CI runs 3,000 to stay quick.
import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '../../..');
const ITERATIONS = 3000;

function have(tool: string): boolean {
  return spawnSync(tool, ['--version'], { stdio: 'ignore' }).status === 0;
}

describe('GGUF parser fuzzing (ASan + UBSan)', function () {
  // Building the sanitized parser and type table from scratch is most of the time.
  this.timeout(240_000);

  it(`survives ${ITERATIONS} mutated and truncated files`, function () {
    const missing = ['cmake', process.env.CXX ?? 'g++'].filter((t) => !have(t));
    if (missing.length > 0) {
      console.log(`      skipped: ${missing.join(', ')} not found, cannot build the fuzzer`);
      this.skip();
    }
    const run = spawnSync('bash', [path.join(ROOT, 'scripts/fuzz-gguf.sh'), String(ITERATIONS)], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, FUZZ_SEED: '12345' },
      maxBuffer: 64 * 1024 * 1024,
    });
    const output = `${run.stdout}\n${run.stderr}`;
    assert.equal(run.status, 0, `fuzz-gguf.sh exited with ${run.status} (signal ${run.signal}):\n${output.slice(-4000)}`);

    const m = /fuzzed (\d+) files: (\d+) parsed, (\d+) rejected with GgufError, (\d+) crashes/.exec(run.stdout);
    assert.ok(m, `no summary line in the fuzzer output:\n${output.slice(-4000)}`);
    const [files, parsed, rejected, crashes] = m.slice(1).map(Number);
    assert.equal(files, ITERATIONS);
    assert.equal(crashes, 0);
    assert.equal(parsed + rejected, files, 'every file must be either parsed or rejected');
    assert.ok(parsed > 0, 'no mutated file parsed: the mutations are too destructive to test acceptance');
    assert.ok(rejected > 0, 'no mutated file was rejected: the mutations did nothing');
  });
});
