import Database from 'better-sqlite3';
import { chmodSync } from 'node:fs';
import { ErrorCode, MnemoError } from '../errors.js';
import { makeDir, type MnemoPaths } from '../paths.js';

/**
 * The one-daemon-per-user lock: an exclusive SQLite transaction held on a small lock file for the daemon's whole life.
 * It is a kernel file lock (fcntl), so it is released when the process dies however it dies (kill -9 included), and
 * taking it is atomic: of two daemons started at once, exactly one wins. Pid and socket files are only cleaned up
 * after the lock is held, so a starting daemon never removes a live one's socket.
 */
export class DaemonLock {
  private constructor(private readonly db: Database.Database) {}

  static acquire(path: string): DaemonLock {
    const db = new Database(path);
    try {
      db.pragma('busy_timeout = 0');
      db.pragma('locking_mode = EXCLUSIVE');
      db.exec('CREATE TABLE IF NOT EXISTS holder (pid INTEGER)');
      db.exec('BEGIN EXCLUSIVE');
      db.prepare('DELETE FROM holder').run();
      db.prepare('INSERT INTO holder (pid) VALUES (?)').run(process.pid);
      return new DaemonLock(db);
    } catch (err) {
      db.close();
      if (
        (err as { code?: string }).code?.startsWith('SQLITE_BUSY') ||
        (err as { code?: string }).code === 'SQLITE_LOCKED'
      ) {
        throw new MnemoError(ErrorCode.BUSY, 'another mnemo daemon is already running for this user');
      }
      throw err;
    }
  }

  release(): void {
    if (!this.db.open) return;
    try {
      this.db.exec('ROLLBACK');
    } catch {
      // Already rolled back; closing releases the lock either way.
    }
    this.db.close();
  }
}

/**
 * Makes the runtime folder (0700) and takes the daemon's lock in it. For the daemon process itself (`ownProcess`),
 * everything it writes from here on (database, WAL, lock, logs) is the owner's alone: umask 077.
 */
export function claimRuntime(paths: MnemoPaths, ownProcess: boolean): DaemonLock {
  if (ownProcess) process.umask(0o077);
  makeDir(paths.runtimeDir);
  chmodSync(paths.runtimeDir, 0o700);
  return DaemonLock.acquire(paths.lockPath);
}
