import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, startDaemon, testEnv, type DaemonProcess } from './helpers/daemon.js';
import { REPO, tinyPack } from './helpers/packs.js';

/**
 * The programs in examples/, run as a user runs them (`node examples/x.mjs`, importing the package by its name),
 * each with its own temp MNEMO_HOME and a real daemon, so an API change that breaks one fails here.
 */

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function example(
  name: string,
  env: NodeJS.ProcessEnv,
  options: { args?: string[]; stdin?: string } = {},
): Promise<Run> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [join(REPO, 'examples', name), ...(options.args ?? [])], {
      env,
      cwd: REPO,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d) => (stdout += d));
    proc.stderr.on('data', (d) => (stderr += d));
    proc.stdin.end(options.stdin ?? '');
    proc.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('examples/ against a running daemon', () => {
  let daemon: DaemonProcess;

  beforeAll(async () => {
    daemon = await startDaemon(testEnv());
  });
  afterAll(async () => {
    await daemon.stop();
    cleanup(daemon.env);
  });

  it('client.mjs stores two memories and finds them, compact and as text', async () => {
    const r = await example('client.mjs', daemon.env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^stored [0-9a-f]{8}: We chose pino for structured logs/m);
    expect(r.stdout).toMatch(/^stored [0-9a-f]{8}: The orders table keeps money as integer cents/m);
    // The logging memory answers the logging question first.
    expect(r.stdout).toMatch(/search "which logging library do we use":\n {2}[0-9a-f]{8} \d\.\d\d We chose pino/);
    expect(r.stdout).toMatch(
      /as context \(\d+ tokens\):\n- [0-9a-f]{8} now \d\.\d\d \[decision, example\] The orders table/,
    );

    const client = await daemon.client();
    try {
      const stored = await client.list({ tags: ['example'] });
      expect(stored.format === 'compact' && stored.results.map((m) => m.preview).sort()).toEqual([
        'The orders table keeps money as integer cents, never floats',
        'We chose pino for structured logs: JSON lines, one per event',
      ]);
    } finally {
      client.close();
    }

    const again = await example('client.mjs', daemon.env);
    expect(again.stdout).toMatch(/^already stored [0-9a-f]{8}: We chose pino/m);
  });

  it('prompt-hook.mjs prints related memories, with both searches in one batch request', async () => {
    const client = await daemon.client();
    await client.store({ content: 'Structured logging goes through pino, never console.log', tags: ['decision'] });
    await client.store({ content: 'Log files rotate daily and are kept for a week', tags: ['ops'] });
    const requests = async () => (await client.status()).requestsMs.count;
    const before = await requests();

    const r = await example('prompt-hook.mjs', daemon.env, {
      stdin: JSON.stringify({ prompt: 'how should I add logging here?', cwd: REPO }),
    });
    const after = await requests();
    client.close();

    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('Related notes from mnemo:');
    // The decision search finds the logging decision; the keyword search adds the ops note that shares its word.
    expect(lines).toContainEqual(
      expect.stringMatching(/^- [0-9a-f]{8} \[decision\] Structured logging goes through pino/),
    );
    expect(lines).toContainEqual(expect.stringMatching(/^- [0-9a-f]{8} \[ops\] Log files rotate daily/));
    // A memory both searches found is listed once.
    expect(new Set(lines).size).toBe(lines.length);
    // The hook's connection sent `hello` (the version check every connection makes) and one `batch`; the rest is the
    // first status request, counted once it is answered.
    expect(after - before).toBe(3);
  });

  it('engine.mjs runs in process on its own temp database and removes it', async () => {
    const r = await example('engine.mjs', daemon.env, { args: [tinyPack()] });
    expect(r.code, r.stderr).toBe(0);
    const dir = /^stored 3 memories in (.+)$/m.exec(r.stdout)?.[1];
    expect(dir).toBeDefined();
    expect(existsSync(dir!)).toBe(false);
    expect(r.stdout).toMatch(
      /search "how long may the webhook take":\n- [0-9a-f]{8} now \d\.\d\d \[payments\] The payment webhook/,
    );
    const scored = String.raw`\d\.\d\d \(keyword \d\.\d\d, semantic \d\.\d\d\)`;
    expect(r.stdout).toMatch(
      new RegExp(String.raw`engine\.search "backoff for retries":\n {2}` + scored + ' Retries use exponential backoff'),
    );
  });
});

describe('examples/ with no daemon', () => {
  const env = testEnv();
  afterAll(() => cleanup(env));

  it('prompt-hook.mjs fails open: no daemon or bad input means no output and exit 0', async () => {
    const none = await example('prompt-hook.mjs', env, { stdin: JSON.stringify({ prompt: 'anything' }) });
    expect(none).toMatchObject({ code: 0, stdout: '', stderr: '' });
    const garbage = await example('prompt-hook.mjs', env, { stdin: 'not json' });
    expect(garbage).toMatchObject({ code: 0, stdout: '', stderr: '' });
    // A hook must not start a daemon (that is for mnemo's own hooks, which start one for the next event).
    expect(existsSync(join(env.MNEMO_HOME!, 'run', 'mnemo.sock'))).toBe(false);
  });

  it('engine.mjs says how to get a model pack when there is none', async () => {
    const r = await example('engine.mjs', env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^no model pack yet: run `mnemo model build offline`/);
  });

  it('client.mjs starts the daemon when none runs', async () => {
    const r = await example('client.mjs', env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^stored [0-9a-f]{8}: We chose pino/m);
    expect(existsSync(join(env.MNEMO_HOME!, 'run', 'daemon.json'))).toBe(true);
  });
});
