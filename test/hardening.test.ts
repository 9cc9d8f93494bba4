import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HookHandler } from '../dist/capture/hook.js';
import { connect } from '../dist/client/client.js';
import { ErrorCode } from '../dist/engine-index.js';
import { encodeFrame, FrameReader } from '../dist/protocol/frame.js';
import { redactDeep } from '../dist/store/redact.js';
import {
  cleanup,
  NATIVE_CLIENT,
  RawConnection,
  socketOf,
  startDaemon,
  testEnv,
  type DaemonProcess,
} from './helpers/daemon.js';
import { openTestEngine, type TestEngine } from './helpers/engine.js';

/** Regressions for the defects found by trying mnemo from outside (issue 11), each named after what went wrong. */

describe('capture cleans what it is given', () => {
  let t: TestEngine;
  beforeAll(async () => {
    t = await openTestEngine();
  });
  afterAll(async () => {
    await t?.close();
  });

  it("a NUL in a prompt or a failed command's stderr no longer loses the session's memories", async () => {
    const h = new HookHandler(t.engine, { compressor: { intervalMs: 60_000 } });
    const send = (event: 'UserPromptSubmit' | 'PostToolUse' | 'Stop' | 'SessionEnd', json: string) =>
      h.handle(event, Buffer.from(json));
    await send(
      'UserPromptSubmit',
      '{"session_id":"n1","cwd":"/home/me/proj","prompt":"fix\\u0000 it","prompt_id":"p1"}',
    );
    await send(
      'PostToolUse',
      '{"session_id":"n1","cwd":"/home/me/proj","prompt_id":"p1","tool_name":"Bash","tool_use_id":"t1",' +
        '"tool_input":{"command":"make"},"tool_response":{"stdout":"","stderr":"bad\\u0000byte","exit_code":2}}',
    );
    await send('Stop', '{"session_id":"n1","cwd":"/home/me/proj","prompt_id":"p1"}');
    await send('SessionEnd', '{"session_id":"n1","cwd":"/home/me/proj","reason":"exit"}');
    await h.compressor.drain();
    expect(h.capture.queueCounts()).toEqual({ done: 2 });
    const made = await t.api.list({ sessionId: 'n1', format: 'full' });
    if (made.format !== 'full') throw new Error('full');
    expect(made.results.map((m) => m.type).sort()).toEqual(['observation', 'session-summary']);
    expect(made.results.every((m) => !m.content.includes('\u0000'))).toBe(true);
    expect(made.results.find((m) => m.type === 'observation')!.content).toContain('fix it');
    await h.stop();
  });

  it('captures a hook payload 5,000 deep; refuses metadata 1,001 deep as bad input (not E_INTERNAL)', async () => {
    const h = new HookHandler(t.engine, { compressor: { intervalMs: 60_000 } });
    let deep = '"x"';
    for (let i = 0; i < 5000; i++) deep = `{"a":${deep}}`;
    const payload =
      '{"session_id":"deep","cwd":"/tmp","tool_name":"Bash","tool_use_id":"t1","tool_input":{"command":"ls"},' +
      `"tool_response":${deep}}`;
    const r = await h.handle('PostToolUse', Buffer.from(payload));
    expect(r).toEqual({ stdout: '', exitCode: 0 });
    expect(h.capture.toolEvents('deep').length).toBe(1);
    await h.stop();
    const meta: Record<string, unknown> = {};
    let at = meta;
    for (let i = 0; i < 1001; i++) at = at.a = {};
    await expect(t.api.store({ content: 'deep metadata', metadata: meta })).rejects.toMatchObject({
      code: ErrorCode.BAD_ARGS,
      message: expect.stringMatching(/nested at most 64 levels/),
    });
  });

  it('redacts a secret 41 levels deep, and one used as an object key', () => {
    let deep: Record<string, unknown> = { key: 'AKIAIOSFODNN7EXAMPLE' };
    for (let i = 0; i < 40; i++) deep = { nested: deep };
    const out = JSON.stringify(redactDeep({ tool_response: deep, byKey: { AKIAIOSFODNN7EXAMPLE: 'value' } }));
    expect(out).not.toContain('AKIAIOSFODNN7EXAMPLE');
    expect(out).toContain('[REDACTED:aws-access-key]');
  });
});

