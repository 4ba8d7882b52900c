// When the time budget ends a reply: a decode step that would end past the deadline is not
// started, so the answer arrives within the budget instead of one step (a whole verify batch, when
// speculating) after it.

/**
 * The next step's expected length is this many times the mean time per generated piece so far (the
 * first piece also carries the prompt's last token, so the mean errs long).
 */
export const STEP_MARGIN = 1.5;

/**
 * Milliseconds of the time budget kept for what follows the last step: post-processing, the JSON
 * reply and its transport to VS Code. The budget is the wait the user sees, so the decode aims to
 * end this much before it (replies that ran to the budget arrived 0-8 ms late without it).
 */
export const REPLY_RESERVE_MS = 20;

/**
 * Whether a step started at `now` would end at or past `deadline`, judged from the `pieces` of text
 * generated since `decodeStarted` (all times in ms on one clock). With fewer than two pieces there
 * is no step time to go by yet, and the reply has not had its chance to show something.
 */
export function nextStepPassesDeadline(now: number, decodeStarted: number, pieces: number, deadline: number): boolean {
  if (pieces < 2 || !Number.isFinite(deadline)) return false;
  return now + (STEP_MARGIN * (now - decodeStarted)) / pieces >= deadline;
}
