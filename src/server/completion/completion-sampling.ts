// How inline completions are sampled, named once for the local engine and a remote server.
//
// The default is greedy (temperature 0), as llama.vscode and Tabby effectively use for FIM: ghost
// text should be the most likely code, and the same keystroke should give the same suggestion.
// Greedy requests are decoded speculatively (drafts by lookup in the prompt, verified in one
// batch; the output is exactly the greedy output). A user who sets a temperature above 0 gets
// plain sampling with the top-k / top-p cut below, and no speculation: a draft checked against an
// argmax says nothing about a sampled token.
import type { GenerateOptions } from '../../engine/api';
import { settingsTable } from '../../protocol/settings-table';

/** Top-k and top-p cut applied when completions are sampled (temperature above 0). */
export const COMPLETION_TOP_K = 40;
export const COMPLETION_TOP_P = 0.95;
/**
 * Most draft tokens verified per step (the default of tuning.speculativeDraft). One verify of
 * 1 + 8 tokens is a small batch; whether it pays depends on its cost against one decode step
 * (bench/verify-cost.ts) and on how often the lookup guesses right. The draft length adapts
 * downwards when guesses are rejected.
 */
export const COMPLETION_MAX_DRAFT: number = settingsTable['tuning.speculativeDraft'].default;

/**
 * The generate() options that decide sampling for a completion at `temperature`, with drafts of
 * at most `maxDraft` tokens when greedy (0: no speculation).
 */
export function completionSampling(temperature: number, maxDraft = COMPLETION_MAX_DRAFT): Pick<GenerateOptions, 'sampling' | 'speculative'> {
  if (temperature > 0) return { sampling: { temperature, topK: COMPLETION_TOP_K, topP: COMPLETION_TOP_P } };
  return maxDraft > 0 ? { sampling: { temperature: 0 }, speculative: { maxDraft } } : { sampling: { temperature: 0 } };
}
