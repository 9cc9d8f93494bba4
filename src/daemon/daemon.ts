import { chmodSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import pino, { type Logger } from 'pino';
import { HookHandler } from '../capture/hook.js';
import { chooseModel, readConfig } from '../config.js';
import { Engine, VERSION } from '../engine.js';
import { ErrorCode, MnemoError } from '../errors.js';
import { CLI_PATH } from '../install-paths.js';
import { resolvePaths, type MnemoPaths } from '../paths.js';
import { PROTOCOL_VERSION } from '../protocol/messages.js';
import { Dispatcher, type DaemonState } from './dispatch.js';
import { DaemonLock } from './lock.js';
import { LatencyRing } from './metrics.js';
import { DEFAULT_LIMITS, DaemonServer, type ServerLimits } from './server.js';

/** Unix socket paths longer than this cannot be bound (sun_path: 108 bytes on Linux, 104 on macOS, with the NUL). */
export const MAX_SOCKET_PATH = process.platform === 'darwin' ? 103 : 107;
const SOCKET_WATCH_MS = 2000;

export interface DaemonOptions {
  env?: NodeJS.ProcessEnv;
  /** A model pack folder; default: see resolveModelDir. */
  modelDir?: string;
  threads?: number;
  limits?: Partial<ServerLimits>;
  /** Listen on an inherited socket descriptor (socket activation) instead of binding the path. */
  listenFd?: number;
  /** Install SIGTERM/SIGINT handlers and exit the process when stopped (the real daemon; tests leave it off). */
  ownProcess?: boolean;
}

export interface DaemonFiles {
  socket: string;
  lock: string;
  /** JSON state: pid, socket, version, readiness. Written by temp file and rename. */
  state: string;
  log: string;
}

export function daemonFiles(paths: MnemoPaths): DaemonFiles {
  return {
    socket: join(paths.runtimeDir, 'mnemo.sock'),
    lock: join(paths.runtimeDir, 'daemon.lock'),
    state: join(paths.runtimeDir, 'daemon.json'),
    log: join(paths.logDir, 'daemon.log'),
  };
}

export interface RunningDaemon {
  files: DaemonFiles;
  /** Resolves when the model is warm (or rejects with why it could not load). */
  ready: Promise<void>;
  /** Resolves when the daemon has stopped. */
  stopped: Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts the daemon: takes the per-user lock, cleans what a dead daemon left, listens at once (so `hello` answers and
 * other requests get E_NOT_READY while the model loads), then loads and warms the model. Every way of stopping goes
 * through one idempotent shutdown: stop accepting, answer what is in flight, checkpoint the WAL, remove the socket and
 * state file, release the lock.
 */
export async function startDaemon(options: DaemonOptions = {}): Promise<RunningDaemon> {
  const env = options.env ?? process.env;
  const paths = resolvePaths(env);
  const files = daemonFiles(paths);
  // Socket activation (systemd): the listening socket is descriptor 3, passed with LISTEN_FDS for this very process.
  if (options.listenFd === undefined && env.LISTEN_FDS === '1' && Number(env.LISTEN_PID) === process.pid) {
    options = { ...options, listenFd: 3 };
    // Not for children (the embedding workers, an offline-pack build).
    delete env.LISTEN_FDS;
    delete env.LISTEN_PID;
    delete env.LISTEN_FDNAMES;
  }
  if (options.listenFd === undefined && files.socket.length > MAX_SOCKET_PATH) {
    throw new MnemoError(
      ErrorCode.BAD_ARGS,
      `socket path ${files.socket} is ${files.socket.length} bytes, over the ${MAX_SOCKET_PATH}-byte limit for Unix sockets; use a shorter MNEMO_HOME or XDG_RUNTIME_DIR`,
    );
  }
  mkdirSync(paths.runtimeDir, { recursive: true, mode: 0o700 });
  chmodSync(paths.runtimeDir, 0o700);
  mkdirSync(paths.logDir, { recursive: true, mode: 0o700 });
  const lock = DaemonLock.acquire(files.lock);

  const log: Logger = pino(
    { base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime },
    pino.destination({ dest: files.log, sync: true, mkdir: true }),
  );
  const latency = new LatencyRing();
  let server: DaemonServer | null = null;
  let stopping: Promise<void> | null = null;
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));

  const state: DaemonState = {
    engine: null,
    hooks: null,
    notice: null,
    state: 'loading model',
    startedAt: Date.now(),
    latency,
    connections: () => server?.connections ?? 0,
    shutdown: () => void shutdown('shutdown request'),
  };
  const writeState = () => {
    const tmp = `${files.state}.${process.pid}.tmp`;
    writeFileSync(
      tmp,
      JSON.stringify({
        pid: process.pid,
        socket: files.socket,
        version: VERSION,
        protocol: PROTOCOL_VERSION,
        startedAt: state.startedAt,
        state: state.state,
        ready: state.engine !== null,
      }),
      { mode: 0o600 },
    );
    renameSync(tmp, files.state);
  };

  // A daemon whose socket file was deleted (its home removed, or another daemon took over the path) can never be
  // reached again: it stops instead of lingering.
  let watch: NodeJS.Timeout | undefined;
  const watchSocket = () => {
    const inode = statSync(files.socket).ino;
    watch = setInterval(() => {
      let current: number | null = null;
      try {
        current = statSync(files.socket).ino;
      } catch {
        // Gone.
      }
      if (current !== inode) void shutdown('socket file removed or replaced');
    }, SOCKET_WATCH_MS);
    watch.unref();
  };

  const shutdown = (why: string): Promise<void> => {
    clearInterval(watch);
    stopping ??= (async () => {
      log.info({ why }, 'stopping');
      try {
        // A replaced socket file belongs to another daemon now: closing our listener would unlink it.
        await server?.close(10_000, why === 'socket file removed or replaced');
        await state.hooks?.stop();
        await state.engine?.close();
      } catch (err) {
        log.error({ err }, 'error while stopping');
      } finally {
        if (options.listenFd === undefined && why !== 'socket file removed or replaced') rmSync(files.socket, { force: true });
        rmSync(files.state, { force: true });
        lock.release();
        log.info('stopped');
        log.flush();
        resolveStopped();
      }
    })();
    return stopping;
  };

  try {
    // We hold the lock, so a socket or state file here is a dead daemon's: remove it before binding. (An inherited
    // socket's path belongs to systemd and stays.)
    if (options.listenFd === undefined) rmSync(files.socket, { force: true });
    rmSync(files.state, { force: true });
    const dispatcher = new Dispatcher(state);
    server = new DaemonServer(
      dispatcher.handle,
      { ...DEFAULT_LIMITS, ...options.limits },
      {
        onRequest: (_op, ms, failed) => latency.add(ms, failed),
        onBadTraffic: (reason) => log.warn({ reason }, 'closed a connection after bad traffic'),
        onInternalError: (op, err) => log.error({ op, err }, 'internal error'),
      },
    );
    // The socket is created 0600: no window in which another user could connect.
    const umask = process.umask(0o177);
    try {
      await server.listen(options.listenFd === undefined ? files.socket : { fd: options.listenFd });
    } finally {
      process.umask(umask);
    }
    writeState();
    log.info({ socket: files.socket, version: VERSION, ...(options.listenFd !== undefined ? { fd: options.listenFd } : {}) }, 'listening');
    if (options.listenFd === undefined) watchSocket();
  } catch (err) {
    lock.release();
    throw err;
  }

  if (options.ownProcess) {
    process.once('SIGTERM', () => void shutdown('SIGTERM'));
    process.once('SIGINT', () => void shutdown('SIGINT'));
    // However it was asked to stop, the daemon process ends once it has stopped: a leftover handle in a library must
    // not keep a stopped daemon alive.
    void stopped.then(() => process.exit(process.exitCode ?? 0));
  }

  const ready = (async () => {
    const started = performance.now();
    try {
      const config = readConfig(paths);
      const choice = chooseModel(paths, env, options.modelDir);
      state.notice = choice.notice;
      if (choice.build) {
        state.state = 'building the offline model pack (first start only)';
        writeState();
        log.info({ dir: choice.dir }, 'building the offline model pack');
        await buildOfflineInChild(env);
      }
      state.state = 'loading model';
      const modelDir = choice.dir;
      const threads = options.threads ?? config.threads;
      const engine = await Engine.open({
        modelDir,
        dbPath: paths.dbPath,
        ...(threads ? { embedder: { threads } } : {}),
      });
      if (stopping) {
        await engine.close();
        return;
      }
      const hooks = new HookHandler(engine, {
        ...(config.context ? { context: config.context } : {}),
        compressor: { ...(config.sessionIdleMinutes ? { idleMs: config.sessionIdleMinutes * 60_000 } : {}) },
        onProblem: (what, detail) => log.warn({ detail: detail instanceof Error ? detail.message : detail }, what),
      });
      hooks.start();
      state.hooks = hooks;
      state.engine = engine;
      state.state = 'ready';
      writeState();
      log.info({ model: engine.model.name, ms: Math.round(performance.now() - started) }, 'ready');
    } catch (err) {
      state.state = `model failed to load: ${(err as Error).message}`;
      log.error({ err }, 'model failed to load');
      writeState();
      throw err;
    }
  })();
  // A load failure is reported through `ready`, `hello` and the log; it must not crash an embedding caller.
  ready.catch(() => {});

  return { files, ready, stopped, stop: () => shutdown('stop()') };
}

/**
 * Builds the offline pack in a separate process: parsing the word vectors takes about a gigabyte for a few seconds,
 * which the long-lived daemon should not keep.
 */
function buildOfflineInChild(env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_PATH, 'model', 'build', 'offline', '--json'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new MnemoError(ErrorCode.MODEL, `building the offline pack failed: ${err.trim().split('\n').pop() ?? `exit ${code}`}`)),
    );
  });
}

