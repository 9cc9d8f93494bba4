import { z } from 'zod';
import { isFiltering } from '../store/filter.js';
import { describe } from '../store/normalize.js';
import {
  absolutePath,
  badArgsFrom,
  bool,
  hash,
  int,
  list,
  memoryType,
  memoryTypes,
  metadata,
  num,
  oneOf,
  tags,
  text,
  time,
  words,
} from './fields.js';
import { OP_NAMES, type Op } from './op-names.js';
import type {
  BackupResult,
  BatchItem,
  DeleteResult,
  ExportPage,
  Health,
  HelloResult,
  HookResult,
  Listing,
  Memory,
  Metrics,
  ReindexResult,
  RestoreResult,
  SessionDetail,
  SessionList,
  Stats,
  StatusResult,
  StoreResult,
  TagCount,
  Timeline,
  TrashListing,
} from './results.js';

/**
 * The wire contract: every operation the daemon answers, with the schema of its arguments. The daemon parses a
 * request's arguments with it before anything runs (an unknown key or a bad value is an E_BAD_ARGS naming the field,
 * and nothing is read or written); the CLI parses its flags with the same schema before it sends anything; the TS
 * client and the MCP adapter take their argument and result types from here. Adding an operation: one entry here,
 * its result type in `Results` below, and one handler in daemon/handlers.ts (docs/ARCHITECTURE.md, "The op table").
 */

export const SEARCH_MODES = ['hybrid', 'semantic', 'keyword'] as const;
export type SearchMode = (typeof SEARCH_MODES)[number];
export const FORMATS = ['compact', 'full', 'text'] as const;
export type ResultFormat = (typeof FORMATS)[number];
/** The Claude Code lifecycle events mnemo answers. */
export const HOOK_EVENTS = [
  'SessionStart',
  'UserPromptSubmit',
  'PreToolUse',
  'PostToolUse',
  'Stop',
  'SessionEnd',
] as const;
export type HookEvent = (typeof HOOK_EVENTS)[number];

export const MAX_LIMIT = 100;
export const MAX_BATCH = 1000;
export const MAX_BATCH_CALLS = 256;
export const MAX_QUERY_CHARS = 100_000;

/** What narrows a set of memories; every field optional, all given fields must hold. */
const filterFields = {
  project: text(4096).opt,
  sessionId: text(200).opt,
  type: memoryTypes().opt,
  tags: tags().opt,
  tagMode: oneOf(['any', 'all'] as const).opt,
  since: time().opt,
  until: time().opt,
  /** A time expression ("last week"), resolved against the daemon's clock. */
  time: text(200).opt,
};

/** How a listing is shaped: compact lines (default), whole memories, or text within a token budget. */
const shapeFields = {
  format: oneOf(FORMATS).opt,
  previewChars: int(20, 2000).opt,
  budget: int(1, 100_000).opt,
  header: text(500).opt,
};

/** A token budget and a header only shape text; given for another format they would be silently ignored. */
function shapeChecks(
  a: { format?: string | undefined; budget?: number | undefined; header?: string | undefined },
  ctx: z.RefinementCtx,
): void {
  for (const key of ['budget', 'header'] as const) {
    if (a[key] !== undefined && a.format !== 'text')
      ctx.addIssue({ code: 'custom', path: [key], message: "only applies with `format: 'text'`" });
  }
}

/** Both checks, for the listing ops. */
function listingChecks(
  a: FilterShape & { format?: string | undefined; budget?: number | undefined; header?: string | undefined },
  ctx: z.RefinementCtx,
): void {
  filterChecks(a, ctx);
  shapeChecks(a, ctx);
}

const rankFields = {
  mode: oneOf(SEARCH_MODES).opt,
  minScore: num(0, 1).opt,
};

type FilterShape = {
  tags?: string[] | undefined;
  tagMode?: 'any' | 'all' | undefined;
  since?: number | undefined;
  until?: number | undefined;
};

