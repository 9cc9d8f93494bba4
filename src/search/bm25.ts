import { COUNTED_CHARS } from '../store/memory-store.js';
import { FTS_WORD, foldDiacritics, indexForm } from './fts-query.js';

/**
 * BM25's parameters for mnemo's keyword ranking. FTS5's bm25() has k1 1.2 and b 0.75 built in; memories are short
 * (the LoCoMo turns average 25 words, a compressed observation not many more), and at b 0.75 a one-line memory that
 * holds a query word once outranks a fuller one that holds it and its context. Measured on the LoCoMo development half
 * (categories 1-4, keyword mode, recall@5 / recall@10 / MRR@10): b 0.75 0.536 / 0.612 / 0.465, 0.6 0.552 / 0.617 /
 * 0.482, 0.5 0.552 / 0.623 / 0.486, 0.4 0.557 / 0.624 / 0.492, 0.3 0.564 / 0.627 / 0.499, 0.2 0.560 / 0.630 / 0.502;
 * k1 0.9 to 1.6 moved the figures by under 0.01. 0.5 sits in the middle of the range that helps, not at its best
 * point: the other half of LoCoMo is kept aside to check that changes generalise.
 */
export const BM25_K1 = 1.2;
export const BM25_B = 0.5;

/** The whole index's figures BM25 needs: FTS5's own (its averages record), so idf and lengths are those it ranks by. */
export interface CollectionStats {
  docs: number;
  tokens: number;
}

export interface Candidate {
  id: number;
  content: string;
  /** The memory's length in tokens, as FTS5 counts it. */
  length: number;
  /** FTS5's bm25() (negative, lower is better): kept when no query word can be found in the text (see rescore). */
  bm25: number;
}

/**
 * Counts how often each stem occurs in a text, reading words as the index does (FTS_WORD, folded, lower-cased,
 * stemmed; a memory whose words are not found so keeps FTS5's score, see rescore). Only
 * words that begin with a stem's first two letters are stemmed (or its only one: "ies" is "i"): Porter's algorithm
 * rewrites suffixes (checked on the 4,715 distinct words of the LoCoMo development half and this repository's
 * documentation, and on 28,476 words of documentation by a reviewer).
 */
export function frequencyCounter(stems: readonly string[]): (text: string) => Map<string, number> {
  const prefixes = new Set(stems.map((s) => s.slice(0, 2)));
  const stemOf = new Map<string, string>();
  return (text) => {
    const counts = new Map<string, number>(stems.map((s) => [s, 0]));
    if (stems.length === 0) return counts;
    for (const m of foldDiacritics(text.slice(0, COUNTED_CHARS)).matchAll(FTS_WORD)) {
      // Three letters lower-cased, then two: a final sigma is only final at the end of the word.
      const start = m[0].slice(0, 3).toLowerCase();
      if (!prefixes.has(start.slice(0, 2)) && !prefixes.has(start.slice(0, 1))) continue;
      const word = m[0].toLowerCase();
      let stem = stemOf.get(word);
      if (stem === undefined) stemOf.set(word, (stem = indexForm(word)));
      const n = counts.get(stem);
      if (n !== undefined) counts.set(stem, n + 1);
    }
    return counts;
  };
}

/**
 * FTS5's candidates ranked again by BM25 with BM25_K1 and BM25_B, with FTS5's idf (log((N - n + 0.5) / (n + 0.5)),
 * 1e-6 where that is not positive) and the memory's FTS5 length against the index's average, so only b differs from
 * bm25(). `docs` maps each query stem to the memories holding it (a cached count may be a tenth off: it is held
 * within 1..N). Scores are negative like bm25()'s; a candidate in which no stem is found (a word FTS5 folds
 * otherwise, or beyond COUNTED_CHARS) keeps FTS5's score. Best first.
 */
export function rescore(
  candidates: readonly Candidate[],
  docs: ReadonlyMap<string, number>,
  stats: CollectionStats,
  k1 = BM25_K1,
  b = BM25_B,
): { id: number; bm25: number }[] {
  const stems = [...docs.keys()];
  const idf = new Map(
    stems.map((s) => {
      const n = Math.min(Math.max(1, docs.get(s)!), stats.docs);
      const v = Math.log((stats.docs - n + 0.5) / (n + 0.5));
      return [s, v > 0 ? v : 1e-6];
    }),
  );
  const average = stats.tokens / Math.max(1, stats.docs);
  const frequencies = frequencyCounter(stems);
  return candidates
    .map((c) => {
      const norm = k1 * (1 - b + (b * c.length) / Math.max(1e-9, average));
      let score = 0;
      for (const [stem, tf] of frequencies(c.content))
        if (tf > 0) score += (idf.get(stem)! * (tf * (k1 + 1))) / (tf + norm);
      return { id: c.id, bm25: score > 0 ? -score : c.bm25 };
    })
    .sort((x, y) => x.bm25 - y.bm25);
}
