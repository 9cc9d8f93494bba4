import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { HookInput } from '../dist/capture/payload.js';
import { PAYLOAD_CAP, Recorder } from '../dist/capture/record.js';
import { CaptureStore } from '../dist/store/capture-store.js';
import { openDb, type Db } from '../dist/store/db.js';
import { migrate, SCHEMA_VERSION } from '../dist/store/migrations.js';
import * as sqliteVec from 'sqlite-vec';

/**
 * The capture writes (issue 11, mutation testing of capture/record.ts, the write methods of store/capture-store.ts
 * and the durability settings of store/db.ts): what each hook event leaves in the capture tables, exactly. Each test
 * fails on a mutant that survived the rest of the suite. A real SQLite file in a fresh temp dir, no daemon.
 */

const PROJECT = { root: '/home/me/app', name: 'app', gitDir: null };
const OTHER = { root: '/home/me/other', name: 'other', gitDir: null };
const T0 = 1_750_000_000_000;

let home: string;
let db: Db;
let store: CaptureStore;
let rec: Recorder;
beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'mnemo-capture-'));
  db = openDb(join(home, 'data', 'mnemo.db'));
  store = new CaptureStore(db);
  rec = new Recorder(store);
});
afterEach(() => {
  db.close();
  rmSync(home, { recursive: true, force: true });
});

const rows = (sql: string, ...params: unknown[]) => db.prepare(sql).all(...params) as Record<string, unknown>[];
const queue = () =>
  rows('SELECT kind, session_id, prompt_number, enqueued_at, not_before, status FROM pending_compressions ORDER BY id');
const input = (o: Partial<HookInput> = {}): HookInput => ({ sessionId: 's1', cwd: '/home/me/app/sub', ...o });
const raw = (o: unknown) => Buffer.from(JSON.stringify(o));

describe('sessions', () => {
  it('are created by any first event with what it says, and updated by later ones', () => {
    rec.sessionStart(input({ source: 'startup', model: 'opus', transcriptPath: '/t/1.jsonl' }), PROJECT, T0);
    expect(store.session('s1')).toEqual({
      id: 's1',
      project: '/home/me/app',
      cwd: '/home/me/app/sub',
      source: 'startup',
      model: 'opus',
      transcript_path: '/t/1.jsonl',
      started_at: T0,
      last_event_at: T0,
      ended_at: null,
      end_reason: null,
      status: 'active',
    });
    // Later events: the first source stays, a newer model and transcript replace the old, a missing one keeps it;
    // activity never goes back in time.
    rec.userPrompt(input({ source: 'resume', model: 'sonnet', cwd: '/elsewhere' }), PROJECT, T0 + 50);
    expect(store.session('s1')).toMatchObject({
      source: 'startup',
      model: 'sonnet',
      transcript_path: '/t/1.jsonl',
      cwd: '/home/me/app/sub',
      started_at: T0,
      last_event_at: T0 + 50,
    });
    rec.stop(input({ transcriptPath: '/t/2.jsonl' }), PROJECT, T0 + 20);
    expect(store.session('s1')).toMatchObject({
      model: 'sonnet',
      transcript_path: '/t/2.jsonl',
      last_event_at: T0 + 50,
    });
  });

  it('keeps missing facts as NULL', () => {
    rec.toolUse({ sessionId: 'bare', toolName: 'Read', toolUseId: 'u1' }, PROJECT, T0, raw({}));
    expect(store.session('bare')).toMatchObject({
      cwd: null,
      source: null,
      model: null,
      transcript_path: null,
      status: 'active',
    });
  });

  it('come back to life when an event arrives after their end', () => {
    rec.userPrompt(input({ prompt: 'first' }), PROJECT, T0);
    rec.sessionEnd(input({ reason: 'clear' }), PROJECT, T0 + 10);
    expect(store.session('s1')).toMatchObject({ status: 'ended', ended_at: T0 + 10, end_reason: 'clear' });
    rec.userPrompt(input({ prompt: 'second' }), PROJECT, T0 + 20);
    expect(store.session('s1')).toMatchObject({ status: 'active', ended_at: null, end_reason: null });
  });

  it('left open in the same project are ended and queued at the next SessionStart, and only those', () => {
    rec.userPrompt(input({ sessionId: 'old', prompt: 'p1' }), PROJECT, T0);
    rec.userPrompt(input({ sessionId: 'old', prompt: 'p2' }), PROJECT, T0 + 1);
    rec.userPrompt(input({ sessionId: 'elsewhere', prompt: 'x' }), OTHER, T0 + 2);
    rec.userPrompt(input({ sessionId: 'done', prompt: 'd' }), PROJECT, T0 + 3);
    rec.sessionEnd(input({ sessionId: 'done' }), PROJECT, T0 + 4);
    const before = queue().length;
    expect(rec.sessionStart(input({ sessionId: 'new' }), PROJECT, T0 + 100)).toEqual({ abandoned: ['old'] });
    expect(store.session('old')).toMatchObject({
      status: 'ended',
      ended_at: T0 + 100,
      end_reason: 'no SessionEnd (rolled up at the next session start)',
    });
    expect(store.session('elsewhere')!.status).toBe('active');
    expect(store.session('new')!.status).toBe('active');
    expect(queue().slice(before)).toEqual([
      {
        kind: 'turn',
        session_id: 'old',
        prompt_number: 2,
        enqueued_at: T0 + 100,
        not_before: T0 + 100,
        status: 'pending',
      },
      {
        kind: 'session',
        session_id: 'old',
        prompt_number: 2,
        enqueued_at: T0 + 100,
        not_before: T0 + 100,
        status: 'pending',
      },
    ]);
    // A second start finds nothing left open.
    expect(rec.sessionStart(input({ sessionId: 'new' }), PROJECT, T0 + 200)).toEqual({ abandoned: [] });
  });
});

