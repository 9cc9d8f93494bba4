import { existsSync, mkdirSync, rmSync, statfsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Embedder, type EmbedderLoad, type EmbedderOptions } from './embed/embedder.js';
import { badArgs, ErrorCode, MnemoError } from './errors.js';
import { resolvePaths } from './paths.js';
import type { FilterArgs, NewMemoryArgs, SearchMode } from './protocol/ops.js';
import type {
  BackupResult,
  DeleteResult,
  ExportPage,
  Health,
  Memory,
  ReindexResult,
  RestoreResult,
  Stats,
  StoreResult,
  TagCount,
  Timeline,
  TrashListing,
} from './protocol/results.js';
import { backupPath, pruneBackups } from './store/backup.js';
import { compactOf } from './search/compact.js';
import { KeywordThread, PARALLEL_KEYWORD_MIN } from './search/keyword-thread.js';
import { applyRecency, keywordSide, retrieve, semanticSide, type ScoredId } from './search/retrieve.js';
import { findTimeExpression, parseTimeExpression } from './search/time.js';
import { openDb } from './store/db.js';
import { isFiltering } from './store/filter.js';
import { MemoryStore, type MemoryPatch, type NewMemory } from './store/memory-store.js';
import type { MemoryStorage } from './store/storage.js';
import { SCHEMA_VERSION } from './store/migrations.js';
import { contentHash, normalizeContent } from './store/normalize.js';
import { redact, redactDeep } from './store/redact.js';
import type { MemoryFilter, MemoryRow, ModelRecord } from './store/types.js';
import { nextTurn } from './next-turn.js';
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
  /** How long deleted memories stay in the trash before the engine empties them (default 7 days). */
  trashRetentionMs?: number;
  /** From how many memories a hybrid search runs its keyword side on its own thread (search/keyword-thread.ts). */
  parallelKeywordMin?: number;
  /** The model's load, already started with Embedder.start (modelDir and embedder are then not used). */
  loading?: EmbedderLoad;
}

const DAY_MS = 86_400_000;
export const DEFAULT_TRASH_RETENTION_MS = 7 * DAY_MS;
/** How often the trash is emptied of what is past its retention. */
const TRASH_SWEEP_MS = 3_600_000;

/** A ranked memory: its 0..1 score and, where each side ran, its own (see docs/search.md, "Scores"). */
export interface Hit {
  memory: Memory;
  score: number;
  semantic?: number;
  keyword?: number;
}

export interface Ranked {
  hits: Hit[];
  /** Set when the search could not be what was asked (semantic search is off until a reindex). */
  notice?: string;
}

export interface SearchQuery {
  text: string;
  mode: SearchMode;
  limit: number;
  filter: MemoryFilter;
  minScore?: number;
  /** 0..1: how much creation time counts against the match (see applyRecency). */
  recencyBoost?: number;
  /** Count the hits as read (the default); false for work no one reads yet (context prepared ahead). */
  countAccess?: boolean;
}

export interface UpdatePatch {
  type?: string | undefined;
  tags?: string[] | undefined;
  addTags?: string[] | undefined;
  removeTags?: string[] | undefined;
  metadata?: Record<string, unknown> | undefined;
  /** Replace the metadata instead of merging into it (JSON merge patch). */
  replaceMetadata?: boolean | undefined;
}

export interface DeleteSelection {
  /** Hashes or unique prefixes; with a filter, only those the filter also matches. */
  hashes?: string[] | undefined;
  filter: MemoryFilter;
  dryRun: boolean;
  /** Delete for good instead of moving to the trash. */
  purge?: boolean | undefined;
}

/** How many matched memories a delete result lists. */
const DELETE_LISTED = 100;
/** How often access counts gathered by reads are written. */
const ACCESS_FLUSH_MS = 5000;

/**
 * mnemo's domain: store, embed and search composed. Inputs are typed and already checked (the daemon parses every
 * request at the edge with protocol/ops.ts); results are domain values (memories and hits), shaped for the wire by the
 * daemon's handlers. Everything a method could refuse is refused before it reads or writes anything. No SQL here: it
 * is all in store/.
 */
