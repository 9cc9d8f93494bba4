import type { Statement } from 'better-sqlite3';
import { ErrorCode, MnemoError, badArgs, notFound } from '../errors.js';
import { statementCache, type Db } from './db.js';
import { filterSql, isFiltering } from './filter.js';
import type { Stats, TagCount } from '../protocol/results.js';
import type { Memory, MemoryFilter, MemoryPlace, MemoryRow, ModelRecord } from './types.js';
import { quantTable } from './migrations.js';
import { CaptureStore } from './capture-store.js';
import type { CaptureStorage, MemoryStorage } from './storage.js';
import { QuantizedIndex } from './vector-index.js';
import { nextTurn } from '../next-turn.js';

export const MIN_HASH_PREFIX = 6;
/**
 * Up to this many vectors, the quantised index scores every one from its int8 copy (0.3 ms at 8k at 384 dimensions,
 * in process); above it, its one-bit pass shortlists them first. Also the most ids a filter may admit for them to be
 * scored one by one rather than through the one-bit pass.
 */
export const EXHAUSTIVE_MAX = 8192;
/**
 * How many more candidates than asked for a small store's index hands to exactOrder(). The answer is the exact
 * scan's unless more than this many memories sit within two int8 errors (about 4e-3) of the k-th: among
 * near-duplicates a memory that close may take another's place. Widening until the band was clear, or handing such
 * queries to the exact scan, made the models whose distances all sit together (the bench's random-weight pack, the
 * offline pack) pay for reading hundreds of float vectors by id or for the scan itself.
 */
const RERANK_MARGIN = 10;
/** sqlite-vec refuses a KNN `k` above this. */
export const MAX_KNN_K = 4096;

/** A memory to insert; the times and access history are kept when importing, else set by the write. */
export type NewMemory = Omit<Memory, 'updatedAt' | 'accessCount' | 'lastAccessedAt'> & {
  updatedAt?: number | undefined;
  accessCount?: number | undefined;
  lastAccessedAt?: number | undefined;
};

interface TrashRow extends Omit<MemoryRow, 'id'> {
  tags: string;
  deleted_at: number;
}

export interface MemoryPatch {
  type?: string;
  metadata?: Record<string, unknown>;
  /** Replaces every tag. */
  tags?: string[];
  addTags?: string[];
  removeTags?: string[];
}

export interface VectorHit {
  id: number;
  distance: number;
}

export interface KeywordHit {
  id: number;
  /** SQLite's bm25(): lower (more negative) is better. */
  bm25: number;
  /** The memory's text, its first COUNTED_CHARS characters. */
  content: string;
  /** The memory's length in tokens, as FTS5 counts it (its docsize record). */
  length: number;
}

/**
 * The varints of an FTS5 record (its averages and docsize records): SQLite's varint, big-endian groups of seven bits
 * with the high bit set on all but the last, the ninth byte whole.
 */
export function fts5Varints(blob: Uint8Array): number[] {
  const out: number[] = [];
  let i = 0;
  while (i < blob.length) {
    let v = 0;
    let k = 0;
    for (; k < 8 && i + k < blob.length; k++) {
      const byte = blob[i + k]!;
      v = v * 128 + (byte & 0x7f);
      if (!(byte & 0x80)) break;
    }
    if (k === 8) v = v * 256 + (blob[i + 8] ?? 0);
    i += k + 1;
    out.push(v);
  }
  return out;
}

/**
 * How much of a memory's text keyword() returns with a hit, for search/bm25.ts to count its words in: a memory is
 * usually a few hundred characters, and a 1 MiB one read and counted whole cost 36 ms (80 with a non-ASCII character,
 * which folding normalises). Words past it are not counted, so a memory whose query words all lie further in keeps
 * FTS5's score, and one with more of them further in counts fewer (BM25 saturates: a third occurrence adds little).
 */
export const COUNTED_CHARS = 16 * 1024;

/** A term in at least this many memories is common: its document count is cached (termDocs). */
const COMMON_TERM_DOCS = 1000;

/** How long the vector index's load holds the event loop between yields. */
const LOAD_SLICE_MS = 16;

/**
 * All SQL over memories, tags, the FTS index and the per-model vector tables. Synchronous (better-sqlite3): every
 * method is one short transaction or one query, and the embedder's async work happens before a write starts.
 */
export class MemoryStore implements MemoryStorage {
  readonly db: Db;
  private readonly stmts: ReturnType<typeof prepare>;
  private readonly sql: (sql: string) => Statement;
  private readonly pendingAccess = new Map<number, { count: number; at: number }>();
  /** The quantised index of one model (the engine's), once loadIndex() has run. */
  private index: { modelId: number; index: QuantizedIndex; ready: boolean } | null = null;
  /** Why the quantised index was given up, if it was (health says so). */
  private indexFailed: string | null = null;

  /** Memories in the database, kept as writes happen (a hint for query planning, not an exact count). */
  private cachedCount: number;
  /** Document counts of common index terms (termDocs), and the memory count they were read at. */
  private readonly commonTermDocs = new Map<string, number>();
  private termDocsAt = 0;
  /** Writes to memories, tags and vectors through this store (changeMark); access counts are not writes here. */
  private writes = 0;

  constructor(db: Db) {
    this.db = db;
    this.sql = statementCache(db);
    this.stmts = prepare(db);
    this.cachedCount = this.count();
  }

