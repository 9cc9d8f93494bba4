import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { ErrorCode, MnemoError } from './errors.js';
import type { ContextConfig } from './capture/context.js';
import { DEFAULT_MODEL, OFFLINE_PACK_NAME } from './embed/registry.js';
import type { MnemoPaths } from './paths.js';

/** `config.json` in the config dir. Every key is optional. */
export interface MnemoConfig {
  /** A model pack folder, or the name of a pack under the models dir. */
  model?: string;
  /** Embedding worker threads (default: the number of cores). */
  threads?: number;
  /** Context injection budgets and relevance bar (see capture/context.ts for the defaults). */
  context?: Partial<ContextConfig>;
  /** Minutes without any event after which a session with no SessionEnd is rolled up (default 120). */
  sessionIdleMinutes?: number;
}

export function readConfig(paths: MnemoPaths): MnemoConfig {
  const path = join(paths.configDir, 'config.json');
  if (!existsSync(path)) return {};
  try {
    const raw = JSON.parse(readFileSync(path, 'utf8')) as unknown;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error('it must hold a JSON object');
    return raw as MnemoConfig;
  } catch (err) {
    throw new MnemoError(ErrorCode.BAD_ARGS, `cannot read ${path}: ${(err as Error).message}`);
  }
}

export interface ModelChoice {
  /** The pack folder to load. */
  dir: string;
  /** What was asked for: auto, a registry name, offline, or a path. */
  asked: string;
  /** The offline pack has to be built before it can be loaded. */
  build: boolean;
  /** A one-line notice for `mnemo status` and `mnemo doctor`, when the choice is a fallback. */
  notice: string | null;
}


/**
 * Which model pack the daemon loads: an explicit choice (flag), else MNEMO_MODEL, else config `model`, else `auto`.
 * `auto`: the default model if it was pulled, else the offline pack (built on first start when missing). A registry
 * name must have been pulled; any other value is a pack folder (a bare name means one under the models dir).
 */
export function chooseModel(paths: MnemoPaths, env: NodeJS.ProcessEnv, explicit?: string): ModelChoice {
  const config = readConfig(paths);
  const asked = explicit ?? env.MNEMO_MODEL ?? config.model ?? 'auto';
  const installed = (name: string) => existsSync(join(paths.modelsDir, name, 'manifest.json'));
  if (asked === 'auto') {
    if (installed(DEFAULT_MODEL)) return { dir: join(paths.modelsDir, DEFAULT_MODEL), asked, build: false, notice: null };
    return {
      dir: join(paths.modelsDir, OFFLINE_PACK_NAME),
      asked,
      build: !installed(OFFLINE_PACK_NAME),
      notice: 'using the offline word-vector pack; `mnemo model pull` gets all-MiniLM-L6-v2 for better semantic search',
    };
  }
  if (asked === OFFLINE_PACK_NAME) return { dir: join(paths.modelsDir, OFFLINE_PACK_NAME), asked, build: !installed(OFFLINE_PACK_NAME), notice: null };
  const dir = isAbsolute(asked) || asked.includes('/') ? asked : join(paths.modelsDir, asked);
  if (!existsSync(join(dir, 'manifest.json'))) {
    const hint = asked === DEFAULT_MODEL || !asked.includes('/') ? `; run \`mnemo model pull ${asked}\`` : '';
    throw new MnemoError(ErrorCode.MODEL, `model pack ${dir} is not installed (no manifest.json there)${hint}`);
  }
  return { dir, asked, build: false, notice: null };
}
