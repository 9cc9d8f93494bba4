import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '../dist/engine-index.js';
import { openTestEngine, type TestEngine } from './helpers/engine.js';

/**
 * What an import writes and an export reads back (issue 11, mutation testing of Engine.storeBatch and exportPage and
 * of MemoryStore.insertMany and toMemory): every stored field, tags merged on a repeat, the vector, the count the
 * search budget uses. Each test fails on a mutant that survived the rest of the suite. Real engine, real SQLite file
 * in a fresh temp dir.
 */

let t: TestEngine | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

describe('storing memories in a batch', () => {
  it('keeps every field it is given, times and access history included, and defaults the rest', async () => {
    t = await openTestEngine({ now: () => 1_800_000_000_000 });
    // Every field a memory can be given; it comes back exactly so.
    const withHistory = {
      content: 'imported with its history',
      type: 'decision',
      project: '/w/p',
      sessionId: 's9',
      tags: ['t1'],
      metadata: { k: 'v' },
      createdAt: 1_700_000_000_000,
      updatedAt: 1_700_000_500_000,
      accessCount: 7,
      lastAccessedAt: 1_700_000_900_000,
    };
    const [full, bare] = await t.api.storeBatch({
      memories: [withHistory, { content: 'stored with nothing else' }],
    });
    expect((await t.api.export({})).memories).toEqual([
      { hash: full!.hash, ...withHistory },
      {
        hash: bare!.hash,
        content: 'stored with nothing else',
        type: 'note',
        project: null,
        sessionId: null,
        tags: [],
        metadata: {},
        createdAt: 1_800_000_000_000,
        updatedAt: expect.any(Number),
        accessCount: 0,
        lastAccessedAt: null,
      },
    ]);
  });

  it('merges the tags of content stored again, and counts it once', async () => {
    t = await openTestEngine();
    await t.api.storeBatch({ memories: [{ content: 'the same words', tags: ['first'] }] });
    const [again] = await t.api.storeBatch({
      memories: [{ content: 'the same words', tags: ['second'] }, { content: 'other words' }],
    });
    expect(again!.created).toBe(false);
    expect((await t.api.get({ hash: again!.hash })).tags.sort()).toEqual(['first', 'second']);
    expect(t.store.memoryCount).toBe(2);
    expect(t.engine.health().memories).toBe(2);
  });

  it('embeds each new memory: a semantic search finds it by its own words', async () => {
    t = await openTestEngine();
    const [s] = await t.api.storeBatch({
      memories: [
        { content: 'the invoice renderer uses the new PDF library' },
        { content: 'unrelated words about lunch' },
      ],
    });
    const r = await t.engine.search({
      text: 'the invoice renderer uses the new PDF library',
      mode: 'semantic',
      limit: 1,
      filter: {},
    });
    expect(r.notice).toBeUndefined();
    expect(r.hits[0]?.memory.hash).toBe(s!.hash);
    expect(r.hits[0]?.semantic).toBeCloseTo(1, 4);
  });

  it('names the memory of a batch that cannot be stored', async () => {
    t = await openTestEngine();
    await expect(
      t.api.storeBatch({ memories: [{ content: 'fine' }, { content: '<private>only a private block</private>' }] }),
    ).rejects.toMatchObject({
      code: ErrorCode.BAD_ARGS,
      message: 'memories[1]: `content` must not be empty',
    });
    expect(t.engine.health().memories).toBe(0);
  });

  it('gives a memory read on its own its tags, or none', async () => {
    t = await openTestEngine();
    const [tagged, plain] = await t.api.storeBatch({
      memories: [{ content: 'tagged one', tags: ['x', 'y'] }, { content: 'plain one' }],
    });
    expect((await t.api.get({ hash: tagged!.hash })).tags.sort()).toEqual(['x', 'y']);
    expect((await t.api.get({ hash: plain!.hash })).tags).toEqual([]);
  });
});

describe('a closed engine', () => {
  it('refuses to export or delete with E_CLOSED', async () => {
    t = await openTestEngine();
    await t.api.store({ content: 'still here' });
    await t.engine.close();
    expect(() => t!.engine.exportPage(0, 10)).toThrow(expect.objectContaining({ code: ErrorCode.CLOSED }));
    expect(() => t!.engine.delete({ filter: { since: 0 }, dryRun: true })).toThrow(
      expect.objectContaining({ code: ErrorCode.CLOSED }),
    );
  });
});
