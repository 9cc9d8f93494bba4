// At scale a hybrid search runs its keyword side on a second, read-only connection in a worker thread
// (src/search/keyword-thread.ts). It must never change what a search returns.
import { describe, expect, it } from 'vitest';
import { Engine } from '../dist/engine-index.js';
import { openTestEngine } from './helpers/engine.js';
import { tinyPack } from './helpers/packs.js';

const WORDS = 'cache latency server index sqlite vector token hook daemon socket build test error retry lock'.split(
  ' ',
);
const TEXTS = Array.from({ length: 60 }, (_, i) =>
  [WORDS[i % WORDS.length], WORDS[(i * 7) % WORDS.length], WORDS[(i * 11 + 3) % WORDS.length], `note ${i}`].join(' '),
);
const QUERIES = ['cache latency', 'sqlite vector index', 'retry lock', 'hook daemon socket test', 'note 17'];

interface Thread {
  answered?: number;
  worker: { terminate(): Promise<number> } | null;
}
const threadOf = (engine: Engine) => (engine as unknown as { keywordThread: Thread }).keywordThread;

async function ranked(engine: Engine, text: string) {
  const r = await engine.search({ text, mode: 'hybrid', limit: 10, filter: {} });
  return r.hits.map((h) => [h.memory.hash, h.score.toFixed(6)]);
}

/** Runs searches until the thread (started by the first one) answers them. */
async function untilThreaded(engine: Engine): Promise<void> {
  for (let i = 0; i < 200 && !threadOf(engine).answered; i++) {
    await ranked(engine, 'cache');
    await new Promise((r) => setTimeout(r, 10));
  }
  expect(threadOf(engine).answered).toBeGreaterThan(0);
}

describe('the keyword thread', () => {
  it('ranks exactly as the search on one thread does, and sees a memory stored a moment before', async () => {
    const t = await openTestEngine({ parallelKeywordMin: 0 });
    let plain: Engine | undefined;
    try {
      await t.api.storeBatch({ memories: TEXTS.map((content) => ({ content })) });
      // A second engine on the same file, opened after the writes: its vector index is loaded from what they wrote
      // (an engine's index sees only its own writes after that, as only the daemon writes).
      plain = await Engine.open({ modelDir: tinyPack(), dbPath: t.dbPath, embedder: { threads: 1 } });
      await plain.indexed;
      await untilThreaded(t.engine);
      const before = threadOf(t.engine).answered!;
      for (const q of QUERIES) expect(await ranked(t.engine, q)).toEqual(await ranked(plain, q));
      expect(threadOf(t.engine).answered! - before).toBe(QUERIES.length);

      const { hash } = await t.api.store({ content: 'zeppelin hangar inspection' });
      const [top] = (await t.engine.search({ text: 'zeppelin', mode: 'hybrid', limit: 3, filter: {} })).hits;
      expect(top?.memory.hash).toBe(hash);
      // A filter goes to the thread as data and is applied there the same way.
      const filtered = { text: 'cache', mode: 'hybrid' as const, limit: 10, filter: { tags: ['none-such'] } };
      expect((await t.engine.search(filtered)).hits).toEqual((await plain.search(filtered)).hits);
    } finally {
      await plain?.close();
      await t.close();
    }
  });

  it('leaves searches to the main thread when the thread dies, with the same results', async () => {
    const t = await openTestEngine({ parallelKeywordMin: 0 });
    try {
      await t.api.storeBatch({ memories: TEXTS.map((content) => ({ content })) });
      await untilThreaded(t.engine);
      const want = await Promise.all(QUERIES.map((q) => ranked(t.engine, q)));
      await threadOf(t.engine).worker!.terminate();
      const answered = threadOf(t.engine).answered;
      for (const [i, q] of QUERIES.entries()) expect(await ranked(t.engine, q)).toEqual(want[i]);
      expect(threadOf(t.engine).answered).toBe(answered);
    } finally {
      await t.close();
    }
  });

  it('is not used below the size where it pays, nor for a database in memory', async () => {
    const small = await openTestEngine();
    try {
      await small.api.store({ content: 'cache latency' });
      for (let i = 0; i < 3; i++) await ranked(small.engine, 'cache');
      expect(threadOf(small.engine).worker).toBeNull();
      const inMemory = await Engine.open({
        modelDir: tinyPack(),
        dbPath: ':memory:',
        embedder: { threads: 1 },
        parallelKeywordMin: 0,
      });
      try {
        for (let i = 0; i < 3; i++) await ranked(inMemory, 'cache');
        expect(threadOf(inMemory).worker).toBeNull();
      } finally {
        await inMemory.close();
      }
    } finally {
      await small.close();
    }
  });
});
