// The native unit tests again, built with AddressSanitizer + UBSan (scripts/test-asan.sh, the same
// script `npm run test:asan` runs), so CI catches memory errors and undefined behaviour that a
// passing optimized build can hide. The sanitized build must run every test the normal build has
// and report nothing.
import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '../../..');
const NORMAL_TESTS = path.join(ROOT, 'build', 'native', 'qwen_native_tests');

describe('native C++ unit tests under AddressSanitizer + UBSan', function () {
  // A clean sanitized build of the engine takes a few minutes on a 2-core machine.
  this.timeout(20 * 60_000);

  it('builds, runs every native test and reports no sanitizer error', function () {
    const run = spawnSync('bash', [path.join(ROOT, 'scripts', 'test-asan.sh')], { cwd: ROOT, encoding: 'utf8' });
    const out = `${run.stdout ?? ''}${run.stderr ?? ''}`;
    const summary = /test-asan: (\d+) native tests passed, (\d+) failed, (\d+) sanitizer reports, exit (\d+)/.exec(out);
    assert.ok(summary, `scripts/test-asan.sh printed no summary (exit ${run.status}):\n${out.slice(-4000)}`);
    const [passed, failed, reports] = summary.slice(1, 4).map(Number);
    assert.equal(failed, 0, `native tests failed under the sanitizers:\n${out.slice(-4000)}`);
    assert.equal(reports, 0, `sanitizer reports:\n${out.slice(-4000)}`);
    assert.equal(run.status, 0, `scripts/test-asan.sh exited ${run.status}:\n${out.slice(-4000)}`);

    // Every test of the normal build ran (the sanitized build has the same test sources; the
    // CUDA tests exist only where the normal build compiled CUDA).
    assert.ok(fs.existsSync(NORMAL_TESTS), `${NORMAL_TESTS} is missing: run npm run build:native`);
    const list = spawnSync(NORMAL_TESTS, ['--list'], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l.trim() !== '');
    const cpuTests = list.filter((name) => !name.startsWith('cuda'));
    assert.ok(cpuTests.length > 20, `qwen_native_tests --list gave only ${cpuTests.length} tests`);
    assert.ok(passed >= cpuTests.length, `only ${passed} of ${cpuTests.length} native tests ran under the sanitizers`);
  });
});
