/**
 * Progress on stderr: a bar redrawn in place on a terminal (done/total, rate, ETA), plain lines at every tenth when
 * stderr is a file or a pipe, and nothing at all with `quiet` (for --json).
 */
export class Progress {
  private readonly tty: boolean;
  private readonly started = performance.now();
  private lastTenth = -1;
  private lastDraw = 0;

  constructor(
    private readonly label: string,
    private total: number,
    private readonly unit: 'bytes' | 'items',
    private readonly quiet = false,
  ) {
    this.tty = Boolean(process.stderr.isTTY);
  }

  update(done: number, total = this.total): void {
    this.total = total;
    if (this.quiet) return;
    const now = performance.now();
    const fraction = total > 0 ? Math.min(1, done / total) : 0;
    if (this.tty) {
      if (now - this.lastDraw < 80 && done < total) return;
      this.lastDraw = now;
      const width = 24;
      const filled = Math.round(fraction * width);
      const rate = done / Math.max(0.001, (now - this.started) / 1000);
      const eta = rate > 0 ? (total - done) / rate : 0;
      const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
      const counts = `${this.amount(done)}/${this.amount(total)}`;
      const line = `${this.label} ${bar} ${counts} ${this.amount(rate)}/s ETA ${formatSeconds(eta)}`;
      process.stderr.write(`\r${line.padEnd(100).slice(0, 100)}`);
    } else {
      const tenth = Math.floor(fraction * 10);
      if (tenth > this.lastTenth) {
        this.lastTenth = tenth;
        process.stderr.write(
          `${this.label}: ${Math.round(fraction * 100)}% (${this.amount(done)} of ${this.amount(total)})\n`,
        );
      }
    }
  }

  done(message?: string): void {
    if (this.quiet) return;
    if (this.tty) process.stderr.write(`\r${' '.repeat(100)}\r`);
    if (message) process.stderr.write(`${message}\n`);
  }

  private amount(n: number): string {
    if (this.unit === 'items') return String(Math.round(n));
    if (n >= 1048576) return `${(n / 1048576).toFixed(1)} MiB`;
    if (n >= 1024) return `${(n / 1024).toFixed(0)} KiB`;
    return `${Math.round(n)} B`;
  }
}

function formatSeconds(s: number): string {
  if (!Number.isFinite(s) || s > 360000) return '?';
  if (s < 60) return `${Math.ceil(s)}s`;
  return `${Math.floor(s / 60)}m${String(Math.ceil(s % 60)).padStart(2, '0')}s`;
}
