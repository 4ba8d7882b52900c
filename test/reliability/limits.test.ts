// Absurd settings and hostile model files, through the engine API and through the CLI: each must
// fail with a clear error naming the problem, before any work is done (no prompt evaluated, no
// weights mapped), and leave the process and an already loaded model working.
import { strict as assert } from 'assert';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { Model } from '../../src/engine/api';
import { generate } from '../../src/engine/generate';
import { loadModel } from '../../src/engine/model';
import { getTestModel, repoRoot } from '../helpers/models';
import { layerBytes, Qwen2Shape, writeOtherArchitecture, writeSparseQwen2, writeTruncatedCopy } from './crafted-gguf';

const CONTEXT = 64;
const CLI = path.join(repoRoot(), 'bin', 'qwen-local.js');

/** A 7B-like layer shape, repeated until the weights are 1.5 times this machine's RAM. */
function tooLargeShape(): Qwen2Shape {
  const base = { nEmbd: 4096, nHead: 32, nHeadKv: 8, nFf: 11008, nVocab: 32000, nLayer: 1 };
  return { ...base, nLayer: Math.ceil((1.5 * os.totalmem()) / layerBytes(base)) };
}

describe('limits: bad settings and bad model files', function () {
  this.timeout(300_000);
  let modelFile = '';
  let tmp = '';
  let tooLarge = '';
  let otherArch = '';
  let truncated = '';
  let model: Model;
  let prompt: number[] = [];
  let baseline: number[] = [];

  /** Greedy continuation of the fixed prompt: the model's health check after each refusal. */
  async function greedy(n: number): Promise<number[]> {
    const seq = model.createSequence();
    try {
      return (await generate(model, seq, prompt, { maxTokens: n, stopTokens: [] })).tokens;
    } finally {
      seq.dispose();
    }
  }

  before(async function () {
    modelFile = await getTestModel('tiny', 'f16');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'qwen-limits-'));
    tooLarge = path.join(tmp, 'too-large.gguf');
    const size = writeSparseQwen2(tooLarge, tooLargeShape());
    assert.ok(size > os.totalmem(), `the crafted model (${size} bytes) must claim more than the RAM`);
    assert.ok(fs.statSync(tooLarge).blocks * 512 < 16 << 20, 'the crafted model must be sparse on disk');
    otherArch = path.join(tmp, 'llama.gguf');
    writeOtherArchitecture(otherArch);
    truncated = path.join(tmp, 'truncated.gguf');
    writeTruncatedCopy(modelFile, truncated, 1 << 20);

    model = await loadModel(modelFile, { threads: 1, contextSize: CONTEXT });
    prompt = model.tokenizer.encode('def fibonacci(n):');
    baseline = await greedy(4);
    assert.equal(baseline.length, 4);
  });

  after(async function () {
    if (model) await model.dispose();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  describe('engine API', function () {
    const badLoads: [string, Record<string, unknown>, RegExp][] = [
      ['negative threads', { threads: -1 }, /threads must be an integer from 0 \(automatic\) to 256, got -1/],
      ['a million threads', { threads: 1e6 }, /threads must be an integer from 0 \(automatic\) to 256, got 1000000/],
      ['fractional threads', { threads: 1.5 }, /threads must be an integer .* got 1\.5/],
      ['a context of 10^9 tokens', { contextSize: 1e9 }, /contextSize 1000000000 is far beyond what this model was trained for \(32768 tokens\)/],
      ['a zero context', { contextSize: 0 }, /contextSize must be an integer of at least 16 tokens, got 0/],
      ['an unknown device', { device: 'tpu' }, /device must be 'auto', 'cpu' or 'cuda', got 'tpu'/],
    ];
    for (const [what, opts, message] of badLoads) {
      it(`refuses ${what} before loading`, async function () {
        await assert.rejects(loadModel(modelFile, opts), message);
      });
    }

    it('takes threads 0 as "pick for me" and loads with at least one thread', async function () {
      const m = await loadModel(modelFile, { threads: 0, contextSize: CONTEXT });
      try {
        const threads = Number(/(\d+) threads?/.exec(m.info.backend)?.[1]);
        assert.ok(threads >= 1 && threads <= os.cpus().length, `backend "${m.info.backend}"`);
      } finally {
        await m.dispose();
      }
    });

    it('refuses a model larger than memory before mapping it, without growing the process', async function () {
      const rssBefore = process.memoryUsage().rss;
      const t0 = Date.now();
      await assert.rejects(loadModel(tooLarge, { threads: 1 }), (e: Error) => {
        assert.match(e.message, /too-large\.gguf: the model needs [\d.]+ GiB of memory \([\d.]+ GiB of weights/);
        assert.match(e.message, /more than this machine can give it \([\d.]+ GiB of RAM\)/);
        return true;
      });
      assert.ok(Date.now() - t0 < 10_000, 'the refusal must come from the header, not from reading weights');
      assert.ok(process.memoryUsage().rss - rssBefore < 256 << 20, 'the refused model must not have been read into memory');
    });

    it('refuses a GGUF of another architecture, naming both', async function () {
      await assert.rejects(loadModel(otherArch), /llama\.gguf: architecture is 'llama', but only 'qwen2' \(Qwen2\.5 \/ Qwen2\.5-Coder\) is supported/);
    });

    it('refuses a truncated model file, naming the file', async function () {
      await assert.rejects(loadModel(truncated), /truncated\.gguf: truncated/);
    });

    it('refuses a missing file and a directory', async function () {
      await assert.rejects(loadModel(path.join(tmp, 'absent.gguf')), /absent\.gguf: no such file/);
      await assert.rejects(loadModel(tmp), /is a directory, not a GGUF file/);
    });

    it('refuses a prompt longer than the context before evaluating anything', async function () {
      const seq = model.createSequence();
      try {
        const long = Array.from({ length: model.info.contextSize + 1 }, (_, i) => prompt[i % prompt.length]);
        const usedBefore = model.kvUsage().used;
        await assert.rejects(
          generate(model, seq, long, { maxTokens: 1 }),
          new RegExp(`the prompt has ${long.length} tokens, but the context holds only ${model.info.contextSize}`),
        );
        assert.equal(seq.tokens.length, 0, 'no token may have been evaluated');
        assert.equal(model.kvUsage().used, usedBefore, 'the KV cache must be untouched');
      } finally {
        seq.dispose();
      }
    });

    const badSampling: [string, Record<string, number>, RegExp][] = [
      ['a negative temperature', { temperature: -0.5 }, /temperature must be a number from 0 to 100, got -0\.5/],
      ['a NaN temperature', { temperature: NaN }, /temperature must be a number from 0 to 100, got NaN/],
      ['top_p above 1', { topP: 1.5 }, /topP must be a number from 0 to 1, got 1\.5/],
      ['a negative top_k', { topK: -3 }, /topK must be an integer from 0 to 10000000, got -3/],
      ['a fractional seed', { seed: 0.5 }, /seed must be an integer/],
    ];
    for (const [what, sampling, message] of badSampling) {
      it(`refuses ${what} before evaluating the prompt`, async function () {
        const seq = model.createSequence();
        try {
          await assert.rejects(generate(model, seq, prompt, { maxTokens: 2, sampling }), message);
          assert.equal(seq.tokens.length, 0, 'the prompt must not have been evaluated');
        } finally {
          seq.dispose();
        }
      });
    }

    it('still generates exactly what it did before all the refusals', async function () {
      assert.deepEqual(await greedy(4), baseline);
    });
  });

  describe('CLI (qwen-local run)', function () {
    /** Runs the CLI; a refusal is exit code 1, one line on stderr, no stack trace, no signal. */
    function refuses(args: string[], message: RegExp): void {
      const r = spawnSync(process.execPath, [CLI, 'run', ...args], { encoding: 'utf8', timeout: 120_000 });
      assert.equal(r.signal, null, `killed by ${r.signal}: ${r.stderr}`);
      assert.equal(r.status, 1, `exit ${r.status}; stderr: ${r.stderr}`);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, `one line of error expected, got:\n${r.stderr}`);
      assert.match(lines[0], /^qwen-local: /);
      assert.match(lines[0], message);
      assert.equal(r.stdout, '', 'nothing may be generated');
    }
    const model = (): string[] => ['--model', modelFile, '--prompt', 'def add(a, b):', '-n', '2'];

    it('refuses negative threads', () => refuses([...model(), '--threads', '-1'], /--threads must be at least 0, got -1/));
    it('refuses a million threads', () => refuses([...model(), '--threads', '1000000'], /--threads must be at most 256, got 1000000/));
    it('refuses a context of 10^9 tokens', () =>
      refuses([...model(), '--ctx', '1000000000'], /contextSize 1000000000 is far beyond what this model was trained for/));
    it('refuses a negative temperature', () => refuses([...model(), '--temp', '-1'], /--temp must be at least 0, got -1/));
    it('refuses top-p above 1', () => refuses([...model(), '--top-p', '1.5'], /--top-p must be at most 1, got 1\.5/));
    it('refuses a prompt over the context', () =>
      refuses(['--model', modelFile, '--ctx', '16', '--prompt', 'word '.repeat(200)], /the prompt has \d+ tokens, but the context holds only 32/));
    it('refuses a model larger than memory', () => refuses(['--model', tooLarge, '--prompt', 'x'], /too-large\.gguf: the model needs [\d.]+ GiB of memory/));
    it('refuses another architecture', () => refuses(['--model', otherArch, '--prompt', 'x'], /architecture is 'llama'/));
    it('refuses a truncated file', () => refuses(['--model', truncated, '--prompt', 'x'], /truncated\.gguf: truncated/));

    it('runs with threads 0 (automatic)', function () {
      const r = spawnSync(process.execPath, [CLI, 'run', ...model(), '--threads', '0', '--quiet'], { encoding: 'utf8', timeout: 120_000 });
      assert.equal(r.status, 0, r.stderr);
      assert.ok(r.stdout.length > 0, 'some text must be generated');
    });
  });
});
