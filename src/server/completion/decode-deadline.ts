// When the time budget ends a reply: a decode step that would end past the deadline is not
// started, so the answer arrives within the budget instead of one step (a whole verify batch, when
// speculating) after it.

/** The next step is expected to take up to this many times the longest step seen so far. */
export const STEP_MARGIN = 1.5;

/**
 * Milliseconds of the time budget kept for what follows the last step: post-processing, the JSON
 * reply and its transport to VS Code. The budget is the wait the user sees, so the decode aims to
 * end this much before it.
 */
export const REPLY_RESERVE_MS = 20;

/**
 * How long decode steps take, read from the times text pieces arrive. With speculative decoding a
 * step yields one piece or several at once (its accepted drafts), so the mean time per piece
 * underrates a step: a verify that accepted nothing costs more than a plain step and yields one
 * piece. The longest gap between pieces is the longest step. The gap before the first piece is left
 * out: it also carries the prompt's last token and whatever of the prompt was not yet cached.
 */
export class StepClock {
  private lastPieceAt = NaN;
  private longestStepMs = 0;
  private pieces = 0;

  /** A piece of text arrived at `now` (ms). */
  piece(now: number): void {
    if (this.pieces > 0) this.longestStepMs = Math.max(this.longestStepMs, now - this.lastPieceAt);
    this.lastPieceAt = now;
    this.pieces++;
  }

  /**
   * Whether a step started at `now` would end at or past `deadline` (same clock). Before two pieces
   * there is no step to go by, and the reply has not had its chance to show something.
   */
  nextStepPassesDeadline(now: number, deadline: number): boolean {
    if (this.pieces < 2 || !Number.isFinite(deadline)) return false;
    return now + STEP_MARGIN * this.longestStepMs >= deadline;
  }
}
