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
    if (!options.readonly) {
      db.pragma('journal_mode = WAL');
      // NORMAL in WAL mode can lose the last transactions on power loss; FULL syncs the WAL on every commit, which is
      // what "an acknowledged write is on disk" promises.
      db.pragma('synchronous = FULL');
    }
    db.pragma('foreign_keys = ON');
    sqliteVec.load(db);
    if (!options.readonly) {
      backupBeforeMigration(db, path, db.pragma('user_version', { simple: true }) as number, SCHEMA_VERSION);
      migrate(db);
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
