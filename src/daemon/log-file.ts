import { mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * The daemon log's destination: appends each line with one synchronous write and never throws. On a full disk
 * (ENOSPC) or any other write error the line is dropped and counted, because a logger that throws takes down the
 * daemon that was only trying to report a problem (seen: the first SQLITE_FULL error was logged, the log write threw
 * ENOSPC from pino's stream, and the daemon exited).
 */
export class LogFile {
  private readonly fd: number;

  constructor(path: string) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    this.fd = openSync(path, 'a', 0o600);
  }

  write(line: string): boolean {
    try {
      writeSync(this.fd, line);
    } catch {
      // Dropped: see above.
    }
    return true;
  }

  /** pino calls it on flush(); writes are synchronous, so there is nothing to do. */
  flushSync(): void {}
}
