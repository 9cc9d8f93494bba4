import type { Memory, Stats, TagCount } from '../protocol/results.js';
import type {
  CompressionRow,
  InjectionRow,
  PendingRow,
  PromptRow,
  SessionFacts,
  SessionListRow,
  SessionRow,
  ToolEventFacts,
  ToolEventRow,
} from './capture-store.js';
import type { KeywordHit, MemoryPatch, NewMemory, VectorHit } from './memory-store.js';
import type { MemoryFilter, MemoryPlace, MemoryRow, ModelRecord } from './types.js';

/**
 * The storage contract: everything the engine, search and capture ask of a database, and nothing else. The SQLite
 * backend (memory-store.ts, capture-store.ts) implements it; a second backend (PostgreSQL with pgvector is planned)
 * implements these two interfaces and leaves search/, capture/ and the engine alone. docs/ARCHITECTURE.md, "Storage",
 * says what each group of methods promises.
 *
 * The methods are synchronous, as better-sqlite3 is (every call is one short query or one transaction, and the
 * embedder's async work happens before a write starts). A backend over a network connection needs the async form of
 * the same contract; that change (Promise results, awaited by the engine and the hook handler) is the first step of
 * that work.
 */
export interface MemoryStorage {
  /** Memories stored, kept as writes happen (a planning hint). */
  readonly memoryCount: number;
  /** Changes whenever memories, their tags or vectors may have changed (by this store or another connection). */
  changeMark(): string;

  // Models and their vector spaces: two models' vectors are never compared.
  attachModel(name: string, fingerprint: string, dimension: number): ModelRecord;
  models(): ModelRecord[];
  dropOtherModels(keep: ModelRecord): string[];
  vectorCoverage(model: ModelRecord): { withVector: number; withoutVector: number };
  idsMissingVector(model: ModelRecord, limit: number): number[];
  /** Loads the approximate KNN index of a model in the background; exact search serves until then. */
  loadIndex(model: ModelRecord): Promise<void>;
  /** Why the approximate index was given up (it failed to load or to take a vector), if it was. */
  indexFailure(): string | null;
  /** The approximate index's size and whether it has loaded; null when there is none. */
  readonly indexState: { size: number; ready: boolean } | null;

  // Writing: each call is atomic; an acknowledged write is durable.
  /**
   * Inserts new memories (with their vectors); a known hash merges its tags instead and comes back `created: false`.
   */
  insertMany(
    items: { memory: NewMemory; vector: Float32Array | null }[],
    model: ModelRecord,
  ): { row: MemoryRow; created: boolean }[];
  putVectors(items: { id: number; vector: Float32Array }[], model: ModelRecord): void;
  update(id: number, patch: MemoryPatch): void;
  /** Removes memories with their tags, index entries and vectors of every model; returns how many went. */
  deleteIds(ids: readonly number[]): number;

  // The trash: deleted memories kept for a while, whole (tags included), to be restored or emptied.
  /** Moves memories to the trash and deletes them (one transaction); returns how many went. */
  trashIds(ids: readonly number[], at: number): number;
  trashed(limit: number, offset?: number): { memory: Memory; deletedAt: number }[];
  trashCount(): number;
  fromTrashByHash(hashes: readonly string[] | 'all'): { memory: Memory; deletedAt: number }[];
  emptyTrash(which: { hashes: readonly string[] } | { before: number }): number;
  /** Counts a read of these memories (written later, in one batch, by flushAccess). */
  touch(ids: readonly number[], at?: number): void;
  flushAccess(): void;

  // Reading.
  rowByHash(hash: string): MemoryRow | undefined;
  /** By full hash or a unique prefix of 6+ hex digits; E_NOT_FOUND, E_AMBIGUOUS (with candidates) otherwise. */
  resolve(hashOrPrefix: string, field?: string): MemoryRow;
  rowsByIds(ids: readonly number[]): Map<number, MemoryRow>;
  tagsOf(ids: readonly number[]): Map<number, string[]>;
  toMemory(row: MemoryRow, tags?: string[]): Memory;
  /** Matching memories, newest first. */
  list(filter: MemoryFilter, limit: number, offset?: number): MemoryRow[];
  count(filter?: MemoryFilter): number;
  idsMatching(filter: MemoryFilter): number[];
  rowsAfter(afterId: number, limit: number): MemoryRow[];

