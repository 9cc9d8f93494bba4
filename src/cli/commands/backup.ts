import { copyFileSync, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ErrorCode, MnemoError } from '../../errors.js';
import { resolvePaths } from '../../paths.js';
import { daemonCall, say, tryConnect, UsageError, type Command } from '../command.js';

export const backup: Command = {
  name: 'backup',
  usage: '[FILE]',
  summary:
    'a consistent copy of the database while the daemon serves (default: backups/ in the data dir; the newest 5 kept)',
  flags: [],
  ops: ['backup'],
  run(p) {
    if (p.positionals.length > 1) throw new UsageError('give at most one file: mnemo backup [FILE]');
    const file = p.positionals[0];
    return daemonCall(this, p, 'backup', file ? { file: resolve(file) } : {}, { file: 'FILE' });
  },
};

export const restoreBackup: Command = {
  name: 'restore-backup',
  usage: 'FILE',
  summary:
    'put a backup in place of the database ' +
    '(the daemon must be stopped; the backup is checked first, and the database it replaces is kept)',
  flags: [],
  async run({ positionals, json }) {
    if (positionals.length !== 1) throw new UsageError('give the backup file: mnemo restore-backup FILE');
    const file = resolve(positionals[0]!);
    if (!existsSync(file)) throw new UsageError(`no such file: ${file}`);
    const running = await tryConnect();
    if (running) {
      running.close();
      throw new MnemoError(ErrorCode.BUSY, 'the daemon is running: stop it first (mnemo stop), then restore');
    }
    const paths = resolvePaths();
    const { default: Database } = await import('better-sqlite3');
    const { SCHEMA_VERSION } = await import('../../store/migrations.js');
    const { backupPath } = await import('../../store/backup.js');
    // The backup must be whole and a mnemo database this version can open.
    let memories: number;
    try {
      const db = new Database(file, { readonly: true, fileMustExist: true });
      try {
        const problems = (db.pragma('quick_check(5)') as { quick_check: string }[])
          .map((r) => r.quick_check)
          .filter((r) => r !== 'ok');
        if (problems.length > 0) throw new Error(`it is damaged: ${problems.join('; ')}`);
        const version = db.pragma('user_version', { simple: true }) as number;
        if (version > SCHEMA_VERSION)
          throw new Error(`it was made by a newer mnemo (schema ${version}; this one reads up to ${SCHEMA_VERSION})`);
        memories = (db.prepare('SELECT count(*) AS n FROM memories').get() as { n: number }).n;
      } finally {
        db.close();
      }
    } catch (err) {
      const why = (err as Error).message.replace(/^no such table: memories$/, 'it is not a mnemo database');
      throw new MnemoError(ErrorCode.BAD_ARGS, `${file} cannot be restored: ${why}`);
    }
    // What is there now is kept, consistently (its WAL included), beside the other backups.
    let kept: string | null = null;
    if (existsSync(paths.dbPath)) {
      kept = backupPath(paths.dbPath, Date.now(), 'replaced');
      mkdirSync(dirname(kept), { recursive: true, mode: 0o700 });
      const current = new Database(paths.dbPath);
      try {
        current.prepare('VACUUM INTO ?').run(kept);
      } finally {
        current.close();
      }
    }
    mkdirSync(dirname(paths.dbPath), { recursive: true, mode: 0o700 });
    const tmp = `${paths.dbPath}.restoring`;
    copyFileSync(file, tmp);
    for (const f of [`${paths.dbPath}-wal`, `${paths.dbPath}-shm`]) rmSync(f, { force: true });
    renameSync(tmp, paths.dbPath);
    say(
      json,
      { restored: file, memories, kept },
      `restored ${file} (${memories} memories)${kept ? `; the database it replaced is kept at ${kept}` : ''}`,
    );
    return 0;
  },
};
