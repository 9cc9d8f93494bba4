import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type MnemoClient } from '../dist/client/client.js';
import { ErrorCode, MnemoError } from '../dist/engine-index.js';
import { cleanup, CLI, RawConnection, socketOf, startDaemon, testEnv, type DaemonProcess } from './helpers/daemon.js';
import { wordVectorsPath } from '../dist/embed/registry.js';
import { miniLmShapedPack } from './helpers/packs.js';

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return (err as MnemoError).code;
  }
  return 'resolved';
}

describe('daemon over its socket', () => {
  let d: DaemonProcess;
  let c: MnemoClient;
  beforeAll(async () => {
    d = await startDaemon();
    c = await d.client();
  });
  afterAll(async () => {
    c?.close();
    await d?.stop();
    if (d) cleanup(d.env);
  });

  it('answers hello with versions, pid and readiness', async () => {
    const hello = await c.hello();
    expect(hello).toMatchObject({
      protocol: 1,
      ready: true,
      pid: d.proc.pid,
      model: { dimension: 32 },
      state: 'ready',
    });
  });

  it('listens only on a private Unix socket', () => {
    const runtime = join(d.env.MNEMO_HOME!, 'run');
    expect(statSync(runtime).mode & 0o777).toBe(0o700);
    expect(statSync(socketOf(d.env)).mode & 0o777).toBe(0o600);
    expect(statSync(socketOf(d.env)).isSocket()).toBe(true);
  });

  it('serves every operation', async () => {
    // A daemon of its own: the counts below are exactly what this test stored, whatever the others did.
    const own = await startDaemon();
    const c = await own.client();
    try {
      const s = await c.store({ content: 'daemon op test: we use msgpack frames', tags: ['proto'], type: 'decision' });
      expect(s.created).toBe(true);
      const batch = await c.storeBatch({
        memories: [{ content: 'batch a over the wire' }, { content: 'batch b over the wire', tags: ['wire'] }],
      });
      expect(batch.map((b) => b.created)).toEqual([true, true]);
      const found = await c.search({ query: 'msgpack frames', mode: 'keyword' });
      expect(found.format === 'compact' && found.results[0]?.hash).toBe(s.memory.hash);
      const byTag = await c.searchByTag({ tags: ['wire'] });
      expect(byTag.format === 'compact' && byTag.results.length).toBe(1);
      const recalled = await c.recall({ time: 'today' });
      expect(recalled.format === 'compact' && recalled.results.length).toBe(3);
      expect((await c.get({ hash: s.hash.slice(0, 8) })).content).toBe('daemon op test: we use msgpack frames');
      expect((await c.update({ hash: s.hash, addTags: ['wire'] })).tags).toEqual(['proto', 'wire']);
      expect(await c.tags()).toEqual([
        { tag: 'wire', count: 2 },
        { tag: 'proto', count: 1 },
      ]);
      expect((await c.health()).memories).toBe(3);
      expect((await c.stats()).memories).toBe(3);
      const page = await c.export({ limit: 2 });
      expect(page.memories.length).toBe(2);
      expect(page.cursor).not.toBeNull();
      expect((await c.delete({ tags: ['proto'], dryRun: true })).matched).toBe(1);
      expect((await c.delete({ hash: batch[0]!.hash })).deleted).toBe(1);
      expect(await c.hook({ event: 'Stop', payload: '{"session_id":"s"}' })).toEqual({ stdout: '', exitCode: 0 });
      const status = await c.status();
      expect(status).toMatchObject({ pid: own.proc.pid, state: 'ready', memories: 2 });
      // The quantised index follows every write: three stored, one deleted.
      expect(status.vectorIndex).toEqual({ size: 2, ready: true });
      expect((status.requestsMs as { count: number }).count).toBeGreaterThan(10);
      expect(await codeOf(c.get({ hash: 'ffffffff' }))).toBe(ErrorCode.NOT_FOUND);
    } finally {
      c.close();
      await own.stop();
      cleanup(own.env);
    }
  });

  it('takes args_json and renders text or JSON on request', async () => {
    const text = await c.request('search', undefined as never, { render: 'text' }).catch((e: MnemoError) => e.code);
    expect(text).toBe(ErrorCode.BAD_ARGS);
    const { hash } = await c.store({ content: 'rendered over the wire in two forms', tags: ['rendered'] });
    const raw = await RawConnection.open(socketOf(d.env));
    raw.send({ id: 1, op: 'get', args_json: JSON.stringify({ hash }), render: 'text' });
    const asText = (await raw.next()) as { id: number; ok: boolean; result: string };
    expect(asText).toMatchObject({ id: 1, ok: true });
    expect(asText.result).toContain('rendered over the wire in two forms');
    raw.send({ id: 2, op: 'get', args_json: JSON.stringify({ hash }), render: 'json' });
    const asJson = (await raw.next()) as { id: number; ok: boolean; result: string };
    expect(asJson).toMatchObject({ id: 2, ok: true });
    expect(JSON.parse(asJson.result)).toMatchObject({
      hash,
      content: 'rendered over the wire in two forms',
      tags: ['rendered'],
    });
    raw.send({ id: 3, op: 'tags', args_json: '{not json' });
    expect(await raw.next()).toMatchObject({ id: 3, ok: false, error: { code: ErrorCode.BAD_ARGS } });
    raw.close();
  });

  it('pipelines requests on one connection and pairs every reply by id', async () => {
    const raw = await RawConnection.open(socketOf(d.env));
    const ops = ['search', 'hello', 'tags', 'health', 'search', 'hello'];
    ops.forEach((op, i) => raw.send({ id: 100 + i, op, args: op === 'search' ? { query: `pipelined ${i}` } : {} }));
    const replies: { id: number; ok: boolean }[] = [];
    for (let i = 0; i < ops.length; i++) replies.push((await raw.next()) as { id: number; ok: boolean });
    expect(replies.map((r) => r.id).sort()).toEqual(ops.map((_, i) => 100 + i));
    expect(replies.every((r) => r.ok)).toBe(true);
    raw.close();
  });

  it('runs a batch in order and embeds all its queries in one model call', async () => {
    const before = (await c.stats()).embedder.calls;
    const items = await c.batch({
      calls: [
        { op: 'search', args: { query: 'first fresh batch query' } },
        { op: 'search', args: { query: 'second fresh batch query', mode: 'semantic' } },
        { op: 'recall', args: { time: 'today', query: 'third fresh batch query' } },
        { op: 'get', args: { hash: 'ffffffff' } },
        { op: 'nope' },
        { op: 'batch', args: { calls: [] } },
        { op: 'tags' },
      ],
    });
    const after = (await c.stats()).embedder.calls;
    expect(after - before).toBe(1);
    expect(items.map((i) => (i.ok ? 'ok' : i.error.code))).toEqual([
      'ok',
      'ok',
      'ok',
      ErrorCode.NOT_FOUND,
      ErrorCode.UNKNOWN_OP,
      ErrorCode.BAD_ARGS,
      'ok',
    ]);
  });

  it('serves 32 concurrent clients x 200 mixed requests with zero errors', async () => {
    const errorsBefore = ((await c.status()).requestsMs as { errors: number }).errors;
    const clients = await Promise.all(Array.from({ length: 32 }, () => connect({ env: d.env })));
    const results = await Promise.all(
      clients.map(async (client, ci) => {
        const pending: Promise<boolean>[] = [];
        let window: Promise<boolean>[] = [];
        for (let i = 0; i < 200; i++) {
          // Up to 16 requests in flight per client, under the daemon's per-connection limit.
          if (window.length === 16) {
            await Promise.all(window);
            window = [];
          }
          const kind = i % 5;
          const marker = `c${ci}-r${i}`;
          if (kind === 0)
            pending.push(
              client
                .store({ content: `load ${marker}`, tags: [`c${ci}`] })
                .then((r) => r.memory.preview === `load ${marker}`),
            );
          else if (kind === 1)
            pending.push(client.search({ query: `load ${marker}`, limit: 3 }).then((r) => r.format === 'compact'));
          else if (kind === 2) pending.push(client.hello().then((h) => h.pid === d.proc.pid));
          else if (kind === 3) pending.push(client.request('tags', { limit: 5 }).then((t) => Array.isArray(t)));
          else pending.push(client.searchByTag({ tags: [`c${ci}`], limit: 100 }).then((r) => r.format === 'compact'));
          window.push(pending[pending.length - 1]!);
        }
        const ok = await Promise.all(pending);
        client.close();
        return ok.every(Boolean);
      }),
    );
    expect(results.every(Boolean)).toBe(true);
    // Not one request of the 6,400 failed (counted by the daemon, whatever earlier tests sent it).
    expect(((await c.status()).requestsMs as { errors: number }).errors).toBe(errorsBefore);
    // Every acknowledged store is there.
    const tags = await c.tags({ limit: 1000 });
    for (let ci = 0; ci < 32; ci++) expect(tags.find((t) => t.tag === `c${ci}`)?.count).toBe(40);
  }, 120_000);

  it('answers bad traffic with its documented error and stays up for everyone else', async () => {
    const bystander = await connect({ env: d.env });
    const kept = await bystander.store({ content: 'stored before the bad traffic' });
    const memoriesBefore = (await bystander.health()).memories;
    const path = socketOf(d.env);
    const garbage = await RawConnection.open(path);
    garbage.write(Buffer.from([0, 0, 0, 3, 0xc1, 0xc1, 0xc1]));
    expect(await garbage.next()).toMatchObject({ id: 0, ok: false, error: { code: ErrorCode.BAD_FRAME } });
    expect(await garbage.waitClosed()).toBe(true);

    const huge = await RawConnection.open(path);
    huge.write(Buffer.from([0xff, 0xff, 0xff, 0xff]));
    expect(await huge.next()).toMatchObject({ id: 0, ok: false, error: { code: ErrorCode.TOO_LARGE } });
    expect(await huge.waitClosed()).toBe(true);

    const truncated = await RawConnection.open(path);
    truncated.write(Buffer.from([0, 0, 1, 0, 0x81, 0xa2]));
    truncated.socket.end();
    expect(await truncated.waitClosed()).toBe(true);

    for (const shape of [
      [1, 2, 3],
      'just a string',
      42,
      { op: 'hello' },
      { id: -1, op: 'hello' },
      { id: 1 },
      { id: 1, op: 7 },
    ]) {
      const wrong = await RawConnection.open(path);
      wrong.send(shape);
      expect(await wrong.next(), JSON.stringify(shape)).toMatchObject({
        ok: false,
        error: { code: ErrorCode.BAD_FRAME },
      });
      expect(await wrong.waitClosed()).toBe(true);
    }

    const polite = await RawConnection.open(path);
    polite.send({ id: 1, op: 'frobnicate' });
    expect(await polite.next()).toMatchObject({ id: 1, ok: false, error: { code: ErrorCode.UNKNOWN_OP } });
    polite.send({ id: 2, op: 'search', args: { query: 5 } });
    expect(await polite.next()).toMatchObject({
      id: 2,
      ok: false,
      error: { code: ErrorCode.BAD_ARGS, message: expect.stringContaining('query') },
    });
    polite.send({ id: 3, op: 'store', args: 'not a map' });
    expect(await polite.next()).toMatchObject({ id: 3, ok: false, error: { code: ErrorCode.BAD_ARGS } });
    polite.close();

    // A str whose bytes are not UTF-8: {id: 4, op: "store", args: {content: <a3 ff fe 41>}}.
    const invalid = Buffer.from([
      0x83, 0xa2, 0x69, 0x64, 0x04, 0xa2, 0x6f, 0x70, 0xa5, 0x73, 0x74, 0x6f, 0x72, 0x65, 0xa4, 0x61, 0x72, 0x67, 0x73,
      0x81, 0xa7, 0x63, 0x6f, 0x6e, 0x74, 0x65, 0x6e, 0x74, 0xa3, 0xff, 0xfe, 0x41,
    ]);
    const utf = await RawConnection.open(path);
    const head = Buffer.alloc(4);
    head.writeUInt32BE(invalid.length);
    utf.write(Buffer.concat([head, invalid]));
    expect(await utf.next()).toMatchObject({
      id: 4,
      ok: false,
      error: { code: ErrorCode.BAD_ARGS, message: expect.stringContaining('UTF-8') },
    });
    utf.send({ id: 5, op: 'hook', args: { event: 'Bogus' } });
    expect(await utf.next()).toMatchObject({ id: 5, ok: false, error: { code: ErrorCode.BAD_ARGS } });
    // Still open after errors that name a request.
    utf.send({ id: 6, op: 'hello' });
    expect(await utf.next()).toMatchObject({ id: 6, ok: true });
    utf.close();

    expect((await bystander.hello()).ready).toBe(true);
    // Nothing stored was harmed and nothing was written by the refused traffic.
    expect((await bystander.health()).memories).toBe(memoriesBefore);
    expect((await bystander.get({ hash: kept.hash })).content).toBe('stored before the bad traffic');
    bystander.close();
  });

  it('answers E_BUSY at once past the in-flight limit of a connection', async () => {
    const raw = await RawConnection.open(socketOf(d.env));
    const n = 200;
    for (let i = 0; i < n; i++)
      raw.send({ id: i + 1, op: 'search', args: { query: `busy probe ${i}`, mode: 'semantic' } });
    const codes = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      const r = (await raw.next()) as { ok: boolean; error?: { code: string } };
      const key = r.ok ? 'ok' : r.error!.code;
      codes.set(key, (codes.get(key) ?? 0) + 1);
    }
    expect(codes.get(ErrorCode.BUSY)).toBeGreaterThan(0);
    expect((codes.get('ok') ?? 0) + (codes.get(ErrorCode.BUSY) ?? 0)).toBe(n);
    raw.close();
  });
});

