import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildOfflinePack, wordVectorsPath } from '../dist/embed/packs/offline-pack.js';
import { toFtsQuery } from '../dist/search/fts-query.js';
import { openTestEngine, type TestEngine } from './helpers/engine.js';
import { REPO } from './helpers/packs.js';

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
    const { indexForm } = await import('../dist/search/fts-query.js');
    // Document frequencies as the index keeps them: by stem.
    const df: Record<string, number> = Object.fromEntries(
      Object.entries({ the: 90_000, payment: 30_000, gateway: 8_000, refund: 2_000, idempotency: 40 }).map(([w, n]) => [
        indexForm(w),
        n,
      ]),
    );
    const store = {
      memoryCount: 100_000,
      termDocs: (terms: readonly string[]) => new Map(terms.filter((t) => t in df).map((t) => [t, df[t]!] as const)),
    };
    // Budget: a 25th of 100k, 4,000. Rarest first: idempotency 40, refund 2,000, gateway 8,000 (over: out).
    expect(selectTerms(store as never, ['the', 'payment', 'gateway', 'refund', 'idempotency', 'zzz'])).toEqual([
      'idempotency',
      'refund',
    ]);
    // Only common words: the rarest one still goes in.
    expect(selectTerms(store as never, ['the', 'payment'])).toEqual(['payment']);
    expect(selectTerms(store as never, ['zzz', 'qqq'])).toEqual([]);
    expect(
      selectTerms(
        {
          memoryCount: 10,
          termDocs: () =>
            new Map([
              ['a', 9],
              ['b', 8],
            ]),
        },
        ['a', 'b'],
      ),
    ).toEqual(['b', 'a']);
    // Two words of one stem go in once.
    expect(selectTerms(store as never, ['refund', 'refunds', 'refunded'])).toEqual(['refund']);
  });

  it('leaves English stop words out of a query unless nothing else is left', async () => {
    const { queryTerms } = await import('../dist/search/fts-query.js');
    expect(queryTerms('When did Caroline go to the support group?')).toEqual(['caroline', 'go', 'support', 'group']);
    expect(queryTerms('who is he')).toEqual(['who', 'is', 'he']);
  });
});

describe('stemming (issue 12)', () => {
  it('finds other forms of a word, in a new database and in one made before the porter index', async () => {
    const Database = (await import('better-sqlite3')).default;
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { migrations } = await import('../dist/store/migrations.js');
    const { openDb } = await import('../dist/store/db.js');
    const { MemoryStore } = await import('../dist/store/memory-store.js');
    const path = join(mkdtempSync(join(tmpdir(), 'mnemo-fts-')), 'old.db');
    // A database as schema version 4 left it: unicode61 without stemming.
    const old = new Database(path);
    for (const step of migrations.slice(0, 4)) step(old);
    old.pragma('user_version = 4');
    old
      .prepare(
        "INSERT INTO memories (hash, content, created_at, updated_at) VALUES ('h1', 'Melanie painted a sunrise', 1, 1)",
      )
      .run();
    expect(old.prepare('SELECT count(*) FROM memories_fts WHERE memories_fts MATCH \'"paint"\'').pluck().get()).toBe(0);
    old.close();

    const db = openDb(path);
    const store = new MemoryStore(db);
    expect(store.keyword('"paintings"', 5).length).toBe(1);
    expect(store.termDocs(['paint', 'sunris'])).toEqual(
      new Map([
        ['paint', 1],
        ['sunris', 1],
      ]),
    );
    store.insertMany(
      [
        {
          memory: {
            hash: 'h2',
            content: 'sunrises over the lake',
            type: 'note',
            project: null,
            sessionId: null,
            tags: [],
            metadata: {},
            createdAt: 2,
          },
          vector: null,
        },
      ],
      store.attachModel('m', 'f', 4),
    );
    expect(store.keyword('"sunrise"', 5).length).toBe(2);
    db.close();
  });
});

