import { afterEach, describe, expect, it } from 'vitest';
import { HookHandler } from '../dist/capture/hook.js';
import { gist, turnObservation } from '../dist/capture/compress.js';
import { Engine, LocalMnemo } from '../dist/engine-index.js';
import { openTestEngine, type TestEngine } from './helpers/engine.js';
import { tinyPack } from './helpers/packs.js';

const send = (
  h: HookHandler,
  event: 'SessionStart' | 'UserPromptSubmit' | 'PostToolUse' | 'Stop' | 'SessionEnd',
  body: Record<string, unknown>,
) => h.handle(event, Buffer.from(JSON.stringify({ hook_event_name: event, cwd: '/tmp/compress-proj', ...body })));

describe('the compression queue', () => {
  let t: TestEngine | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('survives a restart: work queued before a stop is done after the next start', async () => {
    t = await openTestEngine();
    const h1 = new HookHandler(t.engine, { compressor: { intervalMs: 60_000 } });
    await send(h1, 'UserPromptSubmit', {
      session_id: 's1',
      prompt: 'Add retries to the payment client',
      prompt_id: 'a',
    });
    await send(h1, 'Stop', {
      session_id: 's1',
      prompt_id: 'a',
      last_assistant_message: 'Added three retries with backoff.',
    });
    // Stopped before the worker ran.
    await h1.stop();
    expect(h1.capture.queueCounts()).toEqual({ pending: 1 });
    await t.engine.close();

    const engine = await Engine.open({ modelDir: tinyPack(), dbPath: t.dbPath, embedder: { threads: 1 } });
    t = {
      ...t,
      engine,
      api: new LocalMnemo(engine),
      store: engine.storage as TestEngine['store'],
      close: () => engine.close(),
    };
    const h2 = new HookHandler(engine, { compressor: { intervalMs: 60_000 } });
    await h2.compressor.drain();
    expect(h2.capture.queueCounts()).toEqual({ done: 1 });
    const l = await new LocalMnemo(engine).list({ sessionId: 's1', format: 'full' });
    expect(l.format === 'full' && l.results[0]?.content).toMatch(/^Add retries to the payment client/);
    await h2.stop();
  });

  it('retries a failing item a bounded number of times, then parks it with its error', async () => {
    t = await openTestEngine();
    let clock = 1_000_000;
    const problems: string[] = [];
    const h = new HookHandler(t.engine, {
      now: () => clock,
      compressor: { maxAttempts: 3, intervalMs: 60_000 },
      onProblem: (what) => problems.push(what),
    });
    await send(h, 'UserPromptSubmit', { session_id: 's2', prompt: 'x', prompt_id: 'a' });
    await send(h, 'Stop', { session_id: 's2', prompt_id: 'a' });
    // Break storage under the worker: the memories table refuses writes.
    t.store.db.exec(
      "CREATE TRIGGER no_writes BEFORE INSERT ON memories BEGIN SELECT RAISE(ABORT, 'disk says no'); END",
    );
    for (let i = 0; i < 10; i++) {
      await h.compressor.drain();
      clock += 60_000;
    }
    const row = t.store.db.prepare('SELECT status, attempts, last_error FROM pending_compressions').get();
    expect(row).toEqual({ status: 'parked', attempts: 3, last_error: 'disk says no' });
    expect(problems.length).toBe(3);
    // What `mnemo status` lists among its warnings.
    expect(h.capture.parkedErrors(3)).toEqual([{ kind: 'turn', sessionId: 's2', error: 'disk says no' }]);
    await h.stop();
  });

  it('writes observations deterministically', () => {
    const session = {
      id: 'abcdef123456',
      project: '/w/app',
      cwd: '/w/app',
      source: 'startup',
      model: null,
      transcript_path: null,
      started_at: 0,
      last_event_at: 0,
      ended_at: null,
      end_reason: null,
      status: 'active' as const,
    };
    const prompt = {
      id: 1,
      session_id: 'abcdef123456',
      prompt_number: 2,
      prompt_id: 'p',
      text: 'Make the cache LRU. It grows forever.',
      created_at: 0,
      stopped_at: 1,
      last_assistant_message: 'Switched to lru-cache with max 1000.',
    };
    const events = [
      {
        id: 1,
        session_id: 'abcdef123456',
        prompt_number: 2,
        tool_use_id: 'a',
        tool_name: 'Read',
        input_summary: 'src/cache.ts',
        outcome_summary: 'read',
        files_read: '["src/cache.ts"]',
        files_changed: '[]',
        is_error: 0,
        exit_code: null,
        duration_ms: 1,
        created_at: 0,
      },
      {
        id: 2,
        session_id: 'abcdef123456',
        prompt_number: 2,
        tool_use_id: 'b',
        tool_name: 'Bash',
        input_summary: 'npm i lru-cache',
        outcome_summary: 'failed: ERESOLVE',
        files_read: '[]',
        files_changed: '[]',
        is_error: 1,
        exit_code: 1,
        duration_ms: 1,
        created_at: 0,
      },
      {
        id: 3,
        session_id: 'abcdef123456',
        prompt_number: 2,
        tool_use_id: 'c',
        tool_name: 'Edit',
        input_summary: 'src/cache.ts',
        outcome_summary: 'edited',
        files_read: '[]',
        files_changed: '["src/cache.ts"]',
        is_error: 0,
        exit_code: null,
        duration_ms: 1,
        created_at: 0,
      },
    ];
    const a = turnObservation(session, prompt, events);
    expect(a.content).toBe(
      [
        'Make the cache LRU. It grows forever.', // a first sentence under 20 characters keeps the next
        'Tools: Read, Bash, Edit',
        'Changed: src/cache.ts',
        'Commands: npm i lru-cache (failed)',
        'Errors: Bash npm i lru-cache: ERESOLVE',
        'Outcome: Switched to lru-cache with max 1000.',
        '(app, turn 2 of session abcdef12)',
      ].join('\n'),
    );
    expect(turnObservation(session, prompt, events).content).toBe(a.content);
    expect(gist('Short. Then more')).toBe('Short. Then more');
    expect(gist('A first sentence that is long enough. Then more.')).toBe('A first sentence that is long enough.');
  });
});

