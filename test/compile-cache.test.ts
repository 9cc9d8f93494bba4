import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import module from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from './helpers/packs.js';
import { cleanup, startDaemon, testEnv } from './helpers/daemon.js';

/** Runs useCompileCache() in a fresh Node.js process, then asks a worker thread where its compile cache is. */
function probe(env: NodeJS.ProcessEnv): { dir: string | null; variable: string | null; worker: string | null } {
  const script = `
    const { useCompileCache } = await import(${JSON.stringify(join(REPO, 'dist', 'compile-cache.js'))});
    const { Worker } = await import('node:worker_threads');
    const dir = useCompileCache() ?? null;
    const w = new Worker(
      "Promise.all([import('node:module'), import('node:worker_threads')])" +
        '.then(([m, t]) => t.parentPort.postMessage(m.getCompileCacheDir() ?? null))',
      { eval: true },
    );
    const worker = await new Promise((resolve, reject) => { w.once('message', resolve); w.once('error', reject); });
    await w.terminate();
    console.log(JSON.stringify({ dir, variable: process.env.NODE_COMPILE_CACHE ?? null, worker }));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    env,
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as { dir: string | null; variable: string | null; worker: string | null };
}

const baseEnv = (home: string): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { ...process.env, MNEMO_HOME: home };
  delete env.NODE_COMPILE_CACHE;
  delete env.NODE_DISABLE_COMPILE_CACHE;
  return env;
};

// Node.js 22.8 and later (module.enableCompileCache); on an older 22 the daemon runs without the cache.
describe.runIf(typeof module.enableCompileCache === 'function')('the compile cache', () => {
  it('lives in the data folder (0700), and reaches the worker threads', () => {
    const home = mkdtempSync(join(tmpdir(), 'mn-cc-'));
    try {
      const dir = join(home, 'data', 'compile-cache');
      const r = probe(baseEnv(home));
      expect(r.dir).toBe(dir);
      expect(r.variable).toBe(dir);
      expect(r.worker?.startsWith(dir)).toBe(true);
      expect(statSync(dir).mode & 0o777).toBe(0o700);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it("leaves the user's choice alone: their folder, or none at all", () => {
    const home = mkdtempSync(join(tmpdir(), 'mn-cc-'));
    try {
      const theirs = join(home, 'theirs');
      const chosen = probe({ ...baseEnv(home), NODE_COMPILE_CACHE: theirs });
      expect(chosen.dir?.startsWith(theirs)).toBe(true);
      expect(chosen.variable).toBe(theirs);
      expect(chosen.worker?.startsWith(theirs)).toBe(true);
      const off = probe({ ...baseEnv(home), NODE_DISABLE_COMPILE_CACHE: '1' });
      expect(off).toEqual({ dir: null, variable: null, worker: null });
      expect(existsSync(join(home, 'data'))).toBe(false);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('is filled by a daemon run, with its modules and its workers', async () => {
    const env = testEnv();
    delete env.NODE_COMPILE_CACHE;
    delete env.NODE_DISABLE_COMPILE_CACHE;
    try {
      const d = await startDaemon(env);
      try {
        await (await d.client()).hello();
      } finally {
        await d.stop();
      }
      // Node.js writes an entry per module it compiled as the process exits (the daemon loads about a hundred).
      const dir = join(env.MNEMO_HOME!, 'data', 'compile-cache');
      const entries = readdirSync(dir, { recursive: true }).filter((f) => statSync(join(dir, String(f))).isFile());
      expect(entries.length).toBeGreaterThan(50);
    } finally {
      cleanup(env);
    }
  });
});
