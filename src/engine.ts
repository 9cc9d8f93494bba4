import { statSync } from 'node:fs';
import { Embedder, type EmbedderOptions } from './embed/embedder.js';
import { badArgs } from './errors.js';
import { resolvePaths } from './paths.js';
import { preview, SHORT_HASH_LENGTH, DEFAULT_PREVIEW_CHARS, type CompactMemory } from './search/compact.js';
import { renderCompact, type Rendered } from './search/render.js';
import { applyRecency, retrieve, SEARCH_MODES, type ScoredId, type SearchMode } from './search/retrieve.js';
import { parseTimeExpression } from './search/time.js';
import { openDb, type Db } from './store/db.js';
import { MemoryStore, type MemoryPatch, type NewMemory } from './store/memory-store.js';
import { SCHEMA_VERSION } from './store/migrations.js';
import { contentHash, normalizeContent, normalizeTags } from './store/normalize.js';
import { redact, redactDeep } from './store/redact.js';
import type { Memory, MemoryFilter, MemoryRow, ModelRecord } from './store/types.js';
import {
  asArgs,
  normalizeType,
  optBool,
  optEnum,
  optInt,
  optMetadata,
  optNumber,
  optString,
  optTime,
  optTypes,
  type Args,
} from './validate.js';

import { VERSION } from './version.js';

export { VERSION };

export interface EngineOptions {
  /** The model pack folder (model.onnx, tokenizer.json, manifest.json). */
  modelDir: string;
  /** The database file; default: `mnemo.db` in the data dir (see paths.ts). */
  dbPath?: string;
  embedder?: EmbedderOptions;
  /** The clock, for tests of relative time. */
  now?: () => number;
}

export type ResultFormat = 'compact' | 'full' | 'text';
const FORMATS: readonly ResultFormat[] = ['compact', 'full', 'text'];

export interface StoreResult {
  hash: string;
  created: boolean;
  memory: CompactMemory;
}

export interface FullHit extends Memory {
  score: number;
  scores: { semantic?: number; keyword?: number };
}

export type Listing = (
  | { format: 'compact'; results: CompactMemory[] }
  | { format: 'full'; results: FullHit[] }
  | ({ format: 'text' } & Rendered)
) & {
  /** Set when the search could not be what was asked (semantic search is off until a reindex). */
  notice?: string;
};

export interface ReindexResult {
  model: string;
  /** Memories re-embedded by this call. */
  reindexed: number;
  /** Memories still without a vector from the current model. */
  remaining: number;
  total: number;
  /** Vector tables of earlier models dropped once nothing needed them. */
  dropped: string[];
}

export interface DeleteResult {
  dryRun: boolean;
  /** Memories the filter matched. */
  matched: number;
  /** Memories removed (0 on a dry run). */
  deleted: number;
  /** The matched memories, compact, at most 100. */
  memories: CompactMemory[];
}

export interface Health {
  status: 'ok' | 'degraded';
  version: string;
  schemaVersion: number;
  model: { name: string; dimension: number; fingerprint: string };
  memories: number;
  vectors: { current: number; missing: number };
  warnings: string[];
  dbPath: string;
  dbBytes: number;
  sqlite: string;
  sqliteVec: string;
}

export interface Stats {
  memories: number;
  contentBytes: number;
  byType: Record<string, number>;
  byProject: { project: string | null; count: number }[];
  topTags: { tag: string; count: number }[];
  oldest: number | null;
  newest: number | null;
  accessed: number;
  embedder: Embedder['stats'];
}

const MAX_LIMIT = 100;
const MAX_BATCH = 1000;
const DEFAULT_TEXT_BUDGET = 500;
/** How often access counts gathered by reads are written. */
const ACCESS_FLUSH_MS = 5000;

/**
 * The in-process API of mnemo: store, embed and search composed. The daemon, the tests and the benchmarks all go
 * through this class. Every operation takes loosely typed arguments (they may come off the wire) and checks them.
 */
