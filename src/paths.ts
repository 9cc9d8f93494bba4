import { homedir } from 'node:os';
import { join } from 'node:path';

export interface MnemoPaths {
  /** Socket, pid and lock files: `$XDG_RUNTIME_DIR/mnemo`, else `~/.mnemo/run`. */
  runtimeDir: string;
  /** Database and model packs: `$XDG_DATA_HOME/mnemo`, else `~/.local/share/mnemo`. */
  dataDir: string;
  /** `config.json`: `$XDG_CONFIG_HOME/mnemo`, else `~/.config/mnemo`. */
  configDir: string;
  dbPath: string;
  modelsDir: string;
  logDir: string;
}

/**
 * Where mnemo keeps things. `MNEMO_HOME` moves all of it under one folder: tests always set it, so no test can reach
 * a real user's memories.
 */
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
  return {
    runtimeDir,
    dataDir,
    configDir,
    dbPath: join(dataDir, 'mnemo.db'),
    modelsDir: join(dataDir, 'models'),
    logDir: join(dataDir, 'logs'),
  };
}
