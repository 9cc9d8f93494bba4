#!/usr/bin/env node
// Engine micro-benchmarks with tinybench, on the MiniLM-L6-shaped generated pack (real architecture, random weights):
// store, search per mode at several sizes, and embedding latency. Prints a table; `--json FILE` also writes the figures.
//
//   node native-bench/engine.bench.js [--sizes 1000,10000] [--threads 2] [--time 2000] [--json out.json]
import { mkdtempSync, rmSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Bench } from 'tinybench';
import { Engine } from '../dist/engine-index.js';
import { generateBertPack, MINILM_L6_SHAPE } from '../dist/embed/bert-pack.js';

const { values: opts } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1000,10000' },
    threads: { type: 'string', default: '2' },
    time: { type: 'string', default: '2000' },
    json: { type: 'string' },
  },
});
const sizes = opts.sizes.split(',').map(Number);
const threads = Number(opts.threads);
const time = Number(opts.time);

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const packDir = join(repo, '.cache', 'packs', 'minilm-shaped-bench-v1');
if (!existsSync(join(packDir, 'manifest.json'))) {
  const shared = join(repo, '..', 'shared', 'models', 'all-MiniLM-L6-v2', 'tokenizer.json');
  generateBertPack(packDir, {
    name: 'minilm-l6-shaped',
    shape: MINILM_L6_SHAPE,
    seed: 7,
    maxTokens: 256,
    ...(existsSync(shared) ? { tokenizerJson: readFileSync(shared, 'utf8') } : {}),
  });
}

const home = mkdtempSync(join(tmpdir(), 'mnemo-bench-'));
process.env.MNEMO_HOME = home;
const WORDS = `daemon socket cache index sqlite vector search memory hook session prompt tool commit branch refactor bug fix
test build deploy config token latency worker pool model embed query filter project tag decision note error retry lock`.split(/\s+/);
let seq = 0;
function sentence(n = 14) {
  seq++;
  const words = [];
  let x = seq * 2654435761;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    words.push(WORDS[x % WORDS.length]);
  }
  return `${words.join(' ')} #${seq}`;
}

const rows = [];
function record(bench, extra = {}) {
  for (const task of bench.tasks) {
    const lat = task.result?.latency;
    if (!lat) continue;
    rows.push({ name: task.name, samples: lat.samples?.length ?? task.runs, mean: lat.mean, p50: lat.p50, p99: lat.p99, ...extra });
  }
}

const engine = await Engine.open({ modelDir: packDir, dbPath: join(home, 'bench.db'), embedder: { threads } });
try {
  // Embedding: unique texts so the query cache never answers.
  const embed = new Bench({ time, warmupTime: 200 });
  embed.add('embed 1 short text', async () => {
    await engine.embedder.embedDocuments([sentence(10)]);
  });
  embed.add('embed 8 short texts', async () => {
    await engine.embedder.embedDocuments(Array.from({ length: 8 }, () => sentence(10)));
  });
  await embed.run();
  record(embed);

  let stored = 0;
  for (const size of sizes) {
    while (stored < size) {
      const n = Math.min(256, size - stored);
      await engine.storeBatch({ memories: Array.from({ length: n }, () => ({ content: sentence(), tags: ['bench'], project: '/bench' })) });
      stored += n;
    }
    const b = new Bench({ time, warmupTime: 200 });
    b.add(`store (1 new memory) @${size}`, async () => {
      await engine.store({ content: sentence(), tags: ['bench'] });
    });
    for (const mode of ['semantic', 'keyword', 'hybrid']) {
      // Repeated query texts: the vector cache answers, so this times retrieval itself.
      const queries = Array.from({ length: 16 }, () => sentence(6));
      let i = 0;
      b.add(`search ${mode} @${size}`, async () => {
        await engine.search({ query: queries[i++ % queries.length], mode, limit: 10 });
      });
    }
    await b.run();
    stored = engine.health().memories;
    record(b, { size });
  }
} finally {
  await engine.close();
  rmSync(home, { recursive: true, force: true });
}

const fmt = (ms) => (ms === undefined ? '' : ms < 1 ? ms.toFixed(3) : ms.toFixed(2));
console.log(`\nmnemo engine bench — pack minilm-l6-shaped, ${threads} worker threads, node ${process.version}`);
console.log(['task'.padEnd(32), 'samples'.padStart(8), 'mean ms'.padStart(9), 'p50 ms'.padStart(9), 'p99 ms'.padStart(9)].join(' '));
for (const r of rows) {
  console.log([r.name.padEnd(32), String(r.samples).padStart(8), fmt(r.mean).padStart(9), fmt(r.p50).padStart(9), fmt(r.p99).padStart(9)].join(' '));
}
if (opts.json) writeFileSync(opts.json, `${JSON.stringify({ when: new Date().toISOString(), threads, rows }, null, 2)}\n`);
