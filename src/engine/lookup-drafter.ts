// Draft tokens for speculative decoding by lookup, with no draft model: code repeats itself (the
// suffix after the cursor, a pattern a few lines up, the identifiers of the function being
// written), so the tokens that followed an earlier occurrence of the last few tokens are a cheap
// guess at what comes next. The model checks every guess in one batched eval; a wrong guess costs
// a wider batch, never a different output.

export interface DraftOptions {
  /** The longest run of trailing tokens looked up (longer matches are better guesses). */
  maxNgram: number;
  /** The shortest run worth a guess: one token repeats far too often to predict anything. */
  minNgram: number;
}

export const DEFAULT_DRAFT_OPTIONS: DraftOptions = { maxNgram: 4, minNgram: 2 };

/**
 * Up to `max` tokens that followed the most recent earlier occurrence of the last n tokens of
 * `context`, trying n from `maxNgram` down to `minNgram`. Empty when nothing matches.
 */
export function lookupDraft(context: readonly number[], max: number, opts: DraftOptions = DEFAULT_DRAFT_OPTIONS): number[] {
  const len = context.length;
  if (max <= 0) return [];
  for (let n = Math.min(opts.maxNgram, len - 1); n >= opts.minNgram; n--) {
    // Candidate match ends at `end` (exclusive); it must leave at least one token to propose, and
    // must not be the trailing run itself.
    for (let end = len - 1; end >= n; end--) {
      let k = 0;
      while (k < n && context[end - 1 - k] === context[len - 1 - k]) k++;
      if (k === n) return context.slice(end, Math.min(len, end + max));
    }
  }
  return [];
}
