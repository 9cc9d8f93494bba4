import { existsSync, readFileSync, statSync } from 'node:fs';
import { connect, START_POLL_MS, startDaemonProcess, type MnemoClient } from '../../client/client.js';
import { ErrorCode, MnemoError } from '../../errors.js';
import { resolvePaths } from '../../paths.js';
import { alive, intValue, print, say, tryConnect, type Command, type Parsed } from '../command.js';

/** Starting, stopping and describing the daemon. */

const model = {
  name: 'model',
  kind: 'string',
  value: 'M',
  help: 'the model pack: a folder, a pulled model name, offline or auto',
} as const;
const threads = {
  name: 'threads',
  kind: 'string',
  value: 'N',
  help: 'embedding worker threads (default 1; each holds its own model copy)',
} as const;

/** Runs the daemon in this process (`mnemo daemon`, `mnemo start --foreground`). */
async function launch(values: Parsed['values']) {
  // Before the daemon's modules load: a re-executed process would load them again.
  (await import('../../daemon/process-tuning.js')).tuneDaemonProcess();
  // V8's compiled code of the daemon's modules and its workers', kept on disk for the next start.
  (await import('../../compile-cache.js')).useCompileCache();
  const modelDir = typeof values.model === 'string' ? values.model : undefined;
  const threads = values.threads !== undefined ? intValue('threads', values.threads) : undefined;
  // The lock first (a daemon refused loads no model), then the workers start loading the model while this thread
  // imports the daemon's modules.
  const { claimRuntime } = await import('../../daemon/lock.js');
  const lock = claimRuntime(resolvePaths(), true);
  const early = (await import('../../daemon/early-model.js')).startModelEarly(process.env, modelDir, threads);
  const { startDaemon } = await import('../../daemon/daemon.js');
  return startDaemon({
    ownProcess: true,
    lock,
    ...(modelDir !== undefined ? { modelDir } : {}),
    ...(threads !== undefined ? { threads } : {}),
    ...(early ? { early } : {}),
  });
}

export const daemon: Command = {
  name: 'daemon',
  usage: '[options]',
  summary: 'run the daemon in this process (what `start` and the hooks launch; the service units run it)',
  flags: [model, threads],
  async run(p) {
    const d = await launch(p.values);
    try {
      await d.ready;
    } catch {
      // Stay down rather than serve E_NOT_READY forever; the reason is in the log and in `mnemo start`'s output.
      process.exitCode = 1;
      await d.stop();
      return 1;
    }
    await d.stopped;
    return 0;
  },
};

export const start: Command = {
  name: 'start',
  usage: '[options]',
  summary: 'start the daemon and wait until its model is warm (offline: builds the word-vector pack first)',
  flags: [
    { name: 'foreground', kind: 'boolean', help: 'run in this terminal until Ctrl-C' },
    model,
    threads,
    { name: 'pull', kind: 'boolean', help: 'first download all-MiniLM-L6-v2 (the only way start uses the network)' },
  ],
  async run(p) {
    const r = await startDaemonCli(p);
    if (r) say(p.json, r.data, r.text);
    return 0;
  },
};

/** Starts the daemon (or finds it running); what to print, or null after a foreground run has ended. */
async function startDaemonCli({
  values,
  json,
}: Parsed): Promise<{ data: Record<string, unknown>; text: string } | null> {
  if (values.threads !== undefined) intValue('threads', values.threads);
  if (values.pull) {
    const { pull } = await import('./model.js');
    await pull(undefined, { json, force: false });
  }
  const running = await tryConnect();
  if (running) {
    const hello = running.greeting;
    running.close();
    return {
      data: { running: true, alreadyRunning: true, ...hello },
      text: `mnemo is already running (pid ${hello.pid}, ${hello.state})`,
    };
  }
  if (values.foreground) {
    const began = performance.now();
    const d = await launch(values);
    try {
      await d.ready;
    } catch (err) {
      await d.stop();
      throw err;
    }
    process.stderr.write(
      `mnemo ready in ${Math.round(performance.now() - began)} ms on ${d.files.socket} (Ctrl-C stops)\n`,
    );
    await d.stopped;
    return null;
  }
  const began = performance.now();
  const extra: string[] = [];
  if (typeof values.model === 'string') extra.push('--model', values.model);
  if (typeof values.threads === 'string') extra.push('--threads', values.threads);
  const paths = resolvePaths();
  // Where this start's output begins: what earlier starts left in the logs is not this start's reason.
  const since = { out: sizeOf(paths.daemonOut), log: sizeOf(paths.daemonLog) };
  const pid = startDaemonProcess(process.env, extra);
  const client = await waitStarted(pid, json, since);
  // The hello that found it ready: another one now could wait on the index load's first slice.
  const hello = client.greeting;
  client.close();
  const ms = Math.round(performance.now() - began);
  return {
    data: { running: true, startedMs: ms, ...hello },
    text: `mnemo started (pid ${hello.pid}, model ${hello.model?.name}, ready in ${ms} ms)`,
  };
}

