import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { z } from 'zod';
import { ErrorCode, MnemoError } from './errors.js';
import type { ContextConfig } from './capture/context.js';
import type { EmbedderOptions } from './embed/embedder.js';
import { DEFAULT_MODEL, OFFLINE_PACK_NAME } from './embed/registry.js';
import type { MnemoPaths } from './paths.js';
import { badArgsFrom, int, num, text } from './protocol/fields.js';

/**
 * `config.json` in the config dir, every key optional. Parsed with this schema when a process starts (the daemon,
 * `mnemo doctor`, the model commands): a wrong value or an unknown key is an error naming it, never a silent default.
 */
const contextSchema = z
  .object({
    sessionStartBudget: int(50, 20_000).opt,
    sessionStartMax: int(1, 50).opt,
    promptBudget: int(20, 20_000).opt,
    promptMax: int(0, 20).opt,
    promptMinKeyword: num(0, 1).opt,
    promptMinSemanticLead: num(0, 1).opt,
  })
  .strict();
const runtimeSchema = z
  .object({
    path: text(4096).opt.refine(
      (p) => p === undefined || isAbsolute(p),
      'must be an absolute path to an onnxruntime-node folder',
    ),
    providers: z
      .array(
        z.enum(['cpu', 'cuda', 'coreml', 'webgpu'], {
          errorMap: () => ({ message: 'must be cpu, cuda, coreml or webgpu' }),
        }),
      )
      .min(1)
      .max(4)
      .optional(),
  })
  .strict();
const configSchema = z
  .object({
    /** A model pack folder, or the name of a pack under the models dir (auto, offline, all-MiniLM-L6-v2, ...). */
    model: text(4096).opt,
    /** Embedding worker threads (default 1: each holds its own model copy, about 60 MiB; see embed/embedder.ts). */
    threads: int(1, 64).opt,
    /** Context injection budgets and relevance bar (see capture/context.ts for the defaults). */
    context: contextSchema.optional(),
    /** Minutes without any event after which a session with no SessionEnd is rolled up (default 120). */
    sessionIdleMinutes: int(1, 10_080).opt,
    /** Days a deleted memory stays in the trash (default 7). */
    trashDays: int(1, 3650).opt,
    /** Days raw tool payloads are kept (default 14); the tool events and the memories made from them stay. */
    payloadDays: int(1, 36_500).opt,
    /** Another ONNX runtime (an onnxruntime-node folder, e.g. one installed with CUDA) and its execution providers. */
    runtime: runtimeSchema.optional(),
  })
  .strict();

export type MnemoConfig = z.output<typeof configSchema> & { context?: Partial<ContextConfig> };

/** Reads and checks `config.json` ({} when there is none). Throws E_BAD_ARGS naming the file and the key. */
export function readConfig(paths: MnemoPaths): MnemoConfig {
  const path = paths.configPath;
  if (!existsSync(path)) return {};
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new MnemoError(ErrorCode.BAD_ARGS, `cannot read ${path}: ${(err as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new MnemoError(ErrorCode.BAD_ARGS, `${path} must hold a JSON object`);
  const r = configSchema.safeParse(raw);
  if (!r.success) {
    const known = [
      ...Object.keys(configSchema.shape),
      ...Object.keys(contextSchema.shape),
      ...Object.keys(runtimeSchema.shape),
    ];
    throw new MnemoError(ErrorCode.BAD_ARGS, `${path}: ${badArgsFrom(r.error, known).message}`);
  }
  return withoutUndefined(r.data);
}

/** The embedding workers' options: the config's runtime and thread count, `threads` (a --threads flag) winning. */
export function embedderOptions(config: MnemoConfig, threads?: number): EmbedderOptions {
  const count = threads ?? config.threads;
  return { ...(count ? { threads: count } : {}), ...(config.runtime ? { runtime: config.runtime } : {}) };
}

function withoutUndefined(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(o)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [
        k,
        v !== null && typeof v === 'object' && !Array.isArray(v) ? withoutUndefined(v as Record<string, unknown>) : v,
      ]),
  );
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
export function chooseModel(
  paths: MnemoPaths,
  env: NodeJS.ProcessEnv,
  explicit?: string,
  config: MnemoConfig = readConfig(paths),
): ModelChoice {
  const asked = explicit ?? env.MNEMO_MODEL ?? config.model ?? 'auto';
  const installed = (name: string) => existsSync(join(paths.modelsDir, name, 'manifest.json'));
  if (asked === 'auto') {
    if (installed(DEFAULT_MODEL))
      return { dir: join(paths.modelsDir, DEFAULT_MODEL), asked, build: false, notice: null };
    return {
      dir: join(paths.modelsDir, OFFLINE_PACK_NAME),
      asked,
      build: !installed(OFFLINE_PACK_NAME),
      notice: 'using the offline word-vector pack; `mnemo model pull` gets all-MiniLM-L6-v2 for better semantic search',
    };
  }
  if (asked === OFFLINE_PACK_NAME)
    return { dir: join(paths.modelsDir, OFFLINE_PACK_NAME), asked, build: !installed(OFFLINE_PACK_NAME), notice: null };
  const dir = isAbsolute(asked) || asked.includes('/') ? asked : join(paths.modelsDir, asked);
  if (!existsSync(join(dir, 'manifest.json'))) {
    const hint = asked === DEFAULT_MODEL || !asked.includes('/') ? `; run \`mnemo model pull ${asked}\`` : '';
    throw new MnemoError(ErrorCode.MODEL, `model pack ${dir} is not installed (no manifest.json there)${hint}`);
  }
  return { dir, asked, build: false, notice: null };
}