export class Engine {
  readonly storage: MemoryStore;
  readonly embedder: Embedder;
  readonly model: ModelRecord;
  readonly dbPath: string;
  private readonly db: Db;
  private readonly now: () => number;
  private readonly accessTimer: NodeJS.Timeout;
  /** Resolves when the in-memory vector index has loaded. */
  readonly indexed: Promise<void>;
  /** Memories with no vector from the current model (after a model switch, until a reindex). */
  private missingVectors: number;
  private closed = false;

  private constructor(db: Db, dbPath: string, embedder: Embedder, model: ModelRecord, now: () => number) {
    this.db = db;
    this.dbPath = dbPath;
    this.storage = new MemoryStore(db);
    this.embedder = embedder;
    this.model = model;
    this.now = now;
    this.missingVectors = this.storage.vectorCoverage(model).withoutVector;
    // The quantised KNN index loads in the background; until then the exact scan serves.
    this.indexed = this.storage.loadIndex(model).catch(() => {});
    this.accessTimer = setInterval(() => this.storage.flushAccess(), ACCESS_FLUSH_MS);
    this.accessTimer.unref();
  }

  static async open(options: EngineOptions): Promise<Engine> {
    const dbPath = options.dbPath ?? resolvePaths().dbPath;
    const embedder = await Embedder.open(options.modelDir, options.embedder);
    let db: Db | undefined;
    try {
      db = openDb(dbPath);
      const store = new MemoryStore(db);
      const { manifest, fingerprint } = embedder.pack;
      const model = store.attachModel(manifest.name, fingerprint, manifest.dimension);
      return new Engine(db, dbPath, embedder, model, options.now ?? Date.now);
    } catch (err) {
      db?.close();
      await embedder.close();
      throw err;
    }
  }

  // ---- store ----

  async store(input: unknown): Promise<StoreResult> {
    const [result] = await this.storeMany([this.parseNew(asArgs(input))]);
    return result!;
  }

  /** Stores many memories in one transaction, with one embedding request for all the new ones. */
  async storeBatch(input: unknown): Promise<StoreResult[]> {
    const args = asArgs(input);
    const items = args.memories ?? args.items;
    if (!Array.isArray(items)) throw badArgs('`memories` must be an array of memories to store');
    if (items.length > MAX_BATCH) throw badArgs(`\`memories\` holds ${items.length} items; the limit is ${MAX_BATCH}`);
    const parsed = items.map((item, i) => {
      try {
        return this.parseNew(asArgs(item, `memories[${i}]`));
      } catch (err) {
        if (err instanceof Error) err.message = `memories[${i}]: ${err.message}`;
        throw err;
      }
    });
    return this.storeMany(parsed);
  }

  private parseNew(args: Args): NewMemory {
    // Private blocks and secrets never reach the database, the index or the model (see store/redact.ts).
    const content = normalizeContent(typeof args.content === 'string' ? redact(args.content) : args.content);
    return {
      hash: contentHash(content),
      content,
      type: args.type === undefined || args.type === null ? 'note' : normalizeType(args.type),
      project: optString(args, 'project', 4096) ?? null,
      sessionId: optString(args, 'sessionId', 200) ?? optString(args, 'session_id', 200) ?? null,
      tags: normalizeTags(args.tags),
      metadata: (redactDeep(optMetadata(args) ?? {}) as Record<string, unknown>),
      createdAt: optTime(args, 'createdAt') ?? optTime(args, 'created') ?? this.now(),
      updatedAt: optTime(args, 'updatedAt'),
      // An import keeps the access history it was exported with.
      accessCount: optInt(args, 'accessCount', 0, Number.MAX_SAFE_INTEGER),
      lastAccessedAt: optTime(args, 'lastAccessedAt'),
    };
  }

