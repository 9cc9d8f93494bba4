import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, MnemoError, type LocalMnemo } from '../dist/engine-index.js';
import { openTestEngine, type TestEngine } from './helpers/engine.js';

const DAY = 86_400_000;

async function rejectsWith(p: Promise<unknown> | (() => unknown), code: string, text?: RegExp): Promise<MnemoError> {
  let error: unknown;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(MnemoError);
  expect((error as MnemoError).code).toBe(code);
  if (text) expect((error as MnemoError).message).toMatch(text);
  return error as MnemoError;
}

const results = (listing: Awaited<ReturnType<LocalMnemo['search']>>) => {
  if (listing.format !== 'compact') throw new Error(`expected compact results, got ${listing.format}`);
  return listing.results;
};

describe('store, search and the memory operations', () => {
  let t: TestEngine;
  let e: LocalMnemo;
  const now = Date.parse('2026-11-25T12:00:00Z');

  beforeAll(async () => {
    t = await openTestEngine({ now: () => now });
    e = t.api;
  });
  afterAll(async () => {
    await t?.close();
  });

  it('stores a memory and finds it again in all three modes', async () => {
    const stored = await e.store({
      content: 'The daemon listens on a unix socket and answers msgpack frames',
      tags: ['Architecture', ' daemon '],
      type: 'decision',
      project: '/work/mnemo',
    });
    expect(stored.created).toBe(true);
    expect(stored.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(stored.memory.hash).toBe(stored.hash.slice(0, 8));
    expect(stored.memory.tags).toEqual(['architecture', 'daemon']);
    await e.store({ content: 'Weather today: rain in the afternoon, sunny tomorrow', tags: ['weather'] });
    await e.store({ content: 'Fixed the sqlite migration bug by wrapping each step in a transaction', tags: ['bug'] });

    for (const mode of ['hybrid', 'semantic', 'keyword'] as const) {
      const hits = results(
        await e.search({ query: 'The daemon listens on a unix socket and answers msgpack frames', mode }),
      );
      expect(hits[0]?.hash, mode).toBe(stored.memory.hash);
      expect(hits[0]?.score, mode).toBeGreaterThan(0);
      expect(hits[0]?.score, mode).toBeLessThanOrEqual(1);
    }
    const kw = results(await e.search({ query: 'migration transaction', mode: 'keyword' }));
    expect(kw[0]?.preview).toContain('sqlite migration bug');
    // An exact text match is the nearest vector, similarity 1.
    const sem = await e.search({
      query: 'Fixed the sqlite migration bug by wrapping each step in a transaction',
      mode: 'semantic',
      format: 'full',
    });
    if (sem.format !== 'full') throw new Error('full');
    expect(sem.results[0]?.scores.semantic).toBeCloseTo(1, 4);
    expect(sem.results[0]?.content).toBe('Fixed the sqlite migration bug by wrapping each step in a transaction');
  });

  it('deduplicates by normalised content and merges new tags', async () => {
    const a = await e.store({ content: 'Use WAL mode for the database', tags: ['sqlite'] });
    const b = await e.store({ content: '  Use WAL mode for the database \r\n', tags: ['SQLite', 'perf'] });
    expect(b.created).toBe(false);
    expect(b.hash).toBe(a.hash);
    expect(b.memory.tags.sort()).toEqual(['perf', 'sqlite']);
    const db = new Database(t.dbPath, { readonly: true });
    try {
      const n = db
        .prepare("SELECT count(*) AS n FROM memories WHERE content = 'Use WAL mode for the database'")
        .get() as { n: number };
      expect(n.n).toBe(1);
    } finally {
      db.close();
    }
  });

  it('normalises tags: trimmed, lower-case, no empties, no duplicates', async () => {
    const r = await e.store({ content: 'tag normalisation sample', tags: ['  Foo ', 'foo', '', 'BAR  baz', '   '] });
    expect(r.memory.tags).toEqual(['bar baz', 'foo']); // tags come back sorted
    await rejectsWith(e.store({ content: 'x', tags: [1] } as never), ErrorCode.BAD_ARGS, /tags/);
  });

  it('stores a batch in one call, deduplicating inside the batch', async () => {
    const before = t.engine.embedder.stats.texts;
    const out = await e.storeBatch({
      memories: [
        { content: 'batch one: parser refactor', tags: ['batch'] },
        { content: 'batch two: lexer speed-up', tags: ['batch'] },
        { content: 'batch one: parser refactor', tags: ['dupe'] },
      ],
    });
    expect(out.map((r) => r.created)).toEqual([true, true, false]);
    expect(out[2]!.hash).toBe(out[0]!.hash);
    expect(t.engine.embedder.stats.texts - before).toBe(2);
    await rejectsWith(
      e.storeBatch({ memories: [{ content: 'fine' }, { content: '' }] }),
      ErrorCode.BAD_ARGS,
      /memories\[1\]/,
    );
    // Nothing of a refused batch is stored.
    expect(results(await e.search({ query: 'fine', mode: 'keyword' })).some((m) => m.preview === 'fine')).toBe(false);
  });

  it('filters by project, type, tags (any/all) and time, without shrinking the result', async () => {
    const proj = '/work/filters';
    for (let i = 0; i < 30; i++) {
      await e.store({
        content: `filter sample ${i} about caching layers`,
        project: i % 3 === 0 ? proj : '/work/other',
        type: i % 2 === 0 ? 'observation' : 'note',
        tags: i % 5 === 0 ? ['five', 'round'] : ['round'],
        createdAt: now - i * DAY,
      });
    }
    const q = { query: 'filter sample about caching layers', limit: 10 };
    for (const mode of ['hybrid', 'semantic', 'keyword'] as const) {
      const byProject = results(await e.search({ ...q, mode, project: proj, format: 'compact' }));
      expect(byProject.length, mode).toBe(10);
      const full = await e.search({ ...q, mode, project: proj, format: 'full', type: 'observation' });
      if (full.format !== 'full') throw new Error('full');
      expect(full.results.length, mode).toBe(5); // i in {0, 6, 12, 18, 24}
      expect(
        full.results.every((m) => m.project === proj && m.type === 'observation'),
        mode,
      ).toBe(true);
    }
    const all = results(await e.search({ ...q, tags: ['five', 'round'], tagMode: 'all' }));
    expect(all.length).toBe(6);
    expect(all.every((m) => m.tags.includes('five'))).toBe(true);
    const any = results(await e.search({ ...q, tags: ['five', 'nope'], tagMode: 'any', limit: 100 }));
    expect(any.length).toBe(6);
    const recent = results(await e.search({ ...q, since: now - 4.5 * DAY, limit: 100 }));
    expect(recent.map((m) => m.preview).filter((p) => p.startsWith('filter sample')).length).toBe(5);
    const ranged = results(
      await e.search({ ...q, since: new Date(now - 10.5 * DAY).toISOString(), until: now - 5.5 * DAY, limit: 100 }),
    );
    expect(ranged.length).toBe(5);
    const lastWeek = results(await e.search({ ...q, time: 'past 3 days', limit: 100 }));
    expect(lastWeek.filter((m) => m.preview.startsWith('filter sample')).length).toBe(4); // 0, 1, 2 days ago and now-3d
    const floor = results(await e.search({ ...q, minScore: 0.99, mode: 'semantic' }));
    expect(floor.every((m) => (m.score ?? 0) >= 0.99)).toBe(true);
  });

  it('recalls by natural-language time, with or without a query', async () => {
    await e.store({ content: 'yesterday we chose pino for logging', createdAt: now - DAY, tags: ['logging'] });
    await e.store({ content: 'two weeks ago we dropped the http worker', createdAt: now - 14 * DAY });
    const y = results(await e.recall({ time: 'yesterday' }));
    expect(y.some((m) => m.preview.includes('pino'))).toBe(true);
    expect(y.every((m) => m.created >= now - 2 * DAY && m.created < now)).toBe(true);
    const lastWeeks = results(await e.recall({ time: 'past 3 weeks', query: 'http worker', mode: 'keyword' }));
    expect(lastWeeks[0]?.preview).toContain('http worker');
    await rejectsWith(e.recall({ time: 'the day the music died' }), ErrorCode.BAD_ARGS, /could not understand/);
    await rejectsWith(e.recall({}), ErrorCode.BAD_ARGS, /time/);
  });

  it('searches by tag', async () => {
    await e.store({ content: 'only this memory carries the tag', tags: ['tag-search-only'] });
    await e.store({ content: 'this one does not', tags: ['tag-search-other'] });
    const r = results(await e.searchByTag({ tags: ['tag-search-only'] }));
    expect(r.length).toBe(1);
    expect(r[0]!.preview).toBe('only this memory carries the tag');
    expect(r[0]!.score).toBeUndefined();
    await rejectsWith(e.searchByTag({ tags: [] }), ErrorCode.BAD_ARGS, /at least one tag/);
  });

  it('gets by unique short prefix and reports ambiguity with candidates', async () => {
    const stored = await e.store({ content: 'prefix lookup target', tags: ['prefix'] });
    const got = await e.get({ hash: stored.hash.slice(0, 6) });
    expect(got.content).toBe('prefix lookup target');
    expect(got.accessCount).toBe(1);
    expect((await e.get({ hash: stored.hash })).accessCount).toBe(2);
    await rejectsWith(() => e.get({ hash: 'abc' }), ErrorCode.BAD_ARGS, /at least 6/);
    await rejectsWith(() => e.get({ hash: 'zzzzzzzz' }), ErrorCode.BAD_ARGS, /hex/);
    await rejectsWith(() => e.get({ hash: 'ffffffffffff' }), ErrorCode.NOT_FOUND);

    // Two contents whose hashes share their first six characters (found deterministically among 20,000 probes).
    const { createHash } = await import('node:crypto');
    const seen = new Map<string, string>();
    let pair: [string, string] | undefined;
    for (let i = 0; i < 20_000 && !pair; i++) {
      const content = `collision probe ${i}`;
      const p = createHash('sha256').update(content).digest('hex').slice(0, 6);
      if (seen.has(p)) pair = [seen.get(p)!, content];
      else seen.set(p, content);
    }
    expect(pair).toBeDefined();
    const [a, b] = await e.storeBatch({ memories: [{ content: pair![0] }, { content: pair![1] }] });
    let common = 0;
    while (a!.hash[common] === b!.hash[common]) common++;
    expect(common).toBeGreaterThanOrEqual(6);
    const err = await rejectsWith(
      () => e.get({ hash: a!.hash.slice(0, 6) }),
      ErrorCode.AMBIGUOUS,
      /give more characters/,
    );
    expect((err.details?.candidates as { hash: string }[]).map((c) => c.hash).sort()).toEqual(
      [a!.hash.slice(0, 12), b!.hash.slice(0, 12)].sort(),
    );
    expect((await e.get({ hash: a!.hash.slice(0, common + 1) })).content).toBe(pair![0]);
    expect((await e.get({ hash: b!.hash.slice(0, common + 1) })).content).toBe(pair![1]);
  });

  it('updates tags, type and metadata; content is immutable', async () => {
    const s = await e.store({
      content: 'update me',
      tags: ['a', 'b'],
      metadata: { keep: 1, drop: 2, nested: { x: 1 } },
    });
    const u = await e.update({
      hash: s.hash,
      addTags: ['C'],
      removeTags: ['a'],
      type: 'Decision',
      metadata: { drop: null, nested: { y: 2 } },
    });
    expect(u.tags.sort()).toEqual(['b', 'c']);
    expect(u.type).toBe('decision');
    expect(u.metadata).toEqual({ keep: 1, nested: { x: 1, y: 2 } });
    const r = await e.update({
      hash: s.hash.slice(0, 10),
      tags: ['only'],
      metadata: { fresh: true },
      replaceMetadata: true,
    });
    expect(r.tags).toEqual(['only']);
    expect(r.metadata).toEqual({ fresh: true });
    await rejectsWith(() => e.update({ hash: s.hash, content: 'changed' } as never), ErrorCode.BAD_ARGS, /content/);
    await rejectsWith(() => e.update({ hash: s.hash }), ErrorCode.BAD_ARGS, /nothing to update/);
    await rejectsWith(() => e.update({ hash: s.hash, type: 'no spaces allowed' }), ErrorCode.BAD_ARGS, /type/);
    expect((await e.get({ hash: s.hash })).content).toBe('update me');
  });

  it('deletes by hash, tags and time range; dry run changes nothing; empty filter refused', async () => {
    await e.storeBatch({
      memories: [
        { content: 'doomed one', tags: ['doomed'], createdAt: now - 100 * DAY },
        { content: 'doomed two', tags: ['doomed'], createdAt: now - 101 * DAY },
        { content: 'survivor', tags: ['keeper'], createdAt: now - 100 * DAY },
      ],
    });
    const total = (await e.health()).memories;
    await rejectsWith(() => e.delete({}), ErrorCode.BAD_ARGS, /empty filter/);
    await rejectsWith(() => e.delete({ tags: [] }), ErrorCode.BAD_ARGS, /empty filter/);

    const dry = await e.delete({ tags: ['doomed'], dryRun: true });
    expect(dry).toMatchObject({ dryRun: true, matched: 2, deleted: 0 });
    expect(dry.memories.map((m) => m.preview).sort()).toEqual(['doomed one', 'doomed two']);
    expect((await e.health()).memories).toBe(total);

    expect(await e.delete({ tags: ['doomed'] })).toMatchObject({ matched: 2, deleted: 2 });
    expect((await e.health()).memories).toBe(total - 2);
    expect(
      results(await e.search({ query: 'doomed one', mode: 'keyword' })).some((m) => m.preview.startsWith('doomed')),
    ).toBe(false);
    expect(
      results(await e.search({ query: 'doomed one', mode: 'semantic', limit: 100 })).some((m) =>
        m.preview.startsWith('doomed'),
      ),
    ).toBe(false);

    const byTime = await e.delete({ since: now - 100.5 * DAY, until: now - 99.5 * DAY });
    expect(byTime.deleted).toBe(1);
    expect(byTime.memories[0]?.preview).toBe('survivor');

    const s = await e.store({ content: 'delete me by hash' });
    expect((await e.delete({ hash: s.hash.slice(0, 8) })).deleted).toBe(1);
    await rejectsWith(() => e.get({ hash: s.hash }), ErrorCode.NOT_FOUND);
    const vectors = new Database(t.dbPath, { readonly: true });
    try {
      // The vector row went with the memory.
      const table = t.engine.model.vecTable;
      const orphans = vectors
        .prepare(
          `SELECT count(*) AS n FROM ${table}_rowids r
                  WHERE NOT EXISTS (SELECT 1 FROM memories m WHERE m.id = r.rowid)`,
        )
        .get() as { n: number };
      expect(orphans.n).toBe(0);
    } finally {
      vectors.close();
    }
  });

  it('reports health and stats', async () => {
    // An engine of its own, so the counts are exactly what this test stored, whatever ran before.
    const own = await openTestEngine({ now: () => now });
    try {
      const api = own.api;
      for (let i = 0; i < 6; i++) {
        await api.store({
          content: `stats sample ${i} about queues`,
          type: i < 4 ? 'observation' : 'note',
          tags: i < 5 ? ['counted'] : ['other'],
        });
      }
      const h = await api.health();
      expect(h).toMatchObject({ status: 'ok', memories: 6 });
      expect(h.model.dimension).toBe(32);
      expect(h.vectors.current).toBe(6);
      expect(h.dbBytes).toBeGreaterThan(0);
      expect(h.sqliteVec).toMatch(/^v0\.1/);
      const found = results(await api.search({ query: 'stats sample queues', mode: 'keyword', limit: 3 }));
      expect(found.length).toBe(3);
      const s = await api.stats();
      expect(s.memories).toBe(6);
      expect(s.byType).toMatchObject({ observation: 4, note: 2 });
      expect(s.topTags.find((t) => t.tag === 'counted')?.count).toBe(5);
      // The three results were counted as accessed (written in the background, flushed by stats()).
      expect(s.accessed).toBe(3);
    } finally {
      await own.close();
    }
  });

  it('renders search results as text within a token budget', async () => {
    for (let i = 0; i < 5; i++)
      await e.store({ content: `budget sample ${i}: the caching layers keep ${'hot keys '.repeat(10)}` });
    const r = await e.search({
      query: 'budget sample caching layers',
      limit: 20,
      format: 'text',
      budget: 60,
      header: 'Memories:',
    });
    if (r.format !== 'text') throw new Error('text');
    expect(r.tokens).toBeLessThanOrEqual(60);
    // More matches than fit: some are shown, and the budget is what cut the rest.
    expect(r.shown).toBeGreaterThan(0);
    expect(r.shown).toBeLessThan(5);
    expect(r.text.startsWith('Memories:\n- ')).toBe(true);
  });

  it('refuses bad input with typed errors and keeps what is stored', async () => {
    const before = (await e.health()).memories;
    const bad: [unknown, RegExp][] = [
      [{ content: 42 }, /content.*string/],
      [{ content: '   ' }, /empty/],
      [{ content: 'a\ud800b' }, /Unicode/],
      [{ content: 'x'.repeat(1024 * 1024 + 1) }, /limit/],
      [{ content: 'ok', metadata: [1] }, /metadata/],
      [{ content: 'ok', createdAt: 'not a date' }, /createdAt/],
      ['just a string', /object/],
    ];
    for (const [input, message] of bad) await rejectsWith(e.store(input as never), ErrorCode.BAD_ARGS, message);
    await rejectsWith(e.search({ query: '' }), ErrorCode.BAD_ARGS, /query/);
    await rejectsWith(e.search({ query: 'x', limit: 0 }), ErrorCode.BAD_ARGS, /limit/);
    await rejectsWith(
      e.search({ query: 'x', limit: 'ten' } as never),
      ErrorCode.BAD_ARGS,
      /`limit` must be an integer from 1 to 100, got 'ten'/,
    );
    await rejectsWith(e.search({ query: 'x', mode: 'fuzzy' } as never), ErrorCode.BAD_ARGS, /mode/);
    await rejectsWith(e.search({ query: 'x', since: now, until: now - 1 }), ErrorCode.BAD_ARGS, /empty/);
    expect((await e.health()).memories).toBe(before);
  });
});