describe('daemon lifecycle', () => {
  it('refuses a second daemon while one runs', async () => {
    const d = await startDaemon();
    try {
      const second = spawn(process.execPath, [CLI, 'daemon'], { env: d.env, stdio: ['ignore', 'pipe', 'pipe'] });
      let err = '';
      second.stderr.on('data', (x) => (err += x));
      const code = await new Promise<number | null>((r) => second.on('exit', r));
      expect(code).toBe(1);
      expect(err).toMatch(/already running/);
      expect((await (await d.client()).hello()).pid).toBe(d.proc.pid);
    } finally {
      await d.stop();
      cleanup(d.env);
    }
  });

  it('recovers from a kill -9: stale socket replaced, acknowledged store kept', async () => {
    const env = testEnv();
    const d = await startDaemon(env);
    const c = await d.client();
    const s = await c.store({ content: 'acknowledged right before the crash', tags: ['durable'] });
    c.close();
    d.proc.kill('SIGKILL');
    await d.exited;
    expect(existsSync(socketOf(env))).toBe(true); // left behind by the dead daemon
    const again = await startDaemon(env);
    try {
      const c2 = await again.client();
      expect((await c2.get({ hash: s.hash })).tags).toEqual(['durable']);
      c2.close();
    } finally {
      await again.stop();
      cleanup(env);
    }
  });

  it('drains in-flight requests on SIGTERM, then removes its socket and exits 0', async () => {
    const d = await startDaemon();
    const c = await d.client();
    const inflight = c.storeBatch({
      memories: Array.from({ length: 200 }, (_, i) => ({ content: `drain test ${i}` })),
    });
    await new Promise((r) => setTimeout(r, 5));
    d.proc.kill('SIGTERM');
    const stored = await inflight;
    expect(stored.length).toBe(200);
    expect(await d.exited).toBe(0);
    expect(existsSync(socketOf(d.env))).toBe(false);
    expect(existsSync(join(d.env.MNEMO_HOME!, 'run', 'daemon.json'))).toBe(false);
    const log = readFileSync(join(d.env.MNEMO_HOME!, 'data', 'logs', 'daemon.log'), 'utf8');
    expect(log).toMatch(/"msg":"stopped"/);
    // The WAL was checkpointed into the database file.
    const wal = join(d.env.MNEMO_HOME!, 'data', 'mnemo.db-wal');
    expect(!existsSync(wal) || statSync(wal).size === 0).toBe(true);
    c.close();
    cleanup(d.env);
  });

  // The first start builds the offline pack in a child process (seconds of parsing word vectors) while the daemon
  // already answers on its socket: a window that is always there, so these assertions always run.
  it.runIf(wordVectorsPath() !== null)('answers hello but E_NOT_READY to other ops while the model loads', async () => {
    const d = await startDaemon(testEnv('offline'), [], false);
    try {
      const c = await connect({ env: d.env });
      const hello = await c.hello();
      expect(hello.ready).toBe(false);
      expect(hello.state).toMatch(/^building the offline model pack|^loading model$/);
      expect(await codeOf(c.search({ query: 'too early' }))).toBe(ErrorCode.NOT_READY);
      c.close();
      const ready = await d.client();
      expect((await ready.hello()).ready).toBe(true);
      ready.close();
    } finally {
      await d.stop();
      cleanup(d.env);
    }
  });

  it('stops by itself when its socket file is deleted (its home removed)', async () => {
    const d = await startDaemon();
    rmSync(socketOf(d.env));
    const code = await Promise.race([d.exited, new Promise((r) => setTimeout(() => r('still running'), 10_000))]);
    expect(code).toBe(0);
    cleanup(d.env);
  });

  it('stopped while its model loads, finishes the load, closes the engine and exits cleanly', async () => {
    // SIGTERM lands while the workers load and warm the model: the process must not exit under them (a thread
    // stopped inside ONNX Runtime's run aborts the process), and a stop is still a stop, not a ready daemon. The
    // MiniLM-shaped pack loads for a few hundred milliseconds after the daemon listens; the tiny one loaded in 80 ms
    // since the workers start before the daemon's imports, and a SIGTERM sent while `hello` said loading could land
    // after the load.
    let stoppedLoading = 0;
    for (let i = 0; i < 3; i++) {
      const d = await startDaemon(testEnv(miniLmShapedPack()), [], false);
      try {
        const c = await connect({ env: d.env });
        await c.hello();
        c.close();
        d.proc.kill('SIGTERM');
        expect(await d.exited).toBe(0);
        expect(d.proc.signalCode).toBeNull();
        const log = readFileSync(join(d.env.MNEMO_HOME!, 'data', 'logs', 'daemon.log'), 'utf8');
        expect(log).toMatch(/"stopped"/);
        // Once stopping, it never says ready.
        const ready = log.indexOf('"msg":"ready"');
        expect(ready === -1 || ready < log.indexOf('"msg":"stopping"')).toBe(true);
        if (ready === -1) stoppedLoading++;
        // The load ran to its end (the database is opened after the workers are warm) and the engine was closed:
        // its WAL checkpointed away.
        const db = join(d.env.MNEMO_HOME!, 'data', 'mnemo.db');
        expect(existsSync(db)).toBe(true);
        expect(!existsSync(`${db}-wal`) || statSync(`${db}-wal`).size === 0).toBe(true);
        expect(existsSync(socketOf(d.env))).toBe(false);
      } finally {
        cleanup(d.env);
      }
    }
    expect(stoppedLoading).toBeGreaterThan(0);
  });

  it('exits with a clear reason when the model cannot load', async () => {
    const env = testEnv();
    const bad = join(env.MNEMO_HOME!, 'badpack');
    mkdirSync(bad);
    writeFileSync(join(bad, 'manifest.json'), '{"name": "broken"}');
    env.MNEMO_MODEL = bad;
    const proc = spawn(process.execPath, [CLI, 'daemon'], { env, stdio: 'ignore' });
    expect(await new Promise((r) => proc.on('exit', r))).toBe(1);
    const log = readFileSync(join(env.MNEMO_HOME!, 'data', 'logs', 'daemon.log'), 'utf8');
    expect(log).toMatch(/failed to start/);
    expect(log).toMatch(/broken|manifest/);
    expect(existsSync(socketOf(env))).toBe(false);
    cleanup(env);
  });
});

