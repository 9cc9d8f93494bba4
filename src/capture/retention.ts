import type { CaptureStorage } from '../store/storage.js';
import { nextTurn } from '../next-turn.js';

export interface RetentionOptions {
  /** How long raw tool payloads are kept, in milliseconds (config `payloadDays`; default 14 days). */
  keepMs?: number;
  /** How often the daemon prunes (default hourly). */
  everyMs?: number;
  now?: () => number;
  onError?: (err: unknown) => void;
}

export const DEFAULT_PAYLOAD_DAYS = 14;
/**
 * Payloads per transaction, and free pages given back per step (4 MiB). Each step is one short synchronous write on
 * the daemon's loop, then the loop turns (hooks in between are answered). A batch of 200 payloads of 16 KB (the
 * cap) took 2-4 ms, a step of 1,000 pages 3-6 ms (test/retention.test.ts's database, this machine).
 */
const BATCH = 200;
const PAGES_PER_STEP = 1000;

const TABLE_SIZES_MAX_AGE_MS = 10 * 60_000;

/**
 * Raw tool payloads are for a short look back (what exactly did that command print?); the compressed memories and
 * the tool-event rows are what mnemo hands back and keeps. So payloads older than the window are deleted in the
 * background in small batches, and the pages they held are given back (incremental vacuum), so a heavy user's
 * database stops growing by 17 KB per tool call (issue 14).
 */
export class PayloadRetention {
  private readonly keepMs: number;
  private readonly everyMs: number;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<{ pruned: number; reclaimedPages: number }> | null = null;
  private stopped = false;
  private sizes: { at: number; bytes: Record<string, number> | null } | null = null;

  constructor(
    private readonly capture: CaptureStorage,
    private readonly options: RetentionOptions = {},
  ) {
    this.keepMs = options.keepMs ?? DEFAULT_PAYLOAD_DAYS * 86_400_000;
    this.everyMs = options.everyMs ?? 3_600_000;
    this.now = options.now ?? Date.now;
  }

  /**
   * The database's bytes per table (CaptureStorage.tableSizes), for `mnemo status`. It reads every page (about 150 ms
   * at 10k memories, seconds at a million) on the daemon's loop, so it is done when asked, at most every 10 minutes,
   * and again after a pass that gave pages back; never in the background, where it stalled the start and the hooks.
   */
  tableSizes(): Record<string, number> | null {
    const now = this.now();
    if (!this.sizes || now - this.sizes.at > TABLE_SIZES_MAX_AGE_MS)
      this.sizes = { at: now, bytes: this.capture.tableSizes() };
    return this.sizes.bytes;
  }

  start(): void {
    this.stopped = false;
    // The first pass waits for the loop's next turn: the daemon says it is ready first.
    setImmediate(() => void this.sweep());
    this.timer = setInterval(() => void this.sweep(), this.everyMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
  }

  /** One pass: prune what is past the window, then give the space back; one at a time, whoever asks. */
  sweep(): Promise<{ pruned: number; reclaimedPages: number }> {
    this.running ??= this.pass().finally(() => (this.running = null));
    return this.running;
  }

  private async pass(): Promise<{ pruned: number; reclaimedPages: number }> {
    let pruned = 0;
    let reclaimedPages = 0;
    try {
      const before = this.now() - this.keepMs;
      for (;;) {
        if (this.stopped) break;
        const n = this.capture.prunePayloads(before, BATCH);
        pruned += n;
        if (n < BATCH) break;
        await nextTurn();
      }
      while (!this.stopped) {
        const free = this.capture.reclaimPages(PAGES_PER_STEP);
        reclaimedPages += Math.min(free, PAGES_PER_STEP);
        if (free <= PAGES_PER_STEP) break;
        await nextTurn();
      }
      if (pruned > 0 || reclaimedPages > 0) this.sizes = null;
    } catch (err) {
      this.options.onError?.(err);
    }
    return { pruned, reclaimedPages };
  }
}
