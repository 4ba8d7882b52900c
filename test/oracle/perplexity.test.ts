// `qwen-local perplexity` against llama.cpp's perplexity (same chunking and scoring as its
// perplexity tool, computed through node-llama-cpp with llama.cpp's own tokenizer) on the same file
// and text. Agreement within 1% needs both the tokenizers and the forward passes to agree.
import * as assert from 'assert';
import { execFile } from 'child_process';
import * as path from 'path';
import { promisify } from 'util';
import { getTestModel, repoRoot } from '../helpers/models';
import { disposeLlamaCpp, llamaCppPerplexity } from './llama-cpp';
import { ORACLE_TEXT_PATH, oracleText } from './engine-logits';
import { missingTypes } from './format-support';

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

  // Every format a user can download (the official Qwen2.5 GGUF types and mixes) plus the other
  // legacy block types; the mixes hold Q3_K, Q4_K, Q5_K and Q6_K between them.
  for (const format of ['F16', 'Q8_0', 'Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q2_K', 'Q3_K_M', 'Q4_K_M', 'Q5_K_M', 'Q6_K']) {
    it(`${format}: within ${100 * MAX_RELATIVE_DIFF}% over ${CHUNKS} chunks of ${CTX}`, async function () {
      const missing = missingTypes(format);
      if (missing.length > 0) {
        console.log(`      SKIPPED ${format}: the native addon cannot write/compute ${missing.join(', ')} yet`);
        this.skip();
      }
      const file = await getTestModel('tiny', format);
      const ours = await ourPerplexity(file);
      const theirs = await llamaCppPerplexity(file, oracleText(), { ctx: CTX, maxChunks: CHUNKS, threads: 2 });
      const rel = Math.abs(ours - theirs.perplexity) / theirs.perplexity;
      console.log(
        `      ${format}: ours ${ours.toFixed(3)}, llama.cpp ${theirs.perplexity.toFixed(3)} (${theirs.nScored} tokens scored), diff ${(100 * rel).toFixed(3)}%`,
      );
      assert.strictEqual(theirs.nChunks, CHUNKS, 'llama.cpp tokenized the text into too few chunks');
      assert.ok(Number.isFinite(ours) && ours > 1, `our perplexity ${ours} is not a perplexity`);
      assert.ok(rel <= MAX_RELATIVE_DIFF, `perplexity differs by ${(100 * rel).toFixed(3)}%`);
    });
  }
});