  private async storeMany(items: NewMemory[]): Promise<StoreResult[]> {
    this.assertOpen();
    // Only content not stored yet is embedded; a repeat (in the database or earlier in this batch) is not.
    const toEmbed = new Map<string, string>();
    for (const item of items) {
      if (!toEmbed.has(item.hash) && !this.storage.rowByHash(item.hash)) toEmbed.set(item.hash, item.content);
    }
    const hashes = [...toEmbed.keys()];
    const vectors = await this.embedder.embedDocuments([...toEmbed.values()]);
    const byHash = new Map(hashes.map((h, i) => [h, vectors[i]!]));
    const written = this.storage.insertMany(
      items.map((memory) => ({ memory, vector: byHash.get(memory.hash) ?? null })),
      this.model,
    );
    // Content seen as stored before the embedding, but deleted while it ran, was inserted again without a vector.
    const bare = written.filter((w, i) => w.created && !byHash.has(items[i]!.hash));
    if (bare.length > 0) {
      const late = await this.embedder.embedDocuments(bare.map((w) => w.row.content));
      this.storage.putVectors(
        bare.map((w, i) => ({ id: w.row.id, vector: late[i]! })),
        this.model,
      );
    }
    const tags = this.storage.tagsOf(written.map((w) => w.row.id));
    return written.map(({ row, created }) => ({
      hash: row.hash,
      created,
      memory: this.compact(row, tags.get(row.id) ?? []),
    }));
  }

  // ---- search ----

  async search(input: unknown): Promise<Listing> {
    this.assertOpen();
    const args = asArgs(input);
    const query = optString(args, 'query', 100_000);
    if (query === undefined || query.trim().length === 0) throw badArgs('`query` is required and must not be empty');
    const mode = optEnum(args, 'mode', SEARCH_MODES) ?? 'hybrid';
    const limit = optInt(args, 'limit', 1, MAX_LIMIT) ?? 5;
    const minScore = optNumber(args, 'minScore', 0, 1) ?? 0;
    const recency = optNumber(args, 'recencyBoost', 0, 1) ?? 0;
    return this.ranked(args, mode, query, this.parseFilter(args), limit, minScore, recency);
  }

  /** A query's ranking as a listing: the mode that can run (see effectiveMode), the query's vector, the ranking. */
  private async ranked(args: Args, mode: SearchMode, query: string, filter: MemoryFilter, limit: number, minScore: number, recency: number): Promise<Listing> {
    const { mode: effective, notice } = this.effectiveMode(mode);
    const vector = effective === 'keyword' ? undefined : (await this.embedder.embedQueries([query]))[0];
    const hits = this.rank(effective, query, vector, filter, limit, minScore, recency);
    return this.withNotice(this.listing(hits, args), notice);
  }

  /**
   * Vectors of two models are never ranked together, and a ranking over only the memories the current model has
   * embedded would silently miss the others: until `reindex` has embedded them all, searches that need vectors run as
   * keyword searches and say so.
   */
  private effectiveMode(mode: SearchMode): { mode: SearchMode; notice?: string } {
    if (mode === 'keyword' || this.missingVectors === 0) return { mode };
    return {
      mode: 'keyword',
      notice: `semantic search is off until \`mnemo reindex\` embeds ${this.missingVectors} memories with ${this.model.name}; these are keyword matches`,
    };
  }

  private withNotice(listing: Listing, notice: string | undefined): Listing {
    return notice ? { ...listing, notice } : listing;
  }

  /** Ranks ids for a query: retrieval, then the recency blend, then the score floor. */
  private rank(
    mode: SearchMode,
    text: string,
    vector: Float32Array | undefined,
    filter: MemoryFilter,
    limit: number,
    minScore: number,
    recency: number,
  ): ScoredId[] {
    const depth = recency > 0 ? Math.min(4096, limit * 4) : limit;
    let hits = retrieve(this.storage, this.model, { mode, limit: depth, filter, text, ...(vector ? { vector } : {}) });
    if (recency > 0) {
      const rows = this.storage.rowsByIds(hits.map((h) => h.id));
      hits = applyRecency(hits, (id) => rows.get(id)?.created_at ?? 0, recency, this.now());
    }
    return hits.filter((h) => h.score >= minScore).slice(0, limit);
  }