describe('prompts', () => {
  it('are numbered per session; each new one queues the turn before it', () => {
    const a = rec.userPrompt(input({ prompt: 'one' }), PROJECT, T0);
    expect(a.created).toBe(true);
    expect(a.prompt).toMatchObject({
      session_id: 's1',
      prompt_number: 1,
      prompt_id: null,
      text: 'one',
      created_at: T0,
      stopped_at: null,
      last_assistant_message: null,
    });
    expect(queue()).toEqual([]);
    const b = rec.userPrompt(input({ prompt: 'two', promptId: 'p2' }), PROJECT, T0 + 1);
    expect(b.prompt).toMatchObject({ prompt_number: 2, prompt_id: 'p2', text: 'two' });
    expect(
      rec.userPrompt(input({ sessionId: 's2', prompt: 'other session' }), PROJECT, T0 + 2).prompt.prompt_number,
    ).toBe(1);
    expect(queue()).toEqual([
      { kind: 'turn', session_id: 's1', prompt_number: 1, enqueued_at: T0 + 1, not_before: T0 + 1, status: 'pending' },
    ]);
  });

  it('are kept once when a retry carries the same prompt id, whatever its text', () => {
    const first = rec.userPrompt(input({ prompt: 'hello', promptId: 'p1' }), PROJECT, T0);
    const again = rec.userPrompt(input({ prompt: 'hello again', promptId: 'p1' }), PROJECT, T0 + 60_000);
    expect(again).toEqual({ prompt: first.prompt, created: false });
    expect(rec.userPrompt(input({ prompt: 'hello', promptId: 'p2' }), PROJECT, T0 + 1).created).toBe(true);
    expect(store.prompts('s1').length).toBe(2);
  });

  it('without an id, are a retry only when the same text follows the last unstopped prompt within 10 s', () => {
    rec.userPrompt(input({ prompt: 'same' }), PROJECT, T0);
    expect(rec.userPrompt(input({ prompt: 'same' }), PROJECT, T0 + 9_999).created).toBe(false);
    expect(rec.userPrompt(input({ prompt: 'same' }), PROJECT, T0 + 10_000).created).toBe(true);
    expect(rec.userPrompt(input({ prompt: 'different' }), PROJECT, T0 + 10_001).created).toBe(true);
    rec.stop(input(), PROJECT, T0 + 10_002);
    expect(rec.userPrompt(input({ prompt: 'different' }), PROJECT, T0 + 10_003).created).toBe(true);
    expect(store.prompts('s1').map((p) => p.prompt_number)).toEqual([1, 2, 3, 4]);
  });

  it('are stored redacted and capped; an event without a prompt stores an empty one', () => {
    const gh = `ghp_${'a1B2c3D4e5'.repeat(4)}`;
    expect(rec.userPrompt(input({ prompt: `use ${gh}` }), PROJECT, T0).prompt.text).toBe('use [REDACTED:github-token]');
    const long = rec.userPrompt(input({ prompt: 'x'.repeat(40_000) }), PROJECT, T0 + 1).prompt.text;
    expect(long.length).toBeLessThan(32 * 1024 + 100);
    expect(long).toContain('characters cut');
    expect(rec.userPrompt(input({ prompt: 'y'.repeat(32 * 1024) }), PROJECT, T0 + 2).prompt.text).toBe(
      'y'.repeat(32 * 1024),
    );
    expect(rec.userPrompt(input({ sessionId: 'np' }), PROJECT, T0).prompt.text).toBe('');
  });
});

