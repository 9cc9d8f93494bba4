#!/usr/bin/env node
// mnemo in your own process, with no daemon: a database in a temp folder, a few memories, two ways to search.
//
//   node examples/engine.mjs [MODEL_PACK_FOLDER]
//
// The engine needs a model pack. Without an argument it takes the one `mnemo start` made or `mnemo model pull` got
// (in the data dir's models/); `mnemo model info` prints where a pack is.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolvePaths } from 'mnemo';
import { Engine, LocalMnemo } from 'mnemo/engine';

const installed = ['all-MiniLM-L6-v2', 'offline'].map((name) => join(resolvePaths().modelsDir, name));
const modelDir = process.argv[2] ?? installed.find((dir) => existsSync(join(dir, 'manifest.json')));
if (!modelDir) {
  console.error(
    'no model pack yet: run `mnemo model build offline` (no network) or `mnemo model pull`, or give a pack folder',
  );
  process.exit(1);
}

// A database of its own, so the example never touches your memories.
const home = mkdtempSync(join(tmpdir(), 'mnemo-example-'));
const engine = await Engine.open({ modelDir, dbPath: join(home, 'mnemo.db'), embedder: { threads: 1 } });
try {
  // LocalMnemo: the daemon's operations in process, with the client's method names and the same argument checks.
  const mnemo = new LocalMnemo(engine);
  const project = '/work/shop-api';
  await mnemo.storeBatch({
    memories: [
      { content: 'Retries use exponential backoff capped at 30 seconds', tags: ['decision'], project },
      { content: 'The payment webhook must answer within 5 seconds or Stripe retries it', tags: ['payments'], project },
      { content: 'Integration tests run against a disposable Postgres in Docker', tags: ['testing'], project },
    ],
  });
  const stats = await mnemo.stats();
  console.log(`stored ${stats.memories} memories in ${home}`);

  const text = await mnemo.search({ query: 'how long may the webhook take', project, format: 'text', budget: 80 });
  console.log(`\nsearch "how long may the webhook take":\n${text.text}`);

  // The domain under it: typed queries in, memories with each side's score out (no wire formats).
  const ranked = await engine.search({ text: 'backoff for retries', mode: 'hybrid', limit: 2, filter: { project } });
  console.log('\nengine.search "backoff for retries":');
  for (const hit of ranked.hits) {
    const sides = `keyword ${hit.keyword?.toFixed(2) ?? '-'}, semantic ${hit.semantic?.toFixed(2) ?? '-'}`;
    console.log(`  ${hit.score.toFixed(2)} (${sides}) ${hit.memory.content}`);
  }
} finally {
  // Close stops the embedding workers; without it the process would not exit.
  await engine.close();
  rmSync(home, { recursive: true, force: true });
}