/** Checks that span fields: a tag mode with no tags, an empty time range. */
function filterChecks(a: FilterShape, ctx: z.RefinementCtx): void {
  // 'any' is the default, so only 'all' asks for something that is not there (JSON clients often send the default).
  if (a.tagMode === 'all' && (a.tags === undefined || a.tags.length === 0)) {
    ctx.addIssue({ code: 'custom', path: ['tagMode'], message: 'needs `tags` (which tags must all match?)' });
  }
  if (a.since !== undefined && a.until !== undefined && a.since >= a.until) {
    ctx.addIssue({ code: 'custom', path: ['since'], message: 'must be before `until` (the time range is empty)' });
  }
}

interface OpSpec<S extends z.ZodRawShape, Out> {
  summary: string;
  args: z.ZodType<Out, z.ZodTypeDef, z.input<z.ZodObject<S, 'strict'>>>;
  keys: readonly string[];
  /** Why the CLI has no command for it, when it has none. */
  notInCli?: string;
  /** Why the MCP adapter has no tool for it, when it has none. */
  notInMcp?: string;
}

function op<S extends z.ZodRawShape, Out = z.output<z.ZodObject<S, 'strict'>>>(
  summary: string,
  shape: S,
  options: {
    refine?: (a: z.output<z.ZodObject<S, 'strict'>>, ctx: z.RefinementCtx) => void;
    notInCli?: string;
    notInMcp?: string;
  } = {},
): OpSpec<S, Out> {
  const object = z.object(shape).strict();
  const args = (options.refine ? object.superRefine(options.refine) : object) as unknown as OpSpec<S, Out>['args'];
  return {
    summary,
    args,
    keys: Object.keys(shape),
    ...(options.notInCli ? { notInCli: options.notInCli } : {}),
    ...(options.notInMcp ? { notInMcp: options.notInMcp } : {}),
  };
}

/** The reason the ops that feed the web page have no command or tool of their own. */
const UI_ONLY = 'read and acted on through `mnemo ui`';

/** A new memory, as `store` and each item of `storeBatch` take it. */
const newMemory = {
  content: z.custom<string>(
    (v) => contentProblem(v) === null,
    (v) => ({ message: contentProblem(v) ?? '' }),
    true,
  ),
  type: memoryType().opt,
  project: text(4096).opt,
  sessionId: text(200).opt,
  tags: tags().opt,
  metadata: metadata().opt,
  createdAt: time().opt,
  // An import keeps the times and access history it was exported with.
  updatedAt: time().opt,
  accessCount: int(0, Number.MAX_SAFE_INTEGER).opt,
  lastAccessedAt: time().opt,
};
/** Content is normalised (and checked again) by the engine; here only what can never be stored is refused. */
function contentProblem(v: unknown): string | null {
  if (v === undefined) return 'is required';
  if (typeof v !== 'string') return `must be a string, got ${describe(v)}`;
  if (!v.isWellFormed())
    return 'is not valid Unicode text (it holds a lone surrogate, which cannot be stored as UTF-8)';
  if (v.trim().length === 0) return 'must not be empty';
  return null;
}
const newMemoryObject = z.object(newMemory).strict();