  get memoryCount(): number {
    return this.cachedCount;
  }

  /**
   * Changes when the memories may have changed: a write through this store (counted before it starts, so a failed
   * one counts too) or a commit by another connection (SQLite's data_version). Access counts do not change it.
   */
  changeMark(): string {
    return `${this.writes}.${this.sql('PRAGMA data_version').pluck().get() as number}`;
  }

  /** For a second, read-only connection (search/keyword-worker.ts), which never sees writes: the writer's count. */
  syncCount(count: number): void {
    this.cachedCount = count;
  }

  /** Registers a model (or finds it by fingerprint) and makes sure its vector table exists. */
  attachModel(name: string, fingerprint: string, dimension: number): ModelRecord {
    if (!Number.isInteger(dimension) || dimension <= 0 || dimension > 8192) {
      throw new MnemoError(ErrorCode.MODEL, `model dimension must be an integer from 1 to 8192, got ${dimension}`);
    }
    return this.db.transaction((): ModelRecord => {
      const existing = this.sql(
        'SELECT id, name, fingerprint, dimension, vec_table AS vecTable FROM embedding_models WHERE fingerprint = ?',
      ).get(fingerprint) as ModelRecord | undefined;
      if (existing) {
        if (existing.dimension !== dimension) {
          throw new MnemoError(
            ErrorCode.MODEL_MISMATCH,
            `model ${name} (${fingerprint.slice(0, 12)}) was recorded with ${existing.dimension} dimensions ` +
              `but now reports ${dimension}`,
          );
        }
        return existing;
      }
      const { lastInsertRowid } = this.sql(
        "INSERT INTO embedding_models (name, fingerprint, dimension, vec_table, created_at) VALUES (?, ?, ?, '', ?)",
      ).run(name, fingerprint, dimension, Date.now());
      const id = Number(lastInsertRowid);
      const vecTable = `vectors_m${id}`;
      this.sql('UPDATE embedding_models SET vec_table = ? WHERE id = ?').run(vecTable, id);
      this.db.exec(
        `CREATE VIRTUAL TABLE ${vecTable} USING vec0
         (memory_id INTEGER PRIMARY KEY, embedding float[${dimension}] distance_metric=cosine)`,
      );
      this.db.exec(
        `CREATE TABLE ${quantTable(id)} (memory_id INTEGER PRIMARY KEY, q BLOB NOT NULL, scale REAL NOT NULL)`,
      );
      return { id, name, fingerprint, dimension, vecTable };
    })();
  }

  models(): ModelRecord[] {
    return this.sql(
      'SELECT id, name, fingerprint, dimension, vec_table AS vecTable FROM embedding_models ORDER BY id',
    ).all() as ModelRecord[];
  }

  rowByHash(hash: string): MemoryRow | undefined {
    return this.stmts.byHash.get(hash) as MemoryRow | undefined;
  }

  /** A memory by its full hash or any unique prefix of at least six characters. */
  resolve(hashOrPrefix: unknown, field = 'hash'): MemoryRow {
    if (typeof hashOrPrefix !== 'string') throw badArgs(`\`${field}\` must be a string of hex digits`);
    const prefix = hashOrPrefix.trim().toLowerCase();
    if (!/^[0-9a-f]+$/.test(prefix) || prefix.length > 64) {
      throw badArgs(`\`${field}\` must be hex digits (a memory hash or a prefix of one), got '${hashOrPrefix}'`);
    }
    if (prefix.length < MIN_HASH_PREFIX) {
      throw badArgs(`\`${field}\` must have at least ${MIN_HASH_PREFIX} characters, got ${prefix.length}`);
    }
    if (prefix.length === 64) {
      const row = this.rowByHash(prefix);
      if (!row) throw notFound(`no memory has hash ${prefix.slice(0, 8)}`);
      return row;
    }
    const rows = this.stmts.byPrefix.all(prefix, `${prefix}g`) as MemoryRow[];
    if (rows.length === 0) throw notFound(`no memory has a hash starting with ${prefix}`);
    if (rows.length > 1) {
      const candidates = rows.map((r) => ({ hash: r.hash.slice(0, 12), preview: r.content.slice(0, 60) }));
      throw new MnemoError(
        ErrorCode.AMBIGUOUS,
        `hash prefix ${prefix} matches ${rows.length === 6 ? 'several' : rows.length} memories: ${candidates
          .map((c) => c.hash)
          .join(', ')}; give more characters`,
        { candidates },
      );
    }
    return rows[0]!;
  }

  /**
   * Inserts memories with their vectors in one transaction. A memory whose hash is already stored is not inserted
   * again: its new tags are merged in and the existing row is returned with `created: false`.
   */
  insertMany(
    items: { memory: NewMemory; vector: Float32Array | null }[],
    model: ModelRecord,
  ): { row: MemoryRow; created: boolean }[] {
    this.writes++;
    const vecInsert = this.vectorInsert(model);
    const written = this.withIndexRollback(() =>
      this.db.transaction(() =>
        items.map(({ memory, vector }) => {
          const now = Date.now();
          const info = this.stmts.insert.run(
            memory.hash,
            memory.content,
            memory.type,
            memory.project,
            memory.sessionId,
            JSON.stringify(memory.metadata),
            memory.createdAt,
            memory.updatedAt ?? now,
            memory.accessCount ?? 0,
            memory.lastAccessedAt ?? null,
          );
          if (info.changes === 0) {
            const row = this.rowByHash(memory.hash)!;
            this.addTags(row.id, memory.tags);
            return { row, created: false };
          }
          const id = Number(info.lastInsertRowid);
          this.addTags(id, memory.tags);
          if (vector) this.checkedVectorInsert(vecInsert, model, id, vector);
          return { row: this.stmts.byId.get(id) as MemoryRow, created: true };
        }),
      )(),
    );
    this.cachedCount += written.filter((w) => w.created).length;
    return written;
  }

