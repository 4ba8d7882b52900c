// The qwen-local CLI run as a user runs it (node bin/qwen-local.js): user errors give exit code 1
// and one `qwen-local: <message>` line without a stack; logits, tokenize, run, perplexity and
// bench produce what they promise on the tiny model.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadModel } from '../../src/engine/model';
import { runCli, tinyModelPath } from './fixtures';

function assertUserError(r: { code: number | null; stderr: string }, message: RegExp): void {
  assert.strictEqual(r.code, 1, `exit code ${r.code}, stderr: ${r.stderr}`);
  assert.match(r.stderr, /^qwen-local: /);
  assert.match(r.stderr, message);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'a stack trace was printed');
}

describe('cli: qwen-local', function () {
  this.timeout(180000);
  let tiny: string;
  let tmp: string;

  before(async () => {
    tiny = await tinyModelPath();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'qwen-cli-'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  describe('user errors', () => {
    it('a missing model file', async () => {
      const missing = path.join(tmp, 'nope.gguf');
      assertUserError(await runCli(['info', '--model', missing]), new RegExp(`${missing.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: no such file`));
    });

    it('a file that is not GGUF', async () => {
      const bogus = path.join(tmp, 'bogus.gguf');
      fs.writeFileSync(bogus, 'definitely not a gguf file, only text');
      const r = await runCli(['run', '--model', bogus, '--prompt', 'hi']);
      assertUserError(r, /bogus\.gguf/);
    });

    it('bad options', async () => {
      assertUserError(await runCli(['run', '--model', tiny, '--prompt', 'x', '--threads', 'many']), /--threads expects a number, got 'many'/);
      assertUserError(await runCli(['run', '--model', tiny, '--prompt', 'x', '-n', '-5']), /--n-predict must be at least 0/);
      assertUserError(await runCli(['run', '--model', tiny, '--prompt', 'x', '--ctx', '1000000000']), /contextSize 1000000000 is far beyond/);
      assertUserError(await runCli(['run', '--model', tiny]), /give exactly one of --prompt or --file/);
      assertUserError(await runCli(['info']), /missing required option --model/);
      assertUserError(await runCli(['frobnicate']), /unknown command 'frobnicate'/);
      assertUserError(await runCli(['tokenize', '--model', tiny, '--text', 'a', '--bogus']), /unknown option '--bogus'/);
      assertUserError(
        await runCli(['logits', '--model', tiny, '--tokens', path.join(tmp, 'none.json'), '--out', path.join(tmp, 'o.f32')]),
        /none\.json: no such file/,
      );
    });
  });

  it('tokenize prints the token ids as JSON', async () => {
    const r = await runCli(['tokenize', '--model', tiny, '--text', '<|im_start|>user\nhello world', '--special']);
    assert.strictEqual(r.code, 0, r.stderr);
    const ids = JSON.parse(r.stdout) as number[];
    assert.strictEqual(ids[0], 151644);
    const plain = JSON.parse((await runCli(['tokenize', '--model', tiny, '--text', '<|im_start|>'])).stdout) as number[];
    assert.ok(!plain.includes(151644), 'without --special the marker must be plain text');
  });

  it('logits writes [n x vocab] float32 rows equal to Sequence.eval', async () => {
    const tokens = [785, 3974, 13876, 38835, 34208, 916, 279, 15678, 5562, 13];
    const tokFile = path.join(tmp, 'tokens.json');
    const outFile = path.join(tmp, 'logits.f32');
    fs.writeFileSync(tokFile, JSON.stringify(tokens));
    const r = await runCli(['logits', '--model', tiny, '--tokens', tokFile, '--out', outFile, '--threads', '1']);
    assert.strictEqual(r.code, 0, r.stderr);
    const bytes = fs.readFileSync(outFile);
    const nVocab = 151936;
    assert.strictEqual(bytes.length, tokens.length * nVocab * 4);
    const fromCli = new Float32Array(bytes.buffer, bytes.byteOffset, tokens.length * nVocab);
    const model = await loadModel(tiny, { threads: 1, contextSize: 64 });
    try {
      const rows = (await model.createSequence().eval(tokens, { logits: 'all' })) as Float32Array;
      let worst = 0;
      for (let i = 0; i < rows.length; i++) worst = Math.max(worst, Math.abs(rows[i] - fromCli[i]));
      assert.ok(worst < 1e-4, `CLI logits differ from Sequence.eval by ${worst}`);
    } finally {
      await model.dispose();
    }
  });

  it('run streams greedy text and is repeatable', async () => {
    const args = ['run', '--model', tiny, '--prompt', 'Once upon a time', '-n', '8', '--threads', '1', '--quiet'];
    const a = await runCli(args);
    const b = await runCli(args);
    assert.strictEqual(a.code, 0, a.stderr);
    assert.ok(a.stdout.length > 1, 'no text generated');
    assert.strictEqual(a.stdout, b.stdout);
  });

  it('perplexity scores chunks and ends with `perplexity: X`', async () => {
    const text = fs.readFileSync(path.join(__dirname, '..', '..', '..', 'src', 'engine', 'generate.ts'), 'utf8');
    const file = path.join(tmp, 'text.txt');
    fs.writeFileSync(file, text);
    const r = await runCli(['perplexity', '--model', tiny, '--file', file, '--ctx', '64', '--chunks', '3', '--threads', '1']);
    assert.strictEqual(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.strictEqual(lines.filter((l) => /^\[\d+\] chunk /.test(l)).length, 3);
    const m = /^perplexity: (\d+(\.\d+)?)$/.exec(lines[lines.length - 1]);
    assert.ok(m, `last line: ${lines[lines.length - 1]}`);
    // Random weights over a 151936-token vocabulary: far from certain, far from uniform nonsense.
    const ppl = Number(m[1]);
    assert.ok(ppl > 1 && ppl < 151936 * 100, `perplexity ${ppl}`);
  });

  it('bench reports pp and tg speeds as JSON', async () => {
    const r = await runCli(['bench', '--model', tiny, '-p', '32', '-n', '4', '--reps', '2', '--threads', '1', '--json']);
    assert.strictEqual(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as {
      results: Array<{ test: string; mean: number; tokensPerSecond: number[] }>;
      peakRssBytes: number;
      loadToFirstTokenMs: number;
    };
    assert.deepStrictEqual(
      out.results.map((x) => x.test),
      ['pp32', 'tg4'],
    );
    assert.ok(out.loadToFirstTokenMs > 0 && Number.isFinite(out.loadToFirstTokenMs), `loadToFirstTokenMs ${out.loadToFirstTokenMs}`);
    for (const x of out.results) {
      assert.strictEqual(x.tokensPerSecond.length, 2);
      assert.ok(x.mean > 0 && Number.isFinite(x.mean));
    }
    assert.ok(out.peakRssBytes > 1e6);
  });

  it('bench takes a list of batch sizes, one pp test each, and rejects a malformed list', async () => {
    const r = await runCli(['bench', '--model', tiny, '-p', '8,3', '-n', '0', '--reps', '1', '--threads', '1', '--json']);
    assert.strictEqual(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { results: Array<{ test: string; tokens: number; mean: number }> };
    assert.deepStrictEqual(
      out.results.map((x) => [x.test, x.tokens]),
      [
        ['pp8', 8],
        ['pp3', 3],
      ],
    );
    for (const x of out.results) assert.ok(x.mean > 0 && Number.isFinite(x.mean));
    const bad = await runCli(['bench', '--model', tiny, '-p', '8,,x', '-n', '0']);
    assert.notStrictEqual(bad.code, 0);
    assert.match(bad.stderr, /n-prompt expects whole numbers/);
  });
});
