import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, CLI, testEnv } from './helpers/daemon.js';

/** An mcp-memory-service database, columns as its v10 schema has them. */
function mcpMemoryServiceDb(): string {
  const file = join(mkdtempSync(join(tmpdir(), 'peer-mms-')), 'sqlite_vec.db');
  const db = new Database(file);
  db.exec(`CREATE TABLE memories (id INTEGER PRIMARY KEY AUTOINCREMENT, content_hash TEXT UNIQUE NOT NULL,
    content TEXT NOT NULL, tags TEXT, memory_type TEXT, metadata TEXT, created_at REAL, updated_at REAL,
    created_at_iso TEXT, updated_at_iso TEXT, deleted_at REAL)`);
  const ins = db.prepare(`INSERT INTO memories
    (content_hash, content, tags, memory_type, metadata, created_at, updated_at, deleted_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?)`);
  ins.run(
    'h1',
    'We chose PostgreSQL over MySQL for JSONB support',
    'decision,database',
    'decision',
    '{"source":"meeting"}',
    1_700_000_000.5,
    1_700_000_100,
    null,
  );
  ins.run('h2', 'Deploys go out on Tuesdays', 'process', 'weird-type', 'not json', 1_700_000_200, 1_700_000_200, null);
  ins.run('h3', 'This one was deleted', 'x', 'note', '{}', 1_700_000_300, 1_700_000_300, 1_700_000_400);
  ins.run('h4', '   ', '', 'note', '{}', 1_700_000_500, 1_700_000_500, null);
  db.close();
  return file;
}

/** A claude-mem database: observations and session summaries. */
function claudeMemDb(): string {
  const file = join(mkdtempSync(join(tmpdir(), 'peer-cm-')), 'claude-mem.db');
  const db = new Database(file);
  db.exec(`CREATE TABLE observations (id INTEGER PRIMARY KEY, memory_session_id TEXT, project TEXT, text TEXT,
      type TEXT, title TEXT, subtitle TEXT, facts TEXT, narrative TEXT, concepts TEXT, files_read TEXT,
      files_modified TEXT, prompt_number INTEGER, created_at TEXT, created_at_epoch INTEGER);
    CREATE TABLE session_summaries (id INTEGER PRIMARY KEY, memory_session_id TEXT, project TEXT, request TEXT,
      investigated TEXT, learned TEXT, completed TEXT, next_steps TEXT, files_read TEXT, files_edited TEXT, notes TEXT,
      prompt_number INTEGER, created_at TEXT, created_at_epoch INTEGER);`);
  db.prepare('INSERT INTO observations VALUES (1, ?, ?, NULL, ?, ?, ?, ?, ?, ?, ?, ?, 3, ?, ?)').run(
    's-1',
    'shop-api',
    'bugfix',
    'Fixed the refund rounding',
    'cents, not floats',
    '["Refunds used floats","Switched to integer cents"]',
    'Refund totals drifted by a cent; money is now integer cents end to end.',
    '["money","rounding"]',
    '["src/refund.ts"]',
    '["src/money.ts"]',
    '2025-03-01T10:00:00Z',
    1_740_823_200_000,
  );
  db.prepare(
    'INSERT INTO observations VALUES (2, ?, ?, NULL, ?, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 4, ?, ?)',
  ).run('s-1', 'shop-api', 'change', '2025-03-01T10:05:00Z', 1_740_823_500_000);
  db.prepare('INSERT INTO session_summaries VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, 4, ?, ?)').run(
    's-1',
    'shop-api',
    'Fix refund rounding',
    'refund.ts and money.ts',
    'floats lose cents',
    'integer cents everywhere',
    'migrate old rows',
    '["src/refund.ts"]',
    '["src/money.ts"]',
    '2025-03-01T11:00:00Z',
    1_740_826_800_000,
  );
  db.close();
  return file;
}

/** A memory as `--full --json` prints it, with the fields these tests read. */
type Full = { type: string; content: string };

