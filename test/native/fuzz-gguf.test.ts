// Runs a short pass of the GGUF parser + model loader fuzzer (scripts/fuzz-gguf.sh, built with g++
// under AddressSanitizer + UBSan) and checks its figures: no input crashed or failed without a
// clear error, the mutations both kept some model files loadable (so the forward pass was fuzzed)
// and broke others at the parser and at the loader, and every kept regression input still ends
// with the verdict and message recorded in native/fuzz/regressions/expected.txt.
// The full 100,000-file run is `scripts/fuzz-gguf.sh` by hand; CI runs 10,000 (seconds, after a
// build of a couple of minutes).
import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '../../..');
const ITERATIONS = 10_000;
const REGRESSIONS = path.join(ROOT, 'native/fuzz/regressions');

function have(tool: string): boolean {
  return spawnSync(tool, ['--version'], { stdio: 'ignore' }).status === 0;
}

interface Expectation {
  file: string;
  verdict: string;
  contains: string;
}

function readExpectations(): Expectation[] {
  return fs
    .readFileSync(path.join(REGRESSIONS, 'expected.txt'), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('#'))
    .map((line) => {
      const [file, verdict, contains] = line.split(' | ').map((s) => s.trim());
      return { file, verdict, contains };
    });
}

describe('GGUF parser and model loader fuzzing (ASan + UBSan)', function () {
  // Building the sanitized parser, kernels and model from scratch is most of the time.
  this.timeout(420_000);
  let stdout = '';

  before(function () {
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
    stdout = run.stdout;
  });

  it(`survives ${ITERATIONS} mutated and truncated files, each loaded or clearly rejected`, function () {
    const m =
      /fuzzed (\d+) files: (\d+) loaded and ran, (\d+) rejected by the model loader, (\d+) rejected by the GGUF parser, (\d+) distinct kinds of error, (\d+) crashes/.exec(
        stdout,
      );
    assert.ok(m, `no summary line in the fuzzer output:\n${stdout.slice(-4000)}`);
    const [files, ran, loaderRejected, parserRejected, kinds, crashes] = m.slice(1).map(Number);
    assert.equal(files, ITERATIONS);
    assert.equal(crashes, 0);
    assert.equal(ran + loaderRejected + parserRejected, files, 'every file must be loaded or rejected');
    // Coverage of each way out, with floors far below what the seeds give (about 11%, 7%, 80%),
    // so a change that made the mutations stop reaching a stage is noticed.
    assert.ok(ran > files * 0.03, `only ${ran} files loaded and ran: the forward pass is barely fuzzed`);
    assert.ok(loaderRejected > files * 0.02, `only ${loaderRejected} files reached the loader and were refused`);
    assert.ok(parserRejected > files * 0.3, `only ${parserRejected} files were refused by the parser`);
    assert.ok(kinds >= 20, `only ${kinds} kinds of error seen: the mutations are too narrow`);
  });

  it('replays every kept regression input with its recorded verdict', function () {
    const expectations = readExpectations();
    const files = fs.readdirSync(REGRESSIONS).filter((f) => f.endsWith('.gguf'));
    assert.deepEqual(
      files.slice().sort(),
      expectations.map((e) => e.file).sort(),
      'every regression file needs a line in expected.txt, and every line a file',
    );
    const summary = /replayed (\d+) files: .* (\d+) failures/.exec(stdout);
    assert.ok(summary, 'no replay summary in the fuzzer output');
    assert.equal(Number(summary[1]), files.length);
    assert.equal(Number(summary[2]), 0);
    for (const e of expectations) {
      const line = stdout.split('\n').find((l) => l.startsWith(path.join(REGRESSIONS, e.file) + ':'));
      assert.ok(line, `${e.file} was not replayed`);
      assert.ok(line.includes(`: ${e.verdict}`), `${e.file}: expected "${e.verdict}", got: ${line}`);
      assert.ok(line.includes(e.contains), `${e.file}: message should contain "${e.contains}", got: ${line}`);
    }
  });
});
