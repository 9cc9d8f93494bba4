import type { Statement } from 'better-sqlite3';
import { statementCache, type Db } from './db.js';
import type { CaptureStorage } from './storage.js';

/**
 * What the capture tables are told about the session an event belongs to. Values arrive already cleaned: redacted,
 * capped and summarised by capture/record.ts; this file only stores them.
 */
export interface SessionFacts {
  sessionId: string;
  /** The project's root folder. */
  project: string;
  cwd?: string | undefined;
  source?: string | undefined;
  model?: string | undefined;
  transcriptPath?: string | undefined;
}

export interface ToolEventFacts {
  /** Claude Code's tool_use_id, or one derived from the payload when it sent none. */
  toolUseId: string;
  promptId?: string | undefined;
  toolName: string;
  inputSummary: string;
  outcomeSummary: string;
  filesRead: string[];
  filesChanged: string[];
  isError: boolean;
  exitCode: number | null;
  durationMs?: number | undefined;
  /** The raw payload, redacted and capped. */
  payload: { text: string; truncated: boolean };
}

export interface SessionRow {
  id: string;
  project: string;
  cwd: string | null;
  source: string | null;
  model: string | null;
  transcript_path: string | null;
  started_at: number;
  last_event_at: number;
  ended_at: number | null;
  end_reason: string | null;
  status: 'active' | 'ended' | 'summarized';
}

export interface PromptRow {
  id: number;
  session_id: string;
  prompt_number: number;
  prompt_id: string | null;
  text: string;
  created_at: number;
  stopped_at: number | null;
  last_assistant_message: string | null;
}

export interface ToolEventRow {
  id: number;
  session_id: string;
  prompt_number: number;
  tool_use_id: string;
  tool_name: string;
  input_summary: string;
  outcome_summary: string;
  files_read: string;
  files_changed: string;
  is_error: number;
  exit_code: number | null;
  duration_ms: number | null;
  created_at: number;
}

export interface InjectionRow {
  event: 'SessionStart' | 'UserPromptSubmit';
  prompt_number: number | null;
  text: string;
  hashes: string;
  created_at: number;
}

export interface CompressionRow {
  id: number;
  kind: 'turn' | 'session';
  session_id: string;
  prompt_number: number;
  attempts: number;
  status: 'pending' | 'done' | 'parked';
  last_error: string | null;
  memory_hash: string | null;
}

/** A session row with its counts, for listings. */
export type SessionListRow = SessionRow & { prompts: number; tool_events: number };

export interface PendingRow {
  id: number;
  kind: 'turn' | 'session';
  session_id: string;
  prompt_number: number;
  attempts: number;
}

/**
 * The capture tables (all their SQL). Each hook event is one transaction, committed before the daemon replies, so an
 * acknowledged event survives a crash. Retries collapse on the natural keys (session + prompt id, session +
 * tool_use_id).
 */
export class CaptureStore implements CaptureStorage {
  private readonly sql: (sql: string) => Statement;

  constructor(readonly db: Db) {
    this.sql = statementCache(db);
  }

  /** Creates the session on first sight (any event may be the first one seen), and notes activity. */
  private touchSession(input: SessionFacts, now: number): void {
    this.sql(
      `INSERT INTO sessions (id, project, cwd, source, model, transcript_path, started_at, last_event_at)
         VALUES (@id, @project, @cwd, @source, @model, @transcript, @now, @now)
         ON CONFLICT (id) DO UPDATE SET last_event_at = max(last_event_at, @now),
           source = coalesce(source, @source), model = coalesce(@model, model),
           transcript_path = coalesce(@transcript, transcript_path),
           status = 'active', ended_at = NULL, end_reason = NULL`,
    ).run({
      id: input.sessionId,
      project: input.project,
      cwd: input.cwd ?? null,
      source: input.source ?? null,
      model: input.model ?? null,
      transcript: input.transcriptPath ?? null,
      now,
    });
  }

  session(id: string): SessionRow | undefined {
    return this.sql('SELECT * FROM sessions WHERE id = ?').get(id) as SessionRow | undefined;
  }

