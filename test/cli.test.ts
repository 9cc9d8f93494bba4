import { spawn } from 'node:child_process';
import Database from 'better-sqlite3';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, CLI, testEnv } from './helpers/daemon.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function mnemo(env: NodeJS.ProcessEnv, args: string[], stdin?: string): Promise<Run> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [CLI, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d) => (stdout += d));
    proc.stderr.on('data', (d) => (stderr += d));
    proc.stdin.end(stdin ?? '');
    proc.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The --json output of a run that succeeded, as the shape the test reads from it. */
const json = <T = unknown>(r: Run): T => {
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as T;
};

describe('mnemo CLI', () => {
  const env = testEnv();
  let hash = '';

  beforeAll(async () => {
    const started = await mnemo(env, ['start', '--threads', '1']);
    expect(started.code, started.stderr).toBe(0);
    expect(started.stdout).toMatch(/^mnemo started \(pid \d+, model tiny-bert-s1, ready in \d+ ms\)\n$/);
  });
  afterAll(async () => {
    await mnemo(env, ['stop']);
    cleanup(env);
  });

  it('start when running, and status, in both forms', async () => {
    expect((await mnemo(env, ['start'])).stdout).toMatch(/already running/);
    const status = await mnemo(env, ['status']);
    expect(status.stdout).toMatch(/state: ready/);
    expect(status.stdout).toMatch(/requestsMs:\n\s+count: \d+/);
    expect(json(await mnemo(env, ['status', '--json']))).toMatchObject({ running: true, state: 'ready', protocol: 1 });
  });

  it.runIf(process.platform === 'linux')('starts the daemon with its allocator settings and V8 flags', async () => {
    const { pid } = json<{ pid: number }>(await mnemo(env, ['status', '--json']));
    const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    expect(environ).toEqual(
      expect.arrayContaining(['MALLOC_ARENA_MAX=2', 'MALLOC_MMAP_THRESHOLD_=131072', 'MALLOC_TRIM_THRESHOLD_=131072']),
    );
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')).toContain('--max-semi-space-size=1');
  });

  it('store from arguments and from stdin', async () => {
    const r = await mnemo(env, [
      'store',
      'Chose',
      'pino',
      'for',
      'logs',
      '-t',
      'decision',
      '-t',
      'Logging',
      '--type',
      'decision',
    ]);
    expect(r.stdout).toMatch(/^stored [0-9a-f]{8} \[decision, logging\]\n$/);
    const j = json<{ hash: string }>(
      await mnemo(env, ['store', '-', '--json', '--project', '/work/app'], 'Socket lives in XDG_RUNTIME_DIR\n'),
    );
    expect(j).toMatchObject({ created: true, memory: { tags: [], type: 'note' } });
    hash = j.hash;
    const again = await mnemo(env, ['store', 'Socket lives in XDG_RUNTIME_DIR']);
    expect(again.stdout).toMatch(/^already stored/);
  });

  it('search, recall, get, tags in both forms', async () => {
    const s = await mnemo(env, ['search', 'pino logs', '--mode', 'keyword']);
    expect(s.stdout).toMatch(/^- [0-9a-f]{8} now [0-9.]+ \[decision, logging\] Chose pino for logs$/m);
    const sj = json<{ results: { hash: string }[] }>(
      await mnemo(env, ['search', 'socket', '--json', '--project', '/work/app']),
    );
    expect(sj.results.map((m) => m.hash)).toEqual([hash.slice(0, 8)]);
    expect((await mnemo(env, ['recall', 'today'])).stdout.split('\n').filter(Boolean).length).toBe(2);
    expect(
      json<{ results: unknown[] }>(await mnemo(env, ['recall', 'past week', 'pino', '--json'])).results.length,
    ).toBeGreaterThan(0);
    const g = await mnemo(env, ['get', hash.slice(0, 10)]);
    expect(g.stdout).toContain('project  /work/app');
    expect(g.stdout).toMatch(/\n\nSocket lives in XDG_RUNTIME_DIR\n$/);
    expect(json<{ content: string }>(await mnemo(env, ['get', hash, '--json'])).content).toBe(
      'Socket lives in XDG_RUNTIME_DIR',
    );
    expect((await mnemo(env, ['tags'])).stdout).toBe('1  decision\n1  logging\n');
    expect(json(await mnemo(env, ['tags', '--json']))).toEqual([
      { tag: 'decision', count: 1 },
      { tag: 'logging', count: 1 },
    ]);
  });

  it('update and delete (with --dry-run) in both forms', async () => {
    const u = await mnemo(env, ['update', hash.slice(0, 8), '--add-tag', 'paths', '--metadata', '{"source":"cli"}']);
    expect(u.stdout).toMatch(/tags {5}paths/);
    expect(json(await mnemo(env, ['update', hash, '--type', 'fact', '--json']))).toMatchObject({
      type: 'fact',
      metadata: { source: 'cli' },
    });
    const dry = await mnemo(env, ['delete', '--tag', 'paths', '--dry-run']);
    expect(dry.stdout).toMatch(/^would delete 1 memory \(dry run, nothing changed\)\n- /);
    expect(json(await mnemo(env, ['delete', '--tag', 'paths', '--dry-run', '--json']))).toMatchObject({
      dryRun: true,
      matched: 1,
      deleted: 0,
    });
    const refused = await mnemo(env, ['delete']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^mnemo: refusing to delete with an empty filter.*\n$/);
  });

  it('errors are one clear line and a non-zero status', async () => {
    const r = await mnemo(env, ['get', 'nothex']);
    expect(r).toMatchObject({ code: 2, stdout: '' });
    expect(r.stderr.trim().split('\n').length).toBe(1);
    const j = await mnemo(env, ['get', 'abcdef12', '--json']);
    expect(j.code).toBe(1);
    expect(JSON.parse(j.stdout)).toMatchObject({ error: { code: 'E_NOT_FOUND' } });
    expect((await mnemo(env, ['search'])).code).toBe(2);
    expect((await mnemo(env, ['frobnicate'])).code).toBe(2);
    expect((await mnemo(env, ['search', 'x', '--limit', 'ten'])).stderr).toMatch(
      /--limit must be an integer from 1 to 100, got 'ten'/,
    );
  });

  it('export then import into a fresh home reproduces every memory, tag and timestamp', async () => {
    await mnemo(env, ['store', 'A memory with metadata', '-t', 'x', '--metadata', '{"k":[1,2]}']);
    const file = join(env.MNEMO_HOME!, 'export.jsonl');
    const ex = await mnemo(env, ['export', '--output', file]);
    expect(ex.code, ex.stderr).toBe(0);
    const exported = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { hash: string; accessCount: number });
    expect(exported.length).toBe(3);
    // Every field of the stored rows is in the export (a dropped field would be missing on both sides of the round
    // trip below, so compare with the database itself).
    const db = new Database(join(env.MNEMO_HOME!, 'data', 'mnemo.db'), { readonly: true });
    try {
      for (const row of db.prepare('SELECT * FROM memories').all() as Record<string, unknown>[]) {
        const m = exported.find((e) => e.hash === row.hash);
        expect(m).toMatchObject({
          content: row.content,
          type: row.type,
          project: row.project,
          sessionId: row.session_id,
          metadata: JSON.parse(row.metadata as string) as unknown,
          createdAt: row.created_at,
          updatedAt: row.updated_at,
          accessCount: row.access_count,
          lastAccessedAt: row.last_accessed_at,
        });
      }
      expect(exported.some((e) => e.accessCount > 0)).toBe(true);
    } finally {
      db.close();
    }

    const fresh = testEnv();
    try {
      const im = await mnemo(fresh, ['import', file]);
      expect(im.stdout).toBe('imported 3 new memories, 0 already present\n');
      expect(json(await mnemo(fresh, ['import', file, '--json']))).toEqual({ imported: 0, alreadyPresent: 3 });
      const out = join(fresh.MNEMO_HOME!, 'again.jsonl');
      await mnemo(fresh, ['export', '-o', out]);
      const reexported = readFileSync(out, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as unknown);
      expect(reexported).toEqual(exported);
      // Also from stdin.
      writeFileSync(join(fresh.MNEMO_HOME!, 'empty.jsonl'), '');
      expect((await mnemo(fresh, ['import', '-'], readFileSync(file, 'utf8'))).stdout).toBe(
        'imported 0 new memories, 3 already present\n',
      );
    } finally {
      await mnemo(fresh, ['stop']);
      cleanup(fresh);
    }
  });

  it('restart brings up a new daemon', async () => {
    const before = json<{ pid: number }>(await mnemo(env, ['status', '--json'])).pid;
    const r = await mnemo(env, ['restart']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^mnemo started/);
    const after = json<{ pid: number }>(await mnemo(env, ['status', '--json'])).pid;
    expect(after).not.toBe(before);
    // One JSON document (it used to print two): what started, and which pid was stopped.
    const again = json<{ pid: number }>(await mnemo(env, ['restart', '--json']));
    expect(again).toMatchObject({ running: true, stopped: after });
    expect(again.pid).not.toBe(after);
  });

  it('doctor checks and stop', async () => {
    const doc = await mnemo(env, ['doctor']);
    expect(doc.stdout).toMatch(/^ok {4}daemon/m);
    expect(doc.stdout).toMatch(/^ok {4}model/m);
    expect(doc.stdout).toMatch(/^ok {4}onnx runtime/m);
    const checks = json<{ check: string }[]>(await mnemo(env, ['doctor', '--json']));
    expect(checks.map((c) => c.check)).toEqual(expect.arrayContaining(['native client', 'onnx runtime']));
    expect((await mnemo(env, ['stop'])).stdout).toMatch(/^mnemo stopped \(pid \d+\)\n$/);
    const st = await mnemo(env, ['status', '--json']);
    expect(st.code).toBe(3);
    expect(JSON.parse(st.stdout)).toMatchObject({ running: false });
    expect((await mnemo(env, ['stop'])).stdout).toBe('mnemo is not running\n');
  });
});
