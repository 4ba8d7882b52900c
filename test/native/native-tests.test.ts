// Runs the native C++ unit tests (native/tests/*.cpp, one executable `qwen_native_tests`) and
// reports each of them as its own mocha test. The executable is built by `npm install` (cmake-js
// builds every target into build/native), so a missing binary is a failure, not a skip.
//
// The binary runs once (in `before`): it prints `ok NAME` or `FAIL NAME: why` per test, with any
// diagnostic lines a test prints just before its result line. Each mocha test then checks its own
// line, so one run covers all native tests and a crash shows up as the tests that never reported.
import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '../../..');
const EXE_NAME = process.platform === 'win32' ? 'qwen_native_tests.exe' : 'qwen_native_tests';

/** The places the executable may be: $QWEN_NATIVE_TESTS first, then cmake-js's output folders. */
function candidates(): string[] {
  const list: string[] = [];
  if (process.env.QWEN_NATIVE_TESTS) list.push(path.resolve(process.env.QWEN_NATIVE_TESTS));
  list.push(path.join(ROOT, 'build', 'native', 'Release', EXE_NAME), path.join(ROOT, 'build', 'native', EXE_NAME));
  return list;
}

function findExecutable(): string | null {
  return candidates().find((p) => fs.existsSync(p)) ?? null;
}

interface NativeResult {
  passed: boolean;
  /** The result line and the diagnostic lines the test printed before it. */
  text: string;
}

/** Splits the run's stdout into per-test results keyed by test name. */
function parseRun(stdout: string): Map<string, NativeResult> {
  const results = new Map<string, NativeResult>();
  let pending: string[] = [];
  for (const line of stdout.split('\n')) {
    const m = /^(ok|FAIL) ([A-Za-z0-9_]+)(?::|$)/.exec(line);
    if (!m) {
      if (line.trim() !== '') pending.push(line);
      continue;
    }
    pending.push(line);
    results.set(m[2], { passed: m[1] === 'ok', text: pending.join('\n') });
    pending = [];
  }
  return results;
}

const exe = findExecutable();

describe('native C++ unit tests (qwen_native_tests)', function () {
  this.timeout(600_000);

  if (!exe) {
    it('the qwen_native_tests executable exists', function () {
      assert.fail(
        `qwen_native_tests was not found; looked in:\n  ${candidates().join('\n  ')}\n` +
          'Build it with `npm run build:native` (npm install does this), or point $QWEN_NATIVE_TESTS at it.',
      );
    });
    return;
  }

  const listed = spawnSync(exe, ['--list'], { encoding: 'utf8' });
  const names = (listed.stdout ?? '').split('\n').map((s) => s.trim()).filter((s) => s !== '');

  it('lists its tests', function () {
    assert.equal(listed.status, 0, `${exe} --list exited with ${listed.status} ${listed.signal ?? ''}\n${listed.stderr}`);
    assert.ok(names.length > 0, `${exe} --list printed no test names`);
    assert.equal(new Set(names).size, names.length, 'two native tests share a name');
  });

  let run: { status: number | null; signal: string | null; stdout: string; stderr: string } | null = null;
  let results = new Map<string, NativeResult>();

  before(function () {
    const r = spawnSync(exe, [], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 540_000 });
    run = { status: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
    results = parseRun(run.stdout);
  });

  for (const name of names) {
    it(name, function () {
      const result = results.get(name);
      if (!result) {
        // The binary stopped (crash, abort, timeout) before this test reported.
        const tail = `${run?.stdout ?? ''}\n${run?.stderr ?? ''}`.slice(-6000);
        assert.fail(`${name} never reported a result: qwen_native_tests exited with status ${run?.status} ` +
          `signal ${run?.signal}. Output tail:\n${tail}`);
      }
      assert.ok(result.passed, `native test failed:\n${result.text}`);
      // A test that could not run here (the CUDA tests without a GPU) prints `SKIP <reason>` and
      // returns: report it as skipped, with its reason, rather than as a pass.
      const skipLine = result.text.split('\n').find((line) => line.startsWith('SKIP '));
      if (skipLine) {
        console.log(`      skipped ${name}: ${skipLine.slice(5)}`);
        this.skip();
      }
    });
  }

  it('the whole run exits 0 exactly when every test passed', function () {
    assert.ok(run, 'the native tests did not run');
    const failed = [...results.values()].filter((r) => !r.passed).length;
    assert.equal(run.status === 0, failed === 0 && results.size === names.length,
      `exit status ${run.status} but ${failed} failed and ${results.size}/${names.length} reported\n${run.stderr.slice(-2000)}`);
  });
});
