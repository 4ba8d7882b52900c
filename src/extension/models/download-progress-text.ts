// What the download notification says: "412 MB of 1.1 GB (37%) · 23.4 MB/s · 31 s left", and the
// increments VS Code's progress API wants (it adds up `increment` values itself, so we must hand
// it differences, never the absolute percentage). No vscode import: unit-tested on its own.
import { formatBytes } from '../../models/catalog';

/** "45 s", "3 min 5 s", "1 h 12 min"; an empty string when unknown (NaN, infinite, negative). */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 === 0 ? `${m} min` : `${m} min ${s % 60} s`;
  const h = Math.floor(m / 60);
  return m % 60 === 0 ? `${h} h` : `${h} h ${m % 60} min`;
}

/** The notification line for one progress report from the downloader. */
export function describeDownloadProgress(bytes: number, total: number, bytesPerSec: number, etaSec: number): string {
  const parts: string[] = [];
  if (total > 0) {
    const pct = Math.min(100, Math.floor((bytes / total) * 100));
    parts.push(`${formatBytes(bytes)} of ${formatBytes(total)} (${pct}%)`);
  } else {
    parts.push(formatBytes(bytes));
  }
  // Speed is 0 until the downloader has a measurable interval: say nothing rather than "0 B/s".
  if (bytesPerSec > 0) parts.push(`${formatBytes(bytesPerSec)}/s`);
  const left = formatDuration(etaSec);
  if (left && bytes < total) parts.push(`${left} left`);
  return parts.join(' · ');
}

/**
 * Turns absolute progress (0..100 %) into the increments VS Code adds up. A resumed download
 * starts at its resume point, so the first report may jump straight to 40 %; progress never goes
 * backwards (a server that ignored Range restarts the bytes, but the bar stays where it was).
 */
export class ProgressIncrements {
  private reported = 0;

  /** The increment to report for `bytes` of `total` (0 when nothing changed or total is unknown). */
  next(bytes: number, total: number): number {
    if (!(total > 0)) return 0;
    const pct = Math.min(100, (bytes / total) * 100);
    if (pct <= this.reported) return 0;
    const inc = pct - this.reported;
    this.reported = pct;
    return inc;
  }

  /** Percentage reported so far (the sum of all increments). */
  get percent(): number {
    return this.reported;
  }
}
