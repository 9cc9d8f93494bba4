import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { exportCommand, importCommand } from '../dist/cli/commands/transfer.js';
import { connect, type MnemoClient } from '../dist/client/client.js';
import { startDaemon, type Daemon } from '../dist/daemon/daemon.js';
import { cleanup, testEnv } from './helpers/daemon.js';
import { openTestEngine } from './helpers/engine.js';

/**
 * Export and import (issue 11, mutation testing of cli/commands/transfer.ts and the export page and stored fields
 * behind it). The commands run in this process, as `mnemo export` and `mnemo import` run them, against a real daemon
 * (also in this process, on a fresh temp MNEMO_HOME), so every line between the command and the SQLite file is the
 * real one. Each test fails on a mutant that survived the rest of the suite.
 */

type Env = NodeJS.ProcessEnv;
let env: Env;
let daemon: Daemon;
let client: MnemoClient;
let saved: { home?: string; model?: string };
let dir: string;

async function start(): Promise<void> {
  env = testEnv();
  daemon = await startDaemon({ env, threads: 1 });
  await daemon.ready;
  client = await connect({ env });
  // The commands find the daemon the way the CLI does: from this process's environment.
  process.env.MNEMO_HOME = env.MNEMO_HOME;
  process.env.MNEMO_MODEL = env.MNEMO_MODEL;
}
async function stop(): Promise<void> {
  client.close();
  await daemon.stop();
  cleanup(env);
}

beforeEach(async () => {
  saved = { home: process.env.MNEMO_HOME, model: process.env.MNEMO_MODEL };
  dir = mkdtempSync(join(tmpdir(), 'mnemo-transfer-'));
  await start();
});
afterEach(async () => {
  await stop();
  process.env.MNEMO_HOME = saved.home;
  if (saved.model === undefined) delete process.env.MNEMO_MODEL;
  else process.env.MNEMO_MODEL = saved.model;
  rmSync(dir, { recursive: true, force: true });
});

/** Runs a command in this process and returns its exit status and what it printed. */
async function run(
  command: typeof exportCommand,
  p: { values?: Record<string, unknown>; positionals?: string[]; json?: boolean },
  o: { stdin?: string; tty?: boolean } = {},
) {
  const out: string[] = [];
  const err: string[] = [];
  const writeOut = process.stdout.write.bind(process.stdout);
  const writeErr = process.stderr.write.bind(process.stderr);
  const tty = process.stderr.isTTY;
  const stdin = Object.getOwnPropertyDescriptor(process, 'stdin')!;
  process.stdout.write = (chunk: string) => out.push(String(chunk)) > 0;
  process.stderr.write = (chunk: string) => err.push(String(chunk)) > 0;
  process.stderr.isTTY = o.tty ?? false;
  if (o.stdin !== undefined)
    Object.defineProperty(process, 'stdin', { value: Readable.from([o.stdin]), configurable: true });
  try {
    const code = await command.run({ values: p.values ?? {}, positionals: p.positionals ?? [], json: p.json ?? false });
    return { code, stdout: out.join(''), stderr: err.join('') };
  } finally {
    process.stdout.write = writeOut;
    process.stderr.write = writeErr;
    process.stderr.isTTY = tty;
    Object.defineProperty(process, 'stdin', stdin);
  }
}

async function seed(): Promise<void> {
  await client.storeBatch({
    memories: [
      {
        content: 'We pin Node 22 in CI',
        type: 'decision',
        project: '/w/app',
        sessionId: 's-1',
        tags: ['ci', 'node'],
        metadata: { why: 'native modules' },
        createdAt: 1_700_000_000_000,
      },
      { content: 'The billing queue retries three times', tags: ['billing'], createdAt: 1_700_000_100_000 },
      { content: 'Deploys go out on Tuesdays', createdAt: 1_700_000_200_000 },
    ],
  });
  // A get counts as an access: the export must carry it.
  const [first] = (await client.export({})).memories;
  await client.get({ hash: first!.hash });
}

