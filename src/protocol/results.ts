/**
 * What the operations answer: the result types of the wire contract (see ops.ts for the table). Types only, so the
 * thin clients can name them without loading anything.
 */
import type { ErrorBody } from './messages.js';

/** A memory as programs see it (the "full" form). Times are milliseconds since the Unix epoch. */
export interface Memory {
  hash: string;
  content: string;
  type: string;
  project: string | null;
  sessionId: string | null;
  tags: string[];
  metadata: Record<string, unknown>;
  createdAt: number;
  updatedAt: number;
  accessCount: number;
  lastAccessedAt: number | null;
}

/**
 * The compact form of a memory, made for an agent's context: an 8-character hash to refer back to it, a short preview,
 * its tags, when it was made and how well it matched.
 */
export interface CompactMemory {
  hash: string;
  preview: string;
  tags: string[];
  type: string;
  /** Milliseconds since the epoch. */
  created: number;
  score?: number;
}

/** A ranked memory in full: the 0..1 score and, where each side ran, its own score (see docs/search.md, "Scores"). */
export interface FullHit extends Memory {
  score: number;
  scores: { semantic?: number; keyword?: number };
}

/** Search, list, recall and searchByTag results, in the form `format` asked for. */
export type Listing = (
  | { format: 'compact'; results: CompactMemory[] }
  | { format: 'full'; results: FullHit[] }
  | { format: 'text'; text: string; tokens: number; shown: number; omitted: number }
) & {
  /** Set when the search could not be what was asked (semantic search is off until a reindex). */
  notice?: string;
};

export interface StoreResult {
  hash: string;
  created: boolean;
  memory: CompactMemory;
}

export interface DeleteResult {
  dryRun: boolean;
  /** Memories the filter matched. */
  matched: number;
  /** Memories removed (0 on a dry run). */
  deleted: number;
  /** Whether they went to the trash (restorable) rather than for good (`purge`). */
  trashed: boolean;
  /** The matched memories, compact, at most 100. */
  memories: CompactMemory[];
}

export interface TrashListing {
  /** Memories in the trash. */
  total: number;
  /** Days a deleted memory stays before the trash is emptied of it. */
  retentionDays: number;
  memories: (CompactMemory & { deletedAt: number })[];
}

export interface RestoreResult {
  restored: number;
  memories: CompactMemory[];
}

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

export interface BackupResult {
  /** Where the copy is. */
  file: string;
  bytes: number;
  ms: number;
  /** Older copies removed to keep the newest few (only for copies in the default folder). */
  removed: string[];
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

export interface EmbedderStats {
  /** Model calls made, and texts embedded by them. */
  calls: number;
  texts: number;
  cacheHits: number;
  cacheMisses: number;
  threads: number;
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
  embedder: EmbedderStats;
}

export interface TagCount {
  tag: string;
  count: number;
}

export interface ExportPage {
  memories: Memory[];
  /** Pass it back for the next page; null after the last one. */
  cursor: number | null;
}

export interface HelloResult {
  protocol: number;
  version: string;
  pid: number;
  uptimeMs: number;
  ready: boolean;
  model: { name: string; dimension: number } | null;
  /** Why the daemon is not ready, when it is not (loading, or a model error). */
  state: string;
  /** A one-line notice about the model in use (a fallback), or null. */
  notice: string | null;
}

export interface StatusResult {
  pid: number;
  version: string;
  protocol: number;
  state: string;
  uptimeSeconds: number;
  model: string | null;
  memories: number | null;
  dbBytes: number | null;
  dbPath: string | null;
  /** Bytes per table (indexes and FTS5/vec0 shadow tables with their table), as of the last retention pass. */
  dbTables: Record<string, number> | null;
  rssBytes: number;
  connections: number;
  requestsMs: { count: number; errors: number; p50: number; p95: number; p99: number };
  compressionQueue: Record<string, number> | null;
  /** The quantised vector index: vectors in it, and whether it has loaded (until then KNN is an exact scan). */
  vectorIndex: { size: number; ready: boolean } | null;
  notice: string | null;
  warnings: string[];
}

export interface HookResult {
  /** Exactly what the hook prints. */
  stdout: string;
  /** The status it exits with (never 2: that would block the agent). */
  exitCode: number;
}

export type BatchItem = { ok: true; result: unknown } | { ok: false; error: ErrorBody };

/** Latency percentiles in milliseconds over the most recent samples; `count` and `errors` since start. */
export interface Percentiles {
  count: number;
  errors: number;
  p50: number;
  p95: number;
  p99: number;
}

/** A captured Claude Code session, as a list shows it. Times are milliseconds since the epoch. */
export interface SessionInfo {
  id: string;
  project: string;
  source: string | null;
  model: string | null;
  startedAt: number;
  lastEventAt: number;
  endedAt: number | null;
  endReason: string | null;
  status: 'active' | 'ended' | 'summarized';
  prompts: number;
  toolEvents: number;
}

export interface SessionList {
  /** Sessions matching (before limit and offset). */
  total: number;
  sessions: SessionInfo[];
  /** Every project with captured sessions, most recently active first. */
  projects: { project: string; sessions: number; lastEventAt: number }[];
}

export interface ToolEvent {
  toolName: string;
  inputSummary: string;
  outcomeSummary: string;
  filesRead: string[];
  filesChanged: string[];
  isError: boolean;
  exitCode: number | null;
  durationMs: number | null;
  at: number;
}

/** What a hook put into the agent's context: the exact text, and the memories it named. */
export interface Injection {
  event: 'SessionStart' | 'UserPromptSubmit';
  /** The turn it was added to (UserPromptSubmit), or null (SessionStart). */
  promptNumber: number | null;
  text: string;
  hashes: string[];
  at: number;
}

export interface Turn {
  number: number;
  prompt: string;
  at: number;
  stoppedAt: number | null;
  lastAssistantMessage: string | null;
  tools: ToolEvent[];
  /** The observation compression made of this turn (null until it ran, or when it was deleted). */
  observation: Memory | null;
  /** Where the turn's compression is: pending, done, parked (with its error), or null when not queued yet. */
  compression: { status: string; error: string | null } | null;
}

export interface SessionDetail {
  session: SessionInfo & { cwd: string | null; transcriptPath: string | null };
  turns: Turn[];
  /** The session summary compression made (null until it ran). */
  summary: Memory | null;
  injections: Injection[];
}

export interface ParkedCompression {
  id: number;
  kind: 'turn' | 'session';
  sessionId: string;
  promptNumber: number;
  attempts: number;
  error: string;
}

export interface Metrics {
  /** Every request the daemon answered. */
  requestsMs: Percentiles;
  /** Hook requests by event: the daemon's time from parsed request to reply. */
  hooksMs: Record<string, Percentiles>;
  /** Compression queue counts by status (pending, done, parked). */
  queue: Record<string, number>;
  /** Parked compressions, newest first (at most 50). */
  parked: ParkedCompression[];
}

export interface Timeline {
  /** One entry per UTC day that has memories, oldest first: the day's start and its counts. */
  days: { day: number; count: number; byType: Record<string, number> }[];
  /** Memories created before the first day shown. */
  before: number;
}