  async searchByTag(input: unknown): Promise<Listing> {
    this.assertOpen();
    const args = asArgs(input);
    const tags = normalizeTags(args.tags ?? args.tag, args.tags === undefined ? 'tag' : 'tags');
    if (tags.length === 0) throw badArgs('`tags` must hold at least one tag');
    const filter = { ...this.parseFilter(args), tags };
    const limit = optInt(args, 'limit', 1, MAX_LIMIT) ?? 10;
    const offset = optInt(args, 'offset', 0, 1_000_000) ?? 0;
    return this.newestFirst(this.storage.list(filter, limit, offset), args);
  }

  /** Memories matching the filters (project, sessionId, type, tags, time), newest first. */
  async list(input: unknown): Promise<Listing> {
    this.assertOpen();
    const args = asArgs(input);
    const limit = optInt(args, 'limit', 1, MAX_LIMIT) ?? 10;
    const offset = optInt(args, 'offset', 0, 1_000_000) ?? 0;
    const rows = this.storage.list(this.parseFilter(args), limit, offset);
    return this.newestFirst(rows, args);
  }

  private newestFirst(rows: MemoryRow[], args: Args): Listing {
    return this.listing(
      rows.map((r) => ({ id: r.id, score: 1 })),
      { ...args, scores: false },
    );
  }

  /** Memories from a time ("yesterday", "last week"), newest first, or ranked by `query` within that time. */
  async recall(input: unknown): Promise<Listing> {
    this.assertOpen();
    const args = asArgs(input);
    const time = optString(args, 'time', 200);
    if (time === undefined) throw badArgs("`time` is required, for example 'yesterday' or 'last week'");
    const range = parseTimeExpression(time, new Date(this.now()));
    const filter = this.parseFilter({ ...args, time: undefined });
    if (range.since !== undefined) filter.since = Math.max(range.since, filter.since ?? -Infinity);
    if (range.until !== undefined) filter.until = Math.min(range.until, filter.until ?? Infinity);
    const limit = optInt(args, 'limit', 1, MAX_LIMIT) ?? 10;
    const query = optString(args, 'query', 100_000);
    if (query && query.trim().length > 0) {
      return this.ranked(args, optEnum(args, 'mode', SEARCH_MODES) ?? 'hybrid', query, filter, limit, optNumber(args, 'minScore', 0, 1) ?? 0, 0);
    }
    return this.newestFirst(this.storage.list(filter, limit), args);
  }

  // ---- single memories ----

  get(input: unknown): Memory {
    this.assertOpen();
    const args = typeof input === 'string' ? { hash: input } : asArgs(input);
    const row = this.storage.resolve(args.hash);
    this.storage.touch([row.id], this.now());
    this.storage.flushAccess();
    return this.storage.toMemory(this.storage.rowsByIds([row.id]).get(row.id)!);
  }

  /** Changes tags, type or metadata. Content is immutable: its hash is its identity. */
  update(input: unknown): Memory {
    this.assertOpen();
    const args = asArgs(input);
    if (args.content !== undefined) {
      throw badArgs('`content` cannot be changed (a memory is identified by its content); store a new memory instead');
    }
    const row = this.storage.resolve(args.hash);
    const patch: MemoryPatch = {};
    if (args.type !== undefined) patch.type = normalizeType(args.type);
    if (args.tags !== undefined) patch.tags = normalizeTags(args.tags);
    if (args.addTags !== undefined) patch.addTags = normalizeTags(args.addTags, 'addTags');
    if (args.removeTags !== undefined) patch.removeTags = normalizeTags(args.removeTags, 'removeTags');
    const given = optMetadata(args);
    const metadata = given === undefined ? undefined : (redactDeep(given) as Record<string, unknown>);
    if (metadata !== undefined) {
      const replace = optBool(args, 'replaceMetadata') ?? false;
      patch.metadata = replace ? metadata : mergePatch(JSON.parse(row.metadata) as Record<string, unknown>, metadata);
    }
    if (Object.keys(patch).length === 0) {
      throw badArgs('nothing to update: give `tags`, `addTags`, `removeTags`, `type` or `metadata`');
    }
    this.storage.update(row.id, patch);
    return this.storage.toMemory(this.storage.rowsByIds([row.id]).get(row.id)!);
  }

