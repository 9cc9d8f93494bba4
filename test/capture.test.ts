import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MnemoClient } from '../dist/client/client.js';
import { countTokens } from '../dist/engine-index.js';
import { cleanup, startDaemon, testEnv, type DaemonProcess } from './helpers/daemon.js';
import { hook, makeProject, recordedSession } from './helpers/claude.js';
import { until } from './helpers/wait.js';

const dbOf = (env: NodeJS.ProcessEnv) => new Database(join(env.MNEMO_HOME!, 'data', 'mnemo.db'), { readonly: true });

interface Context {
  hookSpecificOutput: { hookEventName: string; additionalContext: string };
}

describe('capture and context through the native client and a real daemon', () => {
  let d: DaemonProcess;
  let c: MnemoClient;
  const project = makeProject('shop-api');
  const other = makeProject('shop-api'); // same folder name, another project
  beforeAll(async () => {
    d = await startDaemon();
    c = await d.client();
  });
  afterAll(async () => {
    c?.close();
    await d?.stop();
    if (d) cleanup(d.env);
  });

  it('captures a whole session once, even when every hook is delivered twice', async () => {
    const events = recordedSession('sess-A', project);
    for (const [event, payload] of events) {
      const first = await hook(d.env, event, payload);
      expect(first.code, event).toBe(0);
      // Retry: Claude Code (or a user) may run the same hook again.
      const again = await hook(d.env, event, payload);
      expect(again.code, event).toBe(0);
      if (event !== 'SessionStart' && event !== 'UserPromptSubmit') expect(first.stdout, event).toBe('');
    }
    const db = dbOf(d.env);
    try {
      expect(db.prepare('SELECT count(*) FROM sessions').pluck().get()).toBe(1);
      expect(db.prepare("SELECT count(*) FROM prompts WHERE session_id = 'sess-A'").pluck().get()).toBe(2);
      expect(db.prepare("SELECT count(*) FROM tool_events WHERE session_id = 'sess-A'").pluck().get()).toBe(6);
      expect(db.prepare('SELECT count(*) FROM tool_event_payloads').pluck().get()).toBe(6);
      const failing = db.prepare("SELECT * FROM tool_events WHERE tool_use_id = 'toolu_03'").get() as Record<
        string,
        unknown
      >;
      expect(failing).toMatchObject({
        tool_name: 'Bash',
        is_error: 1,
        exit_code: 1,
        prompt_number: 1,
        input_summary: 'npx vitest run test/migrations.test.ts',
      });
      expect(failing.outcome_summary).toMatch(/^failed: FAIL test\/migrations.test.ts/);
      const edit = db.prepare("SELECT * FROM tool_events WHERE tool_use_id = 'toolu_04'").get() as Record<
        string,
        unknown
      >;
      expect(JSON.parse(edit.files_changed as string)).toEqual(['src/migrations.ts']);
      const session = db.prepare("SELECT * FROM sessions WHERE id = 'sess-A'").get() as Record<string, unknown>;
      expect(session).toMatchObject({ project, end_reason: 'prompt_input_exit', model: 'claude-sonnet-4-5' });
    } finally {
      db.close();
    }
  });

  it('compresses turns into observations and the session into a summary, all searchable', async () => {
    const summary = await until('the session summary', async () => {
      const l = await c.list({ project, type: 'session-summary', format: 'full' });
      return l.format === 'full' && l.results.length === 1 ? l.results[0] : undefined;
    });
    expect(summary.content).toMatch(/^Session in shop-api: The migrations test fails with "no such table memories"\./);
    expect(summary.content).toContain('Changed: src/migrations.ts');
    expect(summary.content).toContain('Failed commands: npx vitest run test/migrations.test.ts');
    expect(summary.tags).toEqual(expect.arrayContaining(['shop-api', 'session-summary', 'file:migrations.ts']));
    const observations = await c.list({ project, type: 'observation', format: 'full' });
    if (observations.format !== 'full') throw new Error('full');
    expect(observations.results.length).toBe(2);
    const first = observations.results.find((m) => (m.metadata as { turn: number }).turn === 1)!;
    expect(first.content).toContain('Tools: Bash×2, Read, Grep, Edit');
    // Read and then changed: listed once, as changed.
    expect(first.content).toContain('Changed: src/migrations.ts');
    expect(first.content).not.toContain('Read: src/migrations.ts');
    expect(first.content).toContain(
      'Commands: npx vitest run test/migrations.test.ts (failed), npx vitest run test/migrations.test.ts',
    );
    expect(first.content).toContain('Errors: Bash npx vitest run test/migrations.test.ts: FAIL');
    expect(first.content).toContain('Outcome: The migration list was empty, so the memories table was never created.');
    expect(first.sessionId).toBe('sess-A');
    const found = await c.search({ query: 'no such table memories', mode: 'keyword', project });
    expect(found.format === 'compact' && found.results.length).toBeGreaterThanOrEqual(2);
    const status = await c.status();
    expect(status.compressionQueue).toEqual({ done: 3 });
  });

  it('injects them at the next SessionStart of the project as hookSpecificOutput within budget', async () => {
    const r = await hook(d.env, 'SessionStart', {
      session_id: 'sess-B',
      cwd: join(project, 'src'),
      source: 'startup',
      transcript_path: '/tmp/b',
    });
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as Context;
    expect(out.hookSpecificOutput.hookEventName).toBe('SessionStart');
    const text = out.hookSpecificOutput.additionalContext;
    expect(text).toMatch(/^mnemo: 3 memories from shop-api/);
    expect(text).toMatch(/^- [0-9a-f]{8} (now|\d+[mhdw]) .*Session in shop-api: The migrations test fails/m);
    expect(countTokens(text)).toBeLessThanOrEqual(600);
    expect(text.split('\n').length).toBe(4);
  });

  it('gives a different project (same folder name) none of it', async () => {
    const r = await hook(d.env, 'SessionStart', { session_id: 'sess-X', cwd: other, source: 'startup' });
    expect(r).toMatchObject({ code: 0, stdout: '' });
    const p = await hook(d.env, 'UserPromptSubmit', {
      session_id: 'sess-X',
      cwd: other,
      prompt: 'why does the migrations test fail with no such table memories?',
      prompt_id: 'x1',
    });
    expect(p).toMatchObject({ code: 0, stdout: '' });
  });

  it('adds relevant memories to a prompt, within budget, never repeating itself', async () => {
    // A memory this session has not been given yet, stored by hand.
    await c.store({
      content: 'Decision: the orders table keeps money as integer cents, never floats.',
      tags: ['decision'],
      project,
    });
    const ask = {
      session_id: 'sess-B',
      cwd: project,
      prompt: 'How should the orders table store money amounts in cents?',
      prompt_id: 'b1',
    };
    const r = await hook(d.env, 'UserPromptSubmit', ask);
    const out = JSON.parse(r.stdout) as Context;
    expect(out.hookSpecificOutput.hookEventName).toBe('UserPromptSubmit');
    expect(out.hookSpecificOutput.additionalContext).toMatch(
      /^mnemo: 1 related memory\n- [0-9a-f]{8} now \[decision\] Decision: the orders table keeps money/,
    );
    expect(countTokens(out.hookSpecificOutput.additionalContext)).toBeLessThanOrEqual(300);
    const again = await hook(d.env, 'UserPromptSubmit', {
      ...ask,
      prompt_id: 'b2',
      prompt: 'And the orders table money amounts in cents again?',
    });
    expect(again.stdout).toBe('');
    const trivial = await hook(d.env, 'UserPromptSubmit', { ...ask, prompt_id: 'b3', prompt: 'yes' });
    expect(trivial.stdout).toBe('');
  });

  it('rolls up a session that never got its SessionEnd at the next SessionStart', async () => {
    const abandoned = 'sess-C';
    await hook(d.env, 'SessionStart', { session_id: abandoned, cwd: project, source: 'startup' });
    await hook(d.env, 'UserPromptSubmit', {
      session_id: abandoned,
      cwd: project,
      prompt: 'Rename the customers module to accounts',
      prompt_id: 'c1',
    });
    await hook(d.env, 'PostToolUse', {
      session_id: abandoned,
      cwd: project,
      prompt_id: 'c1',
      tool_name: 'Bash',
      tool_input: { command: 'git mv src/customers src/accounts' },
      tool_use_id: 'tc1',
      tool_response: { stdout: '', stderr: '' },
    });
    // No Stop, no SessionEnd: the hook timed out, the terminal closed.
    const next = await hook(d.env, 'SessionStart', { session_id: 'sess-D', cwd: project, source: 'startup' });
    const text = (JSON.parse(next.stdout) as Context).hookSpecificOutput.additionalContext;
    expect(text).toContain('Session in shop-api: Rename the customers module to accounts');
    const db = dbOf(d.env);
    try {
      expect(db.prepare('SELECT status, end_reason FROM sessions WHERE id = ?').get(abandoned)).toEqual({
        status: 'summarized',
        end_reason: 'no SessionEnd (rolled up at the next session start)',
      });
    } finally {
      db.close();
    }
  });

  it('leans on the session itself after /compact', async () => {
    const r = await hook(d.env, 'SessionStart', { session_id: 'sess-A', cwd: project, source: 'compact' });
    const text = (JSON.parse(r.stdout) as Context).hookSpecificOutput.additionalContext;
    const lines = text.split('\n');
    // The session's own turns come first.
    expect(lines[1]).toMatch(/Also add an index on created_at|The migrations test fails/);
    expect(lines[2]).toMatch(/Also add an index on created_at|The migrations test fails/);
  });

  it('keeps private blocks and secrets out of every table, the index and the vectors', async () => {
    const secret = 'sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789';
    const cwd = project;
    await hook(d.env, 'UserPromptSubmit', {
      session_id: 'sess-P',
      cwd,
      prompt_id: 'pp1',
      prompt:
        `Deploy with ANTHROPIC_API_KEY=${secret} ` +
        '<private>the staging password is tulip-42</private> and check the logs',
    });
    await hook(d.env, 'PostToolUse', {
      session_id: 'sess-P',
      cwd,
      prompt_id: 'pp1',
      tool_name: 'Bash',
      tool_input: { command: `curl -H "Authorization: Bearer ${secret}" https://api.example.com` },
      tool_use_id: 'tp1',
      tool_response: { stdout: 'password=tulip-42', stderr: '' },
    });
    await hook(d.env, 'Stop', {
      session_id: 'sess-P',
      cwd,
      prompt_id: 'pp1',
      last_assistant_message: `Deployed. I used ${secret}.`,
    });
    const observation = await until('the observation', async () => {
      const l = await c.list({ sessionId: 'sess-P', format: 'full' });
      return l.format === 'full' && l.results.length > 0 ? l.results[0] : undefined;
    });
    expect(observation.content).toContain('[REDACTED:anthropic-key]');
    const db = dbOf(d.env);
    try {
      const everything = [
        ...db.prepare('SELECT text, last_assistant_message FROM prompts').all(),
        ...db.prepare('SELECT input_summary, outcome_summary FROM tool_events').all(),
        ...db.prepare('SELECT payload FROM tool_event_payloads').all(),
        ...db.prepare('SELECT content, metadata FROM memories').all(),
      ]
        .map((r) => JSON.stringify(r))
        .join('\n');
      expect(everything).not.toContain(secret);
      expect(everything).not.toContain('tulip-42');
      expect(everything).not.toContain('staging password');
      // The full-text index has no trace of them either.
      for (const term of ['tulip', 'staging', 'AbCdEfGhIjKlMnOpQrStUvWxYz0123456789']) {
        expect(
          db.prepare('SELECT count(*) FROM memories_fts WHERE memories_fts MATCH ?').pluck().get(`"${term}"`),
          term,
        ).toBe(0);
      }
    } finally {
      db.close();
    }
    // The vector was made from the redacted text: searching with that text is an exact match.
    const exact = await c.search({ query: observation.content, mode: 'semantic', format: 'full', sessionId: 'sess-P' });
    expect(exact.format === 'full' && exact.results[0]?.scores.semantic).toBeCloseTo(1, 4);
  });

  it('fails open when the daemon is stopped: every hook exits 0, prints nothing, within its deadline', async () => {
    const env = { ...testEnv(), MNEMO_CLI: '/nonexistent/cli.js' };
    try {
      for (const [event, payload] of recordedSession('sess-Z', project)) {
        const r = await hook(env, event, payload);
        expect(r, event).toMatchObject({ code: 0, stdout: '' });
        expect(r.ms, event).toBeLessThan(1000);
      }
    } finally {
      cleanup(env);
    }
  });
});

describe('after /clear', () => {
  it('starts the new session with the turns of the one it replaced', async () => {
    const d = await startDaemon();
    const project = makeProject('clear-me');
    try {
      await hook(d.env, 'SessionStart', { session_id: 'old', cwd: project, source: 'startup' });
      await hook(d.env, 'UserPromptSubmit', {
        session_id: 'old',
        cwd: project,
        prompt: 'Port the invoice renderer to the new PDF library',
        prompt_id: 'o1',
      });
      await hook(d.env, 'Stop', {
        session_id: 'old',
        cwd: project,
        prompt_id: 'o1',
        last_assistant_message: 'Ported; the renderer now uses pdf-lib.',
      });
      await hook(d.env, 'SessionEnd', { session_id: 'old', cwd: project, reason: 'clear' });
      const r = await hook(d.env, 'SessionStart', { session_id: 'new', cwd: project, source: 'clear' });
      const text = (JSON.parse(r.stdout) as Context).hookSpecificOutput.additionalContext;
      expect(text.split('\n')[1]).toContain('Port the invoice renderer to the new PDF library');
    } finally {
      await d.stop();
      cleanup(d.env);
    }
  });
});
