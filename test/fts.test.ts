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
    await t.api.storeBatch({
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
        await expect(t.api.search({ query: q, mode, limit: 3 }), `${mode}: ${q.slice(0, 40)}`).resolves.toBeDefined();
      }
    }
    expect((await t.api.health()).memories).toBe(4);
  });

  it('treats operators and punctuation as words, still finding matches', async () => {
    const hits = async (query: string) => {
      const r = await t.api.search({ query, mode: 'keyword' });
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

describe('choosing which words to match', () => {
  it('leaves out words most memories hold, keeps the rarest, drops unknown words', async () => {
    const { selectTerms } = await import('../dist/search/retrieve.js');
    const df: Record<string, number> = { the: 90_000, payment: 30_000, gateway: 8_000, refund: 2_000, idempotency: 40 };
    const store = {
      memoryCount: 100_000,
      termDocs: (terms: readonly string[]) => new Map(terms.filter((t) => t in df).map((t) => [t, df[t]!] as const)),
    };
    // Budget: a 25th of 100k, 4,000. Rarest first: idempotency 40, refund 2,000, gateway 8,000 (over: out).
    expect(selectTerms(store as never, ['the', 'payment', 'gateway', 'refund', 'idempotency', 'zzz'])).toEqual(['idempotency', 'refund']);
    // Only common words: the rarest one still goes in.
    expect(selectTerms(store as never, ['the', 'payment'])).toEqual(['payment']);
    expect(selectTerms(store as never, ['zzz', 'qqq'])).toEqual([]);
    expect(selectTerms({ memoryCount: 10, termDocs: () => new Map([['a', 9], ['b', 8]]) } as never, ['a', 'b'])).toEqual(['b', 'a']);
  });
});

describe('redaction', () => {
  it('catches common secret shapes without breaking the text around them', async () => {
    const { redact, redactDeep } = await import('../dist/store/redact.js');
    const cases: [string, string][] = [
      ['PGPASSWORD=hunter22 psql', 'PGPASSWORD=[REDACTED:secret-assignment] psql'],
      ['DB_PASS=s3cr3t!', 'DB_PASS=[REDACTED:secret-assignment]'],
      ['Authorization: Basic dXNlcjpwYXNz', 'Authorization: Basic [REDACTED:basic-auth]'],
      ['curl -u admin:hunter2 https://x', 'curl -u admin:[REDACTED:user-password] https://x'],
      ['{"password":"xyz123"}', '{"password":"[REDACTED:secret-assignment]"}'],
      ['const token = await getToken();', 'const token = await getToken();'],
      ['max_tokens: 256, tests pass: 42', 'max_tokens: 256, tests pass: 42'],
      ['keep <private>the plan</private> this', 'keep  this'],
    ];
    for (const [input, want] of cases) expect(redact(input), input).toBe(want);
    expect(redactDeep({ password: 'hunter2', api_key: 'abcd1234efgh', headers: { Authorization: 'Basic dXNlcjpwYXNz' }, author: 'Ann', token_count: 'many' })).toEqual({
      password: '[REDACTED:secret-field]',
      api_key: '[REDACTED:secret-field]',
      headers: { Authorization: '[REDACTED:secret-field]' },
      author: 'Ann',
      token_count: 'many',
    });
  });
});