describe('review regressions', () => {
  it('compresses a turn whose prompt has an emoji at the cut point (no half surrogate pairs)', async () => {
    const t = await openTestEngine();
    try {
      const h = new HookHandler(t.engine, { compressor: { intervalMs: 60_000 } });
      const prompt = `${'a'.repeat(198)}😀 then more words after the emoji`;
      await send(h, 'UserPromptSubmit', { session_id: 'e1', prompt, prompt_id: 'p' });
      await send(h, 'Stop', { session_id: 'e1', prompt_id: 'p', last_assistant_message: `${'b'.repeat(299)}😀 done` });
      await h.compressor.drain();
      expect(h.capture.queueCounts()).toEqual({ done: 1 });
      const l = await t.api.list({ sessionId: 'e1', format: 'full' });
      expect(l.format === 'full' && l.results[0]!.content.isWellFormed()).toBe(true);
      await h.stop();
    } finally {
      await t.close();
    }
  });

  it('keeps one up-to-date summary for a session that went on after another session started', async () => {
    const t = await openTestEngine();
    try {
      const h = new HookHandler(t.engine, { compressor: { intervalMs: 60_000 } });
      await send(h, 'SessionStart', { session_id: 'A', source: 'startup' });
      await send(h, 'UserPromptSubmit', { session_id: 'A', prompt: 'first task in session A', prompt_id: 'a1' });
      await send(h, 'Stop', { session_id: 'A', prompt_id: 'a1' });
      // Another terminal opens a session in the same project: A looks abandoned and is rolled up...
      await send(h, 'SessionStart', { session_id: 'B', source: 'startup' });
      await h.compressor.drain();
      // ...but A goes on.
      await send(h, 'UserPromptSubmit', { session_id: 'A', prompt: 'second task in session A', prompt_id: 'a2' });
      await send(h, 'UserPromptSubmit', { session_id: 'A', prompt: 'third task in session A', prompt_id: 'a3' });
      await send(h, 'SessionEnd', { session_id: 'A', reason: 'prompt_input_exit' });
      await h.compressor.drain();
      const summaries = await t.api.list({ sessionId: 'A', type: 'session-summary', format: 'full' });
      if (summaries.format !== 'full') throw new Error('full');
      expect(summaries.results.length).toBe(1);
      expect(summaries.results[0]!.content).toMatch(/3 turns/);
      const observations = await t.api.list({ sessionId: 'A', type: 'observation', format: 'full' });
      expect(observations.format === 'full' && observations.results.length).toBe(3);
      await h.stop();
    } finally {
      await t.close();
    }
  });

  it('records an injection after the reply, never gives a memory twice meanwhile, and flushes on stop', async () => {
    const t = await openTestEngine();
    try {
      const h = new HookHandler(t.engine, { compressor: { intervalMs: 60_000 } });
      // Other memories of the project, so the prompt's words are rare enough for BM25 to trust a match.
      await t.engine.storeBatch(
        ['the login form', 'a flaky auth test', 'the README badge', 'eslint flat config', 'docker compose ports'].map(
          (topic, i) => ({ content: `Note ${i}: fixed ${topic} today`, project: '/tmp/compress-proj' }),
        ),
      );
      const decision = await t.engine.store({
        content: 'Decision: payment retries use exponential backoff capped at three attempts',
        project: '/tmp/compress-proj',
      });
      const ask = (session: string, id: string) =>
        send(h, 'UserPromptSubmit', {
          session_id: session,
          prompt: 'How do the payment retries back off, and how many attempts?',
          prompt_id: id,
        });
      const first = await ask('s', 'p1');
      expect(first.stdout).toMatch(/exponential backoff/);
      // Not written yet: the reply did not wait for that commit...
      expect(h.capture.injections('s')).toEqual([]);
      // ...but the next prompt of the session, handled before it is written, is not given the memory again.
      expect((await ask('s', 'p2')).stdout).not.toMatch(/exponential backoff/);
      await new Promise((r) => setImmediate(r));
      // Written now: the memory is in exactly one of the session's injections, and in what it was given.
      const rows = h.capture.injections('s');
      expect(rows.filter((r) => (JSON.parse(r.hashes) as string[]).includes(decision.hash))).toHaveLength(1);
      expect(h.capture.given('s').has(decision.hash)).toBe(true);
      // One told just before the handler stops is written by stop().
      expect((await ask('other', 'q1')).stdout).toMatch(/exponential backoff/);
      await h.stop();
      expect(h.capture.injections('other')).toHaveLength(1);
    } finally {
      await t.close();
    }
  });

  it('shares one compression pass between callers, so an item is never worked twice', async () => {
    const t = await openTestEngine();
    try {
      const h = new HookHandler(t.engine, { compressor: { intervalMs: 60_000 } });
      await send(h, 'UserPromptSubmit', { session_id: 'd', prompt: 'x y z', prompt_id: 'p' });
      await send(h, 'Stop', { session_id: 'd', prompt_id: 'p' });
      const a = h.compressor.drain();
      const b = h.compressor.drain();
      expect(a).toBe(b);
      await a;
      expect(t.store.db.prepare('SELECT attempts, status FROM pending_compressions').get()).toEqual({
        attempts: 0,
        status: 'done',
      });
      await h.stop();
    } finally {
      await t.close();
    }
  });
});

