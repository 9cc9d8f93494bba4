import { renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import pino, { type Logger } from 'pino';
import { HookHandler } from '../capture/hook.js';
import { chooseModel, embedderOptions, readConfig } from '../config.js';
import { Engine, VERSION } from '../engine.js';
import { ErrorCode, MnemoError } from '../errors.js';
import { CLI_PATH } from '../install-paths.js';
import { makeDir, resolvePaths, type MnemoPaths } from '../paths.js';
import { FAILED_STATE, PROTOCOL_VERSION } from '../protocol/messages.js';
import { loadTokenCounter } from '../search/tokens.js';
import { Dispatcher, type DaemonState } from './dispatch.js';
import { claimRuntime, type DaemonLock } from './lock.js';
import type { EarlyModel } from './early-model.js';
import { LogFile } from './log-file.js';
import { KeyedLatency, LatencyRing } from './metrics.js';
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
  /** The model's load, started before the daemon's modules were imported (`mnemo daemon`: daemon/early-model.ts). */
  early?: EarlyModel;
  /** The daemon's lock, already taken (with claimRuntime, before the early load: a daemon refused loads nothing). */
  lock?: DaemonLock;
}

export interface DaemonFiles {
  socket: string;
  lock: string;
  /** JSON state: pid, socket, version, readiness. Written by temp file and rename. */
  state: string;
  log: string;
}

const REPLACED = 'socket file removed or replaced';

/**
 * The daemon: takes the per-user lock, cleans what a dead daemon left, listens at once (so `hello` answers and other
 * requests get E_NOT_READY while the model loads), then loads and warms the model. Every way of stopping (SIGTERM,
 * SIGINT, a `shutdown` request, its socket file deleted, `stop()`) goes through one idempotent `shutdown(reason)`:
 * stop accepting, answer what is in flight, checkpoint the WAL, remove the socket and state file, release the lock.
 */
export class Daemon {
  readonly files: DaemonFiles;
  /** Resolves when the model is warm (or rejects with why it could not load). */
  ready: Promise<void> = Promise.resolve();
  /** Resolves when the daemon has stopped. */
  readonly stopped: Promise<void>;
  private readonly state: DaemonState;
  private readonly log: Logger;
  private server: DaemonServer | null = null;
  private stopping: Promise<void> | null = null;
  private resolveStopped!: () => void;
  private watch: NodeJS.Timeout | undefined;

  private constructor(
    private readonly paths: MnemoPaths,
    private readonly env: NodeJS.ProcessEnv,
    private readonly options: DaemonOptions,
    private readonly lock: DaemonLock,
  ) {
    this.files = { socket: paths.socketPath, lock: paths.lockPath, state: paths.statePath, log: paths.daemonLog };
    this.log = pino(
      { base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime },
      new LogFile(this.files.log),
    );
    this.stopped = new Promise<void>((resolve) => (this.resolveStopped = resolve));
    this.state = {
      engine: null,
      hooks: null,
      notice: null,
      state: 'loading model',
      startedAt: Date.now(),
      latency: new LatencyRing(),
      hookLatency: new KeyedLatency(),
      connections: () => this.server?.connections ?? 0,
      shutdown: () => void this.shutdown('shutdown request'),
    };
  }

  /** Starts a daemon: resolves once it listens (the model loads after; see `ready`). */
  static async start(options: DaemonOptions = {}): Promise<Daemon> {
    try {
      return await Daemon.listening(options);
    } catch (err) {
      options.lock?.release();
      await options.early?.loading.discard();
      throw err;
    }
  }