  /** SessionStart: records the session and returns other sessions of the project left open (no SessionEnd came). */
  sessionStart(input: SessionFacts, now: number): { abandoned: string[] } {
    return this.db.transaction(() => {
      this.touchSession(input, now);
      const abandoned = this.sql("SELECT id FROM sessions WHERE project = ? AND id != ? AND status = 'active'")
        .pluck()
        .all(input.project, input.sessionId) as string[];
      for (const id of abandoned) this.endSession(id, 'no SessionEnd (rolled up at the next session start)', now);
      return { abandoned };
    })();
  }

  /** UserPromptSubmit: the prompt becomes the next turn (a retry with the same prompt_id finds its first row). */
  userPrompt(
    input: SessionFacts,
    prompt: { promptId?: string | undefined; text: string },
    now: number,
  ): { prompt: PromptRow; created: boolean } {
    const { text, promptId } = prompt;
    return this.db.transaction(() => {
      this.touchSession(input, now);
      if (promptId) {
        const existing = this.sql('SELECT * FROM prompts WHERE session_id = ? AND prompt_id = ?').get(
          input.sessionId,
          promptId,
        ) as PromptRow | undefined;
        if (existing) return { prompt: existing, created: false };
      }
      if (!promptId) {
        // Without a prompt id, a retry is the same text arriving again right after the last prompt.
        const last = this.lastPrompt(input.sessionId);
        if (last && last.text === text && now - last.created_at < 10_000 && last.stopped_at === null) {
          return { prompt: last, created: false };
        }
      }
      const number = this.lastTurn(input.sessionId) + 1;
      this.sql(
        'INSERT INTO prompts (session_id, prompt_number, prompt_id, text, created_at) VALUES (?, ?, ?, ?, ?)',
      ).run(input.sessionId, number, promptId ?? null, text, now);
      // A turn whose Stop never came is compressed once the next prompt shows it is over.
      if (number > 1) this.enqueue('turn', input.sessionId, number - 1, now);
      return { prompt: this.prompt(input.sessionId, number)!, created: true };
    })();
  }

  lastPrompt(sessionId: string): PromptRow | undefined {
    return this.sql('SELECT * FROM prompts WHERE session_id = ? ORDER BY prompt_number DESC LIMIT 1').get(sessionId) as
      PromptRow | undefined;
  }

  /** The number of the session's last turn, 0 before its first prompt. */
  private lastTurn(sessionId: string): number {
    return (
      (this.sql('SELECT max(prompt_number) FROM prompts WHERE session_id = ?').pluck().get(sessionId) as
        number | null) ?? 0
    );
  }

  private turnOf(sessionId: string, promptId: string | undefined): number {
    if (promptId) {
      const n = this.sql('SELECT prompt_number FROM prompts WHERE session_id = ? AND prompt_id = ?')
        .pluck()
        .get(sessionId, promptId) as number | undefined;
      if (n !== undefined) return n;
    }
    return this.lastTurn(sessionId);
  }

  /** PostToolUse: one row per tool_use_id, its raw payload (redacted, capped) beside it. */
  toolUse(input: SessionFacts, e: ToolEventFacts, now: number): { created: boolean } {
    return this.db.transaction(() => {
      this.touchSession(input, now);
      const info = this.sql(
        `INSERT INTO tool_events (session_id, prompt_number, tool_use_id, tool_name, input_summary, outcome_summary,
             files_read, files_changed, is_error, exit_code, duration_ms, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (session_id, tool_use_id) DO NOTHING`,
      ).run(
        input.sessionId,
        this.turnOf(input.sessionId, e.promptId),
        e.toolUseId,
        e.toolName,
        e.inputSummary,
        e.outcomeSummary,
        JSON.stringify(e.filesRead),
        JSON.stringify(e.filesChanged),
        e.isError ? 1 : 0,
        e.exitCode,
        e.durationMs ?? null,
        now,
      );
      if (info.changes === 0) return { created: false };
      this.sql('INSERT INTO tool_event_payloads (event_id, payload, truncated, created_at) VALUES (?, ?, ?, ?)').run(
        info.lastInsertRowid,
        e.payload.text,
        e.payload.truncated ? 1 : 0,
        now,
      );
      return { created: true };
    })();
  }

  /** Stop: the turn is over; its final message is kept and its compression queued. */
  stop(input: SessionFacts, turnEnd: { promptId?: string | undefined; message: string | null }, now: number): void {
    const { message } = turnEnd;
    this.db.transaction(() => {
      this.touchSession(input, now);
      const turn = this.turnOf(input.sessionId, turnEnd.promptId);
      if (turn === 0) return;
      this.sql(
        `UPDATE prompts
           SET stopped_at = coalesce(stopped_at, ?), last_assistant_message = coalesce(?, last_assistant_message)
           WHERE session_id = ? AND prompt_number = ?`,
      ).run(now, message, input.sessionId, turn);
      this.enqueue('turn', input.sessionId, turn, now);
    })();
  }

