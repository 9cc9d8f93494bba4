import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './packs.js';

/**
 * Where the fault tests keep the figures of their latest run (cases tried, failures, events lost), beside the bench
 * results (git-ignored), so docs/reliability.md can quote a real run. One file per test: test files run in parallel.
 */
export const FAULT_FIGURES = join(REPO, 'native-bench', 'results', 'faults');

export function recordFigures(test: string, figures: Record<string, number | string>): void {
  mkdirSync(FAULT_FIGURES, { recursive: true });
  const file = join(FAULT_FIGURES, `${test.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}.json`);
  writeFileSync(
    file,
    `${JSON.stringify({ test, ...figures, at: new Date().toISOString(), node: process.version }, null, 2)}\n`,
  );
}
