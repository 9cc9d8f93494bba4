import Database, { type Statement } from 'better-sqlite3';
import { chmodSync, existsSync } from 'node:fs';
import { makeDir } from '../paths.js';
import { dirname } from 'node:path';
import * as sqliteVec from 'sqlite-vec';
import { backupBeforeMigration } from './backup.js';
import { migrate, SCHEMA_VERSION } from './migrations.js';

export type Db = Database.Database;

export interface OpenDbOptions {
  readonly?: boolean;
  /** How long a writer waits for another connection's lock before SQLITE_BUSY. */
  busyTimeoutMs?: number;
}

/** Opens (creating if needed) the mnemo database: WAL, busy timeout, foreign keys, sqlite-vec, migrated schema. */
export function openDb(path: string, options: OpenDbOptions = {}): Db {
  if (path !== ':memory:') makeDir(dirname(path));
  const db = new Database(path, { readonly: options.readonly ?? false });
  try {
    db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
    // SQLite's own default page cache, 2 MiB: better-sqlite3 builds SQLite with 16 MiB per connection, which a daemon
    // at 100k memories filled (its RSS 8-11 MiB more after 200 searches) at no measured gain in search latency (the
    // file's pages stay in the system's cache; issue 14).
    db.pragma('cache_size = -2000');
    const version = db.pragma('user_version', { simple: true }) as number;
    if (!options.readonly) {
      // Pages freed by pruning go back to the file system (store/capture-store.ts reclaims them a few at a time). A
      // new database takes the setting before anything is written to it, WAL mode included.
      if (version === 0) db.pragma('auto_vacuum = INCREMENTAL');
      db.pragma('journal_mode = WAL');
      // NORMAL in WAL mode can lose the last transactions on power loss; FULL syncs the WAL on every commit, which is
      // what "an acknowledged write is on disk" promises.
      db.pragma('synchronous = FULL');
    }
    db.pragma('foreign_keys = ON');
    sqliteVec.load(db);
    if (!options.readonly) {
      backupBeforeMigration(db, path, version, SCHEMA_VERSION);
      migrate(db);
      if (version > 0) switchToIncrementalVacuum(db);
      // Memories are private: the database and its WAL are the owner's alone, whatever the umask was when they were
      // made (the folders alone protected them before).
      for (const file of [path, `${path}-wal`, `${path}-shm`])
        if (path !== ':memory:' && existsSync(file)) chmodSync(file, 0o600);
    }
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/**
 * An existing database switches to incremental auto-vacuum through one VACUUM (SQLite's rule), done once, right after
 * the copy backupBeforeMigration took before migration 8. It rewrites the file: about a second per 100 MB here. When
 * it cannot (the disk lacks room for the copy VACUUM makes), the database works as before and the next start tries
 * again; pruned space is then reused by SQLite but not returned.
 */
function switchToIncrementalVacuum(db: Db): void {
  if (db.pragma('auto_vacuum', { simple: true }) === 2 || db.name === ':memory:') return;
  try {
    db.pragma('auto_vacuum = INCREMENTAL');
    db.exec('VACUUM');
  } catch {
    // Left as it was; see above.
  }
}

/**
 * Prepared statements kept by their SQL text, so the hook and search paths compile each statement once instead of
 * on every call. SQL is only ever built from fixed fragments and table names, never from values, so the set stays
 * small; a statement for a table that was dropped is simply never asked for again.
 */
export function statementCache(db: Db): (sql: string) => Statement {
  const cache = new Map<string, Statement>();
  return (sql) => {
    let stmt = cache.get(sql);
    if (!stmt) {
      stmt = db.prepare(sql);
      cache.set(sql, stmt);
    }
    return stmt;
  };
}
