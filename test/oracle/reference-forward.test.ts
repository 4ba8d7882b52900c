// Our native forward pass against the plain TypeScript reference (test/reference) on the tiny
// synthetic model with float weights. The reference reads the file with its own GGUF reader, so
// nothing of the engine is shared between the two sides except the file.
import * as assert from 'assert';
import { getTestModel } from '../helpers/models';
import { Qwen2Reference } from '../reference/qwen2-reference';
import { weightsFromFloatGguf } from '../reference/weight-sources';
import { engineLogitsOnText } from './engine-logits';
import { compareRows, describeComparison } from './logit-compare';

const POSITIONS = 16;

// F32/F16 weights are exact in float32, so only summation order separates the two sides. BF16 is
// held to a looser bound: an engine may round activations to BF16 for the dot product, as
// llama.cpp's CPU path does (llama.cpp itself lands at cosine ~0.99998 against this reference).
const MIN_COSINE: Record<string, number> = { F32: 0.99999, F16: 0.99999, BF16: 0.9999 };

describe('oracle: engine vs TypeScript reference forward pass (tiny model)', function () {
  this.timeout(10 * 60 * 1000);

  for (const type of ['F32', 'F16', 'BF16']) {
    it(`${type}: every one of ${POSITIONS} logit rows has cosine >= ${MIN_COSINE[type]}`, async () => {
      const file = await getTestModel('tiny', type);
      const ours = await engineLogitsOnText(file, POSITIONS);
      const reference = new Qwen2Reference(weightsFromFloatGguf(file));
      assert.strictEqual(reference.cfg.nVocab, ours.nVocab, 'vocabulary size differs between engine and reference');
      const ref = reference.forward(ours.tokens);
      const c = compareRows(ours.logits, ref, POSITIONS, ours.nVocab);
      console.log(`      ${type}: ${describeComparison(c)}`);
      const bad = c.cosines.map((v, i) => [i, v] as const).filter(([, v]) => !(v >= MIN_COSINE[type]));
      assert.deepStrictEqual(bad, [], `rows below cosine ${MIN_COSINE[type]}: ${JSON.stringify(bad)}`);
      // Near-ties can swap the arg-max, but almost never at this precision.
      assert.ok(c.top1Agreement >= 0.95, `top-1 agreement ${c.top1Agreement}`);
    });
  }
});
