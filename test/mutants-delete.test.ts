import { afterEach, describe, expect, it } from 'vitest';
import { Engine, ErrorCode } from '../dist/engine-index.js';
import { filterSql, isFiltering } from '../dist/store/filter.js';
import { openTestEngine, type TestEngine } from './helpers/engine.js';
import { tinyPack } from './helpers/packs.js';

/**
 * The delete filter (issue 11, mutation testing of store/filter.ts and Engine.delete): what a filter selects, field by
 * field and at the edges of a time range, and what a delete selection removes. Each test fails on a mutant that
 * survived the rest of the suite. Real engine, real SQLite file in a fresh temp dir.
 */

const NOW = Date.parse('2026-03-10T12:00:00Z');
const HOUR = 3_600_000;

let t: TestEngine | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

/** An engine holding six memories that differ in one field each from the first. */
async function seeded(): Promise<{ t: TestEngine; hashes: Record<string, string> }> {
  t = await openTestEngine({ now: () => NOW });
  const stored = await t.api.storeBatch({
    memories: [
      {
        content: 'base memory about the billing queue',
        project: 'p1',
        sessionId: 's1',
        type: 'note',
        tags: ['a'],
        createdAt: NOW - 10 * HOUR,
      },
      {
        content: 'other project memory',
        project: 'p2',
        sessionId: 's1',
        type: 'note',
        tags: ['a'],
        createdAt: NOW - 10 * HOUR,
      },
      {
        content: 'other session memory',
        project: 'p1',
        sessionId: 's2',
        type: 'note',
        tags: ['a'],
        createdAt: NOW - 10 * HOUR,
      },
      {
        content: 'a decision memory',
        project: 'p1',
        sessionId: 's1',
        type: 'decision',
        tags: ['a'],
        createdAt: NOW - 10 * HOUR,
      },
      {
        content: 'tagged a and b memory',
        project: 'p1',
        sessionId: 's1',
        type: 'note',
        tags: ['a', 'b'],
        createdAt: NOW - 10 * HOUR,
      },
      {
        content: 'older memory',
        project: 'p1',
        sessionId: 's1',
        type: 'note',
        tags: ['c'],
        createdAt: NOW - 20 * HOUR,
      },
    ],
  });
  const names = ['base', 'project', 'session', 'decision', 'ab', 'older'];
  return { t, hashes: Object.fromEntries(stored.map((s, i) => [names[i]!, s.hash])) };
}

/** The contents a dry-run delete with this filter matches, sorted. */
function matches(engine: Engine, filter: Parameters<Engine['delete']>[0]['filter']): string[] {
  const r = engine.delete({ filter, dryRun: true });
  return r.memories.map((m) => m.preview).sort();
}

describe('isFiltering', () => {
  it('is true for each narrowing field alone, and false for nothing, empty lists or a tag mode alone', () => {
    expect(isFiltering({})).toBe(false);
    expect(isFiltering({ types: [], tags: [] })).toBe(false);
    expect(isFiltering({ tagMode: 'all' })).toBe(false);
    expect(isFiltering({ project: 'p' })).toBe(true);
    expect(isFiltering({ sessionId: 's' })).toBe(true);
    expect(isFiltering({ types: ['note'] })).toBe(true);
    expect(isFiltering({ tags: ['a'] })).toBe(true);
    expect(isFiltering({ since: 0 })).toBe(true);
    expect(isFiltering({ until: 0 })).toBe(true);
  });
});

describe('filterSql', () => {
  it('is "1" with no parameters for an empty filter, and joins conditions with AND', () => {
    expect(filterSql({})).toEqual({ sql: '1', params: [] });
    expect(filterSql({ types: [], tags: [] })).toEqual({ sql: '1', params: [] });
    expect(filterSql({ project: 'p', sessionId: 's' })).toEqual({
      sql: 'm.project = ? AND m.session_id = ?',
      params: ['p', 's'],
    });
  });
});

