import type { MemoryStore } from '../store/memory-store.js';
import { MAX_KNN_K } from '../store/memory-store.js';
import type { MemoryFilter, ModelRecord } from '../store/types.js';
import { ftsMatch, indexForm, queryTerms } from './fts-query.js';

export type SearchMode = 'hybrid' | 'semantic' | 'keyword';
export const SEARCH_MODES: readonly SearchMode[] = ['hybrid', 'semantic', 'keyword'];

/** Reciprocal-rank fusion constant (Cormack et al.; the usual 60). */
export const RRF_K = 60;

export interface ScoredId {
  id: number;
  /** 0..1, see scoring below. */
  score: number;
  semantic?: number;
  keyword?: number;
}

/**
 * Scores, all in 0..1:
 * - semantic: cosine similarity, clamped at 0 (vectors are compared by cosine distance d, similarity = 1 - d).
 * - keyword: FTS5 BM25 s (SQLite negates it: lower is better), mapped as s' = -s, score = s' / (1 + s'). Monotonic, so
 *   the order is BM25's; a strong match nears 1.
 * - hybrid: reciprocal-rank fusion, sum of 1 / (60 + rank) over the two lists, divided by its maximum 2 / 61: a memory
 *   ranked first by both is 1.0, first by one list only is 0.5.
 */
export const semanticScore = (distance: number): number => Math.min(1, Math.max(0, 1 - distance));
export const keywordScore = (bm25: number): number => {
  const s = Math.max(0, -bm25);
  return s / (1 + s);
};

export interface RetrieveOptions {
  mode: SearchMode;
  /** How many ranked ids to return. */
  limit: number;
  filter: MemoryFilter;
  /** The query's vector; required for semantic and hybrid. */
  vector?: Float32Array;
  text: string;
}

export function retrieve(store: MemoryStore, model: ModelRecord, o: RetrieveOptions): ScoredId[] {
  // Each list is deeper than the limit so fusion has overlap to work with.
  const depth = o.mode === 'hybrid' ? Math.min(MAX_KNN_K, Math.max(40, o.limit * 4)) : Math.min(MAX_KNN_K, o.limit);
  const semantic =
    o.mode !== 'keyword' && o.vector
      ? store.nearest(o.vector, depth, model, o.filter).map((h) => ({ id: h.id, score: semanticScore(h.distance) }))
      : [];
  const fts = o.mode !== 'semantic' ? ftsMatch(selectTerms(store, queryTerms(o.text))) : null;
  const keyword = fts ? store.keyword(fts, depth, o.filter).map((h) => ({ id: h.id, score: keywordScore(h.bm25) })) : [];

  if (o.mode === 'semantic') return semantic.map((h) => ({ ...h, semantic: h.score })).slice(0, o.limit);
  if (o.mode === 'keyword') return keyword.map((h) => ({ ...h, keyword: h.score })).slice(0, o.limit);

  const fused = new Map<number, ScoredId>();
  const add = (list: { id: number; score: number }[], key: 'semantic' | 'keyword') => {
    list.forEach((h, rank) => {
      const entry = fused.get(h.id) ?? { id: h.id, score: 0 };
      entry.score += 1 / (RRF_K + rank + 1);
      entry[key] = h.score;
      fused.set(h.id, entry);
    });
  };
  add(semantic, 'semantic');
  add(keyword, 'keyword');
  const max = 2 / (RRF_K + 1);
  return [...fused.values()]
    .map((e) => ({ ...e, score: e.score / max }))
    .sort((a, b) => b.score - a.score || (b.semantic ?? 0) - (a.semantic ?? 0))
    .slice(0, o.limit);
}

/**
 * The words worth matching. BM25 ranks by rare words; a word most memories hold adds almost nothing to a score but
 * makes FTS5 score every memory that has it (53 ms at 100k memories for a five-word query, measured). So words go in
 * from the rarest up while the memories they reach stay under a budget (a 25th of the memories, at least 2,000);
 * the rarest word always goes in, and words no memory holds are left out. Words are counted by their stem, as the
 * index holds them, and two words of one stem ("paint", "painting") go in once.
 */
export function selectTerms(store: MemoryStore, terms: string[]): string[] {
  const byStem = new Map<string, string>();
  for (const t of terms) if (!byStem.has(indexForm(t))) byStem.set(indexForm(t), t);
  if (byStem.size <= 1) return [...byStem.values()];
  const docs = store.termDocs([...byStem.keys()]);
  const present = [...byStem.keys()].filter((s) => (docs.get(s) ?? 0) > 0).sort((a, b) => docs.get(a)! - docs.get(b)!);
  const budget = Math.max(2000, store.memoryCount / 25);
  const kept: string[] = [];
  let reach = 0;
  for (const s of present) {
    const df = docs.get(s)!;
    if (kept.length > 0 && reach + df > budget) break;
    kept.push(byStem.get(s)!);
    reach += df;
  }
  return kept;
}

/** Blends in how recent a memory is: (1 - w) * score + w * 0.5^(age / halfLife). */
export function applyRecency(
  hits: ScoredId[],
  createdAt: (id: number) => number,
  weight: number,
  now: number,
  halfLifeMs = 30 * 24 * 3600 * 1000,
): ScoredId[] {
  if (weight <= 0) return hits;
  return hits
    .map((h) => {
      const age = Math.max(0, now - createdAt(h.id));
      return { ...h, score: (1 - weight) * h.score + weight * 0.5 ** (age / halfLifeMs) };
    })
    .sort((a, b) => b.score - a.score);
}
