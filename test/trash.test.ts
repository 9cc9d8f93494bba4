import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, MnemoError } from '../dist/engine-index.js';
import { openTestEngine, type TestEngine } from './helpers/engine.js';

const DAY = 86_400_000;

describe('recoverable deletes', () => {
  let t: TestEngine;
  let clock = Date.parse('2026-11-20T12:00:00Z');
  beforeAll(async () => {
    t = await openTestEngine({ now: () => clock, trashRetentionMs: 7 * DAY });
  });
  afterAll(async () => {
    await t?.close();
  });
  const code = (p: Promise<unknown>) =>
    p.then(
      () => 'ok',
      (e: MnemoError) => e.code,
    );
  const keyword = async (query: string) => {
    const r = await t.api.search({ query, mode: 'keyword', format: 'full' });
    return r.format === 'full' ? r.results.map((m) => m.content) : [];
  };

  it('moves deleted memories to the trash and restores them whole: tags, metadata, times, vectors, index', async () => {
    const s = await t.api.store({
      content: 'the webhook secret rotates monthly',
      tags: ['ops', 'secrets'],
      metadata: { source: 'runbook' },
      createdAt: clock - 3 * DAY,
    });
    await t.api.get({ hash: s.hash }); // one access
    const gone = await t.api.delete({ hash: s.hash.slice(0, 8) });
    expect(gone).toMatchObject({ deleted: 1, trashed: true });
    expect(await keyword('webhook secret rotates')).toEqual([]);
    expect(await code(t.api.get({ hash: s.hash }))).toBe(ErrorCode.NOT_FOUND);
    const trash = await t.api.trash();
    expect(trash.total).toBe(1);
    expect(trash.memories[0]).toMatchObject({ hash: s.hash.slice(0, 8), tags: ['ops', 'secrets'], deletedAt: clock });

    const back = await t.api.restore({ hashes: [s.hash.slice(0, 8)] });
    expect(back.restored).toBe(1);
    const m = await t.api.get({ hash: s.hash });
    expect(m).toMatchObject({
      content: 'the webhook secret rotates monthly',
      tags: ['ops', 'secrets'],
      metadata: { source: 'runbook' },
      createdAt: clock - 3 * DAY,
    });
    expect(m.accessCount).toBe(2); // the access before the delete, and this get
    expect(await keyword('webhook secret rotates')).toEqual(['the webhook secret rotates monthly']);
    const semantic = await t.api.search({
      query: 'the webhook secret rotates monthly',
      mode: 'semantic',
      limit: 1,
      format: 'full',
    });
    expect(semantic.format === 'full' && semantic.results[0]?.scores.semantic).toBeCloseTo(1, 4);
    expect((await t.api.trash()).total).toBe(0);
  });

  it('deletes for good with purge, and empties the trash of what is past its retention', async () => {
    const [a, b] = await t.api.storeBatch({
      memories: [{ content: 'purge me for good' }, { content: 'let me expire' }],
    });
    expect(await t.api.delete({ hash: a!.hash, purge: true })).toMatchObject({ deleted: 1, trashed: false });
    expect((await t.api.trash()).total).toBe(0);
    await t.api.delete({ hash: b!.hash });
    clock += 6 * DAY;
    expect(t.engine.sweepTrash()).toBe(0);
    clock += 2 * DAY;
    expect(t.engine.sweepTrash()).toBe(1);
    expect(await code(t.api.restore({ hashes: [b!.hash] }))).toBe(ErrorCode.NOT_FOUND);
  });

  it('restores all at once, and refuses a restore that names nothing', async () => {
    await t.api.storeBatch({
      memories: [
        { content: 'one of two', tags: ['pair'] },
        { content: 'two of two', tags: ['pair'] },
      ],
    });
    expect((await t.api.delete({ tags: ['pair'] })).deleted).toBe(2);
    expect(await code(t.api.restore({}))).toBe(ErrorCode.BAD_ARGS);
    expect(await code(t.api.restore({ hashes: ['abc'] }))).toBe(ErrorCode.BAD_ARGS);
    expect((await t.api.restore({ all: true })).restored).toBe(2);
    expect((await t.api.list({ tags: ['pair'] })).format).toBe('compact');
    const listed = await t.api.list({ tags: ['pair'] });
    expect(listed.format === 'compact' && listed.results.length).toBe(2);
  });
});
