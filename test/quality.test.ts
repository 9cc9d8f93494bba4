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
    const r = spawnSync(
      process.execPath,
      [join(REPO, 'native-bench', 'quality.js'), '--conversations', 'conv-30', '--json', out],
      {
        encoding: 'utf8',
        timeout: 120_000,
        env: { ...process.env, MNEMO_HOME: dir, MNEMO_LOCOMO: DATA },
      },
    );
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
    const r = spawnSync(
      process.execPath,
      [join(REPO, 'native-bench', 'quality.js'), '--data', join(tmpdir(), 'no-such-locomo.json')],
      { encoding: 'utf8' },
    );
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/skipped, no data/);
  });
});

describe('the prompt relevance bar (issue 12 item 7)', () => {
  it('injects nothing from a ranking that shows no sign the store knows the prompt', async () => {
    const { relevantHits } = await import('../dist/search/relevance.js');
    // Flat cosines, weak keyword matches: a store that cannot answer.
    const flat = Array.from({ length: 10 }, (_, i) => ({
      score: 1 - i * 0.05,
      semantic: 0.8 - i * 0.005,
      keyword: i < 3 ? 0.6 : undefined,
    }));
    expect(relevantHits(flat)).toEqual([]);
    expect(relevantHits([])).toEqual([]);
  });

  it('takes up to five hits near the best one when a keyword match is strong or a cosine stands out', async () => {
    const { relevantHits } = await import('../dist/search/relevance.js');
    const strong = [
      { score: 1, keyword: 0.95, semantic: 0.7 },
      { score: 0.5 },
      { score: 0.45, keyword: 0.7 },
      { score: 0.2, semantic: 0.69 },
    ];
    expect(relevantHits(strong)).toEqual(strong.slice(0, 2));
    const peaked = [
      { score: 1, semantic: 0.9 },
      { score: 0.9, semantic: 0.6 },
      { score: 0.8, semantic: 0.58 },
      { score: 0.7, semantic: 0.57 },
      { score: 0.6, semantic: 0.55 },
      { score: 0.55, semantic: 0.54 },
      { score: 0.5, semantic: 0.53 },
    ];
    expect(relevantHits(peaked)).toEqual(peaked.slice(0, 5));
  });
});