  /**
   * Deletes by hash (`hash` or `hashes`), by tags, by time range (`since`/`until` or `time`), by project or type, or a
   * combination (all must hold). An empty filter is refused; `dryRun` reports what would go and removes nothing.
   */
  delete(input: unknown): DeleteResult {
    this.assertOpen();
    const args = asArgs(input);
    const dryRun = optBool(args, 'dryRun') ?? false;
    const hashList = args.hashes ?? (args.hash === undefined ? undefined : [args.hash]);
    let ids: number[] | undefined;
    if (hashList !== undefined) {
      if (!Array.isArray(hashList) || hashList.length === 0) throw badArgs('`hashes` must be a non-empty array of hashes');
      if (hashList.length > MAX_BATCH) throw badArgs(`\`hashes\` holds more than ${MAX_BATCH} hashes`);
      ids = [...new Set(hashList.map((h) => this.storage.resolve(h, 'hash').id))];
    }
    const filter = this.parseFilter(args);
    const filtering = Object.values(filter).some((v) => v !== undefined && !(Array.isArray(v) && v.length === 0));
    if (ids === undefined && !filtering) {
      throw badArgs('refusing to delete with an empty filter: give `hash`, `hashes`, `tags`, a time range, `project` or `type`');
    }
    let rows: MemoryRow[];
    if (ids !== undefined) {
      const byId = this.storage.rowsByIds(ids);
      const allowed = filtering ? new Set(this.storage.list(filter, 10_000_000).map((r) => r.id)) : null;
      rows = ids.map((id) => byId.get(id)!).filter((r) => r && (!allowed || allowed.has(r.id)));
    } else {
      rows = this.storage.list(filter, 10_000_000);
    }
    const tags = this.storage.tagsOf(rows.slice(0, 100).map((r) => r.id));
    const memories = rows.slice(0, 100).map((r) => this.compact(r, tags.get(r.id) ?? []));
    const deleted = dryRun ? 0 : this.storage.deleteIds(rows.map((r) => r.id));
    if (deleted > 0 && this.missingVectors > 0) this.missingVectors = this.storage.vectorCoverage(this.model).withoutVector;
    return { dryRun, matched: rows.length, deleted, memories };
  }

  /** Every tag with how many memories carry it, most used first. */
  tags(input: unknown = {}): { tag: string; count: number }[] {
    this.assertOpen();
    const args = asArgs(input);
    const limit = optInt(args, 'limit', 1, 100_000) ?? 1000;
    const project = optString(args, 'project', 4096);
    const where = project === undefined ? '' : 'JOIN memories m ON m.id = t.memory_id WHERE m.project = ?';
    return this.db
      .prepare(`SELECT t.tag, count(*) AS count FROM memory_tags t ${where} GROUP BY t.tag ORDER BY count DESC, t.tag LIMIT ?`)
      .all(...(project === undefined ? [] : [project]), limit) as { tag: string; count: number }[];
  }

  /** Whole memories in storage order, a page at a time, for a lossless export. `cursor` comes from the last page. */
  exportPage(input: unknown = {}): { memories: Memory[]; cursor: number | null } {
    this.assertOpen();
    const args = asArgs(input);
    const after = optInt(args, 'cursor', 0, Number.MAX_SAFE_INTEGER) ?? 0;
    const limit = optInt(args, 'limit', 1, 1000) ?? 500;
    const rows = this.db.prepare('SELECT * FROM memories WHERE id > ? ORDER BY id LIMIT ?').all(after, limit) as MemoryRow[];
    const tags = this.storage.tagsOf(rows.map((r) => r.id));
    return {
      memories: rows.map((r) => this.storage.toMemory(r, tags.get(r.id) ?? [])),
      cursor: rows.length === limit ? rows[rows.length - 1]!.id : null,
    };
  }

