import type { HookHandler } from '../capture/hook.js';
import type { Engine, Hit, Ranked } from '../engine.js';
import { ErrorCode, MnemoError } from '../errors.js';
import { isOp, parseArgs, type Op, type ParsedArgs, type ResultOf, type ShapeArgs } from '../protocol/ops.js';
import { PROTOCOL_VERSION } from '../protocol/messages.js';
import type { BatchItem, FullHit, Listing, Memory, SessionInfo } from '../protocol/results.js';
import type { CaptureStorage } from '../store/storage.js';
import type { CompressionRow, SessionRow } from '../store/capture-store.js';
import { compactOf, relativeAge } from '../search/compact.js';
import { describe } from '../store/normalize.js';
import { renderCompact } from '../search/render.js';
import { VERSION } from '../version.js';
import type { KeyedLatency, LatencyRing } from './metrics.js';
import { ago, deleteText, keyValues, listingText, memoryText, plural, storeLine } from './text.js';

/** What a handler may use: the engine (null until the model is warm) and the daemon around it. */
export interface DaemonState {
  engine: Engine | null;
  hooks: HookHandler | null;
  /** A one-line notice about the model (a fallback in use), for hello and status. */
  notice: string | null;
  /** "loading model", "ready", or "failed to start: <why>" (config, model or database). */
  state: string;
  startedAt: number;
  latency: LatencyRing;
  /** Hook requests by event: the handler's time, parsed request to reply (the Health page shows it). */
  hookLatency: KeyedLatency;
  connections(): number;
  shutdown(): void;
}

export interface HandlerContext {
  daemon: DaemonState;
  /** The engine; the dispatcher only calls handlers that need it once it is ready. */
  engine: Engine;
  /** Runs one call of a batch (parse, readiness, handler), answered on its own. */
  call(op: string, args: unknown): Promise<BatchItem>;
}

/**
 * One entry per operation: `run` takes arguments the edge has parsed (protocol/ops.ts) and returns the op's result;
 * `text` renders that result for people (the CLI and the native client only print a string). `idle` operations
 * answer before the model is ready.
 */
export interface Handler<K extends Op> {
  idle?: true;
  run(ctx: HandlerContext, args: ParsedArgs<K>): ResultOf<K> | Promise<ResultOf<K>>;
  text(result: ResultOf<K>, args: ParsedArgs<K>, now: number): string;
}

const DEFAULT_TEXT_BUDGET = 500;

/** Ranked hits in the form the request asked for: compact lines (default), whole memories, or budgeted text. */
export function listing(ranked: Ranked, shape: ShapeArgs, o: { scores: boolean; now: number }): Listing {
  const notice = ranked.notice ? { notice: ranked.notice } : {};
  const format = shape.format ?? 'compact';
  if (format === 'full') {
    return { format, results: ranked.hits.map(fullHit), ...notice };
  }
  const compact = ranked.hits.map((h) =>
    compactOf(h.memory, { score: o.scores ? h.score : undefined, previewChars: shape.previewChars }),
  );
  if (format === 'compact') return { format, results: compact, ...notice };
  const rendered = renderCompact(compact, {
    budget: shape.budget ?? DEFAULT_TEXT_BUDGET,
    now: o.now,
    scores: o.scores,
    ...(shape.header ? { header: shape.header } : {}),
  });
  return { format, ...rendered, ...notice };
}

function fullHit(h: Hit): FullHit {
  return {
    ...h.memory,
    score: h.score,
    scores: {
      ...(h.semantic !== undefined ? { semantic: h.semantic } : {}),
      ...(h.keyword !== undefined ? { keyword: h.keyword } : {}),
    },
  };
}

const newestFirst = (memories: ReturnType<Engine['list']>): Ranked => ({
  hits: memories.map((memory) => ({ memory, score: 1 })),
});