export class Engine {
  /** The database, through the storage contract (store/storage.ts); Engine.open picks the SQLite backend. */
  readonly storage: MemoryStorage;
  readonly embedder: Embedder;
  readonly model: ModelRecord;
  readonly dbPath: string;
  readonly now: () => number;
  private readonly accessTimer: NodeJS.Timeout;
  private readonly trashTimer: NodeJS.Timeout;
  private readonly trashRetentionMs: number;
  /** Resolves when the in-memory vector index has loaded, or failed to (storage.indexFailure() says why). */
  readonly indexed: Promise<void>;
  /**
   * Memories with no vector from the current model (after a model switch, until a reindex); null until first needed
   * (missing()): counting the vector table is not on the way to ready (17-23 ms at 100k memories, warm).
   */
  private missingVectors: number | null = null;
  private closed = false;
  /** What SQLite said when it found the database damaged, once it has. */
  private damage: string | null = null;
  private readonly keywordThread: KeywordThread;
  private readonly parallelKeywordMin: number;

  private constructor(
    storage: MemoryStorage,
    dbPath: string,
    embedder: Embedder,
    model: ModelRecord,
    now: () => number,
    options: Pick<EngineOptions, 'trashRetentionMs' | 'parallelKeywordMin'>,
    indexed?: Promise<void>,
  ) {
    this.storage = storage;
    this.dbPath = dbPath;
    this.keywordThread = new KeywordThread(dbPath);
    this.parallelKeywordMin = options.parallelKeywordMin ?? PARALLEL_KEYWORD_MIN;
    this.embedder = embedder;
    this.model = model;
    this.now = now;
    // The quantised KNN index loads in the background (open() may have started it); until then the exact scan serves.
    this.indexed = indexed ?? indexLoad(this.storage, model);
    this.accessTimer = setInterval(() => this.storage.flushAccess(), ACCESS_FLUSH_MS);
    this.accessTimer.unref();
    this.trashRetentionMs = options.trashRetentionMs ?? DEFAULT_TRASH_RETENTION_MS;
    this.sweepTrash();
    this.trashTimer = setInterval(() => this.sweepTrash(), TRASH_SWEEP_MS);
    this.trashTimer.unref();
  }

  static async open(options: EngineOptions): Promise<Engine> {
    const dbPath = options.dbPath ?? resolvePaths().dbPath;
    // The workers load the model for most of a start (300-500 ms on 2 cores); meanwhile this thread opens the
    // database. For a model it has recorded before, the vector index loads once the engine is handed over, not beside
    // the workers' load: on 2 cores the two slowed each other, and its slices of 16 ms held up the first requests
    // (at 100k memories, `mnemo start` to ready: median 920 ms with the load begun after the pack's checksums, 855
    // with it begun after ready and the vector table no longer counted on the way, 16 starts each, alternating). A
    // model not seen before is recorded only once the workers have it, so a damaged pack leaves the database as it
    // was.
    const loading = options.loading ?? Embedder.start(options.modelDir, options.embedder);
    let storage: MemoryStore | undefined;
    let embedder: Embedder | undefined;
    try {
      const store = (storage = new MemoryStore(openDb(dbPath)));
      const { fingerprint, manifest } = loading.pack;
      const known = store.models().find((m) => m.fingerprint === fingerprint);
      const indexed =
        known?.dimension === manifest.dimension ? indexLoad(store, known, loading.ready.then(nextTurn)) : undefined;
      embedder = await loading.ready;
      const model = store.attachModel(manifest.name, fingerprint, manifest.dimension);
      return new Engine(store, dbPath, embedder, model, options.now ?? Date.now, options, indexed);
    } catch (err) {
      try {
        storage?.close();
      } finally {
        // Whatever failed, the workers' load has finished before their pool closes (one stopped inside it aborts the
        // process): discard() waits for it.
        await (embedder ? embedder.close() : loading.discard());
      }
      throw err;
    }
  }

  // ---- store ----

  async store(input: NewMemoryArgs): Promise<StoreResult> {
    const [result] = await this.storeMany([this.newMemory(input)]);
    return result!;
  }

  /** Stores many memories in one transaction, with one embedding request for all the new ones. */
  async storeBatch(inputs: NewMemoryArgs[]): Promise<StoreResult[]> {
    const items = inputs.map((input, i) => {
      try {
        return this.newMemory(input);
      } catch (err) {
        if (err instanceof Error) err.message = `memories[${i}]: ${err.message}`;
        throw err;
      }
    });
    return this.storeMany(items);
  }