  private static async listening(options: DaemonOptions): Promise<Daemon> {
    const env = options.env ?? process.env;
    const paths = resolvePaths(env);
    // Socket activation (systemd): the listening socket is descriptor 3, passed with LISTEN_FDS for this very process.
    if (options.listenFd === undefined && env.LISTEN_FDS === '1' && Number(env.LISTEN_PID) === process.pid) {
      options = { ...options, listenFd: 3 };
      // Not for children (the embedding workers, an offline-pack build).
      delete env.LISTEN_FDS;
      delete env.LISTEN_PID;
      delete env.LISTEN_FDNAMES;
    }
    if (options.listenFd === undefined && paths.socketPath.length > MAX_SOCKET_PATH) {
      throw new MnemoError(
        ErrorCode.BAD_ARGS,
        `socket path ${paths.socketPath} is ${paths.socketPath.length} bytes, over the ${MAX_SOCKET_PATH}-byte limit ` +
          'for Unix sockets; use a shorter MNEMO_HOME or XDG_RUNTIME_DIR',
      );
    }
    const lock = options.lock ?? claimRuntime(paths, options.ownProcess === true);
    makeDir(paths.logDir);
    const daemon = new Daemon(paths, env, options, lock);
    try {
      await daemon.listen();
    } catch (err) {
      daemon.lock.release();
      throw err;
    }
    if (options.ownProcess) {
      process.once('SIGTERM', () => void daemon.shutdown('SIGTERM'));
      process.once('SIGINT', () => void daemon.shutdown('SIGINT'));
      // However it was asked to stop, the daemon process ends once it has stopped: a leftover handle in a library must
      // not keep a stopped daemon alive.
      void daemon.stopped.then(() => process.exit(process.exitCode ?? 0));
    }
    daemon.ready = daemon.load();
    // A load failure is reported through `ready`, `hello` and the log; it must not crash an embedding caller.
    daemon.ready.catch(() => {});
    return daemon;
  }

  stop(): Promise<void> {
    return this.shutdown('stop()');
  }

  /** Open client connections. */
  get connections(): number {
    return this.server?.connections ?? 0;
  }

  /** The one way to stop, whatever asked for it; later calls get the same promise. */
  shutdown(why: string): Promise<void> {
    clearInterval(this.watch);
    this.stopping ??= (async () => {
      this.log.info({ why }, 'stopping');
      try {
        // A replaced socket file belongs to another daemon now: closing our listener would unlink it.
        await this.server?.close(10_000, why === REPLACED);
        // A load still under way finishes first (it closes the engine it opened once it sees the daemon stopping):
        // the process must not exit while an embedding worker is inside a model run, which would abort it.
        await this.ready.catch(() => {});
        await this.state.hooks?.stop();
        await this.state.engine?.close();
      } catch (err) {
        this.log.error({ err }, 'error while stopping');
      } finally {
        if (this.options.listenFd === undefined && why !== REPLACED) rmSync(this.files.socket, { force: true });
        rmSync(this.files.state, { force: true });
        this.lock.release();
        this.log.info('stopped');
        this.log.flush();
        this.resolveStopped();
      }
    })();
    return this.stopping;
  }

  /** Binds the socket (or takes the inherited one), 0600 from the start, and writes the state file. */
  private async listen(): Promise<void> {
    const { files, options } = this;
    // We hold the lock, so a socket or state file here is a dead daemon's: remove it before binding. (An inherited
    // socket's path belongs to systemd and stays.)
    if (options.listenFd === undefined) rmSync(files.socket, { force: true });
    rmSync(files.state, { force: true });
    const dispatcher = new Dispatcher(this.state);
    this.server = new DaemonServer(
      dispatcher.handle,
      { ...DEFAULT_LIMITS, ...options.limits },
      {
        onRequest: (_op, ms, failed) => this.state.latency.add(ms, failed),
        onBadTraffic: (reason) => this.log.warn({ reason }, 'closed a connection after bad traffic'),
        onInternalError: (op, err) => {
          this.log.error({ op, err }, 'internal error');
          this.state.engine?.noteFailure(err);
        },
      },
    );
    // The socket is created 0600: no window in which another user could connect.
    const umask = process.umask(0o177);
    try {
      await this.server.listen(options.listenFd === undefined ? files.socket : { fd: options.listenFd });
    } finally {
      process.umask(umask);
    }
    this.writeState();
    this.log.info(
      { socket: files.socket, version: VERSION, ...(options.listenFd !== undefined ? { fd: options.listenFd } : {}) },
      'listening',
    );
    if (options.listenFd === undefined) this.watchSocket();
  }

