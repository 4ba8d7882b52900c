// When the time budget ends a reply: a decode step that would end past the deadline is not
// started, so the answer arrives within the budget instead of one step (a whole verify batch, when
// speculating) after it.

/**
 * The next step's expected length is this many times the mean time per generated piece so far (the
 * first piece also carries the prompt's last token, so the mean errs long).
 */
export const STEP_MARGIN = 1.5;

/**
 * Whether a step started at `now` would end at or past `deadline`, judged from the `pieces` of text
 * generated since `decodeStarted` (all times in ms on one clock). With fewer than two pieces there
 * is no step time to go by yet, and the reply has not had its chance to show something.
 */
export function nextStepPassesDeadline(now: number, decodeStarted: number, pieces: number, deadline: number): boolean {
  if (pieces < 2 || !Number.isFinite(deadline)) return false;
  return now + (STEP_MARGIN * (now - decodeStarted)) / pieces >= deadline;
}
