/**
 * Progress for long work: a redrawn bar with rate and ETA on a TTY, plain lines (at most one every few
 * seconds) otherwise, nothing when quiet. Rendering is throttled so callers may call `update` per row.
 */
export interface ProgressOptions {
  label: string;
  /** Total units when known; without it only the count and rate are shown. */
  total?: number;
  /** Unit name shown with the rate, e.g. 'rows', 'events', 'MB'. */
  unit?: string;
  stream?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  quiet?: boolean;
  /** Seconds between plain (non-TTY) lines. */
  plainIntervalSeconds?: number;
}

export class Progress {
  private readonly start = performance.now();
  private lastDraw = 0;
  private lastPlain = 0;
  private done = 0;
  private finished = false;
  private readonly tty: boolean;

  constructor(private readonly opts: ProgressOptions) {
    this.tty = !opts.quiet && Boolean((opts.stream ?? process.stderr).isTTY);
  }

  private get out(): NodeJS.WritableStream & { columns?: number } {
    return this.opts.stream ?? process.stderr;
  }

  setTotal(total: number): void {
    this.opts.total = total;
  }

  update(done: number, note?: string): void {
    this.done = done;
    if (this.opts.quiet || this.finished) return;
    const now = performance.now();
    if (this.tty) {
      if (now - this.lastDraw < 100) return;
      this.lastDraw = now;
      this.out.write(`\r${this.line(now, note)}\x1b[K`);
    } else {
      const interval = (this.opts.plainIntervalSeconds ?? 5) * 1000;
      if (now - this.lastPlain < interval) return;
      this.lastPlain = now;
      this.out.write(`${this.line(now, note)}\n`);
    }
  }

  /** Prints the final line with the overall rate; returns elapsed seconds. */
  finish(note?: string): number {
    const now = performance.now();
    const secs = (now - this.start) / 1000;
    if (!this.finished && !this.opts.quiet) {
      if (this.opts.total !== undefined) this.done = Math.max(this.done, this.opts.total);
      this.out.write(`${this.tty ? '\r' : ''}${this.line(now, note, true)}${this.tty ? '\x1b[K' : ''}\n`);
    }
    this.finished = true;
    return secs;
  }

  /** Clears the bar without a final line (on error or interruption). */
  abort(): void {
    if (this.tty && !this.finished) this.out.write('\r\x1b[K');
    this.finished = true;
  }

  private line(now: number, note: string | undefined, final = false): string {
    const secs = Math.max(1e-9, (now - this.start) / 1000);
    const rate = this.done / secs;
    const unit = this.opts.unit ?? 'items';
    const { total } = this.opts;
    const parts = [this.opts.label];
    if (total !== undefined && total > 0) {
      const frac = Math.min(1, this.done / total);
      if (this.tty && !final) {
        const width = Math.max(10, Math.min(30, (this.out.columns ?? 80) - 70));
        const filled = Math.round(frac * width);
        parts.push(`[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`);
      }
      parts.push(`${(frac * 100).toFixed(1)}%`);
      parts.push(`${formatCount(this.done)}/${formatCount(total)} ${unit}`);
      if (!final && rate > 0) parts.push(`ETA ${formatDuration((total - this.done) / rate)}`);
    } else {
      parts.push(`${formatCount(this.done)} ${unit}`);
    }
    parts.push(`${formatCount(rate)} ${unit}/s`);
    if (final) parts.push(`in ${formatDuration(secs)}`);
    if (note) parts.push(note);
    return parts.join('  ');
  }
}

export function formatCount(n: number): string {
  const a = Math.abs(n);
  if (a >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (a >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (a >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m}m${String(Math.round(seconds - m * 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}
