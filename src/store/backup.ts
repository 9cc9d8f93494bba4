import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Db } from './db.js';

/**
 * Copies of the database: taken on request while the daemon serves (SQLite's online backup, page by page), and
 * automatically before a schema migration changes the file. They go to `backups/` beside the database; automatic ones
 * are pruned to the newest few.
 */
export const BACKUPS_KEPT = 5;

export const backupDir = (dbPath: string): string => join(dirname(dbPath), 'backups');

const stamp = (now: number) =>
  new Date(now)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');

/** A path for a new backup of `dbPath`, named after its time (and why, for automatic ones). */
export function backupPath(dbPath: string, now: number, why = ''): string {
  return join(backupDir(dbPath), `${basename(dbPath, '.db')}-${stamp(now)}${why ? `-${why}` : ''}.db`);
}

/** Removes the oldest backups whose names end in `-<why>.db` until `keep` are left; returns what it removed. */
export function pruneBackups(dbPath: string, why: string, keep = BACKUPS_KEPT): string[] {
  const dir = backupDir(dbPath);
  if (!existsSync(dir)) return [];
  // Names start with the time, so name order is age order.
  const mine = readdirSync(dir)
    .filter((f) => f.endsWith(`-${why}.db`))
    .sort();
  const removed = mine.slice(0, Math.max(0, mine.length - keep)).map((f) => join(dir, f));
  for (const f of removed) rmSync(f, { force: true });
  return removed;
}

/**
 * Before migrating a database made by an older mnemo, a consistent copy of it as it was (VACUUM INTO), so an upgrade
 * that goes wrong can be undone with `mnemo restore-backup`.
 */
export function backupBeforeMigration(
  db: Db,
  dbPath: string,
  from: number,
  to: number,
  now = Date.now(),
): string | null {
  if (dbPath === ':memory:' || from === 0 || from >= to) return null;
  const why = `before-schema-${to}`;
  const file = backupPath(dbPath, now, why);
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  db.prepare('VACUUM INTO ?').run(file);
  pruneBackups(dbPath, why, 3);
  return file;
}
