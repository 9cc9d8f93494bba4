import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, MnemoError, OPS, type LocalMnemo } from '../dist/engine-index.js';
import { MnemoClient } from '../dist/index.js';
import { allCommands } from '../dist/cli/commands/index.js';
import { MCP_TOOLS } from '../dist/mcp/server.js';
import { openTestEngine, type TestEngine } from './helpers/engine.js';

const DAY = 86_400_000;
const NOW = Date.parse('2026-11-25T12:00:00Z');

/** Every row of every table (memories, tags, FTS and vector shadow tables, capture tables), hashed. */
function checksum(t: TestEngine): string {
  t.store.flushAccess();
  const db = t.store.db;
  const tables = db
    .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    .pluck()
    .all() as string[];
  const h = createHash('sha256');
  for (const name of tables) {
    h.update(`\n${name}\n`);
    for (const row of db.prepare(`SELECT * FROM "${name}"`).raw().iterate())
      h.update(
        JSON.stringify(row, (_k, v: unknown) =>
          typeof v === 'bigint' ? String(v) : Buffer.isBuffer(v) ? v.toString('hex') : v,
        ),
      );
  }
  return h.digest('hex');
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    if (!(err instanceof MnemoError)) throw err;
    return err.code;
  }
}

describe('the operation layer', () => {
  let t: TestEngine;
  let api: LocalMnemo;
  beforeAll(async () => {
    t = await openTestEngine({ now: () => NOW });
    api = t.api;
  });
  afterAll(async () => {
    await t?.close();
  });

  it('refuses a delete whose only filter is a modifier (the `delete --all-tags` defect); deletes nothing', async () => {
    await api.storeBatch({
      memories: [{ content: 'keep me one' }, { content: 'keep me two', tags: ['x'] }, { content: 'keep me three' }],
    });
    const before = checksum(t);
    for (const args of [
      { tagMode: 'all' },
      { tagMode: 'any', dryRun: true },
      { tags: [] },
      { tags: [], tagMode: 'all' },
      {},
      { dryRun: false },
    ] as const) {
      const err = await api.delete(args as never).catch((e: MnemoError) => e);
      expect(err, JSON.stringify(args)).toBeInstanceOf(MnemoError);
      expect((err as MnemoError).code).toBe(ErrorCode.BAD_ARGS);
    }
    expect(checksum(t)).toBe(before);
    expect((await api.health()).memories).toBe(3);
  });

  it('changes nothing for a refused request: a search refused for its budget bumps no access count', async () => {
    const before = checksum(t);
    expect(await code(api.search({ query: 'keep me', format: 'text', budget: 0 }))).toBe(ErrorCode.BAD_ARGS);
    expect(await code(api.search({ query: 'keep me', limt: 1 } as never))).toBe(ErrorCode.BAD_ARGS);
    expect(checksum(t)).toBe(before);
    // The same search, valid, does count as an access: the check above can fail.
    await api.search({ query: 'keep me', format: 'text', budget: 50 });
    expect(checksum(t)).not.toBe(before);
  });

  it('names an unknown argument and the one it was probably meant to be', async () => {
    const err = (await api.search({ query: 'x', limt: 1 } as never).catch((e: MnemoError) => e)) as MnemoError;
    expect(err.code).toBe(ErrorCode.BAD_ARGS);
    expect(err.message).toBe('unknown argument `limt` (did you mean `limit`?)');
    const nested = (await api
      .storeBatch({ memories: [{ content: 'a', tag: ['x'] }] } as never)
      .catch((e: MnemoError) => e)) as MnemoError;
    expect(nested.message).toMatch(/unknown argument `memories\[0\]\.tag` \(did you mean `tags`\?\)/);
    expect((await api.health({ verbose: true }).catch((e: MnemoError) => e)) as MnemoError).toMatchObject({
      code: ErrorCode.BAD_ARGS,
    });
  });

  it('keeps dates within the year 9999 (1e300 was stored and sorted first)', async () => {
    expect(await code(api.store({ content: 'from the far future', createdAt: 1e300 }))).toBe(ErrorCode.BAD_ARGS);
    expect(await code(api.store({ content: 'before the epoch', createdAt: -5 }))).toBe(ErrorCode.BAD_ARGS);
  });

  it('takes the time from the question when recall has no `time` (mcp-memory-service style)', async () => {
    await api.store({ content: 'yesterday we picked msgpack for frames', createdAt: NOW - DAY });
    await api.store({ content: 'long ago we picked json for frames', createdAt: NOW - 40 * DAY });
    const r = await api.recall({ query: 'what did we pick yesterday for frames', mode: 'keyword' });
    if (r.format !== 'compact') throw new Error('compact');
    expect(r.results.map((m) => m.preview)).toEqual(['yesterday we picked msgpack for frames']);
    expect(await code(api.recall({ query: 'no time words here at all' }))).toBe(ErrorCode.BAD_ARGS);
  });

  it('deletes exactly what a listing with the same filter shows (property, random stores and filters)', async () => {
    const memory = fc.record({
      content: fc.stringMatching(/^[a-z]{3,8}( [a-z]{3,8}){0,3}$/),
      type: fc.constantFrom('note', 'decision', 'observation'),
      project: fc.option(fc.constantFrom('/a', '/b'), { nil: undefined }),
      sessionId: fc.option(fc.constantFrom('s1', 's2'), { nil: undefined }),
      tags: fc.subarray(['x', 'y', 'z']),
      createdAt: fc.integer({ min: 1, max: 30 }).map((d) => NOW - d * DAY),
    });
    const filter = fc.record(
      {
        project: fc.constantFrom('/a', '/b'),
        sessionId: fc.constantFrom('s1', 's2'),
        type: fc.oneof(
          fc.constantFrom('note', 'decision'),
          fc.subarray(['note', 'decision', 'observation'], { minLength: 1 }),
        ),
        tags: fc.subarray(['x', 'y', 'z']),
        tagMode: fc.constantFrom('any', 'all'),
        since: fc.integer({ min: 0, max: 31 }).map((d) => NOW - d * DAY),
        until: fc.integer({ min: 0, max: 31 }).map((d) => NOW - d * DAY),
        time: fc.constantFrom('past 3 days', 'last week', 'past 2 weeks'),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(memory, { minLength: 0, maxLength: 25 }),
        filter,
        fc.nat({ max: 3 }),
        async (memories, f, hashCount) => {
          t.store.deleteIds(t.store.idsMatching({}));
          const stored = memories.length > 0 ? await api.storeBatch({ memories }) : [];
          const hashes = [...new Set(stored.map((s) => s.hash))].slice(0, hashCount).map((h) => h.slice(0, 10));
          const selection = { ...f, ...(hashes.length > 0 ? { hashes } : {}) };
          const before = checksum(t);
          const narrows =
            (f.project ?? f.sessionId ?? f.type ?? f.since ?? f.until ?? f.time) !== undefined ||
            (f.tags?.length ?? 0) > 0;
          const badMode = f.tagMode === 'all' && (f.tags?.length ?? 0) === 0;
          const badRange = f.since !== undefined && f.until !== undefined && f.since >= f.until;
          const result = await api.delete({ ...selection, dryRun: true }).catch((e: MnemoError) => e);
          if (badMode || badRange || (hashes.length === 0 && !narrows)) {
            expect(result).toBeInstanceOf(MnemoError);
            expect((result as MnemoError).code).toBe(ErrorCode.BAD_ARGS);
            expect(checksum(t)).toBe(before);
            return;
          }
          if (result instanceof MnemoError) {
            // Only a time expression meeting since/until may leave an empty range.
            expect(result.message).toMatch(/time range is empty/);
            return;
          }
          const listed = narrows ? await api.list({ ...f, limit: 100, format: 'full' }) : null;
          const listedHashes = new Set(
            listed && listed.format === 'full'
              ? listed.results.map((m) => m.hash.slice(0, 8))
              : stored.map((s) => s.memory.hash),
          );
          const expected = [...listedHashes].filter((h) => hashes.length === 0 || hashes.some((p) => p.startsWith(h)));
          expect(result.matched).toBe(expected.length);
          expect(result.memories.map((m) => m.hash).sort()).toEqual(expected.sort());
          const done = await api.delete({ ...selection });
          expect(done.deleted).toBe(expected.length);
          const left = t.store.idsMatching({}).length;
          expect(left).toBe(new Set(stored.map((s) => s.hash)).size - expected.length);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('leaves the database byte-identical after any request the edge refuses (property, random arguments)', async () => {
    t.store.deleteIds(t.store.idsMatching({}));
    await api.storeBatch({
      memories: [
        { content: 'alpha memory', tags: ['a'] },
        { content: 'beta memory', project: '/p' },
      ],
    });
    // `backup` writes a file wherever its (absolute) path says, and random text can be one ("/ab"): it has its own test
    // below. (Before paths had to be absolute, this test left a database named "hybrid" in the checkout.)
    const ops = Object.keys(OPS).filter(
      (op) => !['shutdown', 'hook', 'batch', 'hello', 'status', 'backup'].includes(op),
    );
    const value = fc.oneof(
      fc.constant(undefined),
      fc.constant(null),
      fc.boolean(),
      fc.integer({ min: -5, max: 200 }),
      fc.double(),
      fc.string({ maxLength: 12 }),
      fc.constantFrom('hybrid', 'all', 'yesterday', 'abcdef12', 'note', '', ' '),
      fc.array(fc.string({ maxLength: 6 }), { maxLength: 3 }),
      fc.dictionary(fc.string({ maxLength: 4 }), fc.integer(), { maxKeys: 2 }),
    );
    const keys = [...new Set(ops.flatMap((op) => OPS[op as keyof typeof OPS].keys)), 'limt', 'tag', 'foo'];
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ops),
        fc.dictionary(fc.constantFrom(...keys), value, { maxKeys: 4 }),
        async (op, args) => {
          const before = checksum(t);
          const outcome = await code(api.request(op as never, args as never));
          if (outcome === 'ok') return;
          refused++;
          expect(checksum(t), `${op} ${JSON.stringify(args)} -> ${outcome}`).toBe(before);
        },
      ),
      { numRuns: 150 },
    );
    expect(refused).toBeGreaterThan(50);
  });
});

describe('the op table and the surfaces built on it', () => {
  it('gives every operation a client method, a CLI command or a reason, and an MCP tool or a reason', async () => {
    const commands = await allCommands();
    const inCli = new Set(commands.flatMap((c) => c.ops ?? []));
    const inMcp = new Set(MCP_TOOLS.map((t) => t.op));
    for (const [op, spec] of Object.entries(OPS)) {
      expect(typeof (MnemoClient.prototype as unknown as Record<string, unknown>)[op], `client method ${op}`).toBe(
        'function',
      );
      expect(inCli.has(op as never) || 'notInCli' in spec, `CLI path for ${op}`).toBe(true);
      expect(inMcp.has(op as never) || 'notInMcp' in spec, `MCP tool for ${op}`).toBe(true);
    }
    for (const op of [...inCli, ...inMcp]) expect(Object.keys(OPS), `${op} is an op`).toContain(op);
  });

  it('gives every CLI flag that fills an argument a field the op knows', async () => {
    for (const c of await allCommands()) {
      for (const f of c.flags.filter((x) => x.field)) {
        const known = (c.ops ?? []).flatMap((op) => OPS[op].keys);
        expect(known, `${c.name} --${f.name} -> ${f.field}`).toContain(f.field);
      }
    }
  });
});

describe('the edge, after review', () => {
  let t: TestEngine;
  beforeAll(async () => {
    t = await openTestEngine({ now: () => NOW });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('reads dates as ISO 8601 or milliseconds only ("5" was 2001-05-01 and matched everything)', async () => {
    for (const since of ['5', 'x 1', 'week 2', 'May 1'])
      expect(await code(t.api.list({ since }))).toBe(ErrorCode.BAD_ARGS);
    for (const since of ['2026-11-01', '2026-11-01T10:00Z', '2026-11-01 10:00:00.5+01:00', 0])
      expect(await code(t.api.list({ since }))).toBe('ok');
  });

  it('takes nulls for absent values, as JSON clients send them', async () => {
    await t.api.store({ content: 'null tolerant', tags: ['nul'] });
    expect(await code(t.api.delete({ hashes: null, tags: ['nul'], dryRun: true }))).toBe('ok');
    expect(await code(t.api.search({ query: 'null tolerant', tags: null, tagMode: 'any' }))).toBe('ok');
    expect(await code(t.api.search({ query: 'x', tagMode: 'all' }))).toBe(ErrorCode.BAD_ARGS);
  });

  it('refuses options that would be ignored', async () => {
    expect(await code(t.api.search({ query: 'x', budget: 100 }))).toBe(ErrorCode.BAD_ARGS); // budget shapes text only
    const s = await t.api.store({ content: 'replace needs metadata' });
    expect(await code(t.api.update({ hash: s.hash, tags: ['a'], replaceMetadata: true }))).toBe(ErrorCode.BAD_ARGS);
  });

  it('writes a backup only to a file named by an absolute path, and says which file it could not write', async () => {
    // Found by the property test above (seed 1845641705): `backup {file: " "}` reached SQLite, which threw an untyped
    // "unable to open database file".
    for (const file of [' ', 'relative.db', '/tmp/', '/tmp/ ', '/tmp/a\0b.db', ''])
      expect(await code(t.api.backup({ file })), JSON.stringify(file)).toBe(ErrorCode.BAD_ARGS);
    // A folder that cannot be made (its parent is a file): a typed error that names the file, and nothing written.
    const dir = mkdtempSync(join(tmpdir(), 'mnemo-backup-'));
    writeFileSync(join(dir, 'plain'), 'not a folder');
    const target = join(dir, 'plain', 'copy.db');
    let error: unknown;
    try {
      await t.api.backup({ file: target });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(MnemoError);
    expect((error as MnemoError).code).toBe(ErrorCode.STORAGE);
    expect((error as MnemoError).message).toContain(`cannot write the backup to ${target}`);
    // In the file system's words, not a sentence about the database (full, damaged) that does not apply to a copy.
    expect((error as MnemoError).message).toMatch(/mkdir/);
    expect((error as MnemoError).message).not.toMatch(/the database/);
    expect(readdirSync(dir)).toEqual(['plain']);
    const made = await t.api.backup({ file: join(dir, 'copy.db') });
    expect(made.bytes).toBeGreaterThan(0);
  });

  it('deletes both `hash` and `hashes` when both are given', async () => {
    const [a, b] = await t.api.storeBatch({ memories: [{ content: 'both one' }, { content: 'both two' }] });
    const r = await t.api.delete({ hash: a!.hash, hashes: [b!.hash], dryRun: true });
    expect(r.matched).toBe(2);
  });

  it('answers each malformed batch entry on its own', async () => {
    const items = await t.api.batch({
      calls: [
        { op: 'list', args: {} },
        { op: 'search', args: { query: 'x' }, id: 1 } as never,
        5 as never,
        { op: 'tags' },
      ],
    });
    expect(items.map((i) => (i.ok ? 'ok' : i.error.code))).toEqual([
      'ok',
      ErrorCode.BAD_ARGS,
      ErrorCode.BAD_ARGS,
      'ok',
    ]);
    const text = await t.api.request('batch', { calls: [{ op: 'export', args: { limit: 1 } }] }, { render: 'text' });
    expect(text).toMatch(/\(next page: cursor \d+\)$/);
  });

  it('finds a time phrase in a question only where it says it is one', async () => {
    const { findTimeExpression } = await import('../dist/search/time.js');
    const now = new Date(NOW);
    for (const q of [
      'how may I configure logging',
      'deploy now please',
      'fix the mon script',
      'issue 42 in the parser',
    ])
      expect(findTimeExpression(q, now), q).toBeNull();
    expect(findTimeExpression('what did we decide last week about auth', now)).toMatchObject({
      time: 'last week',
      rest: 'what did we decide about auth',
    });
    expect(findTimeExpression('anything from yesterday?', now)?.time).toMatch(/yesterday$/);
  });
});