  private newMemory(m: NewMemoryArgs): NewMemory {
    // Private blocks and secrets never reach the database, the index or the model (see store/redact.ts).
    const content = normalizeContent(redact(m.content));
    return {
      hash: contentHash(content),
      content,
      type: m.type ?? 'note',
      project: m.project ?? null,
      sessionId: m.sessionId ?? null,
      tags: m.tags ?? [],
      metadata: redactDeep(m.metadata ?? {}) as Record<string, unknown>,
      createdAt: m.createdAt ?? this.now(),
      updatedAt: m.updatedAt,
      accessCount: m.accessCount,
      lastAccessedAt: m.lastAccessedAt,
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
      memory: compactOf(this.storage.toMemory(row, tags.get(row.id) ?? [])),
    }));
  }

  // ---- reading ----

  /**
   * A filter as the store applies it: a time expression ("last week") becomes a range on this engine's clock, and
   * meets `since`/`until` when both are given. Throws E_BAD_ARGS for an expression it cannot read or an empty range.
   */
  filter(spec: FilterArgs): MemoryFilter {
    const filter: MemoryFilter = {};
    if (spec.project !== undefined) filter.project = spec.project;
    if (spec.sessionId !== undefined) filter.sessionId = spec.sessionId;
    if (spec.type !== undefined) filter.types = spec.type;
    if (spec.tags !== undefined) filter.tags = spec.tags;
    if (spec.tagMode !== undefined) filter.tagMode = spec.tagMode;
    if (spec.since !== undefined) filter.since = spec.since;
    if (spec.until !== undefined) filter.until = spec.until;
    if (spec.time !== undefined) this.narrowToTime(filter, spec.time);
    return filter;
  }

  private narrowToTime(filter: MemoryFilter, expression: string): void {
    const range = parseTimeExpression(expression, new Date(this.now()));
    if (range.since !== undefined) filter.since = Math.max(range.since, filter.since ?? -Infinity);
    if (range.until !== undefined) filter.until = Math.min(range.until, filter.until ?? Infinity);
    if (filter.since !== undefined && filter.until !== undefined && filter.since >= filter.until) {
      throw badArgs('the time range is empty: `since` must be before `until`');
    }
  }

  /** Ranks memories for a query: retrieval (see search/retrieve.ts), the recency blend, the score floor. */
  async search(q: SearchQuery): Promise<Ranked> {
    this.assertOpen();
    const { mode, notice } = this.effectiveMode(q.mode);
    const recency = q.recencyBoost ?? 0;
    const depth = recency > 0 ? Math.min(4096, q.limit * 4) : q.limit;
    const o = { mode, limit: depth, filter: q.filter, text: q.text };
    const embedding = mode === 'keyword' ? undefined : this.embedder.embedQueries([q.text]);
    // While a worker embeds the query, the keyword side runs: on this thread, or at scale on the keyword thread
    // (search/keyword-thread.ts) while this one runs the vector side. A hybrid search costs the larger of the two.
    if (embedding) this.embedder.dispatchNow();
    const threaded =
      mode === 'hybrid' && this.storage.memoryCount >= this.parallelKeywordMin && this.keywordThread.available()
        ? this.keywordThread.run({ ...o, memoryCount: this.storage.memoryCount })
        : null;
    let keyword: ReturnType<typeof keywordSide> | null = null;
    try {
      if (!threaded) keyword = keywordSide(this.storage, o);
    } catch (err) {
      void embedding?.catch(() => {});
      throw err;
    }
    const vector = embedding ? (await embedding)[0] : undefined;
    const semantic = semanticSide(this.storage, this.model, { ...o, ...(vector ? { vector } : {}) });
    // The thread answers null when it cannot (it failed, or the query is one this thread must refuse itself).
    keyword ??= (await threaded) ?? keywordSide(this.storage, o);
    let scored = retrieve(this.storage, this.model, { ...o, keyword, semantic });
    if (recency > 0) {
      const rows = this.storage.rowsByIds(scored.map((h) => h.id));
      scored = applyRecency(scored, (id) => rows.get(id)?.created_at ?? 0, recency, this.now());
    }
    const hits = this.hits(
      scored.filter((h) => h.score >= (q.minScore ?? 0)).slice(0, q.limit),
      undefined,
      q.countAccess ?? true,
    );
    return notice ? { hits, notice } : { hits };
  }

  /**
   * Vectors of two models are never ranked together, and a ranking over only the memories the current model has
   * embedded would silently miss the others: until `reindex` has embedded them all, searches that need vectors run as
   * keyword searches and say so.
   */
  private effectiveMode(mode: SearchMode): { mode: SearchMode; notice?: string } {
    if (mode === 'keyword') return { mode };
    const missing = this.missing();
    if (missing === 0) return { mode };
    return {
      mode: 'keyword',
      notice:
        `semantic search is off until \`mnemo reindex\` embeds ${missing} memories ` +
        `with ${this.model.name}; these are keyword matches`,
    };
  }

  private missing(): number {
    return (this.missingVectors ??= this.storage.vectorCoverage(this.model).withoutVector);
  }

  /** Memories matching the filter, newest first; countAccess as in SearchQuery. */
  list(filter: MemoryFilter, limit: number, offset = 0, countAccess = true): Memory[] {
    this.assertOpen();
    return this.memoriesOf(this.storage.list(filter, limit, offset), countAccess);
  }

  /** The memories of these full hashes that are still stored, in the order given; counted as read. */
  byHashes(hashes: readonly string[]): Memory[] {
    this.assertOpen();
    return this.memoriesOf(
      hashes.map((h) => this.storage.rowByHash(h)).filter((r): r is MemoryRow => r !== undefined),
      true,
    );
  }

  /** Rows already read as memories (tags included), in their order. */
  private memoriesOf(rows: MemoryRow[], countAccess: boolean): Memory[] {
    return this.hits(
      rows.map((r) => ({ id: r.id, score: 1 })),
      new Map(rows.map((r) => [r.id, r])),
      countAccess,
    ).map((h) => h.memory);
  }

  /**
   * Memories from a time ("yesterday", "last week"), newest first, or ranked by `query` within that time. Without a
   * time, the time phrase is taken out of the query ("what did we decide last week about auth").
   */
  async recall(
    when: string | undefined,
    filter: MemoryFilter,
    o: { limit: number; query?: string | undefined; mode: SearchMode; minScore?: number | undefined },
  ): Promise<Ranked> {
    this.assertOpen();
    let query = o.query;
    if (when === undefined) {
      const found = findTimeExpression(query ?? '', new Date(this.now()));
      if (!found)
        throw badArgs(
          `no time in the query '${(query ?? '').slice(0, 80)}'; give \`time\`, for example 'yesterday' or 'last week'`,
        );
      when = found.time;
      query = found.rest;
    }
    const within = { ...filter };
    this.narrowToTime(within, when);
    if (query !== undefined && query.trim().length > 0) {
      return this.search({ text: query, mode: o.mode, limit: o.limit, filter: within, minScore: o.minScore ?? 0 });
    }
    return { hits: this.list(within, o.limit).map((memory) => ({ memory, score: 1 })) };
  }

  /** Ranked ids as memories (tags included), in rank order; a read counts as an access. */
  private hits(scored: ScoredId[], known?: ReadonlyMap<number, MemoryRow>, countAccess = true): Hit[] {
    const ids = scored.map((h) => h.id);
    const rows = known ?? this.storage.rowsByIds(ids);
    const tags = this.storage.tagsOf(ids);
    const present = scored.filter((h) => rows.has(h.id));
    if (countAccess)
      this.storage.touch(
        present.map((h) => h.id),
        this.now(),
      );
    return present.map((h) => ({
      memory: this.storage.toMemory(rows.get(h.id)!, tags.get(h.id) ?? []),
      score: h.score,
      ...(h.semantic !== undefined ? { semantic: h.semantic } : {}),
      ...(h.keyword !== undefined ? { keyword: h.keyword } : {}),
    }));
  }

  /** One memory by hash or unique prefix; counted as an access. */
  get(hash: string): Memory {
    this.assertOpen();
    const row = this.storage.resolve(hash);
    this.storage.touch([row.id], this.now());
    this.storage.flushAccess();
    return this.storage.toMemory(this.storage.rowsByIds([row.id]).get(row.id)!);
  }

  /**
   * Memories by full hash, for a person looking (the session page): not counted as an access, since no agent used
   * them. Hashes not found are left out.
   */
  peek(hashes: readonly string[]): Map<string, Memory> {
    this.assertOpen();
    const out = new Map<string, Memory>();
    for (const hash of new Set(hashes)) {
      const row = this.storage.rowByHash(hash);
      if (row) out.set(hash, this.storage.toMemory(row));
    }
    return out;
  }

  /** Memories created per UTC day (by type) over the last `days` days, oldest first. */
  timeline(days: number, project?: string): Timeline {
    this.assertOpen();
    const today = Math.floor(this.now() / DAY_MS) * DAY_MS;
    const { rows, before } = this.storage.createdPerDay(today - (days - 1) * DAY_MS, project);
    const byDay = new Map<number, Timeline['days'][number]>();
    for (const r of rows) {
      let d = byDay.get(r.day);
      if (!d) byDay.set(r.day, (d = { day: r.day, count: 0, byType: {} }));
      d.count += r.count;
      d.byType[r.type] = r.count;
    }
    return { days: [...byDay.values()], before };
  }

  // ---- changing ----

  /** Changes tags, type or metadata. Content is immutable: its hash is its identity. */
  update(hash: string, p: UpdatePatch): Memory {
    this.assertOpen();
    const row = this.storage.resolve(hash);
    const patch: MemoryPatch = {};
    if (p.type !== undefined) patch.type = p.type;
    if (p.tags !== undefined) patch.tags = p.tags;
    if (p.addTags !== undefined) patch.addTags = p.addTags;
    if (p.removeTags !== undefined) patch.removeTags = p.removeTags;
    if (p.metadata !== undefined) {
      const metadata = redactDeep(p.metadata) as Record<string, unknown>;
      patch.metadata = p.replaceMetadata
        ? metadata
        : mergePatch(JSON.parse(row.metadata) as Record<string, unknown>, metadata);
    }
    if (Object.keys(patch).length === 0)
      throw badArgs('nothing to update: give `tags`, `addTags`, `removeTags`, `type` or `metadata`');
    this.storage.update(row.id, patch);
    return this.storage.toMemory(this.storage.rowsByIds([row.id]).get(row.id)!);
  }

  /**
   * Deletes by hashes, by filter, or both (both must hold). A selection with no hash and a filter that narrows
   * nothing (store/filter.ts `isFiltering`: a tag mode alone, or an empty tag list, narrows nothing) is refused:
   * deleting is never more than was asked for. A dry run reports what would go and removes nothing.
   */
  delete(s: DeleteSelection): DeleteResult {
    this.assertOpen();
    const filtering = isFiltering(s.filter);
    if (s.hashes === undefined && !filtering) {
      throw badArgs(
        'refusing to delete with an empty filter: give `hashes`, `tags`, ' +
          'a time range (`since`, `until` or `time`), `project`, `sessionId` or `type`',
      );
    }
    let rows: MemoryRow[];
    if (s.hashes !== undefined) {
      const ids = [...new Set(s.hashes.map((h) => this.storage.resolve(h, 'hash').id))];
      const byId = this.storage.rowsByIds(ids);
      const allowed = filtering ? new Set(this.storage.idsMatching(s.filter)) : null;
      rows = ids.flatMap((id) => {
        const row = byId.get(id);
        return row && (!allowed || allowed.has(id)) ? [row] : [];
      });
    } else {
      rows = this.storage.list(s.filter, Number.MAX_SAFE_INTEGER);
    }
    const listed = rows.slice(0, DELETE_LISTED);
    const tags = this.storage.tagsOf(listed.map((r) => r.id));
    const memories = listed.map((r) => compactOf(this.storage.toMemory(r, tags.get(r.id) ?? [])));
    const ids = rows.map((r) => r.id);
    const deleted = s.dryRun ? 0 : s.purge ? this.storage.deleteIds(ids) : this.storage.trashIds(ids, this.now());
    if (deleted > 0 && this.missingVectors !== 0) this.missingVectors = null;
    return { dryRun: s.dryRun, matched: rows.length, deleted, trashed: !s.dryRun && !s.purge, memories };
  }

  /** The trash, most recently deleted first, and how many memories it holds. */
  trash(limit: number, offset = 0): TrashListing {
    this.assertOpen();
    return {
      total: this.storage.trashCount(),
      retentionDays: Math.round(this.trashRetentionMs / 86_400_000),
      memories: this.storage.trashed(limit, offset).map((t) => ({ ...compactOf(t.memory), deletedAt: t.deletedAt })),
    };
  }

  /**
   * Brings memories back from the trash, whole: content, tags, metadata, times and access counts, re-embedded and
   * re-indexed. A memory stored again since (same content) keeps its row and gains the trashed one's tags.
   */
  async restore(which: string[] | 'all'): Promise<RestoreResult> {
    this.assertOpen();
    const found = this.storage.fromTrashByHash(which);
    const items: NewMemory[] = found.map(({ memory: m }) => ({
      hash: m.hash,
      content: m.content,
      type: m.type,
      project: m.project,
      sessionId: m.sessionId,
      tags: m.tags,
      metadata: m.metadata,
      createdAt: m.createdAt,
      updatedAt: m.updatedAt,
      accessCount: m.accessCount,
      lastAccessedAt: m.lastAccessedAt ?? undefined,
    }));
    const stored = items.length > 0 ? await this.storeMany(items) : [];
    this.storage.emptyTrash({ hashes: items.map((i) => i.hash) });
    return { restored: stored.length, memories: stored.map((r) => r.memory) };
  }

  /** Empties the trash of what was deleted longer ago than the retention. */
  sweepTrash(): number {
    if (this.closed) return 0;
    return this.storage.emptyTrash({ before: this.now() - this.trashRetentionMs });
  }

  /**
   * Embeds the next `limit` memories that have no vector from the current model (after a model switch). Call it
   * until `remaining` is 0; it resumes wherever it stopped, since the state is the vector table itself. When nothing
   * is left, the vector tables of earlier models are dropped.
   */
  async reindex(limit: number): Promise<ReindexResult> {
    this.assertOpen();
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

  /**
   * A consistent copy of the database while the daemon serves: to `file`, or to a new file in backups/ beside the
   * database, keeping the newest 5 there.
   */
  async backup(file?: string): Promise<BackupResult> {
    this.assertOpen();
    const started = performance.now();
    const target = file ? resolve(file) : backupPath(this.dbPath, this.now(), 'manual');
    if (existsSync(target)) throw badArgs(`${target} already exists; give a new file name`);
    let madeDir: string | undefined;
    try {
      madeDir = mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
      await this.storage.backup(target);
    } catch (err) {
      // Nothing half-written is left behind (nor the folders made for it), and the caller learns which file could
      // not be written and why, in the file system's or SQLite's words: the problem is the copy, not the database.
      try {
        rmSync(madeDir ?? target, { recursive: true, force: true });
      } catch {
        // Not there to remove (its folder could not be made).
      }
      if (err instanceof MnemoError || typeof (err as { code?: unknown }).code !== 'string') throw err;
      throw new MnemoError(ErrorCode.STORAGE, `cannot write the backup to ${target}: ${(err as Error).message}`);
    }
    const removed = file ? [] : pruneBackups(this.dbPath, 'manual');
    return { file: target, bytes: fileSize(target), ms: Math.round(performance.now() - started), removed };
  }

  // ---- describing ----

  /** Every tag with how many memories carry it, most used first. */
  tags(limit: number, project?: string): TagCount[] {
    this.assertOpen();
    return this.storage.tagCounts(limit, project);
  }

  /** Whole memories in storage order, a page at a time, for a lossless export. `cursor` comes from the last page. */
  exportPage(cursor: number, limit: number): ExportPage {
    this.assertOpen();
    const rows = this.storage.rowsAfter(cursor, limit);
    const tags = this.storage.tagsOf(rows.map((r) => r.id));
    return {
      memories: rows.map((r) => this.storage.toMemory(r, tags.get(r.id) ?? [])),
      cursor: rows.length === limit ? rows[rows.length - 1]!.id : null,
    };
  }

  /**
   * Starts embedding the query of a search about to be made, on a worker, and returns at once: that search finds the
   * vector cached or being made (the prompt hook starts its prompt's before the commit that records it). Nothing
   * when the search will not need a vector.
   */
  embedAhead(text: string): void {
    this.assertOpen();
    if (this.effectiveMode('hybrid').mode === 'keyword') return;
    void this.embedder.embedQueries([text]).catch(() => {});
    this.embedder.dispatchNow();
  }

  /** Embeds query texts in one model call and caches them, so the searches that follow do not wait on the model. */
  async prepareQueries(texts: string[]): Promise<void> {
    this.assertOpen();
    await this.embedder.embedQueriesTogether(texts);
  }

  health(): Health {
    this.assertOpen();
    const coverage = this.storage.vectorCoverage(this.model);
    const warnings: string[] = [];
    if (this.damage)
      warnings.push(
        `the database is damaged (${this.damage}): \`mnemo doctor\` checks it; ` +
          'restore a backup or `mnemo export` what still reads',
      );
    const free = freeBytes(this.dbPath);
    if (free !== null && free < LOW_DISK_BYTES) {
      warnings.push(
        `the disk holding the database has ${Math.round(free / 1048576)} MiB free: ` +
          'new memories and captured events fail when it is full',
      );
    }
    const indexFailure = this.storage.indexFailure();
    if (indexFailure)
      warnings.push(
        `the vector index is off (${indexFailure}): semantic search scans every vector, ` +
          'which is slower above 8,192 memories; `mnemo restart` builds it again',
      );
    if (coverage.withoutVector > 0) {
      warnings.push(
        `${coverage.withoutVector} memories have no vector from ${this.model.name} (the model changed): ` +
          'semantic search is off until `mnemo reindex`',
      );
    }
    return {
      status: warnings.length === 0 ? 'ok' : 'degraded',
      version: VERSION,
      schemaVersion: SCHEMA_VERSION,
      model: {
        name: this.model.name,
        dimension: this.model.dimension,
        fingerprint: this.model.fingerprint.slice(0, 12),
      },
      memories: this.storage.count(),
      vectors: { current: coverage.withVector, missing: coverage.withoutVector },
      warnings,
      dbPath: this.dbPath,
      dbBytes: fileSize(this.dbPath) + fileSize(`${this.dbPath}-wal`),
      ...this.storage.versions(),
    };
  }

  /**
   * Hears about a failure from anywhere above: a damaged database shows up as the error of whatever query reached the
   * damaged page, and from then on health and status say so (a full structure check takes 50 ms at 10k memories and
   * 300 ms at 100k, measured, too long for every status call on the daemon's loop; `mnemo doctor` runs it).
   */
  noteFailure(err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    const code = (err as { code?: unknown }).code;
    if (code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB' || /malformed|not a database/i.test(message))
      this.damage ??= message;
  }

  stats(): Stats {
    this.assertOpen();
    return { ...this.storage.statistics(), embedder: this.embedder.stats };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.accessTimer);
    clearInterval(this.trashTimer);
    await this.keywordThread.close();
    await this.embedder.close();
    this.storage.close();
  }

  private assertOpen(): void {
    if (this.closed) throw new MnemoError(ErrorCode.CLOSED, 'the engine is closed (the daemon is stopping)');
  }
}

/**
 * Loads `model`'s vector index in the background once `after` has resolved. Never rejects: a failed load leaves the
 * exact scan serving, and the store keeps why (storage.indexFailure(), which health reports).
 */
function indexLoad(
  store: MemoryStorage,
  model: ModelRecord,
  after: Promise<unknown> = Promise.resolve(),
): Promise<void> {
  return after.then(() => store.loadIndex(model)).catch(() => {});
}

/** JSON merge patch (RFC 7396): a null value removes the key, objects merge recursively. */
function mergePatch(target: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...target };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else if (
      typeof value === 'object' &&
      !Array.isArray(value) &&
      typeof out[key] === 'object' &&
      out[key] !== null &&
      !Array.isArray(out[key])
    ) {
      out[key] = mergePatch(out[key] as Record<string, unknown>, value as Record<string, unknown>);
    } else out[key] = value;
  }
  return out;
}

/** Below this much free space health warns (a captured tool event takes up to ~20 KB). */
const LOW_DISK_BYTES = 64 * 1024 * 1024;

function freeBytes(path: string): number | null {
  try {
    const s = statfsSync(dirname(path));
    return s.bavail * s.bsize;
  } catch {
    return null;
  }
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