describe('tool events', () => {
  const bash = (o: Partial<HookInput> = {}): HookInput =>
    input({
      toolName: 'Bash',
      toolUseId: 't1',
      toolInput: { command: 'npm test' },
      toolResponse: { stdout: 'ok', stderr: '', exit_code: 0 },
      ...o,
    });

  it('are stored once per tool_use_id, with the turn, summary, flags and payload', () => {
    rec.userPrompt(input({ prompt: 'one', promptId: 'p1' }), PROJECT, T0);
    rec.userPrompt(input({ prompt: 'two', promptId: 'p2' }), PROJECT, T0 + 1);
    expect(rec.toolUse(bash({ promptId: 'p1', durationMs: 1234 }), PROJECT, T0 + 5, raw({ a: 1 }))).toEqual({
      created: true,
    });
    expect(rec.toolUse(bash({ promptId: 'p1', durationMs: 99 }), PROJECT, T0 + 6, raw({ a: 1 }))).toEqual({
      created: false,
    });
    const [e] = store.toolEvents('s1');
    expect(e).toMatchObject({
      session_id: 's1',
      prompt_number: 1,
      tool_use_id: 't1',
      tool_name: 'Bash',
      is_error: 0,
      duration_ms: 1234,
      created_at: T0 + 5,
    });
    expect(e!.input_summary).toContain('npm test');
    expect(store.toolEvents('s1').length).toBe(1);
    const payloads = rows('SELECT event_id, payload, truncated FROM tool_event_payloads');
    expect(payloads).toEqual([
      {
        event_id: e!.id,
        payload: JSON.stringify({
          tool_input: { command: 'npm test' },
          tool_response: { stdout: 'ok', stderr: '', exit_code: 0 },
        }),
        truncated: 0,
      },
    ]);
  });

  it('belong to the last turn when their prompt id is unknown or missing, and to turn 0 before any prompt', () => {
    rec.toolUse(bash({ toolUseId: 'early' }), PROJECT, T0, raw({}));
    rec.userPrompt(input({ prompt: 'one', promptId: 'p1' }), PROJECT, T0 + 1);
    rec.userPrompt(input({ prompt: 'two', promptId: 'p2' }), PROJECT, T0 + 2);
    rec.toolUse(bash({ toolUseId: 'unknown', promptId: 'nope' }), PROJECT, T0 + 3, raw({}));
    rec.toolUse(bash({ toolUseId: 'none' }), PROJECT, T0 + 4, raw({}));
    expect(store.toolEvents('s1').map((e) => [e.tool_use_id, e.prompt_number])).toEqual([
      ['early', 0],
      ['unknown', 2],
      ['none', 2],
    ]);
    expect(store.toolEvents('s1', 2).map((e) => e.tool_use_id)).toEqual(['unknown', 'none']);
  });

  it('without a tool_use_id get one from the payload hash, so a redelivery is still one event', () => {
    const payload = raw({ tool_name: 'Read', n: 1 });
    const id = `sha:${createHash('sha256').update(payload).digest('hex').slice(0, 24)}`;
    expect(rec.toolUse(input({ toolName: 'Read' }), PROJECT, T0, payload).created).toBe(true);
    expect(rec.toolUse(input({ toolName: 'Read' }), PROJECT, T0 + 1, payload).created).toBe(false);
    expect(rec.toolUse(input({ toolName: 'Read' }), PROJECT, T0 + 2, raw({ tool_name: 'Read', n: 2 })).created).toBe(
      true,
    );
    expect(store.toolEvents('s1')[0]!.tool_use_id).toBe(id);
    expect(rec.toolUse(input({ toolUseId: 'nameless' }), PROJECT, T0 + 3, raw({})).created).toBe(true);
    expect(store.toolEvents('s1').at(-1)!.tool_name).toBe('unknown');
  });

  it('keep errors, exit codes, files and a redacted, capped payload; a missing input or response is null', () => {
    const gh = `ghp_${'a1B2c3D4e5'.repeat(4)}`;
    rec.toolUse(
      bash({ toolUseId: 'fail', toolResponse: { stdout: '', stderr: `boom ${gh}`, exit_code: 3 } }),
      PROJECT,
      T0,
      raw({}),
    );
    rec.toolUse(
      input({
        toolName: 'Edit',
        toolUseId: 'edit',
        toolInput: { file_path: '/home/me/app/src/a.ts', old_string: 'a', new_string: 'b' },
        toolResponse: {},
      }),
      PROJECT,
      T0 + 1,
      raw({}),
    );
    rec.toolUse(
      input({
        toolName: 'Read',
        toolUseId: 'big',
        toolInput: { file_path: '/home/me/app/big.txt' },
        toolResponse: 'z'.repeat(PAYLOAD_CAP * 2),
      }),
      PROJECT,
      T0 + 2,
      raw({}),
    );
    rec.toolUse(input({ toolName: 'Task', toolUseId: 'empty' }), PROJECT, T0 + 3, raw({}));
    const [fail, edit, big, empty] = store.toolEvents('s1');
    expect(fail).toMatchObject({ is_error: 1, exit_code: 3, duration_ms: null });
    expect(JSON.parse(edit!.files_changed)).toEqual(['src/a.ts']);
    expect(JSON.parse(big!.files_read)).toEqual(['big.txt']);
    const payload = (id: number) =>
      db.prepare('SELECT payload, truncated FROM tool_event_payloads WHERE event_id = ?').get(id) as {
        payload: string;
        truncated: number;
      };
    expect(payload(fail!.id).payload).toContain('boom [REDACTED:github-token]');
    expect(payload(fail!.id).payload).not.toContain(gh);
    expect(payload(big!.id).truncated).toBe(1);
    expect(payload(big!.id).payload.length).toBeLessThanOrEqual(PAYLOAD_CAP);
    expect(payload(empty!.id)).toEqual({ payload: '{"tool_input":null,"tool_response":null}', truncated: 0 });
    expect(PAYLOAD_CAP).toBe(16 * 1024);
  });

  it('are written with their payload in one transaction: a payload that cannot be written leaves no event', () => {
    db.exec(
      "CREATE TRIGGER no_payloads BEFORE INSERT ON tool_event_payloads BEGIN SELECT RAISE(ABORT, 'disk says no'); END",
    );
    expect(() => rec.toolUse(bash(), PROJECT, T0, raw({}))).toThrow(/disk says no/);
    expect(rows('SELECT * FROM tool_events')).toEqual([]);
    expect(store.session('s1')).toBeUndefined();
    db.exec('DROP TRIGGER no_payloads');
    expect(rec.toolUse(bash(), PROJECT, T0, raw({})).created).toBe(true);
  });
});

