import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from './helpers/packs.js';

// The retrieval-quality suite (issue 12) on one conversation: the shape of its results, not their values.
const DATA = process.env.MNEMO_LOCOMO ?? join(REPO, '..', 'shared', 'eval', 'locomo-dev', 'locomo-dev.json');

interface Figures {
  n: number;
  recall5: number;
  recall10: number;
  mrr: number;
}

describe.skipIf(!existsSync(DATA))('the retrieval-quality suite (one LoCoMo conversation)', () => {
  it('runs every mode through the real engine beside the reference BM25', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mnemo-quality-test-'));
    const out = join(dir, 'quality.json');
    const r = spawnSync(process.execPath, [join(REPO, 'native-bench', 'quality.js'), '--conversations', 'conv-30', '--json', out], {
      encoding: 'utf8',
      timeout: 120_000,
      env: { ...process.env, MNEMO_HOME: dir, MNEMO_LOCOMO: DATA },
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^mnemo retrieval quality — /m);
    const result = JSON.parse(readFileSync(out, 'utf8')) as {
      conversations: string[];
      results: Record<string, Record<string, Figures> & { time?: { meanMs: number; p95Ms: number } }>;
    };
    expect(result.conversations).toEqual(['conv-30']);
    expect(Object.keys(result.results).sort()).toEqual(['bm25', 'hybrid', 'keyword', 'semantic']);
    for (const [mode, groups] of Object.entries(result.results)) {
      for (const g of ['cat1', 'cat2', 'cat3', 'cat4', 'overall', 'adversarial']) {
        const f = groups[g]!;
        for (const x of [f.recall5, f.recall10, f.mrr]) expect(x, `${mode} ${g}`).toBeGreaterThanOrEqual(0);
        for (const x of [f.recall5, f.recall10, f.mrr]) expect(x, `${mode} ${g}`).toBeLessThanOrEqual(1);
        expect(f.recall10, `${mode} ${g}`).toBeGreaterThanOrEqual(f.recall5);
      }
      expect(groups.overall!.n).toBe(['cat1', 'cat2', 'cat3', 'cat4'].reduce((s, g) => s + groups[g]!.n, 0));
      expect(groups.overall!.n).toBeGreaterThan(50);
      if (mode !== 'bm25') expect(groups.time!.meanMs).toBeGreaterThan(0);
    }
    // The real engine finds evidence: far above chance (10 of 369 turns).
    expect(result.results.keyword!.overall!.recall10).toBeGreaterThan(0.2);
  });

  it('skips with a message, exit 0, when the data is absent', () => {
    const r = spawnSync(process.execPath, [join(REPO, 'native-bench', 'quality.js'), '--data', join(tmpdir(), 'no-such-locomo.json')], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/skipped, no data/);
  });
});
