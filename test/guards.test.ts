import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../dist/client/client.js';
import { ErrorCode } from '../dist/engine-index.js';
import { DEFAULT_MAX_FRAME, encodeFrame, FrameReader } from '../dist/protocol/frame.js';
import { redact, SECRET_PATTERNS } from '../dist/store/redact.js';
import { cleanup, RawConnection, socketOf, startDaemon, testEnv, type DaemonProcess } from './helpers/daemon.js';
import { recordFigures } from './helpers/figures.js';
import { join } from 'node:path';

/** Promises that a green run must actually check (each was a surviving mutant of the suite: issue 11). */

describe('the frame limit, at its exact edge', () => {
  const frameOf = (bodyBytes: number) => {
    const head = Buffer.alloc(4);
    head.writeUInt32BE(bodyBytes);
    return head;
  };
  it('takes a frame of exactly the limit and refuses one byte more', () => {
    const at = new FrameReader(1000);
    at.push(frameOf(1000));
    expect(at.error).toBeNull();
    const over = new FrameReader(1000);
    over.push(frameOf(1001));
    expect(over.error).toMatchObject({ code: ErrorCode.TOO_LARGE });
    expect(DEFAULT_MAX_FRAME).toBe(8 * 1024 * 1024);
  });
});

describe('redaction', () => {
  const samples: Record<string, string> = {
    'private-key': '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7\n-----END RSA PRIVATE KEY-----',
    'aws-access-key': 'AKIAIOSFODNN7EXAMPLE',
    'github-token': 'ghp_' + 'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8',
    'gitlab-token': 'glpat-' + 'xXyYzZ0123456789abcd',
    'anthropic-key': 'sk-ant-' + 'api03-abcdefghijklmnopqrstuv',
    'openai-key': 'sk-proj-' + 'abcdefghijklmnopqrstuvwx',
    'stripe-key': 'sk_live_' + '4eC39HqLyjWDarjtT1zdp7dc',
    'slack-token': 'xoxb-' + '123456789012-abcdefghij',
    'google-api-key': 'AIza' + 'SyA-1234567890abcdefghijklmnopqrstu',
    'npm-token': 'npm_' + 'abcdefghijklmnopqrstuvwxyz0123456789',
    jwt: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U',
    'bearer-token': 'Authorization: Bearer abcdefghijklmnop1234',
    'url-credentials': 'postgres://admin:hunter2secret@db.example:5432/app',
    'basic-auth': 'Basic dXNlcjpwYXNzd29yZA==',
    'user-password': 'curl -u admin:s3cretpass https://x',
    'secret-assignment': 'API_KEY=abcd1234efgh5678',
    'secret-flag': 'mysql --password hunter2x',
  };
  it('catches a sample of every secret shape it lists', () => {
    expect(Object.keys(samples).sort()).toEqual(SECRET_PATTERNS.map((p) => p.kind).sort());
    for (const [kind, sample] of Object.entries(samples)) {
      const out = redact(`before ${sample} after`);
      expect(out, kind).toContain(`[REDACTED:${kind}]`);
      expect(out, kind).toMatch(/^before /);
    }
  });

  it('redacts on every way in: store, update metadata, batch', async () => {
    const { openTestEngine } = await import('./helpers/engine.js');
    const t = await openTestEngine();
    try {
      const s = await t.api.store({
        content: `token ${samples['github-token']}`,
        metadata: { password: 'hunter2', note: samples['aws-access-key'] },
      });
      const [b] = await t.api.storeBatch({ memories: [{ content: `batch ${samples['npm-token']}` }] });
      await t.api.update({ hash: s.hash, metadata: { added: samples['slack-token'] } });
      const text = JSON.stringify([await t.api.get({ hash: s.hash }), await t.api.get({ hash: b!.hash })]);
      for (const kind of ['github-token', 'aws-access-key', 'npm-token', 'slack-token'])
        expect(text).not.toContain(samples[kind]!);
      expect(text).not.toContain('hunter2');
    } finally {
      await t.close();
    }
  });
});

describe('the daemon keeps its promises', () => {
  let d: DaemonProcess;
  beforeAll(async () => {
    d = await startDaemon();
  });
  afterAll(async () => {
    await d?.stop();
    if (d) cleanup(d.env);
  });

  it('syncs every commit (synchronous=FULL, WAL): an acknowledged write is on disk', async () => {
    const { openDb } = await import('../dist/store/db.js');
    // The daemon's database is in WAL mode...
    const shared = openDb(join(d.env.MNEMO_HOME!, 'data', 'mnemo.db'), { readonly: true });
    try {
      expect(shared.pragma('journal_mode', { simple: true })).toBe('wal');
    } finally {
      shared.close();
    }
    // ...and every writing connection openDb makes (the daemon's is one) syncs each commit: 2 is FULL.
    const own = openDb(join(d.env.MNEMO_HOME!, 'sync-check.db'));
    try {
      expect(own.pragma('synchronous', { simple: true })).toBe(2);
    } finally {
      own.close();
    }
  });

  it('survives random frames (fast-check): every well-formed request still answered, no crash', async () => {
    const seconds = Number(process.env.MNEMO_FUZZ_SECONDS ?? 8);
    const deadline = Date.now() + seconds * 1000;
    let cases = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
          fc.anything({ maxDepth: 3 }).map((v) => {
            try {
              return encodeFrame(v);
            } catch {
              return Buffer.from([0, 0, 0, 1, 0xc1]);
            }
          }),
          fc
            .record({ id: fc.nat(), op: fc.string({ maxLength: 12 }), args: fc.anything({ maxDepth: 2 }) })
            .map((v) => encodeFrame(v)),
        ),
        async (bytes) => {
          if (Date.now() > deadline) return;
          cases++;
          const raw = await RawConnection.open(socketOf(d.env));
          raw.write(bytes);
          // Whatever it was, the daemon answers or closes; it does not wait forever on a complete request.
          await Promise.race([raw.next(300).catch(() => null), new Promise((r) => setTimeout(r, 300))]);
          raw.close();
        },
      ),
      { numRuns: 100_000, interruptAfterTimeLimit: seconds * 1000 },
    );
    expect(cases).toBeGreaterThan(20);
    const c = await connect({ env: d.env });
    expect((await c.hello()).ready).toBe(true);
    recordFigures('random frames', { seconds, cases, crashes: d.proc.exitCode === null ? 0 : 1 });
    c.close();
    expect(d.proc.exitCode).toBeNull();
  }, 60_000);

  it('answers E_TIMEOUT when a request outlives the deadline', async () => {
    const { startDaemon: inProcess } = await import('../dist/daemon/daemon.js');
    const env = testEnv();
    const daemon = await inProcess({ env, threads: 1, limits: { requestTimeoutMs: 1 } });
    await daemon.ready;
    try {
      const c = await connect({ env });
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) =>
          c.storeBatch({ memories: Array.from({ length: 50 }, (_, j) => ({ content: `slow ${i} ${j}` })) }),
        ),
      );
      expect(
        results.some((r) => r.status === 'rejected' && (r.reason as { code: string }).code === ErrorCode.TIMEOUT),
      ).toBe(true);
      c.close();
    } finally {
      await daemon.stop();
      cleanup(env);
    }
  });
});