/**
 * How many connections the daemon still has once the ones a command closed are gone: it hears of a close a moment after
 * the client closes, so this waits (at most 5 s) for the count to come down to this test's own connection.
 */
async function connectionsLeft(): Promise<number> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const n = (await client.status()).connections;
    if (n <= 1 || Date.now() > deadline) return n;
    await new Promise((r) => setTimeout(r, 20));
  }
}

const lines = (text: string) =>
  text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('mnemo export', () => {
  it('writes every memory, whole, as one JSON line to a file, and says how many', async () => {
    await seed();
    const file = join(dir, 'out.jsonl');
    const r = await run(exportCommand, { values: { output: file } });
    expect(r).toEqual({ code: 0, stdout: `exported 3 memories to ${file}\n`, stderr: '' });
    const exported = lines(readFileSync(file, 'utf8'));
    expect(exported.map((m) => m.content)).toEqual([
      'We pin Node 22 in CI',
      'The billing queue retries three times',
      'Deploys go out on Tuesdays',
    ]);
    expect(exported[0]).toMatchObject({
      type: 'decision',
      project: '/w/app',
      sessionId: 's-1',
      tags: ['ci', 'node'],
      metadata: { why: 'native modules' },
      createdAt: 1_700_000_000_000,
    });
    const accessed = exported.find((m) => (m.accessCount as number) > 0)!;
    expect(accessed.accessCount).toBe(1);
    expect(typeof accessed.lastAccessedAt).toBe('number');
    expect(typeof accessed.updatedAt).toBe('number');
    expect(Object.keys(exported[0]!).sort()).toEqual([
      'accessCount',
      'content',
      'createdAt',
      'hash',
      'lastAccessedAt',
      'metadata',
      'project',
      'sessionId',
      'tags',
      'type',
      'updatedAt',
    ]);
    const json = await run(exportCommand, { values: { output: file }, json: true });
    expect(JSON.parse(json.stdout)).toEqual({ exported: 3, file });
  });

  it('waits for a slow file to drain, pages past 500 memories, and closes its connection', async () => {
    const big = 'x'.repeat(20_000);
    await client.storeBatch({ memories: Array.from({ length: 3 }, (_, i) => ({ content: `${i} ${big}` })) });
    await client.storeBatch({ memories: Array.from({ length: 520 }, (_, i) => ({ content: `small memory ${i}` })) });
    const file = join(dir, 'big.jsonl');
    const r = await run(exportCommand, { values: { output: file }, json: true });
    expect(JSON.parse(r.stdout)).toEqual({ exported: 523, file });
    const exported = lines(readFileSync(file, 'utf8'));
    expect(exported.length).toBe(523);
    expect(new Set(exported.map((m) => m.hash)).size).toBe(523);
    expect((exported[0]!.content as string).length).toBe(20_002);
    // Only this test's own connection is left open.
    expect(await connectionsLeft()).toBe(1);
  });

  it('writes to stdout without --output, the summary on stderr only as JSON or on a terminal', async () => {
    await seed();
    const plain = await run(exportCommand, {});
    expect(plain.code).toBe(0);
    expect(lines(plain.stdout).length).toBe(3);
    expect(plain.stderr).toBe('');
    const json = await run(exportCommand, { json: true });
    expect(lines(json.stdout).length).toBe(3);
    expect(json.stderr).toBe('{"exported":3}\n');
    const tty = await run(exportCommand, {}, { tty: true });
    expect(tty.stderr).toBe('exported 3 memories\n');
  });

  it('pages through the memories in storage order, ending with a null cursor', async () => {
    const t = await openTestEngine();
    try {
      await t.api.storeBatch({ memories: ['one', 'two', 'three', 'four'].map((content) => ({ content })) });
      const a = await t.api.export({ limit: 2 });
      const b = await t.api.export({ cursor: a.cursor!, limit: 2 });
      const c = await t.api.export({ cursor: b.cursor!, limit: 2 });
      expect([a, b, c].map((p) => p.memories.map((m) => m.content))).toEqual([['one', 'two'], ['three', 'four'], []]);
      expect(a.cursor).toBeLessThan(b.cursor!);
      expect(c.cursor).toBeNull();
      expect((await t.api.export({ limit: 5 })).cursor).toBeNull();
      expect((await t.api.export({ limit: 3 })).memories.length).toBe(3);
    } finally {
      await t.close();
    }
  });
});