  // Retrieval, with the filter applied inside each (never after a cut).
  /** Nearest vectors of `model` by cosine distance, best first. */
  nearest(vector: Float32Array, k: number, model: ModelRecord, filter?: MemoryFilter): VectorHit[];
  /** Documents holding each term (terms no memory holds are left out). */
  termDocs(terms: readonly string[]): Map<string, number>;
  /** Full-text matches for an FTS query, FTS5's BM25 best first, each with its text and FTS5 length. */
  keyword(ftsQuery: string, k: number, filter?: MemoryFilter): KeywordHit[];
  /** The full-text index's row and token counts (FTS5's own), or null when they cannot be read. */
  ftsTotals(): { docs: number; tokens: number } | null;
  /** Each memory's project, session and creation time. */
  placesOf(ids: readonly number[]): Map<number, MemoryPlace>;
  /** For each id, the memories just before and after it in time (same project, within windowMs), within the filter. */
  neighbours(
    ids: readonly number[],
    windowMs: number,
    filter?: MemoryFilter,
  ): { id: number; prev: number | null; next: number | null }[];

  // Describing.
  tagCounts(limit: number, project?: string): TagCount[];
  statistics(): Omit<Stats, 'embedder'>;
  /** Memories created per UTC day and type since `since` (optionally in one project), and how many before it. */
  createdPerDay(
    since: number,
    project: string | undefined,
  ): { rows: { day: number; type: string; count: number }[]; before: number };
  versions(): { sqlite: string; sqliteVec: string };

  /** A consistent copy of the whole database (memories and capture tables) into `file`, while others keep working. */
  backup(file: string): Promise<void>;

  /** The capture tables of the same database (one store object per call site; cheap). */
  capture(): CaptureStorage;

  /** Writes what is pending, checkpoints, closes. */
  close(): void;
}

/** The capture tables: sessions, prompts, tool events, the compression queue, and what each session was given. */
export interface CaptureStorage {
  // One transaction per hook event, committed before the reply.
  sessionStart(session: SessionFacts, now: number): { abandoned: string[] };
  userPrompt(
    session: SessionFacts,
    prompt: { promptId?: string | undefined; text: string },
    now: number,
  ): { prompt: PromptRow; created: boolean };
  toolUse(session: SessionFacts, event: ToolEventFacts, now: number): { created: boolean };
  stop(session: SessionFacts, turnEnd: { promptId?: string | undefined; message: string | null }, now: number): void;
  sessionEnd(session: SessionFacts, reason: string, now: number): void;
  endIdleSessions(idleMs: number, now: number): number;

  // Reading a session back for compression and context.
  session(id: string): SessionRow | undefined;
  previousSession(project: string, exceptId: string): SessionRow | undefined;
  prompt(sessionId: string, number: number): PromptRow | undefined;
  prompts(sessionId: string): PromptRow[];
  lastPrompt(sessionId: string): PromptRow | undefined;
  toolEvents(sessionId: string, number?: number): ToolEventRow[];
  markSummarized(sessionId: string): void;

  // The compression queue: a second enqueue of the same work is a no-op; failures back off, then park.
  enqueue(kind: 'turn' | 'session', sessionId: string, promptNumber: number, now: number): void;
  due(now: number, limit: number): PendingRow[];
  hasPending(): boolean;
  markDone(id: number, memoryHash: string | null): void;
  markFailed(id: number, error: string, now: number, maxAttempts: number): 'retry' | 'parked';
  queueCounts(): Record<string, number>;
  /** The parked items' errors, newest first. */
  parkedErrors(limit: number): { kind: string; sessionId: string; error: string }[];

  // Raw payload retention: delete old payloads in batches, then give the space back a few pages at a time.
  prunePayloads(before: number, limit: number): number;
  reclaimPages(pages: number): number;
  /** Bytes on disk per table (indexes and shadow tables included), largest first; null when it cannot tell. */
  tableSizes(): Record<string, number> | null;

  // What context a session was given, so it is never given twice.
  given(sessionId: string): Set<string>;
  recordGiven(sessionId: string, hashes: readonly string[], now: number): void;
  /** The memories given (as recordGiven) and the text that carried them, for people to read back. */
  recordInjection(
    sessionId: string,
    event: 'SessionStart' | 'UserPromptSubmit',
    promptNumber: number | null,
    hashes: readonly string[],
    text: string,
    now: number,
  ): void;

  // Reading capture back for people (`mnemo ui`).
  sessions(project: string | undefined, limit: number, offset: number): { total: number; rows: SessionListRow[] };
  sessionProjects(): { project: string; sessions: number; lastEventAt: number }[];
  injections(sessionId: string): InjectionRow[];
  compressions(sessionId: string): CompressionRow[];
  /** Parked compressions, newest first. */
  parked(limit: number): CompressionRow[];
  retryParked(ids: readonly number[] | 'all', now: number): number;
}
