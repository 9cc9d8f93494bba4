import Database from 'better-sqlite3';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { connect, type MnemoClient } from '../dist/client/client.js';
import { ErrorCode, MnemoError } from '../dist/engine-index.js';
import { hook, makeProject, recordedSession } from './helpers/claude.js';
import { cleanup, startDaemon } from './helpers/daemon.js';
import { until } from './helpers/wait.js';

const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => 'resolved',
    (e: MnemoError) => e.code,
  );

// The ops `mnemo ui` reads (sessions, session, metrics, timeline) and the one it writes (retryCompressions), through
// the client against a real daemon that captured a real session through the native hook client.
describe('session and health ops', () => {
  it('shows a captured session, its injections, timeline, hook latency; retries a parked compression', async () => {
    const d = await startDaemon();
    let c: MnemoClient | undefined;
    try {
      c = await d.client();
      const project = makeProject('ops');
      // Tagged as a decision with no project: SessionStart gives it to every project.
      await c.store({ content: 'We chose PostgreSQL over MySQL for the orders service', tags: ['decision'] });
      for (const [event, payload] of recordedSession('sess-ops-1', project)) {
        expect((await hook(d.env, event, payload)).code).toBe(0);
      }
      const client = c;
      const detail = await until('the session summary', async () => {
        const s = await client.session({ id: 'sess-ops-1' });
        return s.summary ? s : undefined;
      });
      expect(detail.session).toMatchObject({ id: 'sess-ops-1', status: 'summarized' });
      expect(detail.turns.length).toBe(detail.session.prompts);
      expect(detail.turns[0]!.prompt).toMatch(/migrations test fails/);
      expect(detail.turns[0]!.tools.map((t) => t.toolName)).toContain('Bash');
      expect(detail.turns.every((t) => t.compression?.status === 'done' && t.observation !== null)).toBe(true);
      const start = detail.injections.find((i) => i.event === 'SessionStart');
      expect(start?.text).toMatch(/PostgreSQL over MySQL/);
      expect(start?.hashes.length).toBe(1);

      const list = await c.sessions({});
      expect(list.total).toBe(1);
      expect(list.sessions[0]).toMatchObject({
        id: 'sess-ops-1',
        toolEvents: detail.turns.flatMap((t) => t.tools).length,
      });
      expect(list.projects.map((p) => p.sessions)).toEqual([1]);
      expect((await c.sessions({ project: '/no/such/project' })).total).toBe(0);

      const timeline = await c.timeline({ days: 7 });
      const today = timeline.days.at(-1)!;
      expect(today.count).toBe((await c.health()).memories);
      expect(today.byType).toMatchObject({ 'session-summary': 1 });
      expect(today.byType.observation).toBe(detail.turns.length);

      const metrics = await c.metrics();
      for (const event of ['SessionStart', 'UserPromptSubmit', 'PostToolUse', 'Stop']) {
        expect(metrics.hooksMs[event]?.count, event).toBeGreaterThan(0);
      }
      expect(metrics.parked).toEqual([]);

      await codeOf(c.session({ id: 'no-such-session' })).then((code) => expect(code).toBe(ErrorCode.NOT_FOUND));
      await codeOf(c.session({ id: '' })).then((code) => expect(code).toBe(ErrorCode.BAD_ARGS));
      await codeOf(c.timeline({ days: 0 })).then((code) => expect(code).toBe(ErrorCode.BAD_ARGS));

      // Park the session's compression as five failures would (with the daemon stopped, so nothing races it), then
      // put it back in the queue through the op: it runs again and is done.
      c.close();
      c = undefined;
      await d.stop();
      const db = new Database(join(d.env.MNEMO_HOME!, 'data', 'mnemo.db'));
      const id = db
        .prepare(`SELECT id FROM pending_compressions WHERE kind = 'session' AND session_id = 'sess-ops-1'`)
        .pluck()
        .get() as number;
      db.prepare(
        `UPDATE pending_compressions SET status = 'parked', attempts = 5, last_error = 'model timed out' WHERE id = ?`,
      ).run(id);
      db.close();
      const again = await startDaemon(d.env);
      try {
        const c2 = await connect({ env: d.env });
        const parked = (await c2.metrics()).parked;
        expect(parked).toEqual([expect.objectContaining({ id, kind: 'session', error: 'model timed out' })]);
        expect(await c2.retryCompressions({ ids: [id + 1000] })).toEqual({ retried: 0 });
        expect(await c2.retryCompressions({ ids: [id] })).toEqual({ retried: 1 });
        await until('the retried compression', async () =>
          ((await c2.metrics()).queue.parked ?? 0) === 0 && (await c2.metrics()).queue.pending === undefined
            ? true
            : undefined,
        );
        expect((await c2.metrics()).parked).toEqual([]);
        c2.close();
      } finally {
        await again.stop();
      }
    } finally {
      c?.close();
      await d.stop();
      cleanup(d.env);
    }
  }, 90_000);
});