  /** SessionEnd: the last turn and the session rollup are queued. */
  sessionEnd(input: SessionFacts, reason: string, now: number): void {
    this.db.transaction(() => {
      this.touchSession(input, now);
      this.endSession(input.sessionId, reason, now);
    })();
  }

  /** Ends a session (if still active): queues its last turn and, after it, the session rollup. */
  endSession(id: string, reason: string, now: number): void {
    const changed = this.sql(
      "UPDATE sessions SET status = 'ended', ended_at = ?, end_reason = ? WHERE id = ? AND status = 'active'",
    ).run(now, reason.slice(0, 200), id).changes;
    if (changed === 0) return;
    const last = this.lastTurn(id);
    if (last > 0) this.enqueue('turn', id, last, now);
    // Keyed by the number of turns, so a session that goes on after a rollup is rolled up again, once.
    this.enqueue('session', id, last, now);
  }

  /** Sessions with no event for `idleMs`: ended as abandoned, so they get rolled up. */
  endIdleSessions(idleMs: number, now: number): number {
    const idle = this.sql("SELECT id FROM sessions WHERE status = 'active' AND last_event_at < ?")
      .pluck()
      .all(now - idleMs) as string[];
    this.db.transaction(() => {
      for (const id of idle) this.endSession(id, 'idle (no SessionEnd)', now);
    })();
    return idle.length;
  }

  /** Queues a compression; the UNIQUE key makes a second enqueue of the same work a no-op. */
  enqueue(kind: 'turn' | 'session', sessionId: string, promptNumber: number, now: number): void {
    this.sql(
      `INSERT INTO pending_compressions (kind, session_id, prompt_number, enqueued_at, not_before)
         VALUES (?, ?, ?, ?, ?) ON CONFLICT (kind, session_id, prompt_number) DO NOTHING`,
    ).run(kind, sessionId, promptNumber, now, now);
  }

  /** Work that is due: turns before sessions, oldest first. A session waits until its turns are done. */
  due(now: number, limit: number): PendingRow[] {
    return this.sql(
      `SELECT id, kind, session_id, prompt_number, attempts FROM pending_compressions p
         WHERE status = 'pending' AND not_before <= ?
           AND (kind = 'turn' OR NOT EXISTS (
             SELECT 1 FROM pending_compressions t
             WHERE t.kind = 'turn' AND t.session_id = p.session_id AND t.status = 'pending'))
         ORDER BY kind = 'session', id LIMIT ?`,
    ).all(now, limit) as PendingRow[];
  }

  markDone(id: number, memoryHash: string | null): void {
    this.sql("UPDATE pending_compressions SET status = 'done', memory_hash = ?, last_error = NULL WHERE id = ?").run(
      memoryHash,
      id,
    );
  }

  /** A failure is retried later (exponential backoff); after `maxAttempts` it is parked with its error, not lost. */
  markFailed(id: number, error: string, now: number, maxAttempts: number): 'retry' | 'parked' {
    const row = this.sql('SELECT attempts FROM pending_compressions WHERE id = ?').get(id) as { attempts: number };
    const attempts = row.attempts + 1;
    const parked = attempts >= maxAttempts;
    this.sql(
      'UPDATE pending_compressions SET attempts = ?, last_error = ?, status = ?, not_before = ? WHERE id = ?',
    ).run(attempts, error, parked ? 'parked' : 'pending', now + 1000 * 2 ** attempts, id);
    return parked ? 'parked' : 'retry';
  }

  prompt(sessionId: string, number: number): PromptRow | undefined {
    return this.sql('SELECT * FROM prompts WHERE session_id = ? AND prompt_number = ?').get(sessionId, number) as
      PromptRow | undefined;
  }

  prompts(sessionId: string): PromptRow[] {
    return this.sql('SELECT * FROM prompts WHERE session_id = ? ORDER BY prompt_number').all(sessionId) as PromptRow[];
  }

