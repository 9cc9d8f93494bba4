import { mkdirSync } from 'node:fs';
import module from 'node:module';
import { join } from 'node:path';
import { resolvePaths } from './paths.js';

/** The folder of V8's code cache, inside the data folder. */
export const COMPILE_CACHE_DIR = 'compile-cache';

/**
 * Keeps V8's compiled code of the daemon's modules on disk (Node.js's module compile cache), so the next start skips
 * most of compiling them (issue 14): importing the daemon's modules 135-171 -> 110-136 ms, and from the daemon's
 * spawn to its socket listening 15-55 ms less in each of 5 alternating A/B runs of 12-25 starts. Node.js turns the
 * cache on per thread: the variable set here carries it into the worker threads (and any process started from here).
 *
 * A user's NODE_COMPILE_CACHE (already on) or NODE_DISABLE_COMPILE_CACHE wins. The cache is an optimisation only:
 * Node.js checks each entry against its source and version and never throws here, and a folder that cannot be made
 * leaves it off. Returns the folder in use, if any.
 */
export function useCompileCache(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (typeof module.enableCompileCache !== 'function' || env.NODE_DISABLE_COMPILE_CACHE) return undefined;
  let dir = env.NODE_COMPILE_CACHE;
  if (!dir) {
    try {
      dir = join(resolvePaths(env).dataDir, COMPILE_CACHE_DIR);
      // Made here, 0700 like the data folder, rather than by Node.js with the umask's mode.
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch {
      return undefined;
    }
  }
  const result = module.enableCompileCache(dir);
  if (!result.directory) return undefined;
  env.NODE_COMPILE_CACHE ??= result.directory;
  return result.directory;
}
