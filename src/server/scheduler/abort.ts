// Small helpers for AbortSignal plumbing shared by the scheduler, completions and chat.

/** Why work was aborted; the first reason wins and decides how the request is counted and answered. */
export const AbortReasons = {
  client: 'cancelled by the client',
  superseded: 'superseded by a newer request',
  documentClosed: 'document closed',
  timeBudget: 'time budget',
} as const;

export { abortError, isAbortError } from '../../common/abort-error';

/**
 * One AbortController fed by several sources (LSP cancellation, a newer request, a time budget).
 * `reason` records the first source that fired, so stats can say why work stopped.
 */
export class AbortFan {
  readonly controller = new AbortController();
  reason: string | null = null;
  private readonly cleanups: Array<() => void> = [];

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  abort(reason: string): void {
    if (this.controller.signal.aborted) return;
    this.reason = reason;
    this.controller.abort();
  }

  /** Aborts after `ms` milliseconds unless disposed first. */
  abortAfter(ms: number, reason: string): void {
    const t = setTimeout(() => this.abort(reason), ms);
    this.cleanups.push(() => clearTimeout(t));
  }

  /** Calls `cleanup` on dispose (for listeners registered elsewhere). */
  onDispose(cleanup: () => void): void {
    this.cleanups.push(cleanup);
  }

  dispose(): void {
    for (const c of this.cleanups.splice(0)) c();
  }
}
