import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toFtsQuery } from '../dist/search/fts-query.js';
import { openTestEngine, type TestEngine } from './helpers/engine.js';

const HOSTILE = [
  '"',
  '""',
  '"unbalanced quote',
  'a "quoted phrase" b',
  '*',
  'prefix*',
  '-',
  '-negated term',
  'NOT',
  'a AND b OR NOT c',
  'NEAR(a b, 5)',
  'NEAR',
  'content:sqlite',
  'col:',
  ':',
  '(',
  ')',
  '((a)',
  'a) OR (b',
  '^start',
  '{a b}',
  "it's o'clock",
  'SELECT * FROM memories; DROP TABLE memories;--',
  'naïve café résumé',
  '日本語の検索',
  'emoji only 🚀🔥',
  '🚀🔥✨',
  '\u0000nul',
  'tab\tand\nnewline',
  '+plus +signs',
  'a'.repeat(10_000),
  Array.from({ length: 2000 }, (_, i) => `w${i}`).join(' '),
  'x '.repeat(5000),
];

describe('FTS-hostile queries', () => {
  let t: TestEngine;
  beforeAll(async () => {
    t = await openTestEngine();
    await t.engine.storeBatch({
      memories: [
        { content: 'naïve café résumé with accents' },
        { content: 'sqlite FTS5 with NEAR and NOT as plain words' },
        { content: '日本語の検索 テスト' },
        { content: "it's o'clock somewhere" },
      ],
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('never throws, in any mode', async () => {
    for (const q of HOSTILE) {
      for (const mode of ['keyword', 'hybrid', 'semantic'] as const) {
        await expect(t.engine.search({ query: q, mode, limit: 3 }), `${mode}: ${q.slice(0, 40)}`).resolves.toBeDefined();
      }
    }
    expect(t.engine.health().memories).toBe(4);
  });

  it('treats operators and punctuation as words, still finding matches', async () => {
    const hits = async (query: string) => {
      const r = await t.engine.search({ query, mode: 'keyword' });
      if (r.format !== 'compact') throw new Error(r.format);
      return r.results.map((m) => m.preview);
    };
    expect(await hits('NEAR NOT')).toEqual(['sqlite FTS5 with NEAR and NOT as plain words']);
    expect(await hits('cafe')).toEqual(['naïve café résumé with accents']); // diacritics folded
    expect(await hits("o'clock")).toEqual(["it's o'clock somewhere"]);
    expect(await hits('content:sqlite')).toEqual(['sqlite FTS5 with NEAR and NOT as plain words']);
    expect(await hits('🚀🔥✨')).toEqual([]);
  });

  it('quotes every term and caps how many it takes', () => {
    expect(toFtsQuery('a "b" c:d')).toBe('"a" OR "b" OR "c" OR "d"');
    expect(toFtsQuery('🚀 -- **')).toBeNull();
    expect(toFtsQuery(Array.from({ length: 100 }, (_, i) => `t${i}`).join(' '))!.split(' OR ').length).toBe(32);
  });
});