export const OPS = {
  hello: op(
    'protocol and package versions, the model, readiness',
    {},
    { notInCli: '`mnemo status` and `mnemo start` show it', notInMcp: 'a transport detail; memory_health covers it' },
  ),
  status: op('the running daemon: pid, uptime, model, counts, latency', {}, { notInMcp: 'memory_health covers it' }),
  batch: op(
    'several calls in one round trip, their query texts embedded together',
    {
      // Each call is checked on its own when it runs, so one malformed entry is one error item, not a failed batch.
      calls: list(
        z.custom<{ op: string; args?: Record<string, unknown> | null }>(() => true),
        MAX_BATCH_CALLS,
      ),
    },
    { notInCli: 'for programs and hooks (`mnemo-client batch`)', notInMcp: 'MCP clients make separate tool calls' },
  ),
  hook: op(
    'one Claude Code hook event: its raw stdin in, what the hook prints out',
    {
      event: oneOf(HOOK_EVENTS).req,
      payload: z
        .custom<Uint8Array | string | null | undefined>(
          (v) => v === undefined || v === null || typeof v === 'string' || v instanceof Uint8Array,
          (v) => ({ message: `must be the hook input as bytes or text, got ${describe(v)}` }),
          true,
        )
        .transform((v) =>
          v === undefined || v === null
            ? Buffer.alloc(0)
            : typeof v === 'string'
              ? Buffer.from(v, 'utf8')
              : Buffer.from(v.buffer, v.byteOffset, v.byteLength),
        ),
    },
    {
      notInCli: 'the native client runs hooks (`mnemo-client hook EVENT`)',
      notInMcp: 'hooks come from Claude Code, not from tools',
    },
  ),
  store: op('store one memory (content is its identity: storing it again merges tags)', newMemory),
  storeBatch: op(
    'store many memories in one transaction and one model call',
    { memories: list(newMemoryObject, MAX_BATCH) },
    { notInCli: '`mnemo import` sends batches', notInMcp: 'store_memory stores one at a time' },
  ),
  search: op(
    'rank memories for a query (hybrid, semantic or keyword), filtered',
    {
      query: words(MAX_QUERY_CHARS).req,
      ...rankFields,
      limit: int(1, MAX_LIMIT).opt,
      recencyBoost: num(0, 1).opt,
      ...filterFields,
      ...shapeFields,
    },
    { refine: listingChecks },
  ),
  searchByTag: op(
    'memories carrying any (or all) of the tags, newest first',
    { ...filterFields, tags: tags().req, limit: int(1, MAX_LIMIT).opt, offset: int(0, 1_000_000).opt, ...shapeFields },
    {
      refine: (a, ctx) => {
        if (a.tags.length === 0)
          ctx.addIssue({ code: 'custom', path: ['tags'], message: 'must hold at least one tag' });
        listingChecks(a, ctx);
      },
      notInCli: '`mnemo list -t TAG` lists by tag',
    },
  ),
  list: op(
    'memories matching the filters, newest first',
    { ...filterFields, limit: int(1, MAX_LIMIT).opt, offset: int(0, 1_000_000).opt, ...shapeFields },
    { refine: listingChecks, notInMcp: 'recall_memory and search_by_tag list for agents' },
  ),
  recall: op(
    'memories from a time in words, newest first or ranked by a query within that time ' +
      '(without `time`, the time is found in the query, as in "what did we decide last week")',
    { ...filterFields, query: text(MAX_QUERY_CHARS).opt, ...rankFields, limit: int(1, MAX_LIMIT).opt, ...shapeFields },
    {
      refine: (a, ctx) => {
        if (a.time === undefined && (a.query === undefined || a.query.trim() === '')) {
          ctx.addIssue({
            code: 'custom',
            path: ['time'],
            message: "is required (or a `query` holding one), for example 'yesterday' or 'last week'",
          });
        }
        listingChecks(a, ctx);
      },
    },
  ),
  get: op('one memory in full, by hash or a unique prefix of 6+ characters', { hash: hash().req }),
  update: op(
    "change a memory's tags, type or metadata (content is its identity and cannot change)",
    {
      hash: hash().req,
      type: memoryType().opt,
      tags: tags().opt,
      addTags: tags().opt,
      removeTags: tags().opt,
      metadata: metadata().opt,
      replaceMetadata: bool().opt,
      content: z
        .custom<null | undefined>(
          (v) => v === undefined || v === null,
          { message: 'cannot be changed (a memory is identified by its content); store a new memory instead' },
          true,
        )
        .optional(),
    },
    {
      refine: (a, ctx) => {
        if ([a.type, a.tags, a.addTags, a.removeTags, a.metadata].every((v) => v === undefined)) {
          ctx.addIssue({
            code: 'custom',
            message: 'nothing to update: give `tags`, `addTags`, `removeTags`, `type` or `metadata`',
          });
        }
        if (a.replaceMetadata !== undefined && a.metadata === undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['replaceMetadata'],
            message: 'needs `metadata` (what to replace it with)',
          });
        }
      },
      notInMcp: 'not in the peer tool set; agents store a new memory',
    },
  ),
  delete: op(
    'move memories to the trash by hash, or by a filter (never an empty one); ' +
      'dryRun shows what would go, purge deletes for good',
    {
      hash: hash().opt,
      hashes: list(hash().req, MAX_BATCH).nullish(),
      ...filterFields,
      dryRun: bool().opt,
      purge: bool().opt,
    },
    {
      refine: (a, ctx) => {
        filterChecks(a, ctx);
        // Deleting is never more than was asked for: no hash and nothing that narrows is refused here, at the edge
        // (the engine refuses it again; store/filter.ts isFiltering is the one definition of "narrows").
        const narrows = isFiltering({ ...a, types: a.type, ...(a.time !== undefined ? { since: a.since ?? 0 } : {}) });
        if (a.hash === undefined && (a.hashes ?? undefined) === undefined && !narrows) {
          ctx.addIssue({
            code: 'custom',
            message:
              'refusing to delete with an empty filter: give `hashes`, `tags`, ' +
              'a time range (`since`, `until` or `time`), `project`, `sessionId` or `type`',
          });
        }
      },
    },
  ),
  trash: op(
    'the deleted memories still restorable, most recently deleted first',
    { limit: int(1, MAX_LIMIT).opt, offset: int(0, 1_000_000).opt },
    { notInMcp: 'not in the peer tool set; a person restores' },
  ),
  restore: op(
    'bring memories back from the trash (content, tags, metadata, times), by hash or all',
    { hashes: list(hash().req, MAX_BATCH).nullish(), all: bool().opt },
    {
      refine: (a, ctx) => {
        if ((a.hashes ?? undefined) === undefined && a.all !== true)
          ctx.addIssue({ code: 'custom', message: 'give `hashes`, or `all: true` to restore the whole trash' });
        if ((a.hashes ?? undefined) !== undefined && a.all === true)
          ctx.addIssue({ code: 'custom', path: ['all'], message: 'cannot be given with `hashes`' });
      },
      notInMcp: 'not in the peer tool set; a person restores',
    },
  ),
  health: op(
    'database and model status, counts, size',
    {},
    { notInCli: '`mnemo status` and `mnemo doctor` report it' },
  ),
  stats: op(
    'counts by type, project and tag; the embedder',
    {},
    { notInCli: '`mnemo status --json` and `mnemo tags` cover it', notInMcp: 'memory_health covers it' },
  ),
  tags: op(
    'every tag with how many memories carry it',
    { limit: int(1, 100_000).opt, project: text(4096).opt },
    { notInMcp: 'not in the peer tool set' },
  ),
  export: op(
    'whole memories a page at a time, for a lossless export',
    { cursor: int(0, Number.MAX_SAFE_INTEGER).opt, limit: int(1, 1000).opt },
    { notInMcp: 'bulk data is for the CLI' },
  ),
  reindex: op(
    'embed the next memories a model switch left without a vector',
    { limit: int(1, 1000).opt },
    { notInMcp: 'maintenance is for the CLI' },
  ),
  backup: op(
    'a consistent copy of the database, taken while the daemon serves (default: backups/ beside it; the newest 5 kept)',
    { file: absolutePath(4096).opt },
    { notInMcp: 'maintenance is for the CLI' },
  ),
  sessions: op(
    'captured Claude Code sessions, most recently active first, with the projects that have any',
    { project: text(4096).opt, limit: int(1, MAX_LIMIT).opt, offset: int(0, 1_000_000).opt },
    { notInCli: UI_ONLY, notInMcp: UI_ONLY },
  ),
  session: op(
    'one captured session: its turns (prompt, tool events, observation), its summary, and what was injected',
    { id: words(200).req },
    { notInCli: UI_ONLY, notInMcp: UI_ONLY },
  ),
  metrics: op(
    'request and per-hook-event latency percentiles, the compression queue and its parked items',
    {},
    {
      notInCli: '`mnemo status` shows the request latency and the queue; the rest is for `mnemo ui`',
      notInMcp: UI_ONLY,
    },
  ),
  timeline: op(
    'memories created per day (by type) over the last `days` days',
    { days: int(1, 3660).opt, project: text(4096).opt },
    { notInCli: UI_ONLY, notInMcp: UI_ONLY },
  ),
  retryCompressions: op(
    'put parked compressions (by id, or all) back in the queue',
    {
      ids: list(int(1, Number.MAX_SAFE_INTEGER).req, MAX_BATCH).nullish(),
      all: bool().opt,
    },
    {
      refine: (a, ctx) => {
        if ((a.ids ?? undefined) === undefined && a.all !== true)
          ctx.addIssue({ code: 'custom', message: 'give `ids`, or `all: true` to retry every parked compression' });
        if ((a.ids ?? undefined) !== undefined && a.all === true)
          ctx.addIssue({ code: 'custom', path: ['all'], message: 'cannot be given with `ids`' });
      },
      notInCli: UI_ONLY,
      notInMcp: 'maintenance is for people',
    },
  ),
  shutdown: op(
    'stop the daemon (it answers first)',
    {},
    { notInCli: '`mnemo stop` sends it', notInMcp: 'agents do not stop the daemon' },
  ),
} as const;