  /** Embeds query texts in one model call and caches them, so the searches that follow do not wait on the model. */
  async prepareQueries(texts: string[]): Promise<void> {
    this.assertOpen();
    await this.embedder.embedQueriesTogether(texts);
  }

  /**
   * Embeds the next `limit` memories that have no vector from the current model (after a model switch). Call it
   * until `remaining` is 0; it resumes wherever it stopped, since the state is the vector table itself. When nothing
   * is left, the vector tables of earlier models are dropped.
   */
  async reindex(input: unknown = {}): Promise<ReindexResult> {
    this.assertOpen();
    const args = asArgs(input);
    const limit = optInt(args, 'limit', 1, 1000) ?? 64;
    const ids = this.storage.idsMissingVector(this.model, limit);
    const rows = this.storage.rowsByIds(ids);
    const present = ids.filter((id) => rows.has(id));
    const vectors = await this.embedder.embedDocuments(present.map((id) => rows.get(id)!.content));
    this.storage.putVectors(
      present.map((id, i) => ({ id, vector: vectors[i]! })),
      this.model,
    );
    const coverage = this.storage.vectorCoverage(this.model);
    this.missingVectors = coverage.withoutVector;
    const dropped = coverage.withoutVector === 0 ? this.storage.dropOtherModels(this.model) : [];
    return {
      model: this.model.name,
      reindexed: present.length,
      remaining: coverage.withoutVector,
      total: coverage.withVector + coverage.withoutVector,
      dropped,
    };
  }

  // ---- state ----

  health(): Health {
    this.assertOpen();
    const memories = this.storage.count();
    const coverage = this.storage.vectorCoverage(this.model);
    const warnings: string[] = [];
    if (coverage.withoutVector > 0) {
      warnings.push(
        `${coverage.withoutVector} memories have no vector from ${this.model.name} (the model changed): semantic search is off until \`mnemo reindex\``,
      );
    }
    const versions = this.db.prepare('SELECT sqlite_version() AS sqlite, vec_version() AS vec').get() as {
      sqlite: string;
      vec: string;
    };
    return {
      status: warnings.length === 0 ? 'ok' : 'degraded',
      version: VERSION,
      schemaVersion: SCHEMA_VERSION,
      model: { name: this.model.name, dimension: this.model.dimension, fingerprint: this.model.fingerprint.slice(0, 12) },
      memories,
      vectors: { current: coverage.withVector, missing: coverage.withoutVector },
      warnings,
      dbPath: this.dbPath,
      dbBytes: fileSize(this.dbPath) + fileSize(`${this.dbPath}-wal`),
      sqlite: versions.sqlite,
      sqliteVec: versions.vec,
    };
  }