  toolEvents(sessionId: string, number?: number): ToolEventRow[] {
    return number === undefined
      ? (this.sql('SELECT * FROM tool_events WHERE session_id = ? ORDER BY id').all(sessionId) as ToolEventRow[])
      : (this.sql('SELECT * FROM tool_events WHERE session_id = ? AND prompt_number = ? ORDER BY id').all(
          sessionId,
          number,
        ) as ToolEventRow[]);
  }

  markSummarized(sessionId: string): void {
    this.sql("UPDATE sessions SET status = 'summarized' WHERE id = ?").run(sessionId);
  }

  /** Memories already put in this session's context. */
  given(sessionId: string): Set<string> {
    return new Set(
      this.sql('SELECT memory_hash FROM session_context WHERE session_id = ?').pluck().all(sessionId) as string[],
    );
  }

  recordGiven(sessionId: string, hashes: readonly string[], now: number): void {
    if (hashes.length === 0) return;
    const stmt = this.sql('INSERT OR IGNORE INTO session_context (session_id, memory_hash, given_at) VALUES (?, ?, ?)');
    this.db.transaction(() => {
      for (const h of hashes) stmt.run(sessionId, h, now);
    })();
  }

  /**
   * Records what a hook put into the context (the printed text) and which memories it named, in one transaction:
   * the memories so they are never given twice, the text so a person can see what the agent was told.
   */
  recordInjection(
    sessionId: string,
    event: 'SessionStart' | 'UserPromptSubmit',
    promptNumber: number | null,
    hashes: readonly string[],
    text: string,
    now: number,
  ): void {
    this.db.transaction(() => {
      this.recordGiven(sessionId, hashes, now);
      this.sql(
        'INSERT INTO injections (session_id, event, prompt_number, text, hashes, created_at) VALUES (?, ?, ?, ?, ?, ?)',
      ).run(sessionId, event, promptNumber, text, JSON.stringify(hashes), now);
    })();
  }

  injections(sessionId: string): InjectionRow[] {
    return this.sql(
      'SELECT event, prompt_number, text, hashes, created_at FROM injections WHERE session_id = ? ORDER BY id',
    ).all(sessionId) as InjectionRow[];
  }

  /** Sessions, most recently active first, with their prompt and tool event counts. */
  sessions(project: string | undefined, limit: number, offset: number): { total: number; rows: SessionListRow[] } {
    const where = project === undefined ? '' : 'WHERE s.project = ?';
    const params = project === undefined ? [] : [project];
    const total = this.sql(`SELECT count(*) FROM sessions s ${where}`)
      .pluck()
      .get(...params) as number;
    const rows = this.sql(
      `SELECT s.*, (SELECT count(*) FROM prompts p WHERE p.session_id = s.id) AS prompts,
              (SELECT count(*) FROM tool_events t WHERE t.session_id = s.id) AS tool_events
         FROM sessions s ${where} ORDER BY s.last_event_at DESC, s.id LIMIT ? OFFSET ?`,
    ).all(...params, limit, offset) as SessionListRow[];
    return { total, rows };
  }

  sessionProjects(): { project: string; sessions: number; lastEventAt: number }[] {
    return this.sql(
      `SELECT project, count(*) AS sessions, max(last_event_at) AS lastEventAt FROM sessions
         GROUP BY project ORDER BY lastEventAt DESC`,
    ).all() as { project: string; sessions: number; lastEventAt: number }[];
  }

  /** The compressions queued for a session (turns and rollups), whatever their status. */
  compressions(sessionId: string): CompressionRow[] {
    return this.sql(
      `SELECT id, kind, session_id, prompt_number, attempts, status, last_error, memory_hash
         FROM pending_compressions WHERE session_id = ? ORDER BY id`,
    ).all(sessionId) as CompressionRow[];
  }

  parked(limit: number): CompressionRow[] {
    return this.sql(
      `SELECT id, kind, session_id, prompt_number, attempts, status, last_error, memory_hash
         FROM pending_compressions WHERE status = 'parked' ORDER BY id DESC LIMIT ?`,
    ).all(limit) as CompressionRow[];
  }

  /** Parked compressions back to pending, due now, with their attempts reset; returns how many. */
  retryParked(ids: readonly number[] | 'all', now: number): number {
    const reset = "UPDATE pending_compressions SET status = 'pending', attempts = 0, not_before = ?";
    if (ids === 'all') return this.sql(`${reset} WHERE status = 'parked'`).run(now).changes;
    const stmt = this.sql(`${reset} WHERE status = 'parked' AND id = ?`);
    return this.db.transaction(() => ids.reduce((n, id) => n + stmt.run(now, id).changes, 0))();
  }

