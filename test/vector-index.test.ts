import { describe, expect, it } from 'vitest';
import { Embedder } from '../dist/embed/embedder.js';
import { SeededRandom } from '../dist/embed/packs/onnx-builder.js';
import { IndexFullError, QuantizedIndex } from '../dist/store/vector-index.js';
import { openTestEngine } from './helpers/engine.js';
import { tinyPack } from './helpers/packs.js';
import { Engine } from '../dist/engine-index.js';
import { MemoryStore } from '../dist/store/memory-store.js';
import { openDb } from '../dist/store/db.js';
import { createHash } from 'node:crypto';
import { PACK_CACHE } from './helpers/packs.js';
import { wordVectorsPath } from '../dist/embed/packs/offline-pack.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

const WORDS = (
  'daemon socket cache index sqlite vector search memory hook session prompt tool commit branch refactor bug fix ' +
  'test build deploy config token latency worker pool model embed query filter project tag decision note error ' +
  'retry lock payment gateway invoice ledger webhook refund currency'
).split(' ');

function sentences(n: number, seed: number): string[] {
  const rnd = new SeededRandom(seed);
  return Array.from({ length: n }, () =>
    Array.from(
      { length: 6 + Math.floor(rnd.next() * 10) },
      () => WORDS[Math.floor(rnd.next() ** 2 * WORDS.length)],
    ).join(' '),
  );
}

const cosineDistance = (a: Float32Array, b: Float32Array) => {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return 1 - dot / Math.sqrt(na * nb);
};

/** Recall@k against exact search, counting ties at the k-th exact distance as hits. */
function recall(
  vectors: Float32Array[],
  index: QuantizedIndex,
  queries: Float32Array[],
  k: number,
  allowed?: (id: number) => boolean,
): number {
  let total = 0;
  for (const q of queries) {
    const exact = vectors
      .map((v, i) => ({ id: i + 1, d: cosineDistance(v, q) }))
      .filter((r) => !allowed || allowed(r.id))
      .sort((a, b) => a.d - b.d);
    const kth = exact[k - 1]!.d;
    const byId = new Map(exact.map((r) => [r.id, r.d]));
    const got = index.search(q, k, allowed ? { allowed } : {});
    total += got.filter((r) => byId.get(r.id)! <= kth + 1e-6).length / k;
  }
  return total / queries.length;
}

