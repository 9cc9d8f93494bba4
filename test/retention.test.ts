import Database from 'better-sqlite3';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HookHandler } from '../dist/capture/hook.js';
import { openDb } from '../dist/store/db.js';
import { openTestEngine, type TestEngine } from './helpers/engine.js';

const DAY = 86_400_000;
const open: TestEngine[] = [];
afterEach(async () => {
  for (const t of open.splice(0)) await t.close();
});

/** Bytes of the database file and its WAL, after a checkpoint that truncates the WAL. */
function diskBytes(t: TestEngine): number {
  t.store.db.pragma('wal_checkpoint(TRUNCATE)');
  const size = (f: string) => {
    try {
      return statSync(f).size;
    } catch {
      return 0;
    }
  };
  return size(t.dbPath) + size(`${t.dbPath}-wal`);
}

/** A test run's log: about 50 KB of output, different for every event (capped to 16 KB on capture). */
const output = (n: number) =>
  Array.from({ length: 700 }, (_, i) => `  ✓ test ${n}.${i} passes in ${(n * 7 + i) % 97} ms (src/x${i % 40}.ts)`).join(
    '\n',
  );

async function capture(h: HookHandler, session: string, events: number, from = 0, big = true): Promise<void> {
  await h.handle(
    'SessionStart',
    Buffer.from(JSON.stringify({ session_id: session, cwd: '/tmp/p', source: 'startup' })),
  );
  for (let i = from; i < from + events; i++) {
    const payload = {
      session_id: session,
      cwd: '/tmp/p',
      tool_name: 'Bash',
      tool_use_id: `${session}-${i}`,
      tool_input: { command: `npm test -- --shard ${i}` },
      tool_response: { stdout: big ? output(i) : `ok ${i}`, stderr: '', exitCode: 0 },
    };
    await h.handle('PostToolUse', Buffer.from(JSON.stringify(payload)));
  }
}