  hasPending(): boolean {
    return this.sql("SELECT 1 FROM pending_compressions WHERE status = 'pending' LIMIT 1").get() !== undefined;
  }

  /** The project's session active most recently before this one (the one a /clear just left). */
  previousSession(project: string, exceptId: string): SessionRow | undefined {
    return this.sql('SELECT * FROM sessions WHERE project = ? AND id != ? ORDER BY last_event_at DESC LIMIT 1').get(
      project,
      exceptId,
    ) as SessionRow | undefined;
  }

  parkedErrors(limit: number): { kind: string; sessionId: string; error: string }[] {
    return this.sql(
      `SELECT kind, session_id AS sessionId, coalesce(last_error, '') AS error FROM pending_compressions
       WHERE status = 'parked' ORDER BY id DESC LIMIT ?`,
    ).all(limit) as { kind: string; sessionId: string; error: string }[];
  }

  /**
   * Deletes up to `limit` raw payloads captured before `before`, oldest first, in one transaction; returns how many.
   * The events and the memories compressed from them stay.
   */
  prunePayloads(before: number, limit: number): number {
    return this.withRetentionCache(
      () =>
        this.sql(
          `DELETE FROM tool_event_payloads WHERE event_id IN (
             SELECT event_id FROM tool_event_payloads WHERE created_at < ? ORDER BY created_at LIMIT ?)`,
        ).run(before, limit).changes,
    );
  }

  /** Gives up to `pages` free pages back to the file system (incremental vacuum); returns how many were free. */
  reclaimPages(pages: number): number {
    return this.withRetentionCache(() => {
      const free = this.db.pragma('freelist_count', { simple: true }) as number;
      if (free > 0) this.db.pragma(`incremental_vacuum(${Math.max(1, Math.floor(pages))})`);
      return free;
    });
  }

  /**
   * Runs a retention step with a page cache of 16,000 KiB, then gives the pages back (a smaller cache frees its
   * excess pages at once). Pruning walks each payload's overflow pages and the vacuum moves pages about: with the
   * connection's 2 MiB cache (db.ts) a pass over 2,000 payloads of 50 KB took 120-145 ms against 50-56 ms (bench,
   * disk suite).
   */
  private withRetentionCache<T>(step: () => T): T {
    const normal = this.db.pragma('cache_size', { simple: true }) as number;
    this.db.pragma('cache_size = -16000');
    try {
      return step();
    } finally {
      this.db.pragma(`cache_size = ${normal}`);
    }
  }

  /**
   * Bytes on disk per table, its indexes and (for FTS5 and vec0 tables) its shadow tables counted with it, largest
   * first; null where SQLite was built without the dbstat table. It reads every page: 150 ms at 10k memories on a busy
   * machine, so the daemon runs it after a retention pass, never per status request.
   */
  tableSizes(): Record<string, number> | null {
    let pages: { name: string; bytes: number }[];
    try {
      pages = this.db.prepare('SELECT name, sum(pgsize) AS bytes FROM dbstat GROUP BY name').all() as typeof pages;
    } catch {
      return null;
    }
    const schema = this.db.prepare('SELECT type, name, tbl_name AS tbl, sql FROM sqlite_schema').all() as {
      type: string;
      name: string;
      tbl: string;
      sql: string | null;
    }[];
    const owner = new Map(schema.map((o) => [o.name, o.tbl]));
    const virtual = schema.filter((o) => o.type === 'table' && /^CREATE VIRTUAL TABLE/i.test(o.sql ?? ''));
    const sizes = new Map<string, number>();
    for (const { name, bytes } of pages) {
      let table = owner.get(name) ?? name;
      table = virtual.find((v) => table.startsWith(`${v.name}_`))?.name ?? table;
      sizes.set(table, (sizes.get(table) ?? 0) + bytes);
    }
    return Object.fromEntries([...sizes].sort((a, b) => b[1] - a[1]));
  }

  queueCounts(): Record<string, number> {
    const rows = this.sql('SELECT status, count(*) AS n FROM pending_compressions GROUP BY status').all() as {
      status: string;
      n: number;
    }[];
    return Object.fromEntries(rows.map((r) => [r.status, r.n]));
  }
}
