// Our engine's side of the oracle comparisons: logits of every position through the public engine
// API (loadModel -> Sequence.eval with logits 'all'), and the token sequence the tests use, cut
// from a real English text (with some code) by our own tokenizer.
import * as fs from 'fs';
import * as path from 'path';
import { loadModel } from '../../src/engine/model';
import { repoRoot } from '../helpers/models';

export const ORACLE_TEXT_PATH = path.join(repoRoot(), 'test', 'oracle', 'fixtures', 'oracle-text.txt');

export function oracleText(): string {
  return fs.readFileSync(ORACLE_TEXT_PATH, 'utf8');
}

export interface EngineRun {
  tokens: number[];
  logits: Float32Array; // [tokens.length x nVocab]
  nVocab: number;
}

/**
 * Tokenizes the oracle text with the model's tokenizer, keeps the first `nTokens` ids and returns
 * the logits after each of them, evaluated in one prefill from an empty cache.
 */
export async function engineLogitsOnText(modelPath: string, nTokens: number, opts: { threads?: number } = {}): Promise<EngineRun> {
  const model = await loadModel(modelPath, { threads: opts.threads ?? 2, contextSize: Math.max(64, nTokens + 16), device: 'cpu' });
  try {
    const tokens = model.tokenizer.encode(oracleText()).slice(0, nTokens);
    if (tokens.length < nTokens) throw new Error(`oracle text gives only ${tokens.length} tokens, ${nTokens} wanted`);
    const seq = model.createSequence();
    const logits = await seq.eval(tokens, { logits: 'all' });
    seq.dispose();
    if (!logits) throw new Error(`${modelPath}: eval returned no logits`);
    return { tokens, logits, nVocab: model.info.nVocab };
  } finally {
    await model.dispose();
  }
}