describe('raw tool payload retention (issue 14)', () => {
  it('prunes payloads past the window, keeps the events and the newer payloads, and gives the space back', async () => {
    let clock = Date.parse('2026-11-01T12:00:00Z');
    const t = await openTestEngine({ now: () => clock });
    open.push(t);
    expect(t.store.db.pragma('auto_vacuum', { simple: true })).toBe(2);
    const h = new HookHandler(t.engine, { now: () => clock, retention: { keepMs: 14 * DAY } });
    // Per event means beyond what the empty database takes (its schema: a page per table and index).
    const empty = diskBytes(t);
    await capture(h, 'old', 100);
    clock += 10 * DAY;
    await capture(h, 'new', 10);
    const full = diskBytes(t) - empty;
    const db = t.store.db;
    expect(db.prepare('SELECT count(*) FROM tool_event_payloads').pluck().get()).toBe(110);
    // Every event kept its raw payload: well over the 3 KB an event may take once the window has passed.
    expect(full / 110).toBeGreaterThan(8 * 1024);

    // Day 10: nothing is past the window yet.
    expect((await h.retention.sweep()).pruned).toBe(0);
    clock += 5 * DAY; // day 15: the first session's payloads are past it, the second's are not
    const pass = await h.retention.sweep();
    expect(pass.pruned).toBe(100);
    expect(pass.reclaimedPages).toBeGreaterThan(0);
    expect(db.prepare('SELECT count(*) FROM tool_events').pluck().get()).toBe(110);
    expect(db.prepare("SELECT count(*) FROM tool_events WHERE session_id = 'old'").pluck().get()).toBe(100);
    expect(
      db.prepare('SELECT count(*) FROM tool_event_payloads p JOIN tool_events e ON e.id = p.event_id').pluck().get(),
    ).toBe(10);
    expect(db.pragma('freelist_count', { simple: true })).toBe(0);
    // The pass ran with a larger page cache and gave it back: the connection keeps its 2 MiB (store/db.ts).
    expect(db.pragma('cache_size', { simple: true })).toBe(-2000);
    // What is left per event: the newer payloads are still there, so this bounds the old events' cost from above.
    expect(diskBytes(t) - empty).toBeLessThan(full / 4);

    // The sizes `mnemo status` shows: measured when asked, then kept (a scan of every page) until a pass frees pages.
    const before = h.retention.tableSizes();
    expect(Object.keys(before ?? {})).toEqual(expect.arrayContaining(['tool_events', 'memories']));
    expect(h.retention.tableSizes()).toBe(before);
    clock += 30 * DAY;
    await h.retention.sweep();
    expect(db.prepare('SELECT count(*) FROM tool_event_payloads').pluck().get()).toBe(0);
    expect((diskBytes(t) - empty) / 110).toBeLessThanOrEqual(3 * 1024);
    const after = h.retention.tableSizes();
    expect(after).not.toBe(before);
    expect(after!.tool_event_payloads ?? 0).toBeLessThan(before!.tool_event_payloads!);
    await h.stop();
  });

  it('prunes in batches, oldest first, without touching what is inside the window', async () => {
    let clock = Date.parse('2026-11-01T12:00:00Z');
    const t = await openTestEngine({ now: () => clock });
    open.push(t);
    const h = new HookHandler(t.engine, { now: () => clock, retention: { keepMs: 2 * DAY } });
    for (let day = 0; day < 5; day++) {
      await capture(h, `s${day}`, 250, day * 1000, false);
      clock += DAY;
    }
    // Day 5: days 0, 1 and 2 are older than 2 days (day 2's events are 3 days old at day 5). 750 payloads: four
    // batches of 200.
    expect((await h.retention.sweep()).pruned).toBe(750);
    const left = t.store.db
      .prepare('SELECT DISTINCT e.session_id FROM tool_event_payloads p JOIN tool_events e ON e.id = p.event_id')
      .pluck()
      .all();
    expect(left.sort()).toEqual(['s3', 's4']);
    await h.stop();
  });

  it('switches an existing database to incremental vacuum once, after the backup taken before migrating', async () => {
    const t = await openTestEngine();
    const path = t.dbPath;
    await t.engine.close();
    // The database as mnemo made it before migration 8: no auto-vacuum, payloads without their own time.
    const raw = new Database(path);
    raw.pragma('auto_vacuum = NONE');
    raw.exec('VACUUM');
    raw.exec('DROP INDEX tool_event_payloads_created');
    raw.exec('ALTER TABLE tool_event_payloads DROP COLUMN created_at');
    raw.pragma('user_version = 7');
    raw.exec(`
      INSERT INTO sessions (id, project, started_at, last_event_at) VALUES ('s', '/p', 5, 5);
      INSERT INTO tool_events (session_id, prompt_number, tool_use_id, tool_name, input_summary, outcome_summary,
        created_at) VALUES ('s', 0, 'u', 'Bash', 'ls', 'ok', 1234);
      INSERT INTO tool_event_payloads (event_id, payload) VALUES (last_insert_rowid(), '{}');
    `);
    expect(raw.pragma('auto_vacuum', { simple: true })).toBe(0);
    raw.close();

    const db = openDb(path);
    expect(db.pragma('auto_vacuum', { simple: true })).toBe(2);
    // The payload took its event's time, so it is pruned by it.
    expect(db.prepare('SELECT created_at FROM tool_event_payloads').pluck().get()).toBe(1234);
    db.close();
    const backups = readdirSync(join(path, '..', 'backups'));
    expect(backups.some((f) => f.endsWith('-before-schema-8.db'))).toBe(true);
    const copy = new Database(
      join(
        path,
        '..',
        'backups',
        backups.find((f) => f.endsWith('-before-schema-8.db'))!,
      ),
    );
    expect(copy.pragma('user_version', { simple: true })).toBe(7);
    copy.close();
    // Opening again does not vacuum again: the setting stays.
    const again = openDb(path);
    expect(again.pragma('auto_vacuum', { simple: true })).toBe(2);
    again.close();
  });
});