describe('context that earns its tokens', () => {
  it('gives a one-turn session once at the next SessionStart, not as its turn and again as its summary', async () => {
    const t = await openTestEngine();
    try {
      const h = new HookHandler(t.engine, { compressor: { intervalMs: 60_000 } });
      await send(h, 'UserPromptSubmit', {
        session_id: 'one',
        prompt: 'Switch the linter to the flat config of eslint 9',
        prompt_id: 'a',
      });
      await send(h, 'Stop', {
        session_id: 'one',
        prompt_id: 'a',
        last_assistant_message: 'Moved .eslintrc to eslint.config.js.',
      });
      await send(h, 'SessionEnd', { session_id: 'one', reason: 'exit' });
      await h.compressor.drain();
      const made = await t.api.list({ sessionId: 'one', format: 'full' });
      expect(made.format === 'full' && made.results.map((m) => m.type).sort()).toEqual([
        'observation',
        'session-summary',
      ]);
      const r = await send(h, 'SessionStart', { session_id: 'two', source: 'startup' });
      const text = (JSON.parse(r.stdout) as { hookSpecificOutput: { additionalContext: string } }).hookSpecificOutput
        .additionalContext;
      expect(text.split('\n').filter((l) => l.startsWith('- ')).length).toBe(1);
      expect(text).toMatch(/^mnemo: 1 memory from/);
      await h.stop();
    } finally {
      await t.close();
    }
  });

  it('says nothing for a prompt the project never discussed', async () => {
    const t = await openTestEngine();
    try {
      const h = new HookHandler(t.engine, { compressor: { intervalMs: 60_000 } });
      const topics = [
        'the deploy pipeline runs on tags',
        'tests use a temp home',
        'the socket lives in the runtime dir',
        'logs are json lines',
        'the cache holds query vectors',
      ];
      await t.api.storeBatch({
        memories: [
          {
            content: 'In the payments ledger, refunds are stored as integer cents, never floats',
            project: '/tmp/compress-proj',
          },
          ...Array.from({ length: 30 }, (_, i) => ({
            content: `note ${i}: ${topics[i % topics.length]} (${i})`,
            project: '/tmp/compress-proj',
          })),
        ],
      });
      const r = await send(h, 'UserPromptSubmit', {
        session_id: 'q',
        prompt: 'Bump eslint to v9 and switch to the flat config',
        prompt_id: 'q1',
      });
      expect(r.stdout).toBe('');
      const before = t.engine.embedder.stats;
      const hit = await send(h, 'UserPromptSubmit', {
        session_id: 'q',
        prompt: 'How are refunds stored in the payments ledger, integer cents?',
        prompt_id: 'q2',
      });
      expect(hit.stdout).toMatch(/refunds are stored as integer cents/);
      // Its query was started on a worker before the prompt was recorded, and the search took that vector: one model
      // run for the query, not two.
      const after = t.engine.embedder.stats;
      expect(after.cacheMisses - before.cacheMisses).toBe(1);
      expect(after.cacheHits - before.cacheHits).toBe(1);
      // A prompt too short to search for is not embedded at all.
      await send(h, 'UserPromptSubmit', { session_id: 'q', prompt: 'ok, go', prompt_id: 'q3' });
      expect(t.engine.embedder.stats.cacheMisses).toBe(after.cacheMisses);
      await h.stop();
    } finally {
      await t.close();
    }
  });
});