/** One entry of `calls`, checked: `{op: string, args?: object | null}` and nothing else. */
function batchCall(c: unknown): { op: string; args?: Record<string, unknown> | null; problem?: string } {
  if (typeof c !== 'object' || c === null || Array.isArray(c))
    return { op: '', problem: `must be {op, args}, got ${describe(c)}` };
  const { op, args, ...rest } = c as Record<string, unknown>;
  if (typeof op !== 'string' || op.length === 0 || op.length > 64)
    return { op: '', problem: '`op` must be an op name' };
  const extra = Object.keys(rest);
  if (extra.length > 0) return { op, problem: `has an unknown key \`${extra[0]}\` (a call is {op, args})` };
  if (args !== undefined && args !== null && (typeof args !== 'object' || Array.isArray(args)))
    return { op, problem: '`args` must be an object' };
  return { op, ...(args ? { args: args as Record<string, unknown> } : {}) };
}

/** The capture tables, once the daemon is ready. */
function captureOf(daemon: DaemonState): CaptureStorage {
  if (!daemon.hooks) throw new MnemoError(ErrorCode.NOT_READY, 'capture is not ready');
  return daemon.hooks.capture;
}

function sessionInfo(r: SessionRow, prompts: number, toolEvents: number): SessionInfo {
  return {
    id: r.id,
    project: r.project,
    source: r.source,
    model: r.model,
    startedAt: r.started_at,
    lastEventAt: r.last_event_at,
    endedAt: r.ended_at,
    endReason: r.end_reason,
    status: r.status,
    prompts,
    toolEvents,
  };
}