  /** Stores (or replaces) vectors of existing memories under `model`, in one transaction. */
  putVectors(items: { id: number; vector: Float32Array }[], model: ModelRecord): void {
    this.writes++;
    const stmt = this.vectorInsert(model);
    const remove = this.sql(`DELETE FROM ${model.vecTable} WHERE memory_id = ?`);
    this.withIndexRollback(() =>
      this.db.transaction(() => {
        for (const { id, vector } of items) {
          remove.run(BigInt(id));
          this.checkedVectorInsert(stmt, model, id, vector);
        }
      })(),
    );
  }

  /** Drops the vector tables and records of every model but `keep`. Returns the dropped models' names. */
  dropOtherModels(keep: ModelRecord): string[] {
    const others = this.models().filter((m) => m.id !== keep.id);
    if (others.length === 0) return [];
    this.writes++;
    this.db.transaction(() => {
      for (const m of others) {
        this.db.exec(`DROP TABLE IF EXISTS ${m.vecTable}`);
        this.db.exec(`DROP TABLE IF EXISTS ${quantTable(m.id)}`);
        this.sql('DELETE FROM embedding_models WHERE id = ?').run(m.id);
      }
    })();
    return others.map((m) => m.name);
  }

  private checkedVectorInsert(stmt: Statement, model: ModelRecord, id: number, vector: Float32Array): void {
    if (vector.length !== model.dimension) {
      throw new MnemoError(
        ErrorCode.MODEL_MISMATCH,
        `vector has ${vector.length} dimensions but model ${model.name} has ${model.dimension}`,
      );
    }
    stmt.run(BigInt(id), Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength));
    const { q, scale } = QuantizedIndex.quantize(vector);
    this.sql(`INSERT OR REPLACE INTO ${quantTable(model.id)} (memory_id, q, scale) VALUES (?, ?, ?)`).run(
      id,
      Buffer.from(q.buffer, q.byteOffset, q.byteLength),
      scale,
    );
    // The in-memory index follows the table; a rolled-back transaction is undone in it by the caller (rollbackIndex).
    // An index that cannot take the vector (full) is given up, not the write: the exact scan serves without it.
    if (this.index?.modelId === model.id)
      this.updateIndex((index) => {
        index.addQuantized(id, q, scale);
        this.touchedInTxn.push(id);
      });
  }

  /** Ids added to the index in the running transaction: taken out again if it rolls back. */
  private touchedInTxn: number[] = [];

  private withIndexRollback<T>(run: () => T): T {
    this.touchedInTxn = [];
    try {
      return run();
    } catch (err) {
      // The transaction rolled back: put the index back to what the int8 table holds (an earlier vector of a
      // memory whose replacement failed, or nothing).
      const index = this.index;
      if (index) {
        const row = this.sql(`SELECT q, scale FROM ${quantTable(index.modelId)} WHERE memory_id = ?`);
        this.updateIndex((quantized) => {
          for (const id of this.touchedInTxn) {
            const r = row.get(id) as { q: Buffer; scale: number } | undefined;
            if (r)
              quantized.addQuantized(id, new Int8Array(r.q.buffer, r.q.byteOffset, r.q.byteLength).slice(), r.scale);
            else quantized.remove(id);
          }
        });
      }
      throw err;
    } finally {
      this.touchedInTxn = [];
    }
  }

  private vectorInsert(model: ModelRecord): Statement {
    return this.sql(`INSERT INTO ${model.vecTable} (memory_id, embedding) VALUES (?, ?)`);
  }

  addTags(id: number, tags: readonly string[]): void {
    this.writes++;
    for (const tag of tags) this.stmts.insertTag.run(id, tag);
  }

  tagsOf(ids: readonly number[]): Map<number, string[]> {
    const out = new Map<number, string[]>();
    if (ids.length === 0) return out;
    const rows = this.sql(
      `SELECT memory_id AS id, tag FROM memory_tags
         WHERE memory_id IN (SELECT value FROM json_each(?)) ORDER BY memory_id, tag`,
    ).all(JSON.stringify(ids)) as { id: number; tag: string }[];
    for (const { id, tag } of rows) {
      const list = out.get(id);
      if (list) list.push(tag);
      else out.set(id, [tag]);
    }
    return out;
  }

  rowsByIds(ids: readonly number[]): Map<number, MemoryRow> {
    const out = new Map<number, MemoryRow>();
    if (ids.length === 0) return out;
    const rows = this.sql('SELECT * FROM memories WHERE id IN (SELECT value FROM json_each(?))').all(
      JSON.stringify(ids),
    ) as MemoryRow[];
    for (const row of rows) out.set(row.id, row);
    return out;
  }

  toMemory(row: MemoryRow, tags?: string[]): Memory {
    return {
      hash: row.hash,
      content: row.content,
      type: row.type,
      project: row.project,
      sessionId: row.session_id,
      tags: tags ?? this.tagsOf([row.id]).get(row.id) ?? [],
      metadata: JSON.parse(row.metadata) as Record<string, unknown>,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
      accessCount: row.access_count,
      lastAccessedAt: row.last_accessed_at,
    };
  }

  update(id: number, patch: MemoryPatch): void {
    this.writes++;
    this.db.transaction(() => {
      const sets: string[] = [];
      const params: unknown[] = [];
      if (patch.type !== undefined) {
        sets.push('type = ?');
        params.push(patch.type);
      }
      if (patch.metadata !== undefined) {
        sets.push('metadata = ?');
        params.push(JSON.stringify(patch.metadata));
      }
      sets.push('updated_at = ?');
      params.push(Date.now());
      this.sql(`UPDATE memories SET ${sets.join(', ')} WHERE id = ?`).run(...params, id);
      if (patch.tags !== undefined) {
        this.sql('DELETE FROM memory_tags WHERE memory_id = ?').run(id);
        this.addTags(id, patch.tags);
      }
      if (patch.addTags) this.addTags(id, patch.addTags);
      for (const tag of patch.removeTags ?? []) {
        this.sql('DELETE FROM memory_tags WHERE memory_id = ? AND tag = ?').run(id, tag);
      }
    })();
  }

  /** Deletes memories with their tags (cascade), index entries (trigger) and vectors of every model. */
  deleteIds(ids: readonly number[]): number {
    if (ids.length === 0) return 0;
    this.writes++;
    const models = this.models();
    const deleted = this.db.transaction(() => {
      let count = 0;
      for (const id of ids) {
        for (const m of models) {
          this.sql(`DELETE FROM ${m.vecTable} WHERE memory_id = ?`).run(BigInt(id));
          this.sql(`DELETE FROM ${quantTable(m.id)} WHERE memory_id = ?`).run(id);
        }
        count += this.stmts.deleteById.run(id).changes;
      }
      return count;
    })();
    for (const id of ids) this.index?.index.remove(id);
    this.cachedCount = Math.max(0, this.cachedCount - deleted);
    return deleted;
  }

  /** Memories matching the filter, newest first. */
  list(filter: MemoryFilter, limit: number, offset = 0): MemoryRow[] {
    const where = filterSql(filter);
    return this.sql(
      `SELECT * FROM memories m WHERE ${where.sql} ORDER BY m.created_at DESC, m.id DESC LIMIT ? OFFSET ?`,
    ).all(...where.params, limit, offset) as MemoryRow[];
  }

  count(filter: MemoryFilter = {}): number {
    const where = filterSql(filter);
    const row = this.sql(`SELECT count(*) AS n FROM memories m WHERE ${where.sql}`).get(...where.params) as {
      n: number;
    };
    return row.n;
  }

  /**
   * The `k` nearest memories to `vector` among those that pass the filter. A filter is applied inside the KNN, never
   * after it, so a narrow filter cannot starve the result. Once the quantised index has loaded, it answers at every
   * size: over everything (every vector scored up to EXHAUSTIVE_MAX, a shortlist above), over a wide filter's ids, or
   * (a filter admitting up to EXHAUSTIVE_MAX) scoring just those ids. sqlite-vec's exact scan, with a `memory_id IN
   * (...)` constraint for filters, serves until then or if the index was given up. The index holds what this
   * connection wrote since it loaded: one writer (the daemon, under its lock) is assumed. In process, 384
   * dimensions, k 40: the exact scan 1.2 ms at 2k memories and 4.8 at 8k, the index with the float order 0.61 and
   * 0.97; with a filter admitting half of them, 1.5 and 5.9 against 0.66 and 1.52 (the filter's ids read included).
   */
  nearest(vector: Float32Array, k: number, model: ModelRecord, filter: MemoryFilter = {}): VectorHit[] {
    const kk = Math.max(1, Math.min(Math.floor(k) || 1, MAX_KNN_K));
    const index = this.index?.modelId === model.id && this.index.ready ? this.index.index : null;
    if (index) {
      // A store the exact scan used to serve (up to EXHAUSTIVE_MAX) gets its order: every vector is scored, and the
      // best, RERANK_MARGIN more than asked for, are ordered by their float vectors. Above, the int8 scores order.
      const small = index.size <= EXHAUSTIVE_MAX;
      const wide = small ? kk + RERANK_MARGIN : kk;
      const every = small ? { shortlist: index.size } : {};
      const ids = isFiltering(filter) ? this.idsMatching(filter) : null;
      let hits: VectorHit[];
      if (ids === null) hits = index.search(vector, wide, every);
      else if (ids.length > EXHAUSTIVE_MAX) {
        const allowed = new Set(ids);
        hits = index.search(vector, wide, { ...every, allowed: (id) => allowed.has(id) });
      } else hits = index.searchIds(vector, ids, wide);
      return small ? this.exactOrder(hits, vector, model, kk) : hits;
    }
    return this.exactScan(vector, kk, model, isFiltering(filter) ? this.idsMatching(filter) : null);
  }

  /** sqlite-vec's exact KNN over every vector, or (a filter's) `ids` only, by a `memory_id IN (...)` constraint. */
  private exactScan(vector: Float32Array, kk: number, model: ModelRecord, ids: readonly number[] | null): VectorHit[] {
    const blob = Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength);
    if (ids === null) {
      return this.sql(
        `SELECT memory_id AS id, distance FROM ${model.vecTable} WHERE embedding MATCH ? AND k = ? ORDER BY distance`,
      ).all(blob, kk) as VectorHit[];
    }
    if (ids.length === 0) return [];
    return this.sql(
      `SELECT memory_id AS id, distance FROM ${model.vecTable}
         WHERE embedding MATCH ? AND k = ? AND memory_id IN (SELECT value FROM json_each(?)) ORDER BY distance`,
    ).all(blob, Math.min(kk, ids.length), JSON.stringify(ids)) as VectorHit[];
  }

  /**
   * The index's candidates with the cosine distances of their float vectors (what sqlite-vec's exact scan gives),
   * best `k` first. The int8 scores are within about 2e-3 of these, enough to find the candidates but not to order
   * near-ties: ordered by them, LoCoMo's semantic ranking moved by up to 0.03 in a category (MRR@10 of open-domain,
   * 44 questions). A distance read by id takes about 9 µs (0.45 ms for the 50 of a hybrid search), so it is
   * done where the exact scan served before (at 10k and 100k it made semantic search 0.3 -> 0.66 and 1.2 -> 1.6 ms in
   * the bench, which had always ordered by the int8 scores there, with recall@10 1.00).
   */
  private exactOrder(hits: VectorHit[], vector: Float32Array, model: ModelRecord, k: number): VectorHit[] {
    // sqlite-vec's own cosine distance, the exact scan's arithmetic (a zero vector has none: its int8 score stays).
    const read = this.sql(
      `SELECT vec_distance_cosine(embedding, ?) FROM ${model.vecTable} WHERE memory_id = ?`,
    ).pluck();
    const blob = Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength);
    return hits
      .map((h) => ({ id: h.id, distance: (read.get(blob, h.id) as number | null | undefined) ?? h.distance }))
      .sort((a, b) => a.distance - b.distance)
      .slice(0, k);
  }

  /**
   * For each of `ids`, the memory stored just before it and just after it in the same project (by creation time, then
   * id), within `windowMs`, among memories that pass the filter; null where there is none.
   */
  neighbours(
    ids: readonly number[],
    windowMs: number,
    filter: MemoryFilter = {},
  ): { id: number; prev: number | null; next: number | null }[] {
    if (ids.length === 0) return [];
    const where = filterSql(filter);
    return this.sql(
      `SELECT a.id AS id,
           (SELECT m.id FROM memories m WHERE m.project IS a.project AND (m.created_at, m.id) < (a.created_at, a.id)
              AND m.created_at >= a.created_at - ? AND ${where.sql}
              ORDER BY m.created_at DESC, m.id DESC LIMIT 1) AS prev,
           (SELECT m.id FROM memories m WHERE m.project IS a.project AND (m.created_at, m.id) > (a.created_at, a.id)
              AND m.created_at <= a.created_at + ? AND ${where.sql}
              ORDER BY m.created_at, m.id LIMIT 1) AS next
         FROM memories a WHERE a.id IN (SELECT value FROM json_each(?))`,
    ).all(windowMs, ...where.params, windowMs, ...where.params, JSON.stringify(ids)) as {
      id: number;
      prev: number | null;
      next: number | null;
    }[];
  }

  /** The ids of every memory the filter matches. */
  idsMatching(filter: MemoryFilter): number[] {
    const where = filterSql(filter);
    return this.sql(`SELECT m.id FROM memories m WHERE ${where.sql}`)
      .pluck()
      .all(...where.params) as number[];
  }

  /**
   * Loads the quantised index of `model` from its int8 table, a page at a time so a large database does not hold
   * the event loop: until it is ready, KNN uses the exact scan. Writes made while it loads go into it too. Pages are
   * small: a page of 2,048 rows outlived V8's young generation (the daemon's is 1 MiB), and its rows' buffers, freed
   * only by a full collection, left the main malloc arena 15-20 MiB larger for good at 100k memories.
   */
  async loadIndex(model: ModelRecord, pageSize = 256): Promise<void> {
    let index: QuantizedIndex | undefined;
    try {
      index = new QuantizedIndex(model.dimension);
      await this.fillIndex(index, model, pageSize);
    } catch (err) {
      // A load that failed (a damaged row, an index too large) leaves no half-loaded index taking writes; one that
      // another load has replaced leaves that one alone.
      if (index === undefined || this.index?.index === index) this.dropIndex(err);
      throw err;
    }
  }

  private async fillIndex(index: QuantizedIndex, model: ModelRecord, pageSize: number): Promise<void> {
    this.index = { modelId: model.id, index, ready: false };
    // Room for every memory: counting the vector table read all of its pages (17-23 ms at 100k memories, warm), and
    // the memory count is kept. Slots never filled are never written, so they take no resident memory (measured: a
    // reserve for 100k vectors took RSS from 45.6 to 47.6 MiB).
    index.reserve(this.cachedCount + 64);
    const page = this.sql(
      `SELECT memory_id AS id, q, scale FROM ${quantTable(model.id)} WHERE memory_id > ? ORDER BY memory_id LIMIT ?`,
    );
    let after = 0;
    index.beginLoad();
    let slice = performance.now();
    for (;;) {
      if (this.index?.index !== index || !this.db.open) return;
      const rows = page.all(after, pageSize) as { id: number; q: Buffer; scale: number }[];
      // addQuantized copies the bytes into the index: a view of the row's buffer is enough.
      for (const r of rows)
        if (!index.has(r.id))
          index.addQuantized(r.id, new Int8Array(r.q.buffer, r.q.byteOffset, r.q.byteLength), r.scale);
      if (rows.length < pageSize) break;
      after = rows[rows.length - 1]!.id;
      // The loop is let go about as often as with the pages of 2,048 rows before (each about 16 ms of work), not
      // after every small page: whatever runs between two steps (at a million memories, an exact scan of most of a
      // second while the index is not ready) would otherwise come eight times as often and the load take longer.
      if (performance.now() - slice >= LOAD_SLICE_MS) {
        await nextTurn();
        slice = performance.now();
      }
    }
    await index.endLoad(nextTurn);
    if (this.index?.index !== index || !this.db.open) return;
    this.index.ready = true;
  }

  /**
   * Changes the quantised index; an index that cannot take the change (full, a damaged row) is given up, never the
   * write around it: the exact scan serves without it.
   */
  private updateIndex(change: (index: QuantizedIndex) => void): void {
    if (!this.index) return;
    try {
      change(this.index.index);
    } catch (err) {
      this.dropIndex(err);
    }
  }

  /** Gives up the quantised index (KNN then uses the exact scan) and keeps why, for health. */
  private dropIndex(err: unknown): void {
    this.index = null;
    this.indexFailed = err instanceof Error ? err.message : String(err);
  }

  indexFailure(): string | null {
    return this.indexFailed;
  }

  get indexState(): { size: number; ready: boolean } | null {
    return this.index ? { size: this.index.index.size, ready: this.index.ready } : null;
  }

  /** How many memories hold each word (FTS5's document frequency); absent words are left out. */
  termDocs(terms: readonly string[]): Map<string, number> {
    // FTS5 counts a term's documents by reading its whole posting list: 2.1 ms a query at 100k memories, most of it
    // for the common words. Their counts barely move, so those (COMMON_TERM_DOCS or more) are kept until the store
    // has grown or shrunk by a tenth; a rare word's count is read each time (cheap, and exact where it matters: a
    // word in one new memory must count at once).
    if (Math.abs(this.cachedCount - this.termDocsAt) > this.termDocsAt / 10) {
      this.commonTermDocs.clear();
      this.termDocsAt = this.cachedCount;
    }
    const out = new Map<string, number>();
    const missing = terms.filter((t) => {
      const known = this.commonTermDocs.get(t);
      if (known !== undefined) out.set(t, known);
      return known === undefined;
    });
    if (missing.length === 0) return out;
    const rows = this.sql(
      'SELECT term, doc FROM memories_fts_vocab WHERE term IN (SELECT value FROM json_each(?))',
    ).all(JSON.stringify(missing)) as { term: string; doc: number }[];
    for (const r of rows) {
      out.set(r.term, r.doc);
      if (r.doc >= COMMON_TERM_DOCS && this.commonTermDocs.size < 4096) this.commonTermDocs.set(r.term, r.doc);
    }
    return out;
  }

  /** Full-text matches for an already-escaped FTS5 query, best first, with the filter applied in the same query. */
  keyword(ftsQuery: string, k: number, filter: MemoryFilter = {}): KeywordHit[] {
    // Without a filter the index alone ranks: no row of `memories` is read per match (2.3 -> 1.8 ms at 10k), only for
    // the k kept. Each hit comes with its text (its first COUNTED_CHARS) and FTS5 length, which search/bm25.ts ranks
    // them again by.
    const where = isFiltering(filter) ? filterSql(filter) : null;
    const ranked = where
      ? `SELECT m.id AS id, bm25(memories_fts) AS bm25 FROM memories_fts JOIN memories m ON m.id = memories_fts.rowid
           WHERE memories_fts MATCH ? AND ${where.sql} ORDER BY bm25 LIMIT ?`
      : `SELECT rowid AS id, bm25(memories_fts) AS bm25 FROM memories_fts
           WHERE memories_fts MATCH ? ORDER BY bm25 LIMIT ?`;
    const rows = this.sql(
      `SELECT h.id AS id, h.bm25 AS bm25, substr(m.content, 1, ${COUNTED_CHARS}) AS content, d.sz AS sz
         FROM (${ranked}) h JOIN memories m ON m.id = h.id LEFT JOIN memories_fts_docsize d ON d.id = h.id
         ORDER BY h.bm25`,
    ).all(ftsQuery, ...(where?.params ?? []), k) as (Omit<KeywordHit, 'length'> & { sz: Uint8Array | null })[];
    return rows.map(({ sz, ...h }) => ({ ...h, length: sz ? (fts5Varints(sz)[0] ?? 0) : 0 }));
  }

  /**
   * The full-text index's row and token counts, from FTS5's averages record (the figures its bm25() reads); null if
   * it cannot be read.
   */
  ftsTotals(): { docs: number; tokens: number } | null {
    const block = this.sql('SELECT block FROM memories_fts_data WHERE id = 1').pluck().get() as Uint8Array | undefined;
    const [docs, tokens] = block ? fts5Varints(block) : [];
    return docs !== undefined && tokens !== undefined && docs > 0 ? { docs, tokens } : null;
  }

  /** Where each memory sits: its project, session and time (for grouping hits into episodes). */
  placesOf(ids: readonly number[]): Map<number, MemoryPlace> {
    const rows = this.sql(
      `SELECT id, project, session_id AS sessionId, created_at AS createdAt FROM memories
         WHERE id IN (SELECT value FROM json_each(?))`,
    ).all(JSON.stringify(ids)) as (MemoryPlace & { id: number })[];
    return new Map(rows.map(({ id, ...place }) => [id, place]));
  }

  /**
   * Records that memories were handed to a reader (search results, get). Reads stay reads: the counts wait in memory
   * and are written by flushAccess() in one transaction (the engine does so every few seconds and on close), so a
   * search never pays for a synced write.
   */
  touch(ids: readonly number[], at = Date.now()): void {
    for (const id of ids) {
      const seen = this.pendingAccess.get(id);
      if (seen) {
        seen.count++;
        seen.at = Math.max(seen.at, at);
      } else this.pendingAccess.set(id, { count: 1, at });
    }
  }

  flushAccess(): void {
    if (this.pendingAccess.size === 0) return;
    const pending = [...this.pendingAccess];
    this.pendingAccess.clear();
    const stmt = this.sql(
      `UPDATE memories SET access_count = access_count + ?, last_accessed_at = max(coalesce(last_accessed_at, 0), ?)
       WHERE id = ?`,
    );
    this.db.transaction(() => {
      for (const [id, { count, at }] of pending) stmt.run(count, at, id);
    })();
  }

  /** How many memories have a vector from `model`, and how many have none. */
  vectorCoverage(model: ModelRecord): { withVector: number; withoutVector: number } {
    // The int8 table mirrors the vector table row for row, and a plain table counts in a millisecond where vec0
    // takes 20.
    const withVector = (this.sql(`SELECT count(*) AS n FROM ${quantTable(model.id)}`).get() as { n: number }).n;
    const total = this.count();
    return { withVector, withoutVector: Math.max(0, total - withVector) };
  }

  /** Moves memories to the trash (with their tags), then deletes them as deleteIds does; one transaction. */
  trashIds(ids: readonly number[], at: number): number {
    if (ids.length === 0) return 0;
    return this.db.transaction(() => {
      const keep = this.sql(
        `INSERT OR REPLACE INTO trash (hash, content, type, project, session_id, metadata, tags, created_at, updated_at,
                                       access_count, last_accessed_at, deleted_at)
         SELECT m.hash, m.content, m.type, m.project, m.session_id, m.metadata,
                coalesce((SELECT json_group_array(t.tag) FROM memory_tags t WHERE t.memory_id = m.id), '[]'),
                m.created_at, m.updated_at, m.access_count, m.last_accessed_at, ?
         FROM memories m WHERE m.id = ?`,
      );
      for (const id of ids) keep.run(at, id);
      return this.deleteIds(ids);
    })();
  }

  /** The trash, most recently deleted first. */
  trashed(limit: number, offset = 0): { memory: Memory; deletedAt: number }[] {
    const rows = this.sql('SELECT * FROM trash ORDER BY deleted_at DESC, hash LIMIT ? OFFSET ?').all(
      limit,
      offset,
    ) as TrashRow[];
    return rows.map((r) => ({ memory: this.fromTrash(r), deletedAt: r.deleted_at }));
  }

  trashCount(): number {
    return (this.sql('SELECT count(*) AS n FROM trash').get() as { n: number }).n;
  }

  /** Trashed memories by full hash or unique prefix (E_NOT_FOUND / E_AMBIGUOUS otherwise), or all of them. */
  fromTrashByHash(hashes: readonly string[] | 'all'): { memory: Memory; deletedAt: number }[] {
    const rows: TrashRow[] = [];
    if (hashes === 'all') rows.push(...(this.sql('SELECT * FROM trash ORDER BY deleted_at').all() as TrashRow[]));
    else {
      for (const h of hashes) {
        const prefix = h.trim().toLowerCase();
        const found = this.sql('SELECT * FROM trash WHERE hash >= ? AND hash < ? ORDER BY hash LIMIT 2').all(
          prefix,
          `${prefix}g`,
        ) as TrashRow[];
        if (found.length === 0) throw notFound(`no memory in the trash has a hash starting with ${prefix}`);
        if (found.length > 1)
          throw new MnemoError(
            ErrorCode.AMBIGUOUS,
            `hash prefix ${prefix} matches several memories in the trash; give more characters`,
          );
        rows.push(found[0]!);
      }
    }
    return rows.map((r) => ({ memory: this.fromTrash(r), deletedAt: r.deleted_at }));
  }

  /** Removes memories from the trash by hash, or those deleted before `before`; returns how many went. */
  emptyTrash(which: { hashes: readonly string[] } | { before: number }): number {
    if ('before' in which) return this.sql('DELETE FROM trash WHERE deleted_at < ?').run(which.before).changes;
    const stmt = this.sql('DELETE FROM trash WHERE hash = ?');
    return this.db.transaction(() => which.hashes.reduce((n, h) => n + stmt.run(h).changes, 0))();
  }

  private fromTrash(r: TrashRow): Memory {
    return {
      hash: r.hash,
      content: r.content,
      type: r.type,
      project: r.project,
      sessionId: r.session_id,
      tags: JSON.parse(r.tags) as string[],
      metadata: JSON.parse(r.metadata) as Record<string, unknown>,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
      accessCount: r.access_count,
      lastAccessedAt: r.last_accessed_at,
    };
  }

  /** Every tag with how many memories carry it (of one project, if given), most used first. */
  tagCounts(limit: number, project?: string): TagCount[] {
    const where = project === undefined ? '' : 'JOIN memories m ON m.id = t.memory_id WHERE m.project = ?';
    return this.sql(
      `SELECT t.tag, count(*) AS count FROM memory_tags t ${where} GROUP BY t.tag ORDER BY count DESC, t.tag LIMIT ?`,
    ).all(...(project === undefined ? [] : [project]), limit) as TagCount[];
  }

  /** Memories in storage order after `afterId`, a page at a time (exports). */
  rowsAfter(afterId: number, limit: number): MemoryRow[] {
    return this.sql('SELECT * FROM memories WHERE id > ? ORDER BY id LIMIT ?').all(afterId, limit) as MemoryRow[];
  }

  /** Counts for `stats`: totals, by type, by project, the most used tags. */
  statistics(): Omit<Stats, 'embedder'> {
    this.flushAccess();
    const q = <T>(sql: string) => this.sql(sql).all() as T[];
    const totals = this.sql(
      `SELECT count(*) AS n, coalesce(sum(length(CAST(content AS BLOB))), 0) AS bytes, min(created_at) AS oldest,
              max(created_at) AS newest, coalesce(sum(access_count > 0), 0) AS accessed FROM memories`,
    ).get() as { n: number; bytes: number; oldest: number | null; newest: number | null; accessed: number };
    return {
      memories: totals.n,
      contentBytes: totals.bytes,
      byType: Object.fromEntries(
        q<{ type: string; n: number }>('SELECT type, count(*) AS n FROM memories GROUP BY type ORDER BY n DESC').map(
          (r) => [r.type, r.n],
        ),
      ),
      byProject: q<{ project: string | null; count: number }>(
        'SELECT project, count(*) AS count FROM memories GROUP BY project ORDER BY count DESC LIMIT 20',
      ),
      topTags: q<TagCount>(
        'SELECT tag, count(*) AS count FROM memory_tags GROUP BY tag ORDER BY count DESC, tag LIMIT 20',
      ),
      oldest: totals.oldest,
      newest: totals.newest,
      accessed: totals.accessed,
    };
  }

  createdPerDay(
    since: number,
    project: string | undefined,
  ): { rows: { day: number; type: string; count: number }[]; before: number } {
    // created_at is indexed (memories_created, memories_project_created).
    const inProject = project === undefined ? '' : 'AND project = ?';
    const params = project === undefined ? [since] : [since, project];
    const rows = this.sql(
      `SELECT (created_at / 86400000) * 86400000 AS day, type, count(*) AS count FROM memories
         WHERE created_at >= ? ${inProject} GROUP BY day, type ORDER BY day`,
    ).all(...params) as { day: number; type: string; count: number }[];
    const before = this.sql(`SELECT count(*) FROM memories WHERE created_at < ? ${inProject}`)
      .pluck()
      .get(...params) as number;
    return { rows, before };
  }

  /** SQLite's and sqlite-vec's versions. */
  versions(): { sqlite: string; sqliteVec: string } {
    return this.sql('SELECT sqlite_version() AS sqlite, vec_version() AS sqliteVec').get() as {
      sqlite: string;
      sqliteVec: string;
    };
  }

  async backup(file: string): Promise<void> {
    this.flushAccess();
    await this.db.backup(file);
  }

  capture(): CaptureStorage {
    return new CaptureStore(this.db);
  }

  /** Writes gathered access counts, checkpoints the WAL into the database file and closes it. */
  close(): void {
    try {
      this.flushAccess();
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } finally {
      this.db.close();
    }
  }

  idsMissingVector(model: ModelRecord, limit: number): number[] {
    return this.sql(
      `SELECT m.id FROM memories m WHERE NOT EXISTS (SELECT 1 FROM ${model.vecTable} v WHERE v.memory_id = m.id)
         ORDER BY m.id LIMIT ?`,
    )
      .pluck()
      .all(limit) as number[];
  }
}

function prepare(db: Db) {
  return {
    byHash: db.prepare('SELECT * FROM memories WHERE hash = ?'),
    byId: db.prepare('SELECT * FROM memories WHERE id = ?'),
    byPrefix: db.prepare('SELECT * FROM memories WHERE hash >= ? AND hash < ? ORDER BY hash LIMIT 6'),
    insert: db.prepare(
      `INSERT INTO memories (hash, content, type, project, session_id, metadata, created_at, updated_at, access_count,
                             last_accessed_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (hash) DO NOTHING`,
    ),
    insertTag: db.prepare('INSERT OR IGNORE INTO memory_tags (memory_id, tag) VALUES (?, ?)'),
    deleteById: db.prepare('DELETE FROM memories WHERE id = ?'),
  };
}
