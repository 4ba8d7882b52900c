// Counts how requests of one kind ended, for qwen/debugStats: the soak test checks that every
// request it sent was answered, cancelled or superseded, and that none is left in flight.
import type { RequestCounters } from '../protocol';

export type RequestOutcome = 'answered' | 'cancelled' | 'superseded' | 'failed';

export class RequestTally {
  readonly counts: RequestCounters = { started: 0, answered: 0, cancelled: 0, superseded: 0, failed: 0 };

  get inFlight(): number {
    const c = this.counts;
    return c.started - c.answered - c.cancelled - c.superseded - c.failed;
  }

  /** Counts a request as started; call the returned function exactly once with how it ended. */
  start(): (outcome: RequestOutcome) => void {
    this.counts.started++;
    let done = false;
    return (outcome) => {
      if (done) return;
      done = true;
      this.counts[outcome]++;
    };
  }
}
