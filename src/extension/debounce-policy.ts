// How long to wait after a keystroke before asking the model for a completion. A fixed delay is
// wrong for most people: a fast typist gets requests fired (and cancelled) between keystrokes,
// which keeps the CPU busy with prefills nobody sees, while a slow typist waits longer than needed.
// So the delay follows two measurements, both smoothed with exponential moving averages:
//   - the gap between keystrokes while typing (pauses longer than `pauseMs` are not typing), and
//   - the latency of recent completion requests (a slow model makes each wasted request dearer).
// delay = clamp(gapFactor * typingGap + latencyFactor * latency, minMs, maxMs).
// A fixed delay from the settings (debounceMs > 0) overrides all of this. Free of `vscode`.

export interface DebounceOptions {
  /** Fixed delay from the settings; 0 = adaptive. */
  fixedMs: number;
  minMs: number;
  maxMs: number;
  /** Multiplies the mean typing gap: waiting a bit longer than one gap means the burst has ended. */
  gapFactor: number;
  /** Adds a share of the mean request latency. */
  latencyFactor: number;
  /** Keystroke gaps longer than this are pauses, not typing speed. */
  pauseMs: number;
  /** Weight of a new sample in the moving averages (0..1). */
  smoothing: number;
}

export const defaultDebounceOptions: DebounceOptions = {
  fixedMs: 0,
  minMs: 40,
  maxMs: 600,
  gapFactor: 1.5,
  latencyFactor: 0.25,
  pauseMs: 1000,
  smoothing: 0.15,
};

// Starting guesses before anything is measured: an average typist and a small model on a CPU.
const initialGapMs = 150;
const initialLatencyMs = 300;

export class DebouncePolicy {
  private gapMs = initialGapMs;
  private latencyMs = initialLatencyMs;
  private lastKeystrokeAt: number | undefined;
  private gapSamples = 0;
  private latencySamples = 0;
  private options: DebounceOptions;

  constructor(options: Partial<DebounceOptions> = {}) {
    this.options = { ...defaultDebounceOptions, ...options };
  }

  setFixedDelay(ms: number): void {
    this.options = { ...this.options, fixedMs: Math.max(0, ms) };
  }

  /** Called on every text change in the active editor; `now` is in milliseconds. */
  recordKeystroke(now: number): void {
    if (this.lastKeystrokeAt !== undefined) {
      const gap = now - this.lastKeystrokeAt;
      if (gap > 0 && gap <= this.options.pauseMs) {
        this.gapMs = this.blend(this.gapMs, gap, this.gapSamples++);
      }
    }
    this.lastKeystrokeAt = now;
  }

  /** Called when a completion request finishes (not when it was cancelled: that says nothing about speed). */
  recordLatency(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    this.latencyMs = this.blend(this.latencyMs, ms, this.latencySamples++);
  }

  /** The delay to wait now before requesting. */
  delayMs(): number {
    const o = this.options;
    if (o.fixedMs > 0) return o.fixedMs;
    const raw = o.gapFactor * this.gapMs + o.latencyFactor * this.latencyMs;
    return Math.round(Math.min(o.maxMs, Math.max(o.minMs, raw)));
  }

  /** The current averages, for the logs and the status bar tooltip. */
  snapshot(): { typingGapMs: number; latencyMs: number; delayMs: number } {
    return { typingGapMs: Math.round(this.gapMs), latencyMs: Math.round(this.latencyMs), delayMs: this.delayMs() };
  }

  // The first few samples replace the initial guess quickly (a plain mean over them); after that
  // the average moves by `smoothing` per sample so one odd keystroke does not swing the delay.
  private blend(current: number, sample: number, seen: number): number {
    const weight = Math.max(this.options.smoothing, 1 / (seen + 1));
    return current + weight * (sample - current);
  }
}

/** Resolves true after `ms`, or false as soon as the cancellation event (a CancellationToken's) fires. */
export function waitUnlessCancelled(ms: number, onCancel: (listener: () => void) => { dispose(): void }): Promise<boolean> {
  return new Promise((resolve) => {
    // Assigned after the timer exists and read by both callbacks; onCancel may call back at once,
    // before a const would be initialized.
    // eslint-disable-next-line prefer-const
    let subscription: { dispose(): void } | undefined;
    const timer = setTimeout(() => {
      subscription?.dispose();
      resolve(true);
    }, ms);
    subscription = onCancel(() => {
      clearTimeout(timer);
      subscription?.dispose();
      resolve(false);
    });
  });
}