describe('what a filter selects (dry-run deletes)', () => {
  it('narrows by each field alone, and by all of them together', async () => {
    const { t } = await seeded();
    const all = matches(t.engine, { since: 0 });
    expect(all.length).toBe(6);
    expect(matches(t.engine, { project: 'p2' })).toEqual(['other project memory']);
    expect(matches(t.engine, { sessionId: 's2' })).toEqual(['other session memory']);
    expect(matches(t.engine, { types: ['decision'] })).toEqual(['a decision memory']);
    expect(matches(t.engine, { types: ['decision', 'missing'] })).toEqual(['a decision memory']);
    expect(matches(t.engine, { tags: ['b'] })).toEqual(['tagged a and b memory']);
    expect(matches(t.engine, { tags: ['c', 'b'] })).toEqual(['older memory', 'tagged a and b memory']);
    expect(
      matches(t.engine, {
        project: 'p1',
        sessionId: 's1',
        types: ['note'],
        tags: ['a'],
        since: NOW - 11 * HOUR,
        until: NOW,
      }),
    ).toEqual(['base memory about the billing queue', 'tagged a and b memory']);
  });

  it('takes any of the tags by default, every one of them with tagMode all', async () => {
    const { t } = await seeded();
    expect(matches(t.engine, { tags: ['a', 'b'] }).length).toBe(5);
    expect(matches(t.engine, { tags: ['a', 'b'], tagMode: 'any' })).toEqual(matches(t.engine, { tags: ['a', 'b'] }));
    expect(matches(t.engine, { tags: ['a', 'b'], tagMode: 'all' })).toEqual(['tagged a and b memory']);
    expect(matches(t.engine, { tags: ['b'], tagMode: 'all' })).toEqual(['tagged a and b memory']);
  });

  it('includes a memory created exactly at `since` and excludes one created exactly at `until`', async () => {
    const { t } = await seeded();
    expect(matches(t.engine, { since: NOW - 20 * HOUR, until: NOW - 10 * HOUR })).toEqual(['older memory']);
    expect(matches(t.engine, { since: NOW - 20 * HOUR + 1, until: NOW - 10 * HOUR + 1 })).toEqual([
      'a decision memory',
      'base memory about the billing queue',
      'other project memory',
      'other session memory',
      'tagged a and b memory',
    ]);
    expect(matches(t.engine, { until: NOW - 20 * HOUR })).toEqual([]);
    expect(matches(t.engine, { since: NOW - 10 * HOUR + 1 })).toEqual([]);
  });
});