describe('SessionStart context prepared ahead (issue 14)', () => {
  const project = '/tmp/compress-proj';
  const contextOf = (r: { stdout: string }) =>
    (JSON.parse(r.stdout) as { hookSpecificOutput: { additionalContext: string } }).hookSpecificOutput
      .additionalContext;
  /** Counts the engine's searches, calling through to the real method. */
  const countSearches = (engine: TestEngine['engine']) => {
    const search = engine.search.bind(engine);
    const counter = { n: 0 };
    engine.search = (q) => {
      counter.n++;
      return search(q);
    };
    return counter;
  };
  const accessOf = (t: TestEngine, hash: string) => {
    t.engine.storage.flushAccess();
    return t.engine.storage.rowByHash(hash)!.access_count;
  };

  it('gives the same context again without searching, counts what it gives, follows every change at once', async () => {
    const t = await openTestEngine();
    try {
      const decision = await t.api.store({
        content: 'Decision: refunds are stored as integer cents',
        tags: ['decision'],
        project,
      });
      await t.api.storeBatch({
        memories: [
          { content: 'the deploy pipeline runs on tags', project },
          { content: 'tests use a temp home directory', project },
        ],
      });
      const h = new HookHandler(t.engine, { compressor: { intervalMs: 60_000 } });
      const first = contextOf(await send(h, 'SessionStart', { session_id: 's1', source: 'startup' }));
      expect(first).toMatch(/integer cents/);
      const searches = countSearches(t.engine);
      const before = accessOf(t, decision.hash);
      const second = contextOf(await send(h, 'SessionStart', { session_id: 's2', source: 'startup' }));
      expect(second).toBe(first);
      expect(searches.n).toBe(0);
      expect(accessOf(t, decision.hash)).toBe(before + 1);

      // A new memory is in the very next SessionStart, a deleted one is not.
      await t.api.store({ content: 'Decision: the ledger is append-only', tags: ['decision'], project });
      const third = contextOf(await send(h, 'SessionStart', { session_id: 's3', source: 'startup' }));
      expect(third).toMatch(/append-only/);
      expect(searches.n).toBeGreaterThan(0);
      t.engine.delete({ hashes: [decision.hash], filter: {}, dryRun: false });
      const fourth = contextOf(await send(h, 'SessionStart', { session_id: 's4', source: 'startup' }));
      expect(fourth).not.toMatch(/integer cents/);
      expect(fourth).toMatch(/append-only/);

      // After /compact the session's own turns come first: picked on the spot.
      const n = searches.n;
      await send(h, 'SessionStart', { session_id: 's4', source: 'compact' });
      expect(searches.n).toBeGreaterThan(n);
      await h.stop();
    } finally {
      await t.close();
    }
  });

  it('prepares the picks again once writes are still, counting nothing as read until it is given', async () => {
    const t = await openTestEngine();
    try {
      await t.api.store({ content: 'Decision: retries back off exponentially', tags: ['decision'], project });
      const h = new HookHandler(t.engine, { compressor: { intervalMs: 60_000 } });
      await send(h, 'SessionStart', { session_id: 's1', source: 'startup' });
      const added = await t.api.store({
        content: 'Decision: never retry a declined card',
        tags: ['decision'],
        project,
      });
      const searches = countSearches(t.engine);
      // Not while hooks keep coming: a hook must not wait behind the preparation's searches.
      for (let i = 0; i < 10; i++) {
        await send(h, 'PostToolUse', {
          session_id: 's1',
          tool_name: 'Bash',
          tool_use_id: `busy-${i}`,
          tool_input: { command: 'npm test' },
          tool_response: { stdout: 'ok' },
        });
        await new Promise((r) => setTimeout(r, 300));
      }
      expect(searches.n).toBe(0);
      // Checked every second; prepared at the first check that sees the same change as the one before, with no hook
      // for a second.
      await new Promise((r) => setTimeout(r, 2600));
      const prepared = searches.n;
      expect(prepared).toBeGreaterThan(0);
      expect(accessOf(t, added.hash)).toBe(0);
      const text = contextOf(await send(h, 'SessionStart', { session_id: 's2', source: 'startup' }));
      expect(text).toMatch(/declined card/);
      expect(searches.n).toBe(prepared);
      expect(accessOf(t, added.hash)).toBe(1);
      await h.stop();
    } finally {
      await t.close();
    }
  });
});