describe('mnemo import', () => {
  it('restores an export into an empty home exactly, and a second import finds everything present', async () => {
    await seed();
    const file = join(dir, 'out.jsonl');
    await run(exportCommand, { values: { output: file } });
    const before = readFileSync(file, 'utf8');
    await stop();
    await start();
    const r = await run(importCommand, { positionals: [file] });
    expect(r).toEqual({ code: 0, stdout: 'imported 3 new memories, 0 already present\n', stderr: '' });
    const again = join(dir, 'again.jsonl');
    await run(exportCommand, { values: { output: again } });
    expect(lines(readFileSync(again, 'utf8'))).toEqual(lines(before));
    const twice = await run(importCommand, { positionals: [file], json: true });
    expect(JSON.parse(twice.stdout)).toEqual({ imported: 0, alreadyPresent: 3 });
  });

  it('reads stdin for -, skips blank lines, and stores in batches', async () => {
    // More lines than one storeBatch request may carry (1,000): the import must send them in several.
    const many = Array.from({ length: 1001 }, (_, i) =>
      JSON.stringify({ content: `memory number ${i}`, accessCount: i, lastAccessedAt: 1_700_000_000_000 + i }),
    );
    const r = await run(
      importCommand,
      { positionals: ['-'], json: true },
      { stdin: `${many.slice(0, 10).join('\n')}\n\n   \n${many.slice(10).join('\n')}\n` },
    );
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ imported: 1001, alreadyPresent: 0 });
    expect((await client.health()).memories).toBe(1001);
    const page = await client.export({ limit: 500 });
    expect(page.memories[449]).toMatchObject({
      content: 'memory number 449',
      accessCount: 449,
      lastAccessedAt: 1_700_000_000_449,
    });
    expect(await connectionsLeft()).toBe(1);
  });

  it('shows its progress on a terminal: a count, and a percentage of the file', async () => {
    const file = join(dir, 'in.jsonl');
    writeFileSync(
      file,
      `${JSON.stringify({ content: 'progress one' })}\n${JSON.stringify({ content: 'progress two' })}\n`,
    );
    const r = await run(importCommand, { positionals: [file] }, { tty: true });
    expect(r.stderr).toBe('\rimported 2 memories (100%)\n');
    const piped = await run(
      importCommand,
      { positionals: ['-'] },
      { tty: true, stdin: `${JSON.stringify({ content: 'progress three' })}\n` },
    );
    expect(piped.stderr).toBe('\rimported 1 memories\n');
    const json = await run(importCommand, { positionals: [file], json: true }, { tty: true });
    expect(json.stderr).toBe('');
    // Memories already present count as imported in the progress line.
    const again = await run(importCommand, { positionals: [file] }, { tty: true });
    expect(again.stderr).toBe('\rimported 2 memories (100%)\n');
    const empty = join(dir, 'empty.jsonl');
    writeFileSync(empty, '');
    expect(await run(importCommand, { positionals: [empty] }, { tty: true })).toEqual({
      code: 0,
      stdout: 'imported 0 new memories, 0 already present\n',
      stderr: '\n',
    });
  });

  it('refuses a line that is not JSON, or a memory the store refuses, naming the line', async () => {
    const file = join(dir, 'bad.jsonl');
    writeFileSync(file, `${JSON.stringify({ content: 'fine' })}\n\nnot json at all\n`);
    await expect(run(importCommand, { positionals: [file] })).rejects.toThrow(/^line 3 is not JSON$/);
    writeFileSync(file, `${JSON.stringify({ content: 'fine' })}\n${JSON.stringify({ content: '   ' })}\n`);
    await expect(run(importCommand, { positionals: [file] })).rejects.toMatchObject({
      code: 'E_BAD_ARGS',
      message: expect.stringMatching(/^line 2: `memories\[1\]\.content`/),
    });
    expect((await client.health()).memories).toBe(0);
  });

  it('keeps only the fields the store takes: a derived hash or an unknown field in a line is dropped', async () => {
    const file = join(dir, 'extra.jsonl');
    writeFileSync(
      file,
      `${JSON.stringify({ hash: 'abc', content: 'with extras', surprise: true, tags: ['x'], type: undefined })}\n`,
    );
    const r = await run(importCommand, { positionals: [file], json: true });
    expect(JSON.parse(r.stdout)).toEqual({ imported: 1, alreadyPresent: 0 });
    const [m] = (await client.export({})).memories;
    expect(m).toMatchObject({ content: 'with extras', tags: ['x'], type: 'note' });
    expect(m!.hash).not.toBe('abc');
  });

  it('asks for a file, and refuses one that does not exist', async () => {
    await expect(run(importCommand, {})).rejects.toThrow(/^give a file of JSON lines/);
    await expect(run(importCommand, { positionals: [join(dir, 'missing.jsonl')] })).rejects.toThrow(
      `no such file: ${join(dir, 'missing.jsonl')}`,
    );
  });

  it('dry run: checks every line, counts what would be imported, lists what is refused, stores nothing', async () => {
    const file = join(dir, 'dry.jsonl');
    writeFileSync(
      file,
      [
        JSON.stringify({ content: 'good one', hash: 'dropped' }),
        '  ',
        '{oops',
        JSON.stringify({ content: 7 }),
        JSON.stringify({ content: 'good two' }),
      ].join('\n'),
    );
    const r = await run(importCommand, { positionals: [file], values: { 'dry-run': true }, json: true });
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as { refused: unknown };
    expect(report).toMatchObject({ dryRun: true, valid: 2 });
    expect(report.refused).toEqual([
      { line: 3, reason: 'not JSON' },
      { line: 4, reason: expect.stringMatching(/content/) },
    ]);
    const text = await run(importCommand, { positionals: [file], values: { 'dry-run': true } });
    expect(text.stdout).toBe(
      'would import 2 memories (dry run, nothing changed; memories already stored count as imported); ' +
        '2 lines refused; line 3: not JSON\n',
    );
    writeFileSync(file, `${JSON.stringify({ content: 'only good' })}\n`);
    const clean = await run(importCommand, { positionals: [file], values: { 'dry-run': true } });
    expect(clean).toEqual({
      code: 0,
      stdout: 'would import 1 memories (dry run, nothing changed; memories already stored count as imported)\n',
      stderr: '',
    });
    const piped = await run(
      importCommand,
      { positionals: ['-'], values: { 'dry-run': true }, json: true },
      { stdin: `${JSON.stringify({ content: 'from stdin' })}\n` },
    );
    expect(JSON.parse(piped.stdout)).toEqual({ dryRun: true, valid: 1, refused: [] });
    expect((await client.health()).memories).toBe(0);
  });
});