describe('BM25 with a smaller length normalisation (issue 12)', () => {
  const openStore = async () => {
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { openDb } = await import('../dist/store/db.js');
    const { MemoryStore } = await import('../dist/store/memory-store.js');
    const store = new MemoryStore(openDb(join(mkdtempSync(join(tmpdir(), 'mnemo-bm25-')), 'm.db')));
    const model = store.attachModel('m', 'f', 4);
    const add = (contents: string[]) =>
      store.insertMany(
        contents.map((content, i) => ({
          memory: {
            hash: createHash('sha256').update(content).digest('hex'),
            content,
            type: 'note',
            project: null,
            sessionId: null,
            tags: [],
            metadata: {},
            createdAt: i,
          },
          vector: null,
        })),
        model,
      );
    return { store, add };
  };
  const texts = [
    'Painting again: I painted the lake at sunrise, and the painting is drying.',
    'A naïve café painter paints every Sunday; paint everywhere.',
    'painting',
    'The retry queue drops a job after five attempts, and the dead-letter table keeps the payload for a week.',
    'Lunch at noon.',
    'We chose SQLite with FTS5 for the keyword side because it ships with the database and needs no server.',
    'SUNRISE over the lake (again): the kids painted it too',
  ];

  it("reads the index's own totals and lengths, so at b 0.75 it gives exactly FTS5's bm25()", async () => {
    const { rescore } = await import('../dist/search/bm25.js');
    const { indexForm } = await import('../dist/search/fts-query.js');
    const { store, add } = await openStore();
    add(texts);
    const words = texts.join(' ').match(/[\p{L}\p{N}]+/gu)!;
    expect(store.ftsTotals()).toEqual({ docs: texts.length, tokens: words.length });
    const queries = [['painting'], ['paints', 'lake'], ['sunrise', 'kids', 'painted'], ['cafe'], ['sqlite', 'keyword']];
    for (const query of queries) {
      // FTS5 stems the query's words itself; the document counts are of the stems, as the index holds them.
      const candidates = store.keyword(query.map((w) => `"${w}"`).join(' OR '), 10);
      expect(candidates.length).toBeGreaterThan(0);
      const docs = store.termDocs(query.map(indexForm));
      expect(docs.size).toBe(query.length);
      const again = rescore(candidates, docs, store.ftsTotals()!, 1.2, 0.75);
      const fts5 = new Map(candidates.map((c) => [c.id, c.bm25]));
      for (const h of again) expect(h.bm25).toBeCloseTo(fts5.get(h.id)!, 9);
    }
    store.close();
  });

  it('at b 0.5 a fuller memory that holds the word twice outranks a one-word one that FTS5 puts first', async () => {
    const { keywordSide } = await import('../dist/search/retrieve.js');
    const { store, add } = await openStore();
    add(texts);
    // FTS5's b of 0.75 puts the one-word memory first; mnemo's ranking does not.
    const fts5 = store.keyword('"painting"', 10).map((h) => h.content);
    expect(fts5[0]).toBe('painting');
    const ours = keywordSide(store, { mode: 'keyword', limit: 10, filter: {}, text: 'painting' });
    const byId = new Map(store.keyword('"painting"', 10).map((h) => [h.id, h.content]));
    expect(byId.get(ours[0]!.id)).toMatch(/^Painting again/);
    expect(ours.map((h) => byId.get(h.id))).toContain('painting');
    expect(ours.every((h) => h.score > 0 && h.score < 1)).toBe(true);
    store.close();
  });

  it('counts words as the index does: folded, any case, by stem, not inside other words', async () => {
    const { frequencyCounter } = await import('../dist/search/bm25.js');
    const count = frequencyCounter(['paint', 'cafe', 'sunris', 'kid']);
    expect(Object.fromEntries(count(texts[1]!))).toEqual({ paint: 2, cafe: 1, sunris: 0, kid: 0 });
    expect(Object.fromEntries(count(texts[6]!))).toEqual({ paint: 1, cafe: 0, sunris: 1, kid: 1 });
    expect(Object.fromEntries(count('repaint unpainted'))).toEqual({ paint: 0, cafe: 0, sunris: 0, kid: 0 });
    // A capital sigma lower-cases to a final one when cut short; a one-letter stem ("ies" is "i").
    const { indexForm } = await import('../dist/search/fts-query.js');
    expect([...frequencyCounter([indexForm('αστερι')])('ΑΣΤΕΡΙ αστερι').values()]).toEqual([2]);
    expect([...frequencyCounter([indexForm('ies')])('ies IES').values()]).toEqual([2]);
  });

  it('keeps every score finite and negative when a cached document count is off, even above N', async () => {
    const { rescore } = await import('../dist/search/bm25.js');
    const candidates = [
      // FTS5's scores (the fallback) in the other order, so a fallback shows.
      { id: 1, content: 'paint the fence', length: 3, bm25: -0.9 },
      { id: 2, content: 'paint paint', length: 2, bm25: -0.1 },
    ];
    for (const n of [0, 1, 999, 1000, 1100]) {
      const out = rescore(candidates, new Map([['paint', n]]), { docs: 1000, tokens: 5000 });
      expect(out.every((h) => Number.isFinite(h.bm25) && h.bm25 < 0)).toBe(true);
      expect(out[0]!.id).toBe(2);
    }
  });

  it('reads a long memory only in part, and still finds it', async () => {
    const { COUNTED_CHARS } = await import('../dist/store/memory-store.js');
    const { keywordSide } = await import('../dist/search/retrieve.js');
    const { store, add } = await openStore();
    const filler = 'lorem ipsum dolor '.repeat(20_000);
    add(['zeppelin ' + filler, filler + ' zeppelin', 'a zeppelin hangar']);
    const hits = store.keyword('"zeppelin"', 10);
    expect(hits.length).toBe(3);
    expect(hits.every((h) => h.content.length <= COUNTED_CHARS)).toBe(true);
    expect(Math.max(...hits.map((h) => h.length))).toBeGreaterThan(60_000);
    const ranked = keywordSide(store, { mode: 'keyword', limit: 10, filter: {}, text: 'zeppelin' });
    expect(ranked.length).toBe(3);
    expect(ranked.every((h) => h.score > 0 && h.score < 1)).toBe(true);
    store.close();
  });
});

