import { basename } from 'node:path';
import type { Engine } from '../engine.js';
import type { PromptRow, SessionRow, ToolEventRow } from '../store/capture-store.js';
import type { CaptureStorage } from '../store/storage.js';
import { oneLine } from './summarize.js';

/**
 * Deterministic compression, no model and no network: a finished turn becomes one `observation` memory, a finished
 * session one `session-summary` memory. The text is built for two readers: an agent skimming a one-line preview (so
 * the gist comes first) and search (so files, commands and errors are spelled out).
 */

const GIST_MAX = 200;
const LIST_MAX = 8;

/** The first sentence or line of a text, at most `max` characters. */
export function gist(text: string | null | undefined, max = GIST_MAX): string {
  if (!text) return '';
  const flat = text
    .replace(/```[\s\S]*?```/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  const sentence = /^(.{20,}?[.!?])(\s|$)/.exec(flat)?.[1] ?? flat;
  return oneLine(sentence, max);
}

const unique = <T>(xs: Iterable<T>): T[] => [...new Set(xs)];
const list = (xs: string[], max = LIST_MAX) =>
  xs.length <= max ? xs.join(', ') : `${xs.slice(0, max).join(', ')} (+${xs.length - max} more)`;
const parse = (json: string): string[] => {
  try {
    const v = JSON.parse(json) as unknown;
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
};

export interface TurnFacts {
  tools: Record<string, number>;
  filesRead: string[];
  filesChanged: string[];
  commands: { command: string; failed: boolean; outcome: string }[];
  errors: string[];
}

export function turnFacts(events: ToolEventRow[]): TurnFacts {
  const tools: Record<string, number> = {};
  const read: string[] = [];
  const changed: string[] = [];
  const commands: TurnFacts['commands'] = [];
  const errors: string[] = [];
  for (const e of events) {
    tools[e.tool_name] = (tools[e.tool_name] ?? 0) + 1;
    read.push(...parse(e.files_read));
    changed.push(...parse(e.files_changed));
    if (e.tool_name === 'Bash')
      commands.push({ command: oneLine(e.input_summary, 120), failed: e.is_error === 1, outcome: e.outcome_summary });
    if (e.is_error === 1) {
      const input = e.input_summary ? ` ${oneLine(e.input_summary, 60)}` : '';
      errors.push(oneLine(`${e.tool_name}${input}: ${e.outcome_summary.replace(/^failed: /, '')}`, 200));
    }
  }
  const filesChanged = unique(changed);
  return {
    tools,
    filesRead: unique(read).filter((f) => !filesChanged.includes(f)),
    filesChanged,
    commands,
    errors: unique(errors),
  };
}

/** The observation for one turn. */
export function turnObservation(
  session: SessionRow,
  prompt: PromptRow,
  events: ToolEventRow[],
): { content: string; facts: TurnFacts } {
  const facts = turnFacts(events);
  const project = basename(session.project);
  const lines = [`${gist(prompt.text) || '(empty prompt)'}`];
  const toolList = Object.entries(facts.tools)
    .sort((a, b) => b[1] - a[1])
    .map(([t, n]) => (n > 1 ? `${t}×${n}` : t));
  if (toolList.length > 0) lines.push(`Tools: ${toolList.join(', ')}`);
  if (facts.filesChanged.length > 0) lines.push(`Changed: ${list(facts.filesChanged)}`);
  if (facts.filesRead.length > 0) lines.push(`Read: ${list(facts.filesRead)}`);
  if (facts.commands.length > 0) {
    const cmds = unique(facts.commands.map((c) => (c.failed ? `${c.command} (failed)` : c.command)));
    lines.push(`Commands: ${list(cmds, 6)}`);
  }
  if (facts.errors.length > 0) lines.push(`Errors: ${list(facts.errors, 4)}`);
  const outcome = gist(prompt.last_assistant_message, 300);
  if (outcome) lines.push(`Outcome: ${outcome}`);
  lines.push(`(${project}, turn ${prompt.prompt_number} of session ${session.id.slice(0, 8)})`);
  return { content: lines.join('\n'), facts };
}

/** The rollup of a whole session. */
export function sessionSummary(
  session: SessionRow,
  prompts: PromptRow[],
  events: ToolEventRow[],
): { content: string; facts: TurnFacts } {
  const facts = turnFacts(events);
  const project = basename(session.project);
  const asks = prompts.map((p) => gist(p.text, 120)).filter(Boolean);
  const head = asks.length > 0 ? `Session in ${project}: ${asks[0]}` : `Session in ${project} (no prompts)`;
  const lines = [head];
  if (asks.length > 1) lines.push(`Also: ${list(asks.slice(1), 6)}`);
  const errorCount = facts.errors.length ? `, ${facts.errors.length} errors` : '';
  lines.push(`${prompts.length} ${prompts.length === 1 ? 'turn' : 'turns'}, ${events.length} tool calls${errorCount}`);
  if (facts.filesChanged.length > 0) lines.push(`Changed: ${list(facts.filesChanged, 12)}`);
  const failed = unique(facts.commands.filter((c) => c.failed).map((c) => c.command));
  if (failed.length > 0) lines.push(`Failed commands: ${list(failed, 4)}`);
  const last = [...prompts].reverse().find((p) => p.last_assistant_message);
  const outcome = gist(last?.last_assistant_message, 300);
  if (outcome) lines.push(`Ended with: ${outcome}`);
  const started = new Date(session.started_at).toISOString().slice(0, 16).replace('T', ' ');
  const ended = session.end_reason ? `, ${session.end_reason}` : '';
  lines.push(`(${project}, session ${session.id.slice(0, 8)}, started ${started} UTC${ended})`);
  return { content: lines.join('\n'), facts };
}

/** Tags of a memory: the project's folder name, the kind, and up to three notable (changed, else read) files. */
function tagsFor(session: SessionRow, kind: string, facts: TurnFacts): string[] {
  const notable = (facts.filesChanged.length > 0 ? facts.filesChanged : facts.filesRead)
    .slice(0, 3)
    .map((f) => `file:${basename(f)}`);
  return [basename(session.project), kind, ...(facts.errors.length > 0 ? ['error'] : []), ...notable];
}

export interface CompressorOptions {
  /** How often due work is looked for, when nothing wakes the worker sooner. */
  intervalMs?: number;
  /** Sessions silent this long are rolled up without a SessionEnd. */
  idleMs?: number;
  maxAttempts?: number;
  now?: () => number;
  onError?: (err: unknown, what: string) => void;
}

/**
 * The background worker inside the daemon that drains `pending_compressions`. It runs between requests (each item is
 * a few queries and one embedding), is woken when work is queued, and survives restarts because the queue is a table.
 */
export class Compressor {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private lastIdleCheck = 0;
  private readonly intervalMs: number;
  private readonly idleMs: number;
  private readonly maxAttempts: number;
  private readonly now: () => number;

  constructor(
    private readonly engine: Engine,
    private readonly capture: CaptureStorage,
    private readonly options: CompressorOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? 2000;
    this.idleMs = options.idleMs ?? 2 * 3600 * 1000;
    this.maxAttempts = options.maxAttempts ?? 5;
    this.now = options.now ?? Date.now;
  }

  start(): void {
    this.schedule(0);
  }

  /** Asks for a pass soon (after the current request is answered). */
  wake(): void {
    if (!this.stopped && !this.running) this.schedule(10);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.drain().finally(() => this.schedule(this.intervalMs));
    }, ms);
    this.timer.unref();
  }

  /**
   * Processes everything due now. One pass at a time: a caller arriving during a pass (SessionStart waiting for
   * fresh summaries) shares it, so no item is worked on twice. It never rejects: a failure is reported and retried.
   */
  drain(): Promise<void> {
    this.running ??= this.drainOnce()
      .catch((err: unknown) => this.options.onError?.(err, 'the compression queue'))
      .finally(() => {
        this.running = null;
      });
    return this.running;
  }

  private async drainOnce(): Promise<void> {
    const now = this.now();
    if (now - this.lastIdleCheck > 60_000 || this.lastIdleCheck === 0) {
      this.lastIdleCheck = now;
      this.capture.endIdleSessions(this.idleMs, now);
    }
    for (let rounds = 0; rounds < 100 && !this.stopped; rounds++) {
      const due = this.capture.due(this.now(), 16);
      if (due.length === 0) return;
      for (const item of due) {
        if (this.stopped) return;
        try {
          const hash =
            item.kind === 'turn'
              ? await this.compressTurn(item.session_id, item.prompt_number)
              : await this.rollUp(item.session_id);
          this.capture.markDone(item.id, hash);
        } catch (err) {
          this.options.onError?.(err, `${item.kind} ${item.session_id}#${item.prompt_number}`);
          try {
            this.capture.markFailed(
              item.id,
              oneLine((err as Error).message ?? String(err), 1000),
              this.now(),
              this.maxAttempts,
            );
          } catch (markErr) {
            this.options.onError?.(markErr, 'recording a failed compression');
            return;
          }
        }
      }
    }
  }

  private async compressTurn(sessionId: string, number: number): Promise<string | null> {
    const session = this.capture.session(sessionId);
    const prompt = this.capture.prompt(sessionId, number);
    if (!session || !prompt) return null;
    const { content, facts } = turnObservation(session, prompt, this.capture.toolEvents(sessionId, number));
    const stored = await this.engine.store({
      // Rows captured before NULs were cleaned at the edge may still hold one; a memory cannot (see payload.ts).
      content: content.replaceAll('\u0000', ''),
      type: 'observation',
      project: session.project,
      sessionId,
      tags: tagsFor(session, 'observation', facts),
      metadata: {
        session: sessionId,
        turn: number,
        tools: facts.tools,
        filesRead: facts.filesRead,
        filesChanged: facts.filesChanged,
        errors: facts.errors.length,
      },
      createdAt: prompt.created_at,
    });
    return stored.hash;
  }

  private async rollUp(sessionId: string): Promise<string | null> {
    const session = this.capture.session(sessionId);
    if (!session) return null;
    const prompts = this.capture.prompts(sessionId);
    if (prompts.length === 0) {
      this.capture.markSummarized(sessionId);
      return null;
    }
    const events = this.capture.toolEvents(sessionId);
    const { content, facts } = sessionSummary(session, prompts, events);
    // A session that went on after an earlier rollup (it was only thought abandoned) gets one summary: the new one.
    this.engine.delete({ filter: { sessionId, types: ['session-summary'] }, dryRun: false });
    const stored = await this.engine.store({
      // Rows captured before NULs were cleaned at the edge may still hold one; a memory cannot (see payload.ts).
      content: content.replaceAll('\u0000', ''),
      type: 'session-summary',
      project: session.project,
      sessionId,
      tags: tagsFor(session, 'session-summary', facts),
      metadata: {
        session: sessionId,
        turns: prompts.length,
        toolCalls: events.length,
        startedAt: session.started_at,
        endedAt: session.ended_at,
        endReason: session.end_reason,
      },
      createdAt: session.ended_at ?? this.now(),
    });
    this.capture.markSummarized(sessionId);
    return stored.hash;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }
}