describe('mnemo import --from a peer', () => {
  function claudeMemDb(): string {
    const file = join(dir, 'claude-mem.db');
    const db = new Database(file);
    db.exec(`CREATE TABLE observations (id INTEGER PRIMARY KEY, memory_session_id TEXT, project TEXT, text TEXT,
        type TEXT, title TEXT, subtitle TEXT, facts TEXT, narrative TEXT, concepts TEXT, files_read TEXT,
        files_modified TEXT, prompt_number INTEGER, created_at TEXT, created_at_epoch INTEGER);
      CREATE TABLE session_summaries (id INTEGER PRIMARY KEY, memory_session_id TEXT, project TEXT, request TEXT,
        investigated TEXT, learned TEXT, completed TEXT, next_steps TEXT, files_read TEXT, files_edited TEXT,
        notes TEXT, prompt_number INTEGER, created_at TEXT, created_at_epoch INTEGER);`);
    db.prepare('INSERT INTO observations VALUES (1, ?, ?, NULL, ?, ?, NULL, NULL, ?, NULL, NULL, NULL, 3, ?, ?)').run(
      's-1',
      'shop',
      'bugfix',
      'Fixed refund rounding',
      'Money is integer cents now.',
      '2025-03-01T10:00:00Z',
      1_740_823_200_000,
    );
    db.prepare(
      'INSERT INTO observations VALUES (2, ?, ?, NULL, ?, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 4, ?, ?)',
    ).run('s-1', 'shop', 'change', '2025-03-01T10:05:00Z', 1_740_823_500_000);
    db.close();
    return file;
  }

  it('imports a claude-mem database, or on a dry run counts it, saying what it skipped', async () => {
    const file = claudeMemDb();
    const dry = await run(importCommand, { values: { from: 'claude-mem', 'dry-run': true }, positionals: [file] });
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(
      /^would import 1 memories from claude-mem \(dry run, nothing changed\); skipped 1 \(.+\)\n$/,
    );
    expect((await client.health()).memories).toBe(0);
    const real = await run(importCommand, { values: { from: 'claude-mem' }, positionals: [file] });
    expect(real.stdout).toMatch(/^imported 1 new memories from claude-mem, 0 already present; skipped 1 \(.+\)\n$/);
    const json = await run(importCommand, { values: { from: 'claude-mem' }, positionals: [file], json: true });
    expect(JSON.parse(json.stdout)).toMatchObject({ found: 1, imported: 0, alreadyPresent: 1 });
    expect((await client.health()).memories).toBe(1);
  });

  it('says on a JSON dry run that it was one, and lists every reason it skipped something', async () => {
    const file = join(dir, 'sqlite_vec.db');
    const db = new Database(file);
    db.exec(`CREATE TABLE memories (id INTEGER PRIMARY KEY AUTOINCREMENT, content_hash TEXT UNIQUE NOT NULL,
      content TEXT NOT NULL, tags TEXT, memory_type TEXT, metadata TEXT, created_at REAL, updated_at REAL,
      created_at_iso TEXT, updated_at_iso TEXT, deleted_at REAL)`);
    const ins = db.prepare(
      'INSERT INTO memories (content_hash, content, tags, memory_type, metadata, created_at, updated_at, deleted_at) ' +
        'VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    ins.run('h1', 'Deploys go out on Tuesdays', 'process', 'note', '{}', 1_700_000_200, 1_700_000_200, null);
    ins.run('h2', 'This one was deleted', 'x', 'note', '{}', 1_700_000_300, 1_700_000_300, 1_700_000_400);
    ins.run('h3', '   ', '', 'note', '{}', 1_700_000_500, 1_700_000_500, null);
    db.close();
    const dry = await run(importCommand, {
      values: { from: 'mcp-memory-service', 'dry-run': true },
      positionals: [file],
      json: true,
    });
    expect(JSON.parse(dry.stdout)).toMatchObject({ dryRun: true, found: 1, imported: 0 });
    const text = await run(importCommand, {
      values: { from: 'mcp-memory-service', 'dry-run': true },
      positionals: [file],
    });
    expect(text.stdout).toBe(
      'would import 1 memories from mcp-memory-service (dry run, nothing changed); ' +
        'skipped 1 (deleted in mcp-memory-service), 1 (empty content)\n',
    );
    const real = await run(
      importCommand,
      { values: { from: 'mcp-memory-service' }, positionals: [file], json: true },
      { tty: true },
    );
    expect(JSON.parse(real.stdout)).toMatchObject({ dryRun: false, imported: 1 });
    expect(real.stderr).toBe('');
    expect(await connectionsLeft()).toBe(1);
  });

  it('names the peers it knows, and asks for the database file', async () => {
    await expect(run(importCommand, { values: { from: 'evernote' }, positionals: ['x.db'] })).rejects.toThrow(
      "--from must be one of mcp-memory-service, claude-mem, got 'evernote'",
    );
    await expect(run(importCommand, { values: { from: 'claude-mem' } })).rejects.toThrow(
      'give the claude-mem database file: mnemo import --from claude-mem <file>',
    );
  });
});
