// Download progress: bytes, speed over the last few seconds, and time left. Speed is measured
// over a sliding window rather than since the start, so a resumed download (which starts with
// many bytes already on disk) and a connection that slows down both show a believable figure.
// Reports are throttled: a progress notification per network chunk would flood the UI.

export type ProgressCallback = (bytes: number, total: number, bytesPerSec: number, etaSec: number) => void;

const WINDOW_MS = 5000;
const REPORT_EVERY_MS = 200;

export class ProgressMeter {
  private readonly samples: Array<{ t: number; bytes: number }> = [];
  private lastReport = 0;

  constructor(
    startBytes: number,
    private readonly total: number,
    private readonly onProgress?: ProgressCallback,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.samples.push({ t: this.now(), bytes: startBytes });
    this.report(startBytes, true);
  }

  /** Bytes per second over the sliding window (0 until there is a measurable interval). */
  speed(): number {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    const dt = (last.t - first.t) / 1000;
    return dt > 0 ? (last.bytes - first.bytes) / dt : 0;
  }

  update(bytes: number): void {
    const t = this.now();
    this.samples.push({ t, bytes });
    // Keep one sample older than the window so the window is always fully covered.
    while (this.samples.length > 2 && t - this.samples[1].t > WINDOW_MS) this.samples.shift();
    this.report(bytes, false);
  }

  finish(bytes: number): void {
    this.update(bytes);
    this.report(bytes, true);
  }

  private report(bytes: number, force: boolean): void {
    if (!this.onProgress) return;
    const t = this.now();
    if (!force && t - this.lastReport < REPORT_EVERY_MS) return;
    this.lastReport = t;
    const speed = this.speed();
    const eta = this.total > 0 && speed > 0 ? Math.max(0, (this.total - bytes) / speed) : this.total > 0 && bytes >= this.total ? 0 : NaN;
    this.onProgress(bytes, this.total, speed, eta);
  }
}
