import { spawn, spawnSync } from 'node:child_process';
import Database from 'better-sqlite3';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alive } from '../dist/cli/command.js';
import { connect } from '../dist/client/client.js';
import {
  cleanup,
  FALLBACK_CLIENT,
  NATIVE_CLIENT,
  socketOf,
  startDaemon,
  testEnv,
  type DaemonProcess,
} from './helpers/daemon.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a client the way Claude Code runs a hook: a new process, JSON on stdin. */
function run(argv: string[], env: NodeJS.ProcessEnv, stdin: Buffer | string = ''): Promise<Run> {
  return new Promise((resolve) => {
    const started = performance.now();
    const proc = spawn(argv[0]!, argv.slice(1), { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d) => (stdout += d));
    proc.stderr.on('data', (d) => (stderr += d));
    proc.stdin.on('error', () => {});
    proc.stdin.end(stdin);
    proc.on('exit', (code) => resolve({ code, stdout, stderr, ms: performance.now() - started }));
  });
}

const clients: [string, string[]][] = [
  ['native', [NATIVE_CLIENT]],
  ['node fallback', [process.execPath, FALLBACK_CLIENT]],
];

const hookInput = JSON.stringify({
  session_id: 'abc',
  transcript_path: '/tmp/t.jsonl',
  cwd: '/tmp',
  hook_event_name: 'Stop',
});

describe.each(clients)('%s client', (name, cmd) => {
  let d: DaemonProcess;
  beforeAll(async () => {
    if (name === 'native' && !existsSync(NATIVE_CLIENT)) throw new Error(`native client not built at ${NATIVE_CLIENT}`);
    d = await startDaemon();
  });
  afterAll(async () => {
    await d?.stop();
    if (d) cleanup(d.env);
  });

  it('makes a hook round trip: the daemon records the event, and the hook prints what the daemon says', async () => {
    const session = `rt-${name.replace(/\W/g, '')}`;
    const prompt = JSON.stringify({
      session_id: session,
      cwd: '/tmp',
      prompt: 'round trip through the client',
      prompt_id: 'p1',
    });
    const r = await run([...cmd, 'hook', 'UserPromptSubmit'], d.env, prompt);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    // Recorded: the prompt row exists, committed before the reply.
    const db = new Database(join(d.env.MNEMO_HOME!, 'data', 'mnemo.db'), { readonly: true });
    try {
      expect(db.prepare('SELECT text FROM prompts WHERE session_id = ?').pluck().get(session)).toBe(
        'round trip through the client',
      );
    } finally {
      db.close();
    }
    const stop = await run([...cmd, 'hook', 'Stop'], d.env, hookInput);
    expect(stop).toMatchObject({ code: 0, stdout: '', stderr: '' });
  });

  it('runs ops with `call` and `batch`, the daemon rendering the text', async () => {
    const stored = await run([...cmd, 'call', 'store', '{"content":"client call test","tags":["cli"]}'], d.env);
    expect(stored.code).toBe(0);
    expect(stored.stdout).toMatch(/^stored [0-9a-f]{8} \[cli\]\n$/);
    const json = await run([...cmd, 'call', 'tags', '{}', '--json'], d.env);
    expect(JSON.parse(json.stdout)).toEqual([{ tag: 'cli', count: 1 }]);
    const batch = await run(
      [...cmd, 'batch'],
      d.env,
      JSON.stringify([{ op: 'tags' }, { op: 'search', args: { query: 'client call test', mode: 'keyword' } }]),
    );
    expect(batch.code).toBe(0);
    expect(batch.stdout).toContain('1  cli');
    expect(batch.stdout).toContain('client call test');
    const bad = await run([...cmd, 'call', 'get', '{"hash":"zz"}'], d.env);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toMatch(/E_BAD_ARGS/);
  });

  it('exits 0 silently even when the hook is set up without its event name', async () => {
    const r = await run([...cmd, 'hook'], d.env, hookInput);
    expect(r).toMatchObject({ code: 0, stdout: '', stderr: '' });
  });

  it('is safe with any stdin: empty, binary, and over the frame limit', async () => {
    const before = (await connect({ env: d.env }).then(async (c) => [await c.status(), c.close()][0])) as {
      requestsMs: { count: number };
    };
    for (const input of [
      Buffer.alloc(0),
      Buffer.from([0, 1, 2, 0xff, 0xfe, 0xc1]),
      Buffer.alloc(9 * 1024 * 1024, 0x61),
    ]) {
      const r = await run([...cmd, 'hook', 'PostToolUse'], d.env, input);
      expect(r).toMatchObject({ code: 0, stdout: '' });
    }
    // The client did talk to the daemon for the inputs it could send (empty and binary; the 9 MiB one is refused by
    // the client itself, logged), and the daemon is unharmed.
    const after = (await connect({ env: d.env }).then(async (c) => [await c.status(), c.close()][0])) as {
      requestsMs: { count: number };
    };
    expect(after.requestsMs.count - before.requestsMs.count).toBeGreaterThanOrEqual(3); // 2 hooks + the status call
    expect(readFileSync(join(d.env.MNEMO_HOME!, 'data', 'logs', 'client.log'), 'utf8')).toMatch(
      /over the \d+-byte frame limit/,
    );
    expect((await run([...cmd, 'call', 'hello'], d.env)).code).toBe(0);
  });
});