/** Waits for a daemon just spawned to be ready; on failure, says why with the end of its output. */
async function waitStarted(
  pid: number | undefined,
  json: boolean,
  since: { out: number; log: number },
): Promise<MnemoClient> {
  const tty = process.stderr.isTTY && !json;
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const client = await connect({
        waitReady: true,
        startTimeoutMs: Math.max(1, deadline - Date.now()),
        connectTimeoutMs: 500,
        onWait: (state) => {
          if (tty) process.stderr.write(`\r${state}…`.padEnd(40));
        },
      });
      if (tty) process.stderr.write('\r'.padEnd(41) + '\r');
      return client;
    } catch (err) {
      const stillStarting = (err as MnemoError).code === ErrorCode.CLOSED && pid !== undefined && alive(pid);
      if (!stillStarting || Date.now() > deadline) {
        if (tty) process.stderr.write('\r'.padEnd(41) + '\r');
        const paths = resolvePaths();
        const cause = startFailure(paths, since);
        throw new MnemoError(
          (err as MnemoError).code ?? ErrorCode.INTERNAL,
          `the daemon did not start: ${cause ?? (err as Error).message} (logs: ${paths.logDir})`,
        );
      }
      await new Promise((r) => setTimeout(r, START_POLL_MS));
    }
  }
}

const sizeOf = (path: string) => (existsSync(path) ? statSync(path).size : 0);

/**
 * Why this start failed, from what it wrote after `since`: the daemon log's last error (with its cause, e.g. "file is
 * not a database"), else the last line it printed that is not an onnxruntime warning.
 */
function startFailure(paths: ReturnType<typeof resolvePaths>, since: { out: number; log: number }): string | null {
  const after = (path: string, offset: number) =>
    existsSync(path) ? readFileSync(path).subarray(offset).toString('utf8') : '';
  for (const line of after(paths.daemonLog, since.log).trim().split('\n').reverse()) {
    try {
      const entry = JSON.parse(line) as { level?: number; msg?: string; err?: { message?: string } };
      if ((entry.level ?? 0) >= 50) return [entry.msg, entry.err?.message].filter(Boolean).join(': ');
    } catch {
      // Not a log line.
    }
  }
  const printed = after(paths.daemonOut, since.out)
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/onnxruntime|^\W*\d{4}-\d{2}-\d{2} [\d:.]+ \[W/.test(l));
  return printed.length > 0 ? printed[printed.length - 1]! : null;
}

/** Stops the running daemon; the result, or null when none was running. */
async function stopDaemon(): Promise<{ stopped: number } | null> {
  const client = await tryConnect();
  if (!client) return null;
  const { pid } = client.greeting;
  await client.shutdown().catch(() => {});
  client.close();
  for (let i = 0; i < 300 && alive(pid); i++) await new Promise((r) => setTimeout(r, 50));
  if (alive(pid)) throw new MnemoError(ErrorCode.TIMEOUT, `the daemon (pid ${pid}) did not stop within 15 s`);
  return { stopped: pid };
}

export const stop: Command = {
  name: 'stop',
  usage: '',
  summary: 'stop the daemon (it finishes what is in flight first)',
  flags: [],
  ops: ['shutdown'],
  async run({ json }) {
    const r = await stopDaemon();
    say(
      json,
      r ? { running: false, ...r } : { running: false },
      r ? `mnemo stopped (pid ${r.stopped})` : 'mnemo is not running',
    );
    return 0;
  },
};

export const restart: Command = {
  name: 'restart',
  usage: '[options]',
  summary: 'stop the daemon if it runs, then start it',
  flags: start.flags.filter((f) => f.name !== 'foreground'),
  async run(p) {
    const stopped = await stopDaemon();
    const r = await startDaemonCli(p);
    if (r) say(p.json, { ...r.data, stopped: stopped?.stopped ?? null }, r.text);
    return 0;
  },
};

export const status: Command = {
  name: 'status',
  usage: '',
  summary: 'the running daemon: pid, uptime, model, memories, database size, request latency (exit 3 when none runs)',
  flags: [],
  ops: ['status', 'hello'],
  async run({ json }) {
    const client = await tryConnect();
    if (!client) {
      const socket = resolvePaths().socketPath;
      say(json, { running: false, socket }, `mnemo is not running (no daemon on ${socket})`);
      return 3;
    }
    try {
      print(
        json ? { running: true, ...(await client.status()) } : await client.request('status', {}, { render: 'text' }),
      );
      return 0;
    } finally {
      client.close();
    }
  },
};