describe('overload', () => {
  it('turns away connections over the limit without dying, even when the peer already hung up', async () => {
    const { startDaemon: startInProcess } = await import('../dist/daemon/daemon.js');
    const env = testEnv();
    const daemon = await startInProcess({ env, threads: 1, limits: { maxConnections: 1, evictIdleAfterMs: 60_000 } });
    await daemon.ready;
    try {
      const holder = await connect({ env });
      let refused = 0;
      for (let i = 0; i < 20; i++) {
        const raw = await RawConnection.open(socketOf(env));
        raw.write(Buffer.from([0, 0, 0, 1, 0xc0]));
        const reply = (await raw.next(2000)) as { error?: { code: string } } | null;
        if (reply?.error?.code === ErrorCode.BUSY) refused++;
        raw.close();
      }
      expect(refused).toBe(20); // each told E_BUSY, none served
      expect(daemon.connections).toBe(1);
      expect((await holder.hello()).ready).toBe(true);
      // Hung-up peers: the refusal's write fails, and the daemon carries on.
      for (let i = 0; i < 20; i++) (await RawConnection.open(socketOf(env))).close();
      await new Promise((r) => setTimeout(r, 200));
      expect((await holder.hello()).ready).toBe(true);
      holder.close();
    } finally {
      await daemon.stop();
      cleanup(env);
    }
  });

  it('makes room at the limit by closing the longest-idle connection: idle ones cannot lock hooks out', async () => {
    const { startDaemon: startInProcess } = await import('../dist/daemon/daemon.js');
    const env = testEnv();
    const daemon = await startInProcess({ env, threads: 1, limits: { maxConnections: 3, evictIdleAfterMs: 300 } });
    await daemon.ready;
    try {
      const idle = await Promise.all([0, 1, 2].map(() => RawConnection.open(socketOf(env))));
      await new Promise((r) => setTimeout(r, 400));
      idle[2]!.send({ id: 1, op: 'hello' }); // the third one is active again
      expect(await idle[2]!.next()).toMatchObject({ id: 1, ok: true });
      const hook = await connect({ env });
      expect((await hook.hello()).ready).toBe(true);
      // The idlest (the first) was told why, then closed; the active one still works.
      expect(await idle[0]!.next()).toMatchObject({
        id: 0,
        ok: false,
        error: { code: ErrorCode.BUSY, message: expect.stringMatching(/idle while the daemon was at its limit/) },
      });
      expect(await idle[0]!.waitClosed()).toBe(true);
      idle[2]!.send({ id: 2, op: 'hello' });
      expect(await idle[2]!.next()).toMatchObject({ id: 2, ok: true });
      expect(daemon.connections).toBe(3);
      hook.close();
      for (const c of idle) c.close();
    } finally {
      await daemon.stop();
      cleanup(env);
    }
  });

  it('closes a connection that leaves a frame half sent', async () => {
    const { startDaemon: startInProcess } = await import('../dist/daemon/daemon.js');
    const env = testEnv();
    const daemon = await startInProcess({ env, threads: 1, limits: { frameTimeoutMs: 300 } });
    await daemon.ready;
    try {
      const raw = await RawConnection.open(socketOf(env));
      raw.write(Buffer.from([0, 0, 0, 50, 0x81])); // a 50-byte frame, one byte of it
      expect(await raw.next(3000)).toMatchObject({
        id: 0,
        ok: false,
        error: { code: ErrorCode.BAD_FRAME, message: expect.stringMatching(/left unfinished/) },
      });
      expect(await raw.waitClosed()).toBe(true);
      // A connection that is merely quiet, between whole frames, stays open.
      const quiet = await RawConnection.open(socketOf(env));
      await new Promise((r) => setTimeout(r, 700));
      quiet.send({ id: 1, op: 'hello' });
      expect(await quiet.next()).toMatchObject({ id: 1, ok: true });
      quiet.close();
    } finally {
      await daemon.stop();
      cleanup(env);
    }
  });
});