describe('ends of turns and sessions', () => {
  it('a Stop keeps the first stop time and the last message it was given, and queues the turn', () => {
    rec.userPrompt(input({ prompt: 'one', promptId: 'p1' }), PROJECT, T0);
    rec.userPrompt(input({ prompt: 'two', promptId: 'p2' }), PROJECT, T0 + 1);
    rec.stop(input({ promptId: 'p1', lastAssistantMessage: 'done with one' }), PROJECT, T0 + 10);
    rec.stop(input({ promptId: 'p1' }), PROJECT, T0 + 20);
    expect(store.prompt('s1', 1)).toMatchObject({ stopped_at: T0 + 10, last_assistant_message: 'done with one' });
    expect(store.prompt('s1', 2)).toMatchObject({ stopped_at: null, last_assistant_message: null });
    rec.stop(input({ lastAssistantMessage: 'done with two' }), PROJECT, T0 + 30);
    rec.stop(input({ lastAssistantMessage: 'really done' }), PROJECT, T0 + 40);
    expect(store.prompt('s1', 2)).toMatchObject({ stopped_at: T0 + 30, last_assistant_message: 'really done' });
    expect(queue().map((q) => [q.kind, q.prompt_number, q.enqueued_at])).toEqual([
      ['turn', 1, T0 + 1],
      ['turn', 2, T0 + 30],
    ]);
  });

  it('a Stop keeps its message redacted and capped; one before any prompt changes nothing', () => {
    rec.stop(input({ lastAssistantMessage: 'early' }), PROJECT, T0);
    expect(queue()).toEqual([]);
    expect(store.session('s1')).toBeDefined();
    rec.userPrompt(input({ prompt: 'one' }), PROJECT, T0 + 1);
    rec.stop(input({ lastAssistantMessage: `token=abc123 ${'m'.repeat(9000)}` }), PROJECT, T0 + 2);
    const message = store.prompt('s1', 1)!.last_assistant_message!;
    expect(message.startsWith('token=[REDACTED:secret-assignment]')).toBe(true);
    expect(message.length).toBeLessThanOrEqual(8 * 1024);
    expect(message).toContain('characters cut');
  });

  it('a SessionEnd ends the session with its reason, and queues its last turn and then the session, once', () => {
    rec.userPrompt(input({ prompt: 'one' }), PROJECT, T0);
    rec.userPrompt(input({ prompt: 'two' }), PROJECT, T0 + 1);
    rec.sessionEnd(input({ reason: 'logout\nand more' }), PROJECT, T0 + 5);
    expect(store.session('s1')).toMatchObject({
      status: 'ended',
      ended_at: T0 + 5,
      end_reason: 'logout and more',
      last_event_at: T0 + 5,
    });
    // A repeated SessionEnd ends it again (the last word wins), and queues nothing twice.
    rec.sessionEnd(input({ reason: 'again' }), PROJECT, T0 + 6);
    expect(store.session('s1')).toMatchObject({ status: 'ended', ended_at: T0 + 6, end_reason: 'again' });
    expect(queue().map((q) => [q.kind, q.prompt_number, q.enqueued_at])).toEqual([
      ['turn', 1, T0 + 1],
      ['turn', 2, T0 + 5],
      ['session', 2, T0 + 5],
    ]);
  });

  it('a SessionEnd without a reason says "ended"; a session with no prompt queues only its rollup', () => {
    rec.sessionEnd(input(), PROJECT, T0);
    expect(store.session('s1')).toMatchObject({ status: 'ended', end_reason: 'ended' });
    expect(queue().map((q) => [q.kind, q.prompt_number])).toEqual([['session', 0]]);
    rec.sessionEnd(input({ sessionId: 'long', reason: 'r'.repeat(500) }), PROJECT, T0);
    expect((store.session('long')!.end_reason as string).length).toBeLessThanOrEqual(200);
  });

  it('ending a session by hand cuts a long reason to 200 characters', () => {
    rec.sessionStart(input(), PROJECT, T0);
    store.endSession('s1', 'x'.repeat(300), T0 + 1);
    expect(store.session('s1')!.end_reason).toBe('x'.repeat(200));
  });

  it('queueing the same work twice keeps one item', () => {
    store.enqueue('turn', 's1', 1, T0);
    store.enqueue('turn', 's1', 1, T0 + 5);
    store.enqueue('session', 's1', 1, T0 + 6);
    expect(queue()).toEqual([
      { kind: 'turn', session_id: 's1', prompt_number: 1, enqueued_at: T0, not_before: T0, status: 'pending' },
      {
        kind: 'session',
        session_id: 's1',
        prompt_number: 1,
        enqueued_at: T0 + 6,
        not_before: T0 + 6,
        status: 'pending',
      },
    ]);
  });
});

