#!/usr/bin/env node
// Compares a benchmark result with the committed baseline and fails on a regression beyond the tolerance.
//
//   npm run bench:check                    native-bench/results/latest.json against native-bench/baseline.json
//   node native-bench/check.js --current F --baseline B [--tolerance 0.35]
//
// These machines are noisy, so a timing is compared as a ratio to an in-run reference wherever the row names one
// (`ref`): a search against the exact scan measured in the same run, a hook against a bare round trip of the same
// client. Rows without a reference compare their raw values. Timings and memory may grow by the tolerance (default
// 35%); recall may drop by 0.02; throughput may fall by the tolerance; counts that must be zero must stay zero.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { REPO } from './lib.js';

const { values } = parseArgs({
  options: {
    current: { type: 'string', default: join(REPO, 'native-bench', 'results', 'latest.json') },
    baseline: { type: 'string', default: join(REPO, 'native-bench', 'baseline.json') },
    tolerance: { type: 'string', default: '0.35' },
    json: { type: 'boolean' },
  },
});
const tolerance = Number(values.tolerance);
const load = (path) => {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    console.error(`bench:check: cannot read ${path}: ${err.message}`);
    process.exit(2);
  }
};
const current = load(values.current);
const baseline = load(values.baseline);
const byKey = (r) => Object.fromEntries(r.rows.map((row) => [row.key, row]));
const cur = byKey(current);
const base = byKey(baseline);

/** A row's comparable value: relative to its in-run reference when it has one. */
const comparable = (rows, row) =>
  row.ref && rows[row.ref]?.value > 0
    ? { value: row.value / rows[row.ref].value, relative: true }
    : { value: row.value, relative: false };

const lowerIsBetter = (row) => ['ms', 'µs', 'MiB', 'B', 'tokens', 'events'].includes(row.unit);
const findings = [];
for (const [key, b] of Object.entries(base)) {
  const c = cur[key];
  if (!c) {
    findings.push({ key, status: 'missing', detail: 'not in the current run' });
    continue;
  }
  const bv = comparable(base, b);
  const cv = comparable(cur, c);
  let regressed;
  let limit;
  if (c.unit === 'ratio') {
    limit = bv.value - 0.02;
    regressed = cv.value < limit;
  } else if (c.unit === 'events') {
    limit = bv.value;
    regressed = cv.value > limit;
  } else if (lowerIsBetter(c)) {
    limit = bv.value * (1 + tolerance);
    regressed = cv.value > limit;
  } else {
    limit = bv.value * (1 - tolerance);
    regressed = cv.value < limit;
  }
  findings.push({
    key,
    status: regressed ? 'REGRESSED' : 'ok',
    baseline: bv.value,
    current: cv.value,
    limit,
    relative: cv.relative ? `÷ ${c.ref}` : undefined,
  });
}

const regressions = findings.filter((f) => f.status === 'REGRESSED');
// The machines these runs land on are not always the same kind (the baseline's AMD EPYC, later runs an Intel Xeon
// about twice as fast at the same code): raw timings then compare two machines, and only the relative rows compare
// the code.
const otherMachine =
  baseline.machine !== current.machine ? { baseline: baseline.machine, current: current.machine } : null;
if (values.json) {
  console.log(JSON.stringify({ tolerance, otherMachine, regressions: regressions.length, findings }, null, 2));
} else {
  if (otherMachine) {
    console.log(
      `bench:check: the baseline ran on ${otherMachine.baseline}, this run on ${otherMachine.current}: raw timings ` +
        'compare the machines as much as the code; the relative rows compare the code',
    );
  }
  const fmt = (x) => (typeof x === 'number' ? (Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(3)) : '');
  console.log(
    `bench:check against ${values.baseline} (tolerance ${tolerance * 100}%; ` +
      'relative rows are value ÷ their in-run reference)',
  );
  for (const f of findings) {
    const change = `${fmt(f.baseline).padStart(9)} -> ${fmt(f.current).padStart(9)}`;
    console.log(
      `${f.status.padEnd(9)} ${f.key.padEnd(66)} ${change} (limit ${fmt(f.limit)})${f.relative ? ' relative' : ''}`,
    );
  }
  console.log(
    regressions.length === 0 ? `no regressions in ${findings.length} rows` : `${regressions.length} regressions`,
  );
}
process.exit(regressions.length === 0 ? 0 : 1);