  /** Reads the config once, builds the offline pack if it must, opens the engine and the hook handler. */
  private async load(): Promise<void> {
    const started = performance.now();
    try {
      const early = this.options.early;
      const config = early?.config ?? readConfig(this.paths);
      const choice = early?.choice ?? chooseModel(this.paths, this.env, this.options.modelDir, config);
      this.state.notice = choice.notice;
      if (choice.build) {
        this.state.state = 'building the offline model pack (first start only)';
        this.writeState();
        this.log.info({ dir: choice.dir }, 'building the offline model pack');
        await buildOfflineInChild(this.env);
        // Stopped while the pack was built: the model is not loaded only to be closed again.
        if (this.stopping) return;
      }
      this.state.state = 'loading model';
      const opening = Engine.open({
        modelDir: choice.dir,
        dbPath: this.paths.dbPath,
        embedder: embedderOptions(config, this.options.threads),
        ...(early ? { loading: early.loading } : {}),
        ...(config.trashDays ? { trashRetentionMs: config.trashDays * 86_400_000 } : {}),
      });
      // Context budgets are counted from the first hook on: the counter's ranks load now (15-20 ms, while the
      // workers load the model), not in the first SessionStart.
      try {
        loadTokenCounter();
      } catch (err) {
        // Not before the load has finished: a worker stopped inside it aborts the process.
        await opening.then(
          (engine) => engine.close(),
          () => {},
        );
        throw err;
      }
      const engine = await opening;
      if (this.stopping) {
        await engine.close();
        return;
      }
      const hooks = new HookHandler(engine, {
        ...(config.context ? { context: config.context } : {}),
        compressor: { ...(config.sessionIdleMinutes ? { idleMs: config.sessionIdleMinutes * 60_000 } : {}) },
        retention: { ...(config.payloadDays ? { keepMs: config.payloadDays * 86_400_000 } : {}) },
        onProblem: (what, detail) => this.log.warn({ detail: detail instanceof Error ? detail.message : detail }, what),
      });
      hooks.start();
      this.state.hooks = hooks;
      this.state.engine = engine;
      this.state.state = 'ready';
      this.writeState();
      this.log.info({ model: engine.model.name, ms: Math.round(performance.now() - started) }, 'ready');
    } catch (err) {
      this.state.state = `${FAILED_STATE}: ${(err as Error).message}`;
      this.log.error({ err }, FAILED_STATE);
      this.writeState();
      throw err;
    }
  }

  private writeState(): void {
    const tmp = `${this.files.state}.${process.pid}.tmp`;
    const s = this.state;
    writeFileSync(
      tmp,
      JSON.stringify({
        pid: process.pid,
        socket: this.files.socket,
        version: VERSION,
        protocol: PROTOCOL_VERSION,
        startedAt: s.startedAt,
        state: s.state,
        ready: s.engine !== null,
      }),
      { mode: 0o600 },
    );
    renameSync(tmp, this.files.state);
  }

  /**
   * A daemon whose socket file was deleted (its home removed, or another daemon took over the path) can never be
   * reached again: it stops instead of lingering.
   */
  private watchSocket(): void {
    const inode = statSync(this.files.socket).ino;
    this.watch = setInterval(() => {
      let current: number | null = null;
      try {
        current = statSync(this.files.socket).ino;
      } catch {
        // Gone.
      }
      if (current !== inode) void this.shutdown(REPLACED);
    }, SOCKET_WATCH_MS);
    this.watch.unref();
  }
}

/** Starts the daemon (see Daemon). */
export const startDaemon = (options: DaemonOptions = {}): Promise<Daemon> => Daemon.start(options);

/**
 * Builds the offline pack in a separate process: parsing the word vectors takes about a gigabyte for a few seconds,
 * which the long-lived daemon should not keep.
 */
function buildOfflineInChild(env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_PATH, 'model', 'build', 'offline', '--json'], {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0
        ? resolve()
        : reject(
            new MnemoError(
              ErrorCode.MODEL,
              `building the offline pack failed: ${err.trim().split('\n').pop() ?? `exit ${code}`}`,
            ),
          ),
    );
  });
}