describe('mnemo import --from a peer', () => {
  const env = testEnv();
  const run = (...args: string[]) =>
    spawnSync(process.execPath, [CLI, ...args], { env, encoding: 'utf8', timeout: 60_000 });
  afterAll(() => {
    run('stop');
    cleanup(env);
  });

  it('imports mcp-memory-service memories with tags, type, metadata and times; dry run first; idempotent', () => {
    const file = mcpMemoryServiceDb();
    const dry = run('import', '--from', 'mcp-memory-service', file, '--dry-run');
    expect(dry.status, dry.stderr).toBe(0);
    expect(dry.stdout).toBe(
      'would import 2 memories from mcp-memory-service (dry run, nothing changed); ' +
        'skipped 1 (deleted in mcp-memory-service), 1 (empty content)\n',
    );
    expect(run('status').status).toBe(3); // a dry run does not even start the daemon
    const real: unknown = JSON.parse(run('import', '--from', 'mcp-memory-service', file, '--json').stdout);
    expect(real).toMatchObject({ found: 2, imported: 2, alreadyPresent: 0 });
    const again = run('import', '--from', 'mcp-memory-service', file);
    expect(again.stdout).toMatch(/^imported 0 new memories from mcp-memory-service, 2 already present/);
    const found = (
      JSON.parse(run('search', 'PostgreSQL JSONB', '--mode', 'keyword', '--full', '--json').stdout) as {
        results: Full[];
      }
    ).results[0];
    expect(found).toMatchObject({
      content: 'We chose PostgreSQL over MySQL for JSONB support',
      type: 'decision',
      tags: ['database', 'decision'],
      createdAt: 1_700_000_000_500,
      updatedAt: 1_700_000_100_000,
      metadata: { source: 'meeting', importedFrom: 'mcp-memory-service', originalHash: 'h1' },
    });
    const odd = (
      JSON.parse(run('search', 'Deploys Tuesdays', '--mode', 'keyword', '--full', '--json').stdout) as {
        results: Full[];
      }
    ).results[0];
    expect(odd).toMatchObject({ type: 'observation', metadata: { originalType: 'weird-type' } });
  });

  it('imports claude-mem observations and session summaries', () => {
    const file = claudeMemDb();
    const r: unknown = JSON.parse(run('import', '--from', 'claude-mem', file, '--json').stdout);
    expect(r).toMatchObject({ found: 2, imported: 2, skipped: [{ reason: 'observation with no text', count: 1 }] });
    const obs = (JSON.parse(run('list', '--project', 'shop-api', '--full', '--json').stdout) as { results: Full[] })
      .results;
    const fix = obs.find((m) => m.type === 'bugfix');
    expect(fix?.content).toBe(
      'Fixed the refund rounding: cents, not floats\n' +
        'Refund totals drifted by a cent; money is now integer cents end to end.\n' +
        '- Refunds used floats\n' +
        '- Switched to integer cents\n' +
        'Changed: src/money.ts\n' +
        'Read: src/refund.ts',
    );
    expect(fix).toMatchObject({
      project: 'shop-api',
      sessionId: 's-1',
      createdAt: 1_740_823_200_000,
      tags: expect.arrayContaining(['claude-mem', 'shop-api', 'money']),
    });
    const summary = obs.find((m) => m.type === 'session-summary');
    expect(summary?.content).toBe(
      'Request: Fix refund rounding\n' +
        'Investigated: refund.ts and money.ts\n' +
        'Learned: floats lose cents\n' +
        'Completed: integer cents everywhere\n' +
        'Next steps: migrate old rows',
    );
    expect(run('import', '--from', 'claude-mem', file).stdout).toMatch(
      /^imported 0 new memories from claude-mem, 2 already present/,
    );
  });

  it('says clearly what is wrong with the input', () => {
    expect(run('import', '--from', 'evernote', 'x.db').stderr).toMatch(
      /--from must be one of mcp-memory-service, claude-mem/,
    );
    expect(run('import', '--from', 'claude-mem', '/nonexistent.db', '--dry-run').stderr).toMatch(/no such file/);
    const notPeer = mcpMemoryServiceDb();
    expect(run('import', '--from', 'claude-mem', notPeer, '--dry-run').stderr).toMatch(
      /has no observations table: is it a claude-mem database/,
    );
  });
});