describe.each(clients)('%s client without a daemon', (name, cmd) => {
  it('exits 0 with empty stdout within its deadline when no daemon runs', async () => {
    const env: NodeJS.ProcessEnv = { ...testEnv(), MNEMO_CLI: '/nonexistent/cli.js' };
    const r = await run([...cmd, 'hook', 'UserPromptSubmit'], env, hookInput);
    expect(r).toMatchObject({ code: 0, stdout: '' });
    expect(r.ms).toBeLessThan(name === 'native' ? 1000 : 3000);
    const log = readFileSync(join(env.MNEMO_HOME!, 'data', 'logs', 'client.log'), 'utf8');
    expect(log).toMatch(/not running|cannot connect/);
    cleanup(env);
  });

  it('exits 0 within its deadline when the daemon accepts but never replies', async () => {
    const env: NodeJS.ProcessEnv = { ...testEnv(), MNEMO_CLIENT_TIMEOUT_MS: '300' };
    mkdirSync(join(env.MNEMO_HOME!, 'run'), { recursive: true });
    const hung = createServer(() => {});
    await new Promise<void>((r) => hung.listen(socketOf(env), r));
    try {
      const r = await run([...cmd, 'hook', 'PreToolUse'], env, hookInput);
      expect(r).toMatchObject({ code: 0, stdout: '' });
      expect(r.ms).toBeGreaterThanOrEqual(250);
      expect(r.ms).toBeLessThan(name === 'native' ? 1500 : 3000);
    } finally {
      hung.close();
      cleanup(env);
    }
  });

  it('exits 0 with empty stdout when the daemon answers garbage', async () => {
    const garbage = [
      Buffer.from([0, 0, 0, 4, 0xc1, 0xc1, 0xc1, 0xc1]),
      Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n'),
      Buffer.from([0xff, 0xff, 0xff, 0xff]),
    ];
    for (const bytes of garbage) {
      // A home per case: each fake daemon has its own socket path.
      const env: NodeJS.ProcessEnv = { ...testEnv(), MNEMO_CLI: '/nonexistent/cli.js' };
      mkdirSync(join(env.MNEMO_HOME!, 'run'), { recursive: true });
      let answered = 0;
      const liar = createServer((socket) => {
        answered++;
        socket.on('error', () => {});
        socket.end(bytes);
      });
      await new Promise<void>((r) => liar.listen(socketOf(env), r));
      try {
        const r = await run([...cmd, 'hook', 'SessionStart'], env, hookInput);
        expect(r).toMatchObject({ code: 0, stdout: '' });
        expect(r.ms).toBeLessThan(name === 'native' ? 2500 : 4000);
        expect(answered).toBe(1);
      } finally {
        liar.close();
        cleanup(env);
      }
    }
  });

  it('exits 0 (never 2) when a dead daemon left its socket file behind (ECONNREFUSED)', async () => {
    const env: NodeJS.ProcessEnv = { ...testEnv(), MNEMO_CLI: '/nonexistent/cli.js' };
    mkdirSync(join(env.MNEMO_HOME!, 'run'), { recursive: true });
    // A socket file with nobody listening: bound, then the process exits without removing it.
    const py = spawnSync('python3', [
      '-c',
      'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])',
      socketOf(env),
    ]);
    expect(py.status).toBe(0);
    expect(existsSync(socketOf(env))).toBe(true);
    try {
      const r = await run([...cmd, 'hook', 'UserPromptSubmit'], env, hookInput);
      expect(r).toMatchObject({ code: 0, stdout: '' });
      expect(readFileSync(join(env.MNEMO_HOME!, 'data', 'logs', 'client.log'), 'utf8')).toMatch(
        /ECONNREFUSED|Connection refused|not running/,
      );
    } finally {
      cleanup(env);
    }
  });

  it('starts the daemon for the next call', async () => {
    const env = testEnv();
    try {
      const first = await run([...cmd, 'hook', 'SessionStart'], env, hookInput);
      expect(first).toMatchObject({ code: 0, stdout: '' });
      // Only the hook may have started it: the polling calls are told never to.
      const watching = { ...env, MNEMO_NO_AUTOSTART: '1' };
      let up = false;
      let pid = 0;
      for (let i = 0; i < 300 && !up; i++) {
        await new Promise((r) => setTimeout(r, 100));
        const r = await run([...cmd, 'call', 'hello', '{}', '--json'], watching);
        const hello = JSON.parse((r.code === 0 && r.stdout) || '{}') as { ready?: boolean; pid?: number };
        up = hello.ready === true;
        pid = hello.pid ?? 0;
      }
      expect(up).toBe(true);
      const stop = await run([...cmd, 'call', 'shutdown'], watching);
      expect(stop.code).toBe(0);
      // Until the process has gone, not only its socket: at exit Node.js still writes the daemon's compile cache into
      // the home the cleanup removes (seen: ENOTEMPTY on data/compile-cache).
      for (let i = 0; i < 200 && (existsSync(socketOf(env)) || alive(pid)); i++)
        await new Promise((r) => setTimeout(r, 50));
    } finally {
      cleanup(env);
    }
  }, 60_000);
});

describe("import { connect } from 'mnemo'", () => {
  it('is the code API: typed methods over one connection, batch included', async () => {
    const d = await startDaemon();
    try {
      const { connect, ErrorCode: Codes } = await import('mnemo');
      const client = await connect({ env: d.env });
      const stored = await client.store({ content: 'code API memory', tags: ['api'] });
      const [search, tags] = await client.batch({
        calls: [
          { op: 'search', args: { query: 'code API memory' } },
          { op: 'tags', args: {} },
        ],
      });
      expect(search).toMatchObject({
        ok: true,
        result: { format: 'compact', results: [{ hash: stored.memory.hash }] },
      });
      expect(tags).toEqual({ ok: true, result: [{ tag: 'api', count: 1 }] });
      await expect(client.get({ hash: '00000000' })).rejects.toMatchObject({ code: Codes.NOT_FOUND });
      client.close();
      await expect(client.hello()).rejects.toMatchObject({ code: Codes.CLOSED });
    } finally {
      await d.stop();
      cleanup(d.env);
    }
  });
});