describe('the wire', () => {
  let d: DaemonProcess;
  beforeAll(async () => {
    d = await startDaemon();
  });
  afterAll(async () => {
    await d?.stop();
    if (d) cleanup(d.env);
  });

  it('reports committed writes as done when a later request on the connection is too large', async () => {
    const client = await connect({ env: d.env });
    const stores = Array.from({ length: 32 }, (_, i) => client.store({ content: `pipelined store ${i}` }));
    const big = client.store({ content: 'x'.repeat(9 * 1024 * 1024) }).catch((err: unknown) => err);
    const results = await Promise.allSettled(stores);
    expect(results.filter((r) => r.status === 'fulfilled').length).toBe(32);
    expect(await big).toMatchObject({ code: ErrorCode.TOO_LARGE });
    // The connection is still good: the oversized request was refused before it was sent.
    expect((await client.hello()).ready).toBe(true);
    client.close();
  });

  it('keeps its files private: database, WAL, lock and log are 0600', async () => {
    const c = await connect({ env: d.env });
    await c.store({ content: 'a private memory' });
    c.close();
    for (const file of ['data/mnemo.db', 'data/mnemo.db-wal', 'run/daemon.lock', 'data/logs/daemon.log']) {
      expect((statSync(join(d.env.MNEMO_HOME!, file)).mode & 0o777).toString(8), file).toBe('600');
    }
    // The output file a client opens for a daemon it starts, too.
    const started = testEnv();
    try {
      const auto = await connect({ env: started, autostart: true, waitReady: true });
      await auto.request('shutdown').catch(() => {});
      auto.close();
      expect((statSync(join(started.MNEMO_HOME!, 'data', 'logs', 'daemon.out')).mode & 0o777).toString(8)).toBe('600');
    } finally {
      cleanup(started);
    }
  });

  it('echoes request ids above 2^53 exactly', async () => {
    const raw = await RawConnection.open(socketOf(d.env));
    const id = 2n ** 53n + 1n;
    raw.send({ id, op: 'hello' });
    const reply = (await raw.next()) as { id: unknown; ok: boolean };
    expect(reply.ok).toBe(true);
    expect(reply.id).toBe(id);
    raw.close();
  });

  it('refuses a 64-bit number it cannot hold instead of rounding it', async () => {
    const raw = await RawConnection.open(socketOf(d.env));
    raw.send({ id: 1, op: 'store', args: { content: 'big time', createdAt: 2n ** 60n } });
    expect(await raw.next()).toMatchObject({
      id: 1,
      ok: false,
      error: { code: ErrorCode.BAD_ARGS, message: expect.stringMatching(/createdAt/) },
    });
    raw.close();
  });
});

describe('the native client', () => {
  it.skipIf(!existsSync(NATIVE_CLIENT))('prints nothing for a reply that answers another request id', async () => {
    const home = mkdtempSync(join(tmpdir(), 'mn-foreign-'));
    mkdirSync(join(home, 'run'), { recursive: true });
    const server = createServer((socket) => {
      const reader = new FrameReader();
      socket.on('data', (chunk) => {
        for (const request of reader.push(chunk))
          if (request) socket.write(encodeFrame({ id: 7, ok: true, result: 'not your reply' }));
      });
    });
    await new Promise<void>((r) => server.listen(join(home, 'run', 'mnemo.sock'), r));
    try {
      const env = { PATH: process.env.PATH, MNEMO_HOME: home, MNEMO_CLI: '/nonexistent' };
      // Asynchronously: the fake daemon answers from this process's event loop.
      const call = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
        const p = spawn(NATIVE_CLIENT, ['call', 'hello'], { env });
        let stdout = '';
        let stderr = '';
        p.stdout.on('data', (x) => (stdout += x));
        p.stderr.on('data', (x) => (stderr += x));
        p.on('exit', (status) => resolve({ status, stdout, stderr }));
      });
      expect(call.stdout).toBe('');
      expect(call.status).toBe(1);
      expect(String(call.stderr)).toMatch(/answered another request/);
    } finally {
      server.close();
      rmSync(home, { recursive: true, force: true });
    }
  });
});
