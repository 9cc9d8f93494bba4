import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as sqliteVec from 'sqlite-vec';
import { describe, expect, it } from 'vitest';
import { connect } from '../dist/client/client.js';
import { openDb } from '../dist/store/db.js';
import { migrate, SCHEMA_VERSION } from '../dist/store/migrations.js';
import { CLI, cleanup, startDaemon, testEnv } from './helpers/daemon.js';

const mnemo = (env: NodeJS.ProcessEnv, args: string[]) =>
  spawnSync(process.execPath, [CLI, ...args], { env, encoding: 'utf8' });
const count = (file: string) => {
  const db = new Database(file, { readonly: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM memories').get() as { n: number }).n;
  } finally {
    db.close();
  }
};

describe('backups', () => {
  it('copies the database while the daemon serves, and restores a copy only when it is stopped', async () => {
    const env = testEnv();
    const d = await startDaemon(env);
    try {
      const client = await connect({ env });
      await client.storeBatch({
        memories: Array.from({ length: 50 }, (_, i) => ({ content: `before the backup ${i}` })),
      });
      // Writes go on while the copy is taken.
      const writing = client.storeBatch({
        memories: Array.from({ length: 200 }, (_, i) => ({ content: `during the backup ${i}` })),
      });
      const b = mnemo(env, ['backup', '--json']);
      expect(b.status, b.stderr).toBe(0);
      const made = JSON.parse(b.stdout) as { file: string; bytes: number };
      await writing;
      expect(made.file.startsWith(join(env.MNEMO_HOME!, 'data', 'backups'))).toBe(true);
      const copied = count(made.file);
      expect(copied).toBeGreaterThanOrEqual(50);
      expect(copied).toBeLessThanOrEqual(250);
      const own = join(env.MNEMO_HOME!, 'mine.db');
      expect(mnemo(env, ['backup', own]).status).toBe(0);
      expect(mnemo(env, ['backup', own]).stderr).toMatch(/already exists/);

      const refused = mnemo(env, ['restore-backup', made.file]);
      expect(refused.status).toBe(1);
      expect(refused.stderr).toMatch(/the daemon is running: stop it first/);
      client.close();
      await d.stop();

      const damaged = join(env.MNEMO_HOME!, 'damaged.db');
      writeFileSync(damaged, Buffer.alloc(16384, 0x41));
      expect(mnemo(env, ['restore-backup', damaged]).stderr).toMatch(/cannot be restored/);

      const r = mnemo(env, ['restore-backup', made.file, '--json']);
      expect(r.status, r.stderr).toBe(0);
      const restored = JSON.parse(r.stdout) as { memories: number; kept: string };
      expect(restored.memories).toBe(copied);
      expect(count(join(env.MNEMO_HOME!, 'data', 'mnemo.db'))).toBe(copied);
      expect(count(restored.kept)).toBe(250); // what it replaced, kept whole
      const again = await startDaemon(env);
      const c2 = await connect({ env });
      expect((await c2.health()).memories).toBe(copied);
      c2.close();
      await again.stop();
    } finally {
      await d.stop();
      cleanup(env);
    }
  });

  it('keeps a copy of a database made by an older mnemo before migrating it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mnemo-mig-'));
    mkdirSync(join(dir, 'data'));
    const path = join(dir, 'data', 'mnemo.db');
    const old = new Database(path);
    sqliteVec.load(old);
    migrate(old, SCHEMA_VERSION - 1);
    old.close();
    openDb(path).close();
    const backups = readdirSync(join(dir, 'data', 'backups'));
    expect(backups).toEqual([
      expect.stringMatching(new RegExp(`^mnemo-\\d{8}T\\d{6}Z-before-schema-${SCHEMA_VERSION}\\.db$`)),
    ]);
    const copy = new Database(join(dir, 'data', 'backups', backups[0]!), { readonly: true });
    expect(copy.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION - 1);
    copy.close();
    // A database already current is not copied again.
    openDb(path).close();
    expect(readdirSync(join(dir, 'data', 'backups')).length).toBe(1);
    expect(existsSync(path)).toBe(true);
  });
});