describe('the quantised vector index', () => {
  /**
   * Vectors shaped like sentence embeddings: a shared offset, 40 topics, and within a topic sub-topics and noise, so
   * near neighbours are near (cosine 0.5 to 0.9) and the rest of a topic trails off. Queries are noisy copies of
   * stored vectors, as a question is a rewording of what was stored.
   */
  function clustered(n: number, seed: number): Float32Array[] {
    const rnd = new SeededRandom(seed);
    const common = rnd.normals(384, 0.5);
    const topics = Array.from({ length: 40 }, () => rnd.normals(384, 1));
    const subtopics = Array.from({ length: 400 }, (_, i) =>
      Float32Array.from(rnd.normals(384, 0.6), (x, d) => x + topics[i % 40]![d]!),
    );
    return Array.from({ length: n }, (_, i) => {
      const noise = rnd.normals(384, 0.5);
      return Float32Array.from(subtopics[(i * 7) % 400]!, (x, d) => x + noise[d]! + common[d]!);
    });
  }
  const near = (vectors: Float32Array[], n: number, seed: number) => {
    const rnd = new SeededRandom(seed);
    return Array.from({ length: n }, () => {
      const v = vectors[Math.floor(rnd.next() * vectors.length)]!;
      const noise = rnd.normals(v.length, 0.4);
      return Float32Array.from(v, (x, d) => x + noise[d]!);
    });
  };

  it('returns the exact top 10 at recall >= 0.95 on a fixed set, filtered or not', () => {
    const vectors = clustered(12_000, 1);
    const queries = near(vectors, 60, 2);
    const index = new QuantizedIndex(384);
    vectors.forEach((v, i) => index.add(i + 1, v));
    expect(index.size).toBe(12_000);
    const r = recall(vectors, index, queries, 10);
    console.log(
      `quantised index recall@10 vs exact: ${r.toFixed(3)} (12k clustered 384-d vectors, queries near stored ones)`,
    );
    expect(r).toBeGreaterThanOrEqual(0.95);
    const even = (id: number) => id % 2 === 0;
    expect(recall(vectors, index, queries, 10, even)).toBeGreaterThanOrEqual(0.95);
    expect(index.search(queries[0]!, 10, { allowed: even }).every((x) => x.id % 2 === 0)).toBe(true);
  });

  it.runIf(wordVectorsPath() !== null && existsSync(join(PACK_CACHE, 'offline-v1', 'manifest.json')))(
    'keeps recall >= 0.95 on the offline pack embeddings',
    async () => {
      const e = await Embedder.open(join(PACK_CACHE, 'offline-v1'), { threads: 2 });
      const vectors = await e.embedDocuments(sentences(12_000, 1));
      const queries = await e.embedQueries(sentences(60, 2));
      await e.close();
      const index = new QuantizedIndex(100);
      vectors.forEach((v, i) => index.add(i + 1, v));
      expect(recall(vectors, index, queries, 10)).toBeGreaterThanOrEqual(0.95);
    },
  );

  it('loads in steps: writes made while it pauses between steps get their codes too', async () => {
    // 40,000 vectors make three steps of the code pass (16,384 each); with 64 dimensions a search's Hamming shortlist
    // is 5,000 of them, so a vector left without its code (all zero bits, about 32 from its own query's) is missed.
    const rnd = new SeededRandom(11);
    const vectors = new Map<number, Float32Array>();
    const index = new QuantizedIndex(64);
    index.beginLoad();
    for (let id = 1; id <= 40_000; id++) {
      const v = rnd.normals(64, 1);
      vectors.set(id, v);
      index.add(id, v);
    }
    let pauses = 0;
    const removed: number[] = [];
    // Searched for below (a search of every vector would take a minute): whatever was written during the pauses,
    // the vectors at the end (moved into removed slots), and a sample of the rest.
    const checked = new Set<number>(Array.from({ length: 200 }, (_, i) => 39_801 + i));
    for (let i = 0; i < 300; i++) checked.add(1 + Math.floor(rnd.next() * 40_000));
    await index.endLoad(async () => {
      pauses++;
      // Replaced (a slot the code pass may have passed), removed from the front (the last vector moves into its
      // slot), and added at the end.
      for (let i = 0; i < 50; i++) {
        const id = 1 + Math.floor(rnd.next() * 40_000);
        if (!vectors.has(id)) continue;
        const v = rnd.normals(64, 1);
        vectors.set(id, v);
        index.add(id, v);
        checked.add(id);
      }
      for (let id = pauses * 10; id < pauses * 10 + 5; id++)
        if (vectors.delete(id)) {
          index.remove(id);
          removed.push(id);
        }
      for (let i = 0; i < 20; i++) {
        const id = 100_000 + pauses * 100 + i;
        const v = rnd.normals(64, 1);
        vectors.set(id, v);
        index.add(id, v);
        checked.add(id);
      }
      await new Promise((resolve) => setImmediate(resolve));
    });
    expect(pauses).toBeGreaterThanOrEqual(4);
    expect(index.size).toBe(vectors.size);
    const missed = [...checked].filter((id) => vectors.has(id) && index.search(vectors.get(id)!, 1)[0]?.id !== id);
    expect(missed).toEqual([]);
    for (const id of removed) expect(index.has(id)).toBe(false);
    // Written after the load as well (the index is no longer loading).
    index.add(7, vectors.get(9)!);
    expect(
      index
        .search(vectors.get(9)!, 2)
        .map((h) => h.id)
        .sort((a, b) => a - b),
    ).toEqual([7, 9]);
  });

  it('scores within 2e-3 of the float cosine, and removes and replaces entries', () => {
    const rnd = new SeededRandom(3);
    const index = new QuantizedIndex(64);
    const vectors = Array.from({ length: 500 }, () => rnd.normals(64, 1));
    vectors.forEach((v, i) => index.add(i + 1, v));
    const [top] = index.search(vectors[41]!, 1);
    expect(top!.id).toBe(42);
    expect(Math.abs(top!.distance)).toBeLessThan(2e-3);
    for (const r of index.search(vectors[7]!, 20))
      expect(Math.abs(r.distance - cosineDistance(vectors[r.id - 1]!, vectors[7]!))).toBeLessThan(2e-3);
    index.remove(42);
    expect(index.search(vectors[41]!, 1)[0]!.id).not.toBe(42);
    expect(index.size).toBe(499);
    index.add(7, vectors[41]!);
    expect(index.search(vectors[41]!, 1)[0]!.id).toBe(7);
    expect(index.size).toBe(499);
  });

  it('scores just the given ids from their int8 copies, as a filter asks', () => {
    const rnd = new SeededRandom(4);
    const index = new QuantizedIndex(100);
    const vectors = Array.from({ length: 3000 }, () => rnd.normals(100, 1));
    vectors.forEach((v, i) => index.add(i + 1, v));
    const query = rnd.normals(100, 1);
    // Every third id, and two the index does not hold (skipped).
    const ids = [...Array.from({ length: 1000 }, (_, i) => 3 * i + 1), 99_999, -5];
    const got = index.searchIds(query, ids, 25);
    expect(got).toHaveLength(25);
    const exact = ids
      .filter((id) => id >= 1 && id <= 3000)
      .map((id) => ({ id, d: cosineDistance(vectors[id - 1]!, query) }))
      .sort((a, b) => a.d - b.d);
    const kth = exact[24]!.d;
    for (const r of got) {
      expect(r.id % 3).toBe(1);
      expect(Math.abs(r.distance - cosineDistance(vectors[r.id - 1]!, query))).toBeLessThan(2e-3);
      expect(r.distance).toBeLessThanOrEqual(kth + 4e-3);
    }
    expect(got.map((r) => r.distance)).toEqual([...got.map((r) => r.distance)].sort((a, b) => a - b));
    // After removals the index holds fewer vectors than its room: removed ids are skipped like unknown ones.
    for (let id = 1; id <= 3000; id += 2) index.remove(id);
    const left = index.searchIds(query, ids, 25);
    expect(left).toHaveLength(25);
    expect(left.every((r) => r.id % 2 === 0 && r.id % 3 === 1)).toBe(true);
    expect(left[0]!.distance).toBeCloseTo(
      Math.min(...ids.filter((id) => id % 2 === 0 && id <= 3000).map((id) => cosineDistance(vectors[id - 1]!, query))),
      2,
    );
    expect(index.searchIds(query, [], 5)).toEqual([]);
    expect(index.searchIds(new Float32Array(100).fill(Number.NaN), ids, 5)).toEqual([]);
    expect(() => index.searchIds(new Float32Array(99), ids, 5)).toThrow(RangeError);
  });

  it('grows its memory in place with every vector intact, at dimensions the kernels pad', () => {
    // 100 and 37 dimensions are padded to 112 and 48 bytes a vector; the index grows from 1,024 slots by half each
    // time, moving the vectors up over what searches left in the scratch above them, which the padding must not keep.
    for (const dim of [100, 37]) {
      const rnd = new SeededRandom(dim);
      const index = new QuantizedIndex(dim);
      const vectors = new Map<number, Float32Array>();
      for (let id = 1; id <= 6000; id++) {
        const v = rnd.normals(dim, 1);
        vectors.set(id, v);
        index.add(id, v);
        if (id % 500 === 0) {
          expect(index.search(v, 1)[0]!.id).toBe(id);
          for (let r = id - 400; r < id - 390; r++) if (vectors.delete(r)) index.remove(r);
        }
      }
      expect(index.size).toBe(vectors.size);
      const ids = [...vectors.keys()];
      for (let i = 0; i < 40; i++) {
        const id = ids[Math.floor(rnd.next() * ids.length)]!;
        const hits = index.search(vectors.get(id)!, 10);
        expect(hits[0]!.id).toBe(id);
        // The kernels' int8-by-int16 dot products against the same sum in float over each vector's int8 copy.
        const query = vectors.get(id)!;
        const norm = Math.hypot(...query);
        for (const h of hits) {
          const { q, scale } = QuantizedIndex.quantize(vectors.get(h.id)!);
          const expected = 1 - scale * q.reduce((sum, x, d) => sum + (x * query[d]!) / norm, 0);
          expect(Math.abs(h.distance - expected)).toBeLessThan(1e-4);
        }
      }
    }
  });

  it('refuses more than its 4 GiB, and queries it cannot score', () => {
    // 1,536 dimensions: 1,738 bytes a vector, so about 2.47 million fit (reserved, not touched: no RSS).
    const index = new QuantizedIndex(1536);
    expect(() => index.reserve(2_600_000)).toThrow(IndexFullError);
    index.reserve(2_400_000);
    expect(() => index.reserve(2_500_000)).toThrow(/full: 24\d{5} vectors of 1536 dimensions/);
    const small = new QuantizedIndex(768);
    const rnd = new SeededRandom(5);
    const vectors = Array.from({ length: 100 }, () => rnd.normals(768, 1));
    vectors.forEach((v, i) => small.add(i + 1, v));
    expect(
      small.search(
        Float32Array.from(vectors[3]!, (x, d) => (d === 9 ? Number.NaN : x)),
        5,
      ),
    ).toEqual([]);
    expect(() => small.search(new Float32Array(384), 5)).toThrow(RangeError);
    // A row of -128s (no quantize() makes one, a damaged table can): the int16 query is scaled so the sum still fits.
    small.addQuantized(500, new Int8Array(768).fill(-128), 1 / (128 * Math.sqrt(768)));
    const query = new Float32Array(768).fill(-1);
    expect(small.search(query, 1)[0]).toEqual({ id: 500, distance: expect.closeTo(0, 4) as number });
  });

  it('serves the engine above the exact-scan size, kept in step with stores and deletes', async () => {
    const t = await openTestEngine();
    try {
      const texts = sentences(9000, 5).map((s, i) => `${s} #${i}`);
      for (let i = 0; i < texts.length; i += 1000)
        await t.api.storeBatch({
          memories: texts.slice(i, i + 1000).map((content) => ({ content, project: i % 2000 === 0 ? '/a' : '/b' })),
        });
      await t.engine.indexed;
      expect(t.store.indexState).toEqual({ size: 9000, ready: true });
      const exact = await t.api.search({ query: texts[1234]!, mode: 'semantic', limit: 1, format: 'full' });
      expect(exact.format === 'full' && exact.results[0]?.content).toBe(texts[1234]);
      const gone = await t.api.store({ content: 'a fresh memory after the index loaded' });
      expect(t.store.indexState?.size).toBe(9001);
      const found = await t.api.search({ query: 'a fresh memory after the index loaded', mode: 'semantic', limit: 1 });
      expect(found.format === 'compact' && found.results[0]?.hash).toBe(gone.memory.hash);
      await t.api.delete({ hash: gone.hash });
      expect(t.store.indexState?.size).toBe(9000);
      // A filter admitting up to EXHAUSTIVE_MAX memories is scored id by id; a wider one through the one-bit pass.
      const narrow = await t.api.search({
        query: texts[10]!,
        mode: 'semantic',
        project: '/a',
        limit: 3,
        format: 'full',
      });
      expect(narrow.format === 'full' && narrow.results.every((m) => m.project === '/a')).toBe(true);
      const wide = await t.api.search({
        query: texts[1500]!,
        mode: 'semantic',
        project: '/b',
        limit: 3,
        format: 'full',
      });
      expect(wide.format === 'full' && wide.results[0]?.content).toBe(texts[1500]);
      expect(wide.format === 'full' && wide.results.every((m) => m.project === '/b')).toBe(true);
      // Opened again, the engine loads the index from the int8 table in one go (codes computed once, at the end).
      await t.engine.close();
      const again = await Engine.open({ modelDir: tinyPack(), dbPath: t.dbPath, embedder: { threads: 1 } });
      try {
        await again.indexed;
        expect((again.storage as MemoryStore).indexState).toEqual({ size: 9000, ready: true });
        for (const i of [3, 1500, 8999]) {
          const r = await again.search({ text: texts[i]!, mode: 'semantic', limit: 1, filter: {} });
          expect(r.hits[0]?.memory.content).toBe(texts[i]);
        }
      } finally {
        await again.close();
      }
    } finally {
      await t.close();
    }
  }, 120_000);

  it('serves a small store too once loaded, its hits in the order of the exact scan (by float vectors)', async () => {
    const t = await openTestEngine();
    try {
      const texts = sentences(300, 11).map((s, i) => `${s} #${i}`);
      await t.api.storeBatch({
        memories: texts.map((content, i) => ({ content, project: i % 3 === 0 ? '/a' : '/b' })),
      });
      await t.engine.indexed;
      expect(t.store.indexState).toEqual({ size: 300, ready: true });
      const model = t.engine.model;
      const exact = t.store.db.prepare(
        `SELECT memory_id AS id, distance FROM ${model.vecTable}
           WHERE embedding MATCH ? AND k = ? AND memory_id IN (SELECT value FROM json_each(?)) ORDER BY distance`,
      );
      const [q] = await t.engine.embedder.embedQueries([texts[17]!]);
      const blob = Buffer.from(q!.buffer, q!.byteOffset, q!.byteLength);
      for (const filter of [{}, { project: '/a' }]) {
        const ids = t.store.idsMatching(filter);
        const want = exact.all(blob, 20, JSON.stringify(ids)) as { id: number; distance: number }[];
        const got = t.store.nearest(q!, 20, model, filter);
        // The same distances rank by rank (float32 against float64 sums), so the same hits but for exact ties.
        expect(got).toHaveLength(20);
        got.forEach((h, r) => expect(h.distance).toBeCloseTo(want[r]!.distance, 5));
        expect(got.every((h) => ids.includes(h.id))).toBe(true);
      }
      // It is the index that answers: with the float vectors gone, the exact scan finds nothing, the index still 20
      // (then in the order of its int8 scores).
      t.store.db.prepare(`DELETE FROM ${model.vecTable}`).run();
      expect(exact.all(blob, 20, JSON.stringify(t.store.idsMatching({})))).toEqual([]);
      expect(t.store.nearest(q!, 20, model)).toHaveLength(20);
      expect(t.store.nearest(q!, 20, model, { project: '/a' })).toHaveLength(20);
    } finally {
      await t.close();
    }
  });

  it('answers a small store among near-duplicates up to ties within two int8 errors', async () => {
    // 100 near-copies of one vector among 1,900 others: the top 10 of a query near them are all within about 2e-4,
    // below the int8 scores' error, so which of the near-ties come back may differ from the exact scan's; each is
    // within 5e-3 of the exact scan's at its rank, in order.
    const rnd = new SeededRandom(21);
    const store = new MemoryStore(openDb(':memory:'));
    const model = store.attachModel('near-duplicates', 'fp-near-duplicates', 64);
    const base = rnd.normals(64, 1);
    const vectors = Array.from({ length: 2000 }, (_, i) => {
      if (i >= 100) return rnd.normals(64, 1);
      const noise = rnd.normals(64, 0.02);
      return Float32Array.from(base, (x, d) => x + noise[d]!);
    });
    store.insertMany(
      vectors.map((vector, i) => ({
        vector,
        memory: {
          hash: createHash('sha256').update(`near ${i}`).digest('hex'),
          content: `memory ${i}`,
          type: 'note',
          project: i % 2 ? '/odd' : '/even',
          sessionId: null,
          tags: [],
          metadata: {},
          createdAt: i,
        },
      })),
      model,
    );
    await store.loadIndex(model);
    expect(store.indexState).toEqual({ size: 2000, ready: true });
    const exact = store.db.prepare(
      `SELECT memory_id AS id, distance FROM ${model.vecTable}
         WHERE embedding MATCH ? AND k = ? AND memory_id IN (SELECT value FROM json_each(?)) ORDER BY distance`,
    );
    for (let q = 0; q < 10; q++) {
      const noise = rnd.normals(64, 0.02);
      const query = Float32Array.from(base, (x, d) => x + noise[d]!);
      const blob = Buffer.from(query.buffer, query.byteOffset, query.byteLength);
      for (const filter of [{}, { project: '/even' }]) {
        const want = exact.all(blob, 10, JSON.stringify(store.idsMatching(filter))) as { distance: number }[];
        const got = store.nearest(query, 10, model, filter);
        expect(got).toHaveLength(10);
        got.forEach((h, r) => expect(Math.abs(h.distance - want[r]!.distance)).toBeLessThan(5e-3));
        expect(got.map((h) => h.distance)).toEqual([...got.map((h) => h.distance)].sort((a, b) => a - b));
      }
    }
    // A fractional k is its whole part.
    expect(store.nearest(base, 2.5, model)).toHaveLength(2);
    store.close();
  });

  it('says so in health when the index cannot load, and searches by the exact scan meanwhile', async () => {
    const t = await openTestEngine();
    try {
      const texts = sentences(40, 9).map((s, i) => `${s} #${i}`);
      await t.api.storeBatch({ memories: texts.map((content) => ({ content })) });
      await t.engine.close();
      // One int8 row of the wrong length, as a damaged or foreign row would be: the index refuses it.
      const db = new Database(t.dbPath);
      const modelId = db.prepare('SELECT id FROM embedding_models').pluck().get() as number;
      db.prepare(
        `UPDATE vecq_m${modelId} SET q = zeroblob(5) WHERE memory_id = (SELECT min(memory_id) FROM vecq_m${modelId})`,
      ).run();
      db.close();
      const again = await Engine.open({ modelDir: tinyPack(), dbPath: t.dbPath, embedder: { threads: 1 } });
      try {
        await again.indexed;
        const health = again.health();
        expect(health.status).toBe('degraded');
        expect(health.warnings.join('\n')).toMatch(/vector index is off \(vector has 5 dimensions/);
        // Given up, not left half-loaded: a write goes to the tables, and the exact scan finds it.
        expect((again.storage as MemoryStore).indexState).toBeNull();
        await again.store({ content: 'written after the index was given up' });
        const late = await again.search({
          text: 'written after the index was given up',
          mode: 'semantic',
          limit: 1,
          filter: {},
        });
        expect(late.hits[0]?.memory.content).toBe('written after the index was given up');
        const r = await again.search({ text: texts[7]!, mode: 'semantic', limit: 1, filter: {} });
        expect(r.hits[0]?.memory.content).toBe(texts[7]);
      } finally {
        await again.close();
      }
    } finally {
      await t.close();
    }
  });
});
