import { existsSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { ErrorCode, MnemoError } from './errors.js';

/**
 * Every place mnemo keeps something, resolved once per process entry point. The native client follows the same rule
 * for its two (the socket and client.log; `mnemo-client paths` prints them, and a test holds the two together):
 * - `MNEMO_HOME` set: runtime `$MNEMO_HOME/run`, data `$MNEMO_HOME/data`, config `$MNEMO_HOME/config`;
 * - else runtime `$XDG_RUNTIME_DIR/mnemo` (or `~/.mnemo/run`), data `$XDG_DATA_HOME/mnemo` (or
 *   `~/.local/share/mnemo`), config `$XDG_CONFIG_HOME/mnemo` (or `~/.config/mnemo`); `~` is `$HOME`.
 * Tests always set MNEMO_HOME, so no test can reach a real user's memories.
 */
export interface MnemoPaths {
  /** Socket, lock and state files. */
  runtimeDir: string;
  /** Database, model packs, logs. */
  dataDir: string;
  configDir: string;
  socketPath: string;
  /** Held (an SQLite exclusive lock) by the one running daemon. */
  lockPath: string;
  /** The running daemon's pid, socket, version and readiness (JSON). */
  statePath: string;
  dbPath: string;
  modelsDir: string;
  logDir: string;
  /** The daemon's structured log. */
  daemonLog: string;
  /** What a daemon process prints (stdout and stderr of `mnemo daemon` started in the background). */
  daemonOut: string;
  /** Why a hook client failed open. */
  clientLog: string;
  configPath: string;
}

export function resolvePaths(env: NodeJS.ProcessEnv = process.env): MnemoPaths {
  const home = env.MNEMO_HOME;
  let runtimeDir: string;
  let dataDir: string;
  let configDir: string;
  if (home) {
    runtimeDir = join(home, 'run');
    dataDir = join(home, 'data');
    configDir = join(home, 'config');
  } else {
    const user = env.HOME || homedir();
    runtimeDir = env.XDG_RUNTIME_DIR ? join(env.XDG_RUNTIME_DIR, 'mnemo') : join(user, '.mnemo', 'run');
    dataDir = join(env.XDG_DATA_HOME || join(user, '.local', 'share'), 'mnemo');
    configDir = join(env.XDG_CONFIG_HOME || join(user, '.config'), 'mnemo');
  }
  const logDir = join(dataDir, 'logs');
  return {
    runtimeDir,
    dataDir,
    configDir,
    socketPath: join(runtimeDir, 'mnemo.sock'),
    lockPath: join(runtimeDir, 'daemon.lock'),
    statePath: join(runtimeDir, 'daemon.json'),
    dbPath: join(dataDir, 'mnemo.db'),
    modelsDir: join(dataDir, 'models'),
    logDir,
    daemonLog: join(logDir, 'daemon.log'),
    daemonOut: join(logDir, 'daemon.out'),
    clientLog: join(logDir, 'client.log'),
    configPath: join(configDir, 'config.json'),
  };
}

/**
 * Creates a private folder (and its parents). Node's recursive mkdir reports a read-only file system as ENOENT; this
 * finds the real reason on the first folder that cannot be made and says it in words.
 */
export function makeDir(path: string): void {
  try {
    mkdirSync(path, { recursive: true, mode: 0o700 });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    let missing = path;
    while (!existsSync(dirname(missing)) && dirname(missing) !== missing) missing = dirname(missing);
    let reason = e.code ?? 'error';
    try {
      mkdirSync(missing, { mode: 0o700 });
    } catch (inner) {
      reason = (inner as NodeJS.ErrnoException).code ?? reason;
    }
    const why: Record<string, string> = {
      EROFS: 'the file system is read-only',
      EACCES: 'permission denied',
      ENOSPC: 'the disk is full',
      EEXIST: 'a file is in the way',
    };
    throw new MnemoError(ErrorCode.INTERNAL, `cannot create ${path}: ${why[reason] ?? reason} (${reason})`);
  }
}
