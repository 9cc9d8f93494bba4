import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { ErrorCode, MnemoError } from './errors.js';
import type { MnemoPaths } from './paths.js';

/** `config.json` in the config dir. Every key is optional. */
export interface MnemoConfig {
  /** A model pack folder, or the name of a pack under the models dir. */
  model?: string;
  /** Embedding worker threads (default: the number of cores). */
  threads?: number;
  /** Context injection budgets and relevance bar (see capture/context.ts for the defaults). */
  context?: Partial<{
    sessionStartBudget: number;
    sessionStartMax: number;
    promptBudget: number;
    promptMax: number;
    promptMinSimilarity: number;
    promptMinKeyword: number;
  }>;
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

/** Pack names looked for under the models dir when nothing is configured, best first. */
export const DEFAULT_PACKS = ['all-MiniLM-L6-v2', 'offline'];

/**
 * Which model pack the daemon loads: an explicit choice (flag), else MNEMO_MODEL, else config `model`, else the first
 * installed default pack. A name without a slash means a pack under the models dir.
 */
export function resolveModelDir(paths: MnemoPaths, env: NodeJS.ProcessEnv, explicit?: string): string {
  const config = readConfig(paths);
  const choice = explicit ?? env.MNEMO_MODEL ?? config.model;
  if (choice && choice !== 'auto') {
    const dir = isAbsolute(choice) || choice.includes('/') ? choice : join(paths.modelsDir, choice);
    if (!existsSync(join(dir, 'manifest.json'))) {
      throw new MnemoError(ErrorCode.MODEL, `model pack ${dir} not found (no manifest.json there)`);
    }
    return dir;
  }
  for (const name of DEFAULT_PACKS) {
    const dir = join(paths.modelsDir, name);
    if (existsSync(join(dir, 'manifest.json'))) return dir;
  }
  throw new MnemoError(
    ErrorCode.MODEL,
    `no embedding model is installed in ${paths.modelsDir}; run \`mnemo model pull\` (all-MiniLM-L6-v2) or ` +
      '`mnemo model build offline`, or point MNEMO_MODEL at a model pack folder',
  );
}
