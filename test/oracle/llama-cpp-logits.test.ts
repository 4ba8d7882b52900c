// Our logits against llama.cpp's (node-llama-cpp, prebuilt CPU build) on the same synthetic file and
// the same tokens, for every weight format the engine reads. The quantized files come from our own
// quantizer, so these tests also prove that llama.cpp loads what it writes.
import * as assert from 'assert';
import { getTestModel } from '../helpers/models';
import { disposeLlamaCpp, llamaCppLogits } from './llama-cpp';
import { engineLogitsOnText } from './engine-logits';
import { missingTypes } from './format-support';
import { compareRows, describeComparison } from './logit-compare';

const POSITIONS = 64;
const MIN_COSINE = 0.999;
const MIN_TOP1 = 0.9;

// The mixes hold every K type between them (Q2_K: Q2_K+Q3_K; Q3_K_M: Q3_K+Q4_K+Q5_K; Q4_K_M and
// Q5_K_M: Q4_K/Q5_K+Q6_K), so the pure Q3_K/Q4_K/Q5_K targets add no coverage worth the time.
const FORMATS = ['F32', 'F16', 'BF16', 'Q8_0', 'Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q2_K', 'Q3_K_M', 'Q4_K_M', 'Q5_K_M', 'Q6_K'];

describe('oracle: logits vs llama.cpp on the tiny model, every format', function () {
  this.timeout(15 * 60 * 1000);
  after(disposeLlamaCpp);

  for (const format of FORMATS) {
    it(`${format}: cosine >= ${MIN_COSINE} on each of ${POSITIONS} rows, top-1 agreement >= ${100 * MIN_TOP1}%`, async function () {
      const missing = missingTypes(format);
      if (missing.length > 0) {
        console.log(`      SKIPPED ${format}: the native addon cannot write/compute ${missing.join(', ')} yet`);
        this.skip();
      }
      const file = await getTestModel('tiny', format);
      const ours = await engineLogitsOnText(file, POSITIONS);
      const theirs = await llamaCppLogits(file, ours.tokens, { threads: 2 });
      assert.strictEqual(theirs.nVocab, ours.nVocab, 'vocabulary sizes differ');
      const c = compareRows(ours.logits, theirs.logits, POSITIONS, ours.nVocab);
      console.log(`      ${format}: ${describeComparison(c)}`);
      const bad = c.cosines.map((v, i) => [i, v] as const).filter(([, v]) => !(v >= MIN_COSINE));
      assert.deepStrictEqual(bad, [], `rows below cosine ${MIN_COSINE}: ${JSON.stringify(bad)}`);
      assert.ok(c.top1Agreement >= MIN_TOP1, `top-1 agreement ${c.top1Agreement} < ${MIN_TOP1}`);
    });
  }
});
