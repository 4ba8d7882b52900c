// Speculative decoding on the real native engine: the output must be token for token that of
// plain greedy decoding, and the KV cache must end as plain decoding leaves it (rejected draft
// tokens cut). The prompt is repetitive code, so the lookup drafter has matches to propose; the
// random-weight model rejects most of them and, once its output starts to repeat itself, accepts
// some, so both paths of the verify step run.
import * as assert from 'assert';
import type { Model } from '../../src/engine/api';
import { loadModel } from '../../src/engine/model';
import { generate } from '../../src/engine/generate';
import { getTestModel } from '../helpers/models';

const CODE = Array.from({ length: 6 }, (_, i) => `def f${i}(x):\n    return x * ${i} + f${i}(x - 1)\n\n`).join('') + 'def f6(x):\n    return';

for (const type of ['F32', 'Q4_K_M']) {
  describe(`engine: speculative decoding equals greedy decoding (tiny ${type})`, function () {
    this.timeout(300000);
    let model: Model;
    let prompt: number[];

    before(async () => {
      model = await loadModel(await getTestModel('tiny', type), { threads: 1, contextSize: 1024, device: 'cpu' });
      prompt = model.tokenizer.encode(CODE, { special: false });
    });
    after(async () => {
      if (model) await model.dispose();
    });

    it('gives the same tokens, drafts that are both accepted and rejected, and the same cache', async () => {
      const plainSeq = model.createSequence();
      const specSeq = model.createSequence();
      const plain = await generate(model, plainSeq, prompt, { maxTokens: 96 });
      const spec = await generate(model, specSeq, prompt, { maxTokens: 96, speculative: { maxDraft: 8 } });
      assert.deepStrictEqual(spec.tokens, plain.tokens);
      assert.strictEqual(spec.text, plain.text);
      assert.strictEqual(spec.stopReason, plain.stopReason);
      assert.ok(spec.draftTokens > 0, 'the drafter proposed tokens');
      assert.ok(spec.acceptedDraftTokens > 0, `some drafts were accepted (${spec.acceptedDraftTokens} of ${spec.draftTokens})`);
      assert.ok(spec.acceptedDraftTokens < spec.draftTokens, `some drafts were rejected (${spec.acceptedDraftTokens} of ${spec.draftTokens})`);
      assert.ok(spec.decodeEvals < plain.decodeEvals, `fewer evals (${spec.decodeEvals} vs ${plain.decodeEvals})`);
      // Rejected draft tokens are gone: the cache holds the prompt and the chosen tokens, as after plain decoding.
      assert.deepStrictEqual(specSeq.tokens, plainSeq.tokens);
      assert.deepStrictEqual(specSeq.tokens, [...prompt, ...plain.tokens.slice(0, -1)]);
      // And that cache is sound: continuing from it gives what a fresh sequence gives.
      const more = [...prompt, ...plain.tokens];
      const resumed = await generate(model, specSeq, more, { maxTokens: 8 });
      const fresh = await generate(model, model.createSequence(), more, { maxTokens: 8 });
      assert.deepStrictEqual(resumed.tokens, fresh.tokens);
      plainSeq.dispose();
      specSeq.dispose();
    });

    it('stops where greedy decoding stops: maxTokens, stop tokens, stop strings and the caller, also inside a draft', async () => {
      const plain = await generate(model, model.createSequence(), prompt, { maxTokens: 24 });
      // Every end from the 6th to the 20th token: the random model's output repeats itself there,
      // so several of these ends fall inside a verified draft.
      // (maxTokens itself never ends inside a draft: drafts stop short of the last allowed token.)
      const cases: Array<{ maxTokens: number; stopTokens?: number[]; stopStrings?: string[]; callerStopAfter?: number }> = [];
      for (let n = 6; n <= 20; n++) {
        cases.push({ maxTokens: n });
        cases.push({ maxTokens: 24, stopTokens: [plain.tokens[n]] });
        cases.push({ maxTokens: 24, stopStrings: [model.tokenizer.decode(plain.tokens.slice(n - 2, n + 1))] });
        cases.push({ maxTokens: 24, callerStopAfter: n });
      }
      let acceptedRuns = 0;
      for (const { callerStopAfter, ...opts } of cases) {
        // The caller's onText saying stop, as the completion service does when the shown text is settled.
        const onTextStoppingAfter = (): ((t: string) => boolean) => {
          let pieces = 0;
          return () => callerStopAfter === undefined || ++pieces < callerStopAfter;
        };
        const seqA = model.createSequence();
        const seqB = model.createSequence();
        const a = await generate(model, seqA, prompt, { ...opts, onText: onTextStoppingAfter() });
        const b = await generate(model, seqB, prompt, { ...opts, onText: onTextStoppingAfter(), speculative: { maxDraft: 8 } });
        assert.deepStrictEqual(b.tokens, a.tokens, JSON.stringify({ ...opts, callerStopAfter }));
        assert.strictEqual(b.text, a.text);
        assert.strictEqual(b.stopReason, a.stopReason);
        assert.deepStrictEqual(seqB.tokens, seqA.tokens, `cache after ${JSON.stringify({ ...opts, callerStopAfter })}`);
        if (b.acceptedDraftTokens > 0) acceptedRuns++;
        seqA.dispose();
        seqB.dispose();
      }
      assert.ok(acceptedRuns >= 10, `drafts were accepted in ${acceptedRuns} of ${cases.length} runs`);
    });

    it('is off for sampled requests: a temperature above 0 gives what it gives without speculation', async () => {
      const sampling = { temperature: 0.8, topK: 40, topP: 0.95, seed: 7 };
      const a = await generate(model, model.createSequence(), prompt, { maxTokens: 24, sampling });
      const b = await generate(model, model.createSequence(), prompt, { maxTokens: 24, sampling, speculative: { maxDraft: 8 } });
      assert.deepStrictEqual(b.tokens, a.tokens);
      assert.strictEqual(b.draftTokens, 0);
      assert.strictEqual(b.decodeEvals, a.decodeEvals);
    });
  });
}