describe('episodes (issue 12)', () => {
  it('groups by session, else by runs within the window; a hit moves toward its episode best', async () => {
    const { episodesOf, withEpisodes, NEIGHBOUR_WINDOW_MS } = await import('../dist/search/retrieve.js');
    const min = 60_000;
    const places = new Map([
      [1, { project: 'p', sessionId: 's1', createdAt: 0 }],
      [2, { project: 'p', sessionId: 's1', createdAt: 5 * 3600_000 }],
      [3, { project: 'p', sessionId: null, createdAt: 0 }],
      [4, { project: 'p', sessionId: null, createdAt: 20 * min }],
      [5, { project: 'p', sessionId: null, createdAt: 40 * min }],
      [6, { project: 'p', sessionId: null, createdAt: 40 * min + NEIGHBOUR_WINDOW_MS + 1 }],
      [7, { project: 'q', sessionId: null, createdAt: 20 * min }],
      [8, { project: null, sessionId: null, createdAt: 21 * min }],
      [9, { project: '', sessionId: null, createdAt: 22 * min }],
      [10, { project: null, sessionId: null, createdAt: 23 * min }],
    ]);
    const e = episodesOf(places);
    expect(e.get(1)).toBe(e.get(2));
    expect(new Set([e.get(3), e.get(4), e.get(5)]).size).toBe(1);
    expect(new Set([e.get(1), e.get(3), e.get(6), e.get(7), e.get(8), e.get(9)]).size).toBe(6);
    expect(e.get(10)).toBe(e.get(8)); // no project is not the project ''

    const hits = [
      { id: 3, score: 0.9 },
      { id: 6, score: 0.5 },
      { id: 5, score: 0.3 },
      { id: 7, score: 0.2 },
      { id: 42, score: 0.1 },
    ];
    const out = withEpisodes(hits, places, 0.5);
    const score = new Map(out.map((h) => [h.id, h.score]));
    expect(score.get(3)).toBe(0.9); // the best of its episode keeps its score
    expect(score.get(6)).toBe(0.5); // alone in its episode
    expect(score.get(7)).toBe(0.2);
    expect(score.get(42)).toBe(0.1); // no place known
    expect(score.get(5)).toBeCloseTo((0.3 + 0.5 * 0.9) / 1.5, 12);
    expect(out.map((h) => h.id)).toEqual([3, 6, 5, 7, 42]);
    expect(withEpisodes(hits, places, 0)).toBe(hits);
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
    expect(
      redactDeep({
        password: 'hunter2',
        api_key: 'abcd1234efgh',
        headers: { Authorization: 'Basic dXNlcjpwYXNz' },
        author: 'Ann',
        token_count: 'many',
      }),
    ).toEqual({
      password: '[REDACTED:secret-field]',
      api_key: '[REDACTED:secret-field]',
      headers: { Authorization: '[REDACTED:secret-field]' },
      author: 'Ann',
      token_count: 'many',
    });
  });
});