describe('Engine.delete', () => {
  it('refuses a selection with no hash and a filter that narrows nothing, before touching anything', async () => {
    const { t } = await seeded();
    for (const filter of [{}, { tags: [] }, { types: [] }, { tagMode: 'all' as const }]) {
      expect(() => t.engine.delete({ filter, dryRun: false }), JSON.stringify(filter)).toThrow(
        expect.objectContaining({
          code: ErrorCode.BAD_ARGS,
          message: expect.stringMatching(/^refusing to delete with an empty filter/),
        }),
      );
    }
    expect(t.engine.health().memories).toBe(6);
  });

  it('with hashes and a filter, deletes only the hashes the filter also matches', async () => {
    const { t, hashes } = await seeded();
    const r = t.engine.delete({
      hashes: [hashes.base!, hashes.project!, hashes.decision!],
      filter: { project: 'p1' },
      dryRun: false,
    });
    expect(r).toMatchObject({ dryRun: false, matched: 2, deleted: 2, trashed: true });
    expect(r.memories.map((m) => m.preview).sort()).toEqual([
      'a decision memory',
      'base memory about the billing queue',
    ]);
    expect((await t.api.get({ hash: hashes.project! })).content).toBe('other project memory');
    expect(t.engine.health().memories).toBe(4);
  });

  it('with hashes alone, deletes each once however often it is named, and lists it with its tags', async () => {
    const { t, hashes } = await seeded();
    const r = t.engine.delete({
      hashes: [hashes.ab!, hashes.ab!.slice(0, 10), hashes.older!],
      filter: {},
      dryRun: false,
    });
    expect(r).toMatchObject({ matched: 2, deleted: 2, trashed: true });
    expect(r.memories.find((m) => m.preview === 'tagged a and b memory')).toMatchObject({
      tags: ['a', 'b'],
      type: 'note',
      hash: hashes.ab!.slice(0, r.memories[0]!.hash.length),
    });
    expect((await t.api.trash()).total).toBe(2);
  });

  it('names the `hash` argument when a hash it was given is not one', async () => {
    const { t } = await seeded();
    expect(() => t.engine.delete({ hashes: ['not-hex'], filter: {}, dryRun: false })).toThrow(
      expect.objectContaining({
        code: ErrorCode.BAD_ARGS,
        message: "`hash` must be hex digits (a memory hash or a prefix of one), got 'not-hex'",
      }),
    );
  });

  it('lists a memory without tags with an empty tag list', async () => {
    t = await openTestEngine({ now: () => NOW });
    await t.api.store({ content: 'no tags here', project: 'bare' });
    expect(t.engine.delete({ filter: { project: 'bare' }, dryRun: true }).memories).toEqual([
      expect.objectContaining({ preview: 'no tags here', tags: [] }),
    ]);
  });

  it('dry run: reports what would go, removes nothing; with purge removes for good, not to the trash', async () => {
    const { t } = await seeded();
    const dry = t.engine.delete({ filter: { tags: ['a'] }, dryRun: true, purge: true });
    expect(dry).toMatchObject({ dryRun: true, matched: 5, deleted: 0, trashed: false });
    expect(t.engine.health().memories).toBe(6);
    const purged = t.engine.delete({ filter: { tags: ['c'] }, dryRun: false, purge: true });
    expect(purged).toMatchObject({ dryRun: false, matched: 1, deleted: 1, trashed: false });
    expect((await t.api.trash()).total).toBe(0);
    expect(t.engine.health().memories).toBe(5);
  });

  it('lists at most 100 of the memories it deletes, and deletes them all', async () => {
    t = await openTestEngine({ now: () => NOW });
    await t.api.storeBatch({
      memories: Array.from({ length: 103 }, (_, i) => ({ content: `bulk memory number ${i}`, tags: ['bulk'] })),
    });
    const r = t.engine.delete({ filter: { tags: ['bulk'] }, dryRun: false });
    expect(r).toMatchObject({ matched: 103, deleted: 103 });
    expect(r.memories.length).toBe(100);
    expect(t.engine.health().memories).toBe(0);
  });

  it('turns semantic search back on once the memories the current model has no vector for are deleted', async () => {
    t = await openTestEngine({ now: () => NOW });
    await t.api.store({ content: 'embedded by the first model', tags: ['old'] });
    await t.engine.close();
    // The same database under another model: the memory has no vector from it.
    const engine = await Engine.open({
      modelDir: tinyPack(2),
      dbPath: t.dbPath,
      embedder: { threads: 1 },
      now: () => NOW,
    });
    try {
      const before = await engine.search({ text: 'first model', mode: 'semantic', limit: 5, filter: {} });
      expect(before.notice).toMatch(/semantic search is off/);
      expect(engine.delete({ filter: { tags: ['old'] }, dryRun: true }).deleted).toBe(0);
      expect((await engine.search({ text: 'first model', mode: 'semantic', limit: 5, filter: {} })).notice).toMatch(
        /semantic search is off/,
      );
      expect(engine.delete({ filter: { tags: ['old'] }, dryRun: false }).deleted).toBe(1);
      const after = await engine.search({ text: 'first model', mode: 'semantic', limit: 5, filter: {} });
      expect(after.notice).toBeUndefined();
    } finally {
      await engine.close();
    }
  });
});
