// Model, Sequence and generate() on the tiny synthetic model: prefix reuse, determinism,
// cancellation, stop strings, and the queue that lets evals from several sequences overlap.
import * as assert from 'assert';
import type { Model } from '../../src/engine/api';
import { generate } from '../../src/engine/generate';
import { loadTiny, maxAbsDiff } from './fixtures';

/** Logits of the same prefix computed two ways should agree to float rounding. */
const LOGIT_TOLERANCE = 1e-3;

describe('engine: model, sequences and generate', function () {
  this.timeout(180000);
  let model: Model;
  let prompt: number[];

  before(async () => {
    model = await loadTiny(2048);
    prompt = model.tokenizer.encode('def fibonacci(n):\n    """Return the n-th Fibonacci number."""\n', { special: true });
  });
  after(async () => {
    if (model) await model.dispose();
  });

  it('describes the model', () => {
    const i = model.info;
    assert.deepStrictEqual([i.architecture, i.nEmbd, i.nLayer, i.nHead, i.nHeadKv, i.nFf, i.nVocab], ['qwen2', 256, 2, 4, 2, 768, 151936]);
    assert.strictEqual(i.contextSize, 2048);
    assert.strictEqual(i.device, 'cpu');
    assert.ok(i.parameterCount > 151936 * 256, `parameterCount ${i.parameterCount}`);
    assert.ok(!('tokenizer.ggml.tokens' in model.metadata), 'vocabulary arrays should be left out of metadata');
  });

  it('greedy generation is deterministic', async () => {
    const a = await generate(model, model.createSequence(), prompt, { maxTokens: 12 });
    const b = await generate(model, model.createSequence(), prompt, { maxTokens: 12 });
    assert.strictEqual(a.tokens.length, 12);
    assert.deepStrictEqual(a.tokens, b.tokens);
    assert.strictEqual(a.text, b.text);
    assert.strictEqual(a.stopReason, 'maxTokens');
    assert.strictEqual(a.cachedTokens, 0);
    assert.strictEqual(a.evaluatedTokens, prompt.length);
  });

  it('reuses the cached prefix and evaluates only the new tokens', async () => {
    const seq = model.createSequence();
    const first = await generate(model, seq, prompt, { maxTokens: 4 });
    // Same prompt again: everything but the last prompt token is reused.
    const again = await generate(model, seq, prompt, { maxTokens: 4 });
    assert.strictEqual(again.cachedTokens, prompt.length - 1);
    assert.strictEqual(again.evaluatedTokens, 1);
    assert.deepStrictEqual(again.tokens, first.tokens);
    // The prompt plus one token: only that token (at most it and the one before) is evaluated.
    const longer = [...prompt, model.tokenizer.encode(' x')[0]];
    const extended = await generate(model, seq, longer, { maxTokens: 4 });
    assert.ok(extended.evaluatedTokens >= 1 && extended.evaluatedTokens <= 2, `evaluated ${extended.evaluatedTokens}`);
    assert.strictEqual(extended.cachedTokens + extended.evaluatedTokens, longer.length);
    // And the reused cache gives what a fresh sequence gives.
    const fresh = await generate(model, model.createSequence(), longer, { maxTokens: 4 });
    assert.deepStrictEqual(extended.tokens, fresh.tokens);
    seq.dispose();
  });

  it('cancelling mid-prefill rejects with AbortError and keeps a valid prefix', async () => {
    const long: number[] = [];
    while (long.length < 1500) long.push(...prompt);
    long.length = 1500;
    const seq = model.createSequence();
    const controller = new AbortController();
    const pending = seq.eval(long, { logits: 'last', signal: controller.signal });
    setImmediate(() => controller.abort());
    await assert.rejects(pending, (e: Error) => e.name === 'AbortError');
    const kept = seq.tokens.length;
    assert.ok(kept < long.length, `the whole prompt (${kept}) was evaluated before the abort landed`);
    assert.deepStrictEqual(seq.tokens, long.slice(0, kept));
    // The kept prefix is valid cache: finishing the prompt gives the same logits as one pass.
    const rest = (await seq.eval(long.slice(kept, 300 > kept ? 300 : kept + 1), { logits: 'last' })) as Float32Array;
    const ref = model.createSequence();
    const whole = (await ref.eval(long.slice(0, seq.tokens.length), { logits: 'last' })) as Float32Array;
    assert.ok(maxAbsDiff(rest, whole) < LOGIT_TOLERANCE, `logits differ by ${maxAbsDiff(rest, whole)}`);
    seq.dispose();
    ref.dispose();
  });

  it('an already-aborted signal rejects without touching the sequence', async () => {
    const seq = model.createSequence();
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(seq.eval(prompt, { signal: controller.signal }), (e: Error) => e.name === 'AbortError');
    assert.strictEqual(seq.tokens.length, 0);
    seq.dispose();
  });

  it('stop strings cut the text, also when streamed', async () => {
    const plain = await generate(model, model.createSequence(), prompt, { maxTokens: 24 });
    assert.ok(plain.text.length >= 6, `too little text to pick a stop string from: ${JSON.stringify(plain.text)}`);
    const at = Math.floor(plain.text.length / 2);
    const stop = plain.text.slice(at, at + 2);
    const cutAt = plain.text.indexOf(stop);
    const streamed: string[] = [];
    const r = await generate(model, model.createSequence(), prompt, {
      maxTokens: 24,
      stopStrings: [stop],
      onText: (t) => {
        streamed.push(t);
      },
    });
    assert.strictEqual(r.stopReason, 'stopString');
    assert.strictEqual(r.text, plain.text.slice(0, cutAt));
    assert.strictEqual(streamed.join(''), r.text);
  });

  it('stops when onText returns false', async () => {
    let calls = 0;
    const r = await generate(model, model.createSequence(), prompt, {
      maxTokens: 20,
      onText: () => {
        calls++;
        return calls < 3 ? undefined : false;
      },
    });
    assert.strictEqual(r.stopReason, 'callerStop');
    assert.strictEqual(calls, 3);
  });

  it('queues evals of several sequences instead of failing', async () => {
    const a = model.createSequence();
    const b = model.createSequence();
    const [la, lb] = await Promise.all([a.eval(prompt, { logits: 'last' }), b.eval(prompt, { logits: 'last' })]);
    assert.ok(la && lb);
    assert.ok(maxAbsDiff(la, lb) < LOGIT_TOLERANCE);
    assert.strictEqual(a.tokens.length, prompt.length);
    assert.strictEqual(b.tokens.length, prompt.length);
    a.dispose();
    b.dispose();
  });

  it('rejects bad tokens with a clear error', async () => {
    const seq = model.createSequence();
    await assert.rejects(seq.eval([1, 151936]), /token 151936 at index 1 is not a token id in \[0, 151936\)/);
    await assert.rejects(seq.eval([]), /no tokens to evaluate/);
    assert.throws(() => seq.sample({}), /no evaluated tokens/);
    seq.dispose();
  });
});
