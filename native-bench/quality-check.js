#!/usr/bin/env node
// Compares a retrieval-quality result with the committed baseline and fails when a headline figure drops.
//
//   npm run eval:quality:check     native-bench/results/quality-latest.json against native-bench/quality-baseline.json
//   node native-bench/quality-check.js --current F --baseline B [--tolerance 0.01]
//
// Headline figures: recall@5, recall@10 and MRR of each mnemo mode, per category 1-4 and overall, and the prompt
// hook's evidence injected and cross-project injected. The figures are
// deterministic (no timing in them), so the tolerance is small: a drop of more than 0.01 fails.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { REPO } from './lib.js';

const { values } = parseArgs({
  options: {
    current: { type: 'string', default: join(REPO, 'native-bench', 'results', 'quality-latest.json') },
    baseline: { type: 'string', default: join(REPO, 'native-bench', 'quality-baseline.json') },
    tolerance: { type: 'string', default: '0.01' },
  },
});
const tolerance = Number(values.tolerance);
const load = (path) => {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    console.error(`eval:quality:check: cannot read ${path}: ${err.message}`);
    process.exit(2);
  }
};
const current = load(values.current);
const baseline = load(values.baseline);
if (current.conversations.join() !== baseline.conversations.join()) {
  console.error(
    'eval:quality:check: the runs cover different conversations ' +
      `(${current.conversations} vs ${baseline.conversations})`,
  );
  process.exit(2);
}

const GROUPS = ['cat1', 'cat2', 'cat3', 'cat4', 'overall'];
const FIGURES = ['recall5', 'recall10', 'mrr'];
let regressions = 0;
let compared = 0;
console.log(`eval:quality:check against ${values.baseline} (a drop of more than ${tolerance} fails)`);
for (const mode of Object.keys(baseline.results).filter((m) => m !== 'bm25')) {
  for (const group of GROUPS) {
    for (const figure of FIGURES) {
      const b = baseline.results[mode]?.[group]?.[figure];
      const c = current.results[mode]?.[group]?.[figure];
      if (b === undefined) continue;
      compared++;
      const status = c === undefined ? 'MISSING' : c < b - tolerance ? 'REGRESSED' : 'ok';
      if (status !== 'ok') regressions++;
      if (status !== 'ok' || c - b > tolerance) {
        const now = c === undefined ? 'none' : c.toFixed(3);
        console.log(`${status.padEnd(9)} ${`${mode} ${group} ${figure}`.padEnd(28)} ${b.toFixed(3)} -> ${now}`);
      }
    }
  }
}
// The prompt hook's injections (issue 12 item 7): evidence injected must not drop, and prompts another project cannot
// answer must not get more injections.
for (const [figure, higherIsBetter] of [
  ['evidenceInjected', true],
  ['crossInjected', false],
]) {
  const b = baseline.prompt?.relevance?.[figure];
  const c = current.prompt?.relevance?.[figure];
  if (b === undefined) continue;
  compared++;
  const worse = c === undefined || (higherIsBetter ? c < b - tolerance : c > b + tolerance);
  if (worse) regressions++;
  if (worse || Math.abs(c - b) > tolerance) {
    const now = c === undefined ? 'none' : c.toFixed(3);
    console.log(`${worse ? 'REGRESSED' : 'ok'.padEnd(9)} ${`prompt ${figure}`.padEnd(28)} ${b.toFixed(3)} -> ${now}`);
  }
}
console.log(
  regressions === 0 ? `no regressions in ${compared} figures` : `${regressions} regressions in ${compared} figures`,
);
process.exit(regressions === 0 ? 0 : 1);