  stats(): Stats {
    this.assertOpen();
    this.storage.flushAccess();
    const q = <T>(sql: string) => this.db.prepare(sql).all() as T[];
    const totals = this.db
      .prepare(
        `SELECT count(*) AS n, coalesce(sum(length(CAST(content AS BLOB))), 0) AS bytes, min(created_at) AS oldest,
                max(created_at) AS newest, coalesce(sum(access_count > 0), 0) AS accessed FROM memories`,
      )
      .get() as { n: number; bytes: number; oldest: number | null; newest: number | null; accessed: number };
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
      topTags: q<{ tag: string; count: number }>(
        'SELECT tag, count(*) AS count FROM memory_tags GROUP BY tag ORDER BY count DESC, tag LIMIT 20',
      ),
      oldest: totals.oldest,
      newest: totals.newest,
      accessed: totals.accessed,
      embedder: this.embedder.stats,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.accessTimer);
    await this.embedder.close();
    try {
      this.storage.flushAccess();
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } finally {
      this.db.close();
    }
  }

  // ---- helpers ----

  private assertOpen(): void {
    if (this.closed) throw badArgs('the engine is closed');
  }

  /** Filters shared by search, listing and delete: project, type, tags (+ tagMode), since/until or time. */
  private parseFilter(args: Args): MemoryFilter {
    const filter: MemoryFilter = {};
    const project = optString(args, 'project', 4096);
    if (project !== undefined) filter.project = project;
    const sessionId = optString(args, 'sessionId', 200);
    if (sessionId !== undefined) filter.sessionId = sessionId;
    const types = optTypes(args);
    if (types) filter.types = types;
    if (args.tags !== undefined) filter.tags = normalizeTags(args.tags);
    const tagMode = optEnum(args, 'tagMode', ['any', 'all'] as const);
    if (tagMode) filter.tagMode = tagMode;
    const since = optTime(args, 'since');
    const until = optTime(args, 'until');
    if (since !== undefined) filter.since = since;
    if (until !== undefined) filter.until = until;
    const time = optString(args, 'time', 200);
    if (time !== undefined) {
      const range = parseTimeExpression(time, new Date(this.now()));
      if (range.since !== undefined) filter.since = Math.max(range.since, filter.since ?? -Infinity);
      if (range.until !== undefined) filter.until = Math.min(range.until, filter.until ?? Infinity);
    }
    if (filter.since !== undefined && filter.until !== undefined && filter.since >= filter.until) {
      throw badArgs('the time range is empty: `since` must be before `until`');
    }
    return filter;
  }

  private compact(row: MemoryRow, tags: string[], score?: number, previewChars = DEFAULT_PREVIEW_CHARS): CompactMemory {
    const c: CompactMemory = {
      hash: row.hash.slice(0, SHORT_HASH_LENGTH),
      preview: preview(row.content, previewChars),
      tags,
      type: row.type,
      created: row.created_at,
    };
    if (score !== undefined) c.score = Math.round(score * 1000) / 1000;
    return c;
  }

  /** Shapes ranked ids into the requested result form and records the access. */
  private listing(hits: ScoredId[], args: Args): Listing {
    const format = optEnum(args, 'format', FORMATS) ?? 'compact';
    const previewChars = optInt(args, 'previewChars', 20, 2000) ?? DEFAULT_PREVIEW_CHARS;
    const withScores = args.scores !== false;
    const ids = hits.map((h) => h.id);
    const rows = this.storage.rowsByIds(ids);
    const tags = this.storage.tagsOf(ids);
    const present = hits.filter((h) => rows.has(h.id));
    this.storage.touch(
      present.map((h) => h.id),
      this.now(),
    );
    if (format === 'full') {
      return {
        format,
        results: present.map((h) => ({
          ...this.storage.toMemory(rows.get(h.id)!, tags.get(h.id) ?? []),
          score: h.score,
          scores: {
            ...(h.semantic !== undefined ? { semantic: h.semantic } : {}),
            ...(h.keyword !== undefined ? { keyword: h.keyword } : {}),
          },
        })),
      };
    }
    const compact = present.map((h) =>
      this.compact(rows.get(h.id)!, tags.get(h.id) ?? [], withScores ? h.score : undefined, previewChars),
    );
    if (format === 'compact') return { format, results: compact };
    const budget = optInt(args, 'budget', 1, 100_000) ?? DEFAULT_TEXT_BUDGET;
    const header = optString(args, 'header', 500);
    return {
      format,
      ...renderCompact(compact, { budget, now: this.now(), scores: withScores, ...(header ? { header } : {}) }),
    };
  }
}

/** JSON merge patch (RFC 7396) on one level: a null value removes the key, objects merge recursively. */
function mergePatch(target: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...target };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else if (typeof value === 'object' && !Array.isArray(value) && typeof out[key] === 'object' && out[key] !== null && !Array.isArray(out[key])) {
      out[key] = mergePatch(out[key] as Record<string, unknown>, value as Record<string, unknown>);
    } else out[key] = value;
  }
  return out;
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