export const HANDLERS: { [K in Op]: Handler<K> } = {
  hello: {
    idle: true,
    run: ({ daemon }) => ({
      protocol: PROTOCOL_VERSION,
      version: VERSION,
      pid: process.pid,
      uptimeMs: Date.now() - daemon.startedAt,
      ready: daemon.engine !== null,
      model: daemon.engine ? { name: daemon.engine.model.name, dimension: daemon.engine.model.dimension } : null,
      state: daemon.state,
      notice: daemon.notice,
    }),
    text: (r) => keyValues(r),
  },
  status: {
    idle: true,
    run: ({ daemon }) => {
      const engine = daemon.engine;
      const health = engine?.health();
      return {
        pid: process.pid,
        version: VERSION,
        protocol: PROTOCOL_VERSION,
        state: daemon.state,
        uptimeSeconds: Math.round((Date.now() - daemon.startedAt) / 1000),
        model: engine
          ? `${engine.model.name} (${engine.model.dimension} dimensions, ${engine.embedder.threads} workers)`
          : null,
        memories: health?.memories ?? null,
        dbBytes: health?.dbBytes ?? null,
        dbPath: health?.dbPath ?? null,
        dbTables: daemon.hooks?.retention.tableSizes() ?? null,
        rssBytes: process.memoryUsage().rss,
        connections: daemon.connections(),
        requestsMs: daemon.latency.percentiles(),
        compressionQueue: daemon.hooks?.capture.queueCounts() ?? null,
        vectorIndex: engine?.storage.indexState ?? null,
        notice: daemon.notice,
        warnings: [
          ...(health?.warnings ?? []),
          ...(daemon.hooks?.capture.parkedErrors(3) ?? []).map(
            (p) => `a ${p.kind} compression of session ${p.sessionId.slice(0, 8)} is parked: ${p.error}`,
          ),
        ],
      };
    },
    text: (r) => keyValues(r),
  },
  backup: {
    run: ({ engine }, a) => engine.backup(a.file),
    text: (r) =>
      `backed up the database to ${r.file} (${(r.bytes / 1048576).toFixed(1)} MiB, ${r.ms} ms)` +
      (r.removed.length ? `; removed ${r.removed.length} older ${plural(r.removed.length, 'copy', 'copies')}` : ''),
  },
  shutdown: {
    idle: true,
    run: ({ daemon }) => {
      setImmediate(() => daemon.shutdown());
      return { stopping: true };
    },
    text: () => 'the daemon is stopping',
  },
  batch: {
    /**
     * Runs calls in order, each answered on its own. The query texts of every search and recall in the batch are
     * embedded first, together, in one model call.
     */
    run: async (ctx, a) => {
      const calls = a.calls.map(batchCall);
      const queries = calls.flatMap((c) => {
        const q = c.args?.query;
        return (c.op === 'search' || c.op === 'recall') &&
          typeof q === 'string' &&
          q.trim() !== '' &&
          c.args?.mode !== 'keyword'
          ? [q]
          : [];
      });
      if (queries.length > 0) await ctx.engine.prepareQueries(queries);
      const out: BatchItem[] = [];
      for (const [i, c] of calls.entries()) {
        if (c.problem)
          out.push({ ok: false, error: { code: ErrorCode.BAD_ARGS, message: `calls[${i}] ${c.problem}` } });
        else if (c.op === 'batch')
          out.push({ ok: false, error: { code: ErrorCode.BAD_ARGS, message: 'a batch cannot contain another batch' } });
        else out.push(await ctx.call(c.op, c.args ?? {}));
      }
      return out;
    },
    text: (items, a, now) =>
      items
        .map((item, i) => {
          if (!item.ok) return `error ${item.error.code}: ${item.error.message}`;
          const call = batchCall(a.calls[i]);
          // The call ran, so its arguments parse; the text of some results depends on them.
          return isOp(call.op)
            ? HANDLERS[call.op].text(item.result as never, parseArgs(call.op, call.args ?? {}) as never, now)
            : JSON.stringify(item.result);
        })
        .join('\n\n'),
  },
  hook: {
    run: async ({ daemon }, a) => {
      if (!daemon.hooks) throw new MnemoError(ErrorCode.NOT_READY, 'hooks are not ready');
      const started = performance.now();
      let failed = true;
      try {
        const r = await daemon.hooks.handle(a.event, a.payload);
        failed = false;
        return r;
      } finally {
        daemon.hookLatency.add(a.event, performance.now() - started, failed);
      }
    },
    text: (r) => r.stdout,
  },
  store: {
    run: ({ engine }, a) => engine.store(a),
    text: (r) => storeLine(r),
  },
  storeBatch: {
    run: ({ engine }, a) => engine.storeBatch(a.memories),
    text: (list) => {
      const created = list.filter((x) => x.created).length;
      return `stored ${created} new, ${list.length - created} already known\n${list.map(storeLine).join('\n')}`;
    },
  },
  search: {
    run: async ({ engine }, a) => {
      const ranked = await engine.search({
        text: a.query,
        mode: a.mode ?? 'hybrid',
        limit: a.limit ?? 5,
        minScore: a.minScore ?? 0,
        recencyBoost: a.recencyBoost ?? 0,
        filter: engine.filter(a),
      });
      return listing(ranked, a, { scores: true, now: engine.now() });
    },
    text: (r, a, now) => listingText(r, { budget: a.budget, now }),
  },
  searchByTag: {
    run: ({ engine }, a) =>
      listing(newestFirst(engine.list(engine.filter(a), a.limit ?? 10, a.offset ?? 0)), a, {
        scores: false,
        now: engine.now(),
      }),
    text: (r, a, now) => listingText(r, { budget: a.budget, now }),
  },
  list: {
    run: ({ engine }, a) =>
      listing(newestFirst(engine.list(engine.filter(a), a.limit ?? 10, a.offset ?? 0)), a, {
        scores: false,
        now: engine.now(),
      }),
    text: (r, a, now) => listingText(r, { budget: a.budget, now }),
  },
  recall: {
    run: async ({ engine }, a) => {
      const { time, ...rest } = a;
      const ranked = await engine.recall(time, engine.filter(rest), {
        limit: a.limit ?? 10,
        query: a.query,
        mode: a.mode ?? 'hybrid',
        minScore: a.minScore,
      });
      return listing(ranked, a, {
        scores: ranked.hits.some((h) => h.semantic !== undefined || h.keyword !== undefined),
        now: engine.now(),
      });
    },
    text: (r, a, now) => listingText(r, { budget: a.budget, now }),
  },
  get: {
    run: ({ engine }, a) => engine.get(a.hash),
    text: (m, _a, now) => memoryText(m, now),
  },
  update: {
    run: ({ engine }, a) => engine.update(a.hash, a),
    text: (m, _a, now) => memoryText(m, now),
  },
  delete: {
    run: ({ engine }, a) => {
      const { hash, hashes, dryRun, purge, ...filter } = a;
      const given = [...(hash === undefined ? [] : [hash]), ...(hashes ?? [])];
      const list = given.length > 0 ? given : undefined;
      return engine.delete({
        hashes: list,
        filter: engine.filter(filter),
        dryRun: dryRun ?? false,
        purge: purge ?? false,
      });
    },
    text: (r, _a, now) => deleteText(r, now),
  },
  trash: {
    run: ({ engine }, a) => engine.trash(a.limit ?? 20, a.offset ?? 0),
    text: (r, _a, now) => {
      if (r.total === 0) return 'the trash is empty';
      const lines = renderCompact(r.memories, { budget: 100_000, now, scores: false }).text;
      const more = r.total > r.memories.length ? `\n(+${r.total - r.memories.length} more)` : '';
      return (
        `${r.total} deleted ${plural(r.total, 'memory', 'memories')}, kept ${r.retentionDays} days ` +
        `(\`mnemo restore <hash>\` brings one back)\n${lines}${more}`
      );
    },
  },
  restore: {
    run: ({ engine }, a) => engine.restore(a.all ? 'all' : (a.hashes ?? [])),
    text: (r, _a, now) =>
      `restored ${r.restored} ${plural(r.restored, 'memory', 'memories')}` +
      (r.restored ? `\n${renderCompact(r.memories, { budget: 100_000, now, scores: false }).text}` : ''),
  },
  health: {
    run: ({ engine }) => engine.health(),
    text: (r) => keyValues(r),
  },
  stats: {
    run: ({ engine }) => engine.stats(),
    text: (r) => keyValues(r),
  },
  tags: {
    run: ({ engine }, a) => engine.tags(a.limit ?? 1000, a.project),
    text: (tags) => {
      if (tags.length === 0) return 'no tags';
      const width = Math.max(...tags.map((t) => String(t.count).length));
      return tags.map((t) => `${String(t.count).padStart(width)}  ${t.tag}`).join('\n');
    },
  },
  export: {
    run: ({ engine }, a) => engine.exportPage(a.cursor ?? 0, a.limit ?? 500),
    // One memory per line, then the cursor to pass for the next page (none after the last).
    text: (r) =>
      [
        ...r.memories.map((m) => JSON.stringify(m)),
        r.cursor === null ? '(last page)' : `(next page: cursor ${r.cursor})`,
      ].join('\n'),
  },
  sessions: {
    run: ({ daemon }, a) => {
      const capture = captureOf(daemon);
      const { total, rows } = capture.sessions(a.project, a.limit ?? 20, a.offset ?? 0);
      return {
        total,
        sessions: rows.map((r) => sessionInfo(r, r.prompts, r.tool_events)),
        projects: capture.sessionProjects(),
      };
    },
    text: (r, _a, now) =>
      r.sessions.length === 0
        ? 'no captured sessions'
        : r.sessions
            .map(
              (s) =>
                `${s.id}  ${s.status.padEnd(10)} ${relativeAge(s.lastEventAt, now).padStart(4)}  ` +
                `${s.prompts} ${plural(s.prompts, 'turn', 'turns')}, ${s.toolEvents} tool events  ${s.project}`,
            )
            .join('\n') + (r.total > r.sessions.length ? `\n(${r.total} in all)` : ''),
  },
  session: {
    run: ({ daemon, engine }, a) => {
      const capture = captureOf(daemon);
      const row = capture.session(a.id);
      if (!row) throw new MnemoError(ErrorCode.NOT_FOUND, `no captured session '${a.id.slice(0, 200)}'`);
      const prompts = capture.prompts(a.id);
      const events = capture.toolEvents(a.id);
      const compressions = capture.compressions(a.id);
      const injections = capture.injections(a.id);
      const turnJob = new Map<number, CompressionRow>();
      for (const c of compressions) if (c.kind === 'turn') turnJob.set(c.prompt_number, c);
      const rollups = compressions.filter((c) => c.kind === 'session' && c.memory_hash);
      const memories = engine.peek(compressions.flatMap((c) => (c.memory_hash ? [c.memory_hash] : [])));
      const memoryOf = (c: CompressionRow | undefined): Memory | null =>
        (c?.memory_hash && memories.get(c.memory_hash)) || null;
      return {
        session: {
          ...sessionInfo(row, prompts.length, events.length),
          cwd: row.cwd,
          transcriptPath: row.transcript_path,
        },
        turns: prompts.map((p) => {
          const job = turnJob.get(p.prompt_number);
          return {
            number: p.prompt_number,
            prompt: p.text,
            at: p.created_at,
            stoppedAt: p.stopped_at,
            lastAssistantMessage: p.last_assistant_message,
            tools: events
              .filter((e) => e.prompt_number === p.prompt_number)
              .map((e) => ({
                toolName: e.tool_name,
                inputSummary: e.input_summary,
                outcomeSummary: e.outcome_summary,
                filesRead: JSON.parse(e.files_read) as string[],
                filesChanged: JSON.parse(e.files_changed) as string[],
                isError: e.is_error === 1,
                exitCode: e.exit_code,
                durationMs: e.duration_ms,
                at: e.created_at,
              })),
            observation: memoryOf(job),
            compression: job ? { status: job.status, error: job.last_error } : null,
          };
        }),
        // The newest rollup: a session that went on after one is rolled up again.
        summary: memoryOf(rollups.at(-1)),
        injections: injections.map((i) => ({
          event: i.event,
          promptNumber: i.prompt_number,
          text: i.text,
          hashes: JSON.parse(i.hashes) as string[],
          at: i.created_at,
        })),
      };
    },
    text: (r, _a, now) =>
      [
        `session ${r.session.id} in ${r.session.project} ` +
          `(${r.session.status}, started ${ago(r.session.startedAt, now)})`,
        ...r.turns.map(
          (t) =>
            `turn ${t.number}: ${t.prompt.slice(0, 100)}\n  ${t.tools.length} tool events; ` +
            (t.observation ? `observation ${t.observation.hash.slice(0, 8)}` : 'no observation yet'),
        ),
        r.summary ? `summary ${r.summary.hash.slice(0, 8)}` : 'no summary yet',
        `${r.injections.length} ${plural(r.injections.length, 'injection', 'injections')}`,
      ].join('\n'),
  },
  metrics: {
    idle: true,
    run: ({ daemon }) => {
      const capture = daemon.hooks?.capture;
      return {
        requestsMs: daemon.latency.percentiles(),
        hooksMs: daemon.hookLatency.percentiles(),
        queue: capture?.queueCounts() ?? {},
        parked: (capture?.parked(50) ?? []).map((p) => ({
          id: p.id,
          kind: p.kind,
          sessionId: p.session_id,
          promptNumber: p.prompt_number,
          attempts: p.attempts,
          error: p.last_error ?? '',
        })),
      };
    },
    text: (r) => keyValues(r),
  },
  timeline: {
    run: ({ engine }, a) => engine.timeline(a.days ?? 90, a.project),
    text: (r) =>
      r.days.map((d) => `${new Date(d.day).toISOString().slice(0, 10)}  ${d.count}`).join('\n') || 'no memories',
  },
  retryCompressions: {
    run: ({ daemon, engine }, a) => {
      const hooks = daemon.hooks;
      if (!hooks) throw new MnemoError(ErrorCode.NOT_READY, 'capture is not ready');
      const retried = hooks.capture.retryParked(a.all ? 'all' : (a.ids ?? []), engine.now());
      if (retried > 0) hooks.compressor.wake();
      return { retried };
    },
    text: (r) => `put ${r.retried} parked ${plural(r.retried, 'compression', 'compressions')} back in the queue`,
  },
  reindex: {
    run: ({ engine }, a) => engine.reindex(a.limit ?? 64),
    text: (x) =>
      `re-embedded ${x.reindexed} ${plural(x.reindexed, 'memory', 'memories')} with ${x.model}; ` +
      `${x.remaining} of ${x.total} still to do` +
      (x.dropped.length ? `; dropped the vectors of ${x.dropped.join(', ')}` : ''),
  },
};