describe('the database every capture write goes to', () => {
  it('is in WAL mode, syncs every commit, enforces foreign keys, waits 5 s on a lock, and is private', () => {
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('synchronous', { simple: true })).toBe(2);
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.pragma('busy_timeout', { simple: true })).toBe(5000);
    rec.userPrompt(input({ prompt: 'x' }), PROJECT, T0);
    for (const file of ['mnemo.db', 'mnemo.db-wal'])
      expect(statSync(join(home, 'data', file)).mode & 0o777, file).toBe(0o600);
    expect(() =>
      db
        .prepare(
          "INSERT INTO prompts (session_id, prompt_number, text, created_at) VALUES ('no-such-session', 1, 'x', 0)",
        )
        .run(),
    ).toThrow(/FOREIGN KEY/);
  });

  it('makes the database and its WAL and shared-memory files private whatever the umask', () => {
    const umask = process.umask(0o022);
    try {
      const path = join(home, 'open', 'm.db');
      const own = openDb(path);
      try {
        own.prepare("INSERT INTO sessions (id, project, started_at, last_event_at) VALUES ('x', 'p', 0, 0)").run();
        for (const file of [path, `${path}-wal`, `${path}-shm`]) expect(statSync(file).mode & 0o777, file).toBe(0o600);
      } finally {
        own.close();
      }
    } finally {
      process.umask(umask);
    }
  });

  it('keeps a copy of a database made by an older mnemo before migrating it', () => {
    mkdirSync(join(home, 'old'));
    const path = join(home, 'old', 'mnemo.db');
    const old = new Database(path);
    sqliteVec.load(old);
    migrate(old, SCHEMA_VERSION - 1);
    old.close();
    openDb(path).close();
    expect(readdirSync(join(home, 'old', 'backups'))).toEqual([
      expect.stringMatching(new RegExp(`-before-schema-${SCHEMA_VERSION}\\.db$`)),
    ]);
  });

  it('takes another lock wait when asked, and opens read-only without changing the file', () => {
    const other = openDb(join(home, 'data', 'mnemo.db'), { busyTimeoutMs: 1234 });
    try {
      expect(other.pragma('busy_timeout', { simple: true })).toBe(1234);
    } finally {
      other.close();
    }
    const ro = openDb(join(home, 'data', 'mnemo.db'), { readonly: true });
    try {
      expect(ro.readonly).toBe(true);
      expect(() =>
        ro.prepare("INSERT INTO sessions (id, project, started_at, last_event_at) VALUES ('x', 'p', 0, 0)").run(),
      ).toThrow(/readonly/);
    } finally {
      ro.close();
    }
  });

  it('is created with its folders and schema, and a file that is not a database is refused', async () => {
    const nested = join(home, 'a', 'b', 'new.db');
    const fresh = openDb(nested);
    try {
      expect(
        (fresh.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'tool_events'").get() as { n: number }).n,
      ).toBe(1);
    } finally {
      fresh.close();
    }
    const memory = openDb(':memory:');
    try {
      expect(memory.pragma('foreign_keys', { simple: true })).toBe(1);
    } finally {
      memory.close();
    }
    const { writeFileSync } = await import('node:fs');
    const junk = join(home, 'junk.db');
    writeFileSync(junk, 'this is not a database, just text '.repeat(200));
    expect(() => openDb(junk)).toThrow(/not a database/);
    // A read-only open of a database that was never migrated stays as it was: no schema is written.
    const plain = join(home, 'plain.db');
    new Database(plain).close();
    openDb(plain, { readonly: true }).close();
    const check = new Database(plain, { readonly: true });
    try {
      expect(check.prepare('SELECT count(*) AS n FROM sqlite_master').get()).toEqual({ n: 0 });
    } finally {
      check.close();
    }
  });
});
