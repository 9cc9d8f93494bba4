import { chooseModel, embedderOptions, readConfig, type MnemoConfig, type ModelChoice } from '../config.js';
import { Embedder, type EmbedderLoad } from '../embed/embedder.js';
import { resolvePaths } from '../paths.js';

/** A model load started before the daemon's own modules were imported (see startModelEarly). */
export interface EarlyModel {
  config: MnemoConfig;
  choice: ModelChoice;
  loading: EmbedderLoad;
}

/**
 * Starts the embedding workers loading the model before the daemon process imports the rest of its modules (about
 * 100 ms), so the two overlap; the workers' load is most of a start (issue 14). Null when the daemon's own path must
 * do it: a pack to build first, or any error (a bad config, a missing pack), which load() then meets and reports as
 * it always has.
 */
export function startModelEarly(env: NodeJS.ProcessEnv, modelDir?: string, threads?: number): EarlyModel | null {
  try {
    const paths = resolvePaths(env);
    const config = readConfig(paths);
    const choice = chooseModel(paths, env, modelDir, config);
    if (choice.build) return null;
    const loading = Embedder.start(choice.dir, embedderOptions(config, threads));
    // A failure is reported by the daemon's load, which awaits this promise.
    loading.ready.catch(() => {});
    return { config, choice, loading };
  } catch {
    return null;
  }
}