describe.skipIf(!wordVectorsPath())('hybrid ranking on the offline pack (issue 12)', () => {
  let t: TestEngine;
  const at = Date.UTC(2026, 0, 5, 10);
  beforeAll(async () => {
    // Named after the builder's code, so a changed pack is rebuilt; apart from the quality suite's copy, so two test
    // files running at once never replace a pack the other has open.
    const builder = readFileSync(join(REPO, 'dist', 'embed', 'packs', 'offline-pack.js'));
    const dir = join(
      REPO,
      '.cache',
      'packs',
      `offline-test-${createHash('sha256').update(builder).digest('hex').slice(0, 12)}`,
    );
    if (!existsSync(join(dir, 'manifest.json'))) buildOfflinePack(dir);
    t = await openTestEngine({ modelDir: dir });
    await t.api.storeBatch({
      memories: [
        { content: 'we moved the session cache to redis last week', project: 'p', createdAt: at },
        { content: 'the cat sat on the mat', project: 'p', createdAt: at + 60_000 },
        { content: 'which painting did you finish in the spring?', project: 'p', createdAt: at + 120_000 },
        { content: 'a sunrise over the lake, with my kids', project: 'p', createdAt: at + 180_000 },
        { content: 'an unrelated note about lunch', project: 'p', createdAt: at + 86_400_000 },
      ],
    });
  });
  afterAll(async () => {
    await t?.close();
  });
  const search = async (query: string, mode: 'hybrid' | 'semantic' | 'keyword') => {
    const r = await t.api.search({ query, mode, format: 'full', project: 'p' });
    if (r.format !== 'full') throw new Error(r.format);
    return r.results;
  };

  it('a query of unknown words contributes nothing from the vector side', async () => {
    expect(await search('zzqxv qqwzk', 'semantic')).toEqual([]);
    const hybrid = await search('redis zzqxv', 'hybrid');
    expect(hybrid[0]!.content).toMatch(/redis/);
    expect(hybrid[0]!.score).toBe(1);
    expect(hybrid.every((h) => h.scores.semantic === undefined)).toBe(true);
  });

  it('brings up the memory stored beside a match, never above it', async () => {
    const hybrid = await search('Which painting did you finish?', 'hybrid');
    expect(hybrid[0]!.content).toMatch(/painting/);
    // The reply holds no word of the question, yet comes second: half the score of the turn before it as its
    // neighbour, then a third of the way from there to the best of its episode (the same turn): two thirds of it.
    expect(hybrid[1]!.content).toBe('a sunrise over the lake, with my kids');
    expect(hybrid[1]!.score).toBeCloseTo((hybrid[0]!.score * 2) / 3, 6);
    // A day later is not a neighbour.
    const store = t.engine.storage;
    const ids = store
      .list({ project: 'p' }, 10)
      .sort((a, b) => a.created_at - b.created_at)
      .map((r) => r.id);
    expect(store.neighbours([ids[3]!, ids[4]!], 30 * 60_000).sort((a, b) => a.id - b.id)).toEqual([
      { id: ids[3]!, prev: ids[2]!, next: null },
      { id: ids[4]!, prev: null, next: null },
    ]);
  });
});
