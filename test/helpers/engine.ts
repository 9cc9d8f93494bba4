import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine, LocalMnemo, type EngineOptions } from '../../dist/engine-index.js';
import { tinyPack } from './packs.js';
import type { MemoryStore } from '../../dist/store/memory-store.js';

export interface TestEngine {
  engine: Engine;
  /** The operations as the daemon runs them (arguments parsed at the edge), in process. */
  api: LocalMnemo;
  /** The SQLite backend under the storage contract, for tests that look at tables. */
  store: MemoryStore;
  home: string;
  dbPath: string;
  close(): Promise<void>;
}

/** An engine on a fresh temp database and the tiny test pack. */
export async function openTestEngine(options: Partial<EngineOptions> = {}): Promise<TestEngine> {
  const home = mkdtempSync(join(tmpdir(), 'mnemo-test-'));
  const dbPath = join(home, 'data', 'mnemo.db');
  const engine = await Engine.open({
    modelDir: tinyPack(),
    dbPath,
    embedder: { threads: 1, ...options.embedder },
    ...options,
  });
  return {
    engine,
    api: new LocalMnemo(engine),
    store: engine.storage as MemoryStore,
    home,
    dbPath,
    async close() {
      await engine.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
}
