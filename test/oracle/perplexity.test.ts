// `qwen-local perplexity` against llama.cpp's perplexity (same chunking and scoring as its
// perplexity tool, computed through node-llama-cpp with llama.cpp's own tokenizer) on the same file
// and text. Agreement within 1% needs both the tokenizers and the forward passes to agree.
import * as assert from 'assert';
import { execFile } from 'child_process';
import * as path from 'path';
import { promisify } from 'util';
import { loadNative } from '../../src/engine/native';
import { getTestModel, repoRoot } from '../helpers/models';
import { disposeLlamaCpp, llamaCppPerplexity } from './llama-cpp';
import { ORACLE_TEXT_PATH, oracleText } from './engine-logits';

const run = promisify(execFile);
const CTX = 128;
const CHUNKS = 3;
const MAX_RELATIVE_DIFF = 0.01;

async function ourPerplexity(file: string): Promise<number> {
  const cli = path.join(repoRoot(), 'bin', 'qwen-local.js');
  const args = [cli, 'perplexity', '--model', file, '--file', ORACLE_TEXT_PATH, '--ctx', String(CTX), '--chunks', String(CHUNKS), '--threads', '2'];
  const { stdout } = await run(process.execPath, args, { maxBuffer: 1 << 20 });
  const last = stdout.trim().split('\n').pop() ?? '';
  const m = /^perplexity: ([0-9.eE+-]+)$/.exec(last);
  if (!m) throw new Error(`qwen-local perplexity printed no final "perplexity: X" line:\n${stdout}`);
  return Number(m[1]);
}

describe('oracle: perplexity vs llama.cpp (tiny model)', function () {
  this.timeout(10 * 60 * 1000);
  after(disposeLlamaCpp);

  for (const format of ['F16', 'Q8_0', 'Q4_0', 'Q4_K_M']) {
    it(`${format}: within ${100 * MAX_RELATIVE_DIFF}% over ${CHUNKS} chunks of ${CTX}`, async function () {
      if (format === 'Q4_K_M' && !loadNative().typeInfo('Q4_K').canQuantize) {
        console.log('      SKIPPED Q4_K_M: the native addon cannot write Q4_K yet');
        this.skip();
      }
      const file = await getTestModel('tiny', format);
      const ours = await ourPerplexity(file);
      const theirs = await llamaCppPerplexity(file, oracleText(), { ctx: CTX, maxChunks: CHUNKS, threads: 2 });
      const rel = Math.abs(ours - theirs.perplexity) / theirs.perplexity;
      console.log(`      ${format}: ours ${ours.toFixed(3)}, llama.cpp ${theirs.perplexity.toFixed(3)} (${theirs.nScored} tokens scored), diff ${(100 * rel).toFixed(3)}%`);
      assert.strictEqual(theirs.nChunks, CHUNKS, 'llama.cpp tokenized the text into too few chunks');
      assert.ok(Number.isFinite(ours) && ours > 1, `our perplexity ${ours} is not a perplexity`);
      assert.ok(rel <= MAX_RELATIVE_DIFF, `perplexity differs by ${(100 * rel).toFixed(3)}%`);
    });
  }
});