export { OP_NAMES, type Op };
export const isOp = (name: string): name is Op => Object.hasOwn(OPS, name);
// The table has exactly the ops of op-names.ts (which the thin clients use without loading zod).
const tableMatchesNames: Same<keyof typeof OPS, Op> = true;
void tableMatchesNames;

/** What a caller sends for an operation. */
export type ArgsOf<K extends Op> = z.input<(typeof OPS)[K]['args']>;
/** What the daemon's handler gets once the edge has parsed it: checked, normalised, defaults still unset. */
export type ParsedArgs<K extends Op> = z.output<(typeof OPS)[K]['args']>;
export type NewMemoryArgs = z.output<typeof newMemoryObject>;
export type FilterArgs = Pick<ParsedArgs<'list'>, keyof typeof filterFields>;
export type ShapeArgs = Pick<ParsedArgs<'list'>, keyof typeof shapeFields>;

/** What each operation answers. */
export interface Results {
  hello: HelloResult;
  status: StatusResult;
  batch: BatchItem[];
  hook: HookResult;
  store: StoreResult;
  storeBatch: StoreResult[];
  search: Listing;
  searchByTag: Listing;
  list: Listing;
  recall: Listing;
  get: Memory;
  update: Memory;
  delete: DeleteResult;
  trash: TrashListing;
  restore: RestoreResult;
  health: Health;
  stats: Stats;
  tags: TagCount[];
  export: ExportPage;
  reindex: ReindexResult;
  backup: BackupResult;
  sessions: SessionList;
  session: SessionDetail;
  metrics: Metrics;
  timeline: Timeline;
  retryCompressions: { retried: number };
  shutdown: { stopping: boolean };
}
export type ResultOf<K extends Op> = Results[K];
// Every op has a result type and every result type an op.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const resultsCoverOps: Same<keyof Results, Op> = true;
void resultsCoverOps;

/** Parses an operation's arguments; throws E_BAD_ARGS naming every bad or unknown field. */
export function parseArgs<K extends Op>(name: K, args: unknown): ParsedArgs<K> {
  const spec = OPS[name];
  const r = spec.args.safeParse(args ?? {});
  if (!r.success) throw badArgsFrom(r.error, [...spec.keys, ...Object.keys(newMemory)]);
  return r.data;
}
