import type { MemoryStorage } from '../store/storage.js';
import { MAX_KNN_K } from '../store/memory-store.js';
import type { MemoryFilter, MemoryPlace, ModelRecord } from '../store/types.js';
import { rescore } from './bm25.js';
import { ftsMatch, indexForm, queryTerms } from './fts-query.js';

export type SearchMode = 'hybrid' | 'semantic' | 'keyword';
export const SEARCH_MODES: readonly SearchMode[] = ['hybrid', 'semantic', 'keyword'];

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
 * - keyword: BM25 s (search/bm25.ts: FTS5's candidates with b 0.5; negated as SQLite's: lower is better), mapped as
 *   s' = -s, score = s' / (1 + s'). Monotonic, so the order is BM25's; a strong match nears 1.
 * - hybrid: see fuse(), withNeighbours() and withEpisodes(); the `semantic` and `keyword` parts of a hit stay the two
 *   scores above.
 */
export const semanticScore = (distance: number): number => Math.min(1, Math.max(0, 1 - distance));
export const keywordScore = (bm25: number): number => {
  const s = Math.max(0, -bm25);
  return s / (1 + s);
};
/** The BM25 s' back from a keyword score. */
const bm25Of = (keyword: number): number => keyword / (1 - Math.min(keyword, 1 - 1e-9));

/** The most the vector side weighs in a fusion, reached when its scores are peaked and the keyword side's are flat. */
export const MAX_SEMANTIC_WEIGHT = 0.6;
/** A memory scores at least this share of its best neighbour's score (withNeighbours). */
export const NEIGHBOUR_SHARE = 0.5;
/** Memories further apart in time than this are not neighbours, nor (without a session) of one episode. */
export const NEIGHBOUR_WINDOW_MS = 30 * 60 * 1000;
/** A hit's score moves toward the best of its episode by this weight (withEpisodes). */
export const EPISODE_WEIGHT = 0.5;
/**
 * How many of the best hits lift their neighbours and are grouped into episodes. Episodes over the best 40 rank as
 * they do over every hit (LoCoMo development half, hybrid: recall@10 0.707 against 0.708; over the best 20, 0.691),
 * and read a quarter of the rows (0.65 ms for 159 hits at 100k memories, measured).
 */
const CONTEXT_DEPTH = 40;

export interface RetrieveOptions {
  mode: SearchMode;
  /** How many ranked ids to return. */
  limit: number;
  filter: MemoryFilter;
  /** The query's vector; required for semantic and hybrid. */
  vector?: Float32Array;
  text: string;
  /**
   * The keyword side, when the caller has already run it (keywordSide with the same mode, limit, filter and text):
   * the engine runs it while a worker embeds the query.
   */
  keyword?: { id: number; score: number }[];
  /** The vector side, when the caller has already run it (semanticSide with the same mode, limit and filter). */
  semantic?: { id: number; score: number }[];
}

/** How many hits each side ranks: in hybrid mode deeper than the limit, so fusion has overlap to work with. */
const sideDepth = (mode: SearchMode, limit: number): number =>
  mode === 'hybrid' ? Math.min(MAX_KNN_K, Math.max(40, limit * 4)) : Math.min(MAX_KNN_K, limit);
/**
 * How many of FTS5's candidates are ranked again (search/bm25.ts): at least 40, so that a memory FTS5's b of 0.75 put
 * just below the limit can still rise into it (LoCoMo development half, keyword mode, limit 10: recall@10 0.609 when
 * only the 10 are ranked again, 0.623 from 20 or more, the same from 40 to 100).
 */
const RESCORE_MIN = 40;

/** The keyword side of a search: BM25 over the query's selected words, best first (none in semantic mode). */
export function keywordSide(
  store: Pick<MemoryStorage, 'termDocs' | 'keyword' | 'memoryCount' | 'ftsTotals'>,
  o: Pick<RetrieveOptions, 'mode' | 'limit' | 'filter' | 'text'>,
): { id: number; score: number }[] {
  if (o.mode === 'semantic') return [];
  const { terms, docs } = chooseTerms(store, queryTerms(o.text));
  const fts = ftsMatch(terms);
  if (!fts) return [];
  const depth = sideDepth(o.mode, o.limit);
  const candidates = store.keyword(fts, Math.min(MAX_KNN_K, Math.max(depth, RESCORE_MIN)), o.filter);
  const totals = store.ftsTotals();
  const ranked = totals && docs.size > 0 ? rescore(candidates, docs, totals) : candidates;
  return ranked.slice(0, depth).map((h) => ({ id: h.id, score: keywordScore(h.bm25) }));
}

/** The vector side of a search: the nearest memories to the query's vector, best first (none in keyword mode). */
export function semanticSide(
  store: MemoryStorage,
  model: ModelRecord,
  o: Pick<RetrieveOptions, 'mode' | 'limit' | 'filter' | 'vector'>,
): { id: number; score: number }[] {
  // A query of words the model does not know embeds to the zero vector, whose cosine distance to everything is
  // undefined (sqlite-vec: null, which scored every memory 1.00, issue 12 item 5): it contributes nothing.
  if (o.mode === 'keyword' || !o.vector || !hasDirection(o.vector)) return [];
  return store
    .nearest(o.vector, sideDepth(o.mode, o.limit), model, o.filter)
    .map((h) => ({ id: h.id, score: semanticScore(h.distance) }));
}

export function retrieve(store: MemoryStorage, model: ModelRecord, o: RetrieveOptions): ScoredId[] {
  const semantic = o.semantic ?? semanticSide(store, model, o);
  const keyword = o.keyword ?? keywordSide(store, o);

  if (o.mode === 'semantic') return semantic.map((h) => ({ ...h, semantic: h.score })).slice(0, o.limit);
  if (o.mode === 'keyword') return keyword.map((h) => ({ ...h, keyword: h.score })).slice(0, o.limit);
  const hits = withNeighbours(store, fuse(keyword, semantic), o.filter);
  return withEpisodes(hits, store.placesOf(hits.slice(0, CONTEXT_DEPTH).map((h) => h.id))).slice(0, o.limit);
}

const hasDirection = (v: Float32Array): boolean => v.some((x) => Math.abs(x) > 1e-6);

/**
 * Hybrid fusion: a convex combination of the two sides' scores, each normalised over its own list (BM25 divided by the
 * best BM25; cosine min-max scaled over the vector list), with the vector side's weight set per query by how peaked
 * each side is: w = MAX_SEMANTIC_WEIGHT * sp / (sp + kp), where sp = (best - worst) / (1 - worst) of the cosines and
 * kp = 1 - mean of the normalised BM25 scores. A flat vector side (a query of few or unknown words, or a weak model)
 * weighs almost nothing; a keyword side with one clear match keeps it on top.
 *
 * Why not reciprocal-rank fusion: with equal weights a weak vector ranking pulls strong keyword hits down. LoCoMo
 * development half, categories 1-4, offline pack, before neighbours: RRF recall@5 0.468 (keyword alone 0.536), this
 * 0.540-0.580 across weights 0.2-0.6 (issue 12, table of attempts in docs/retrieval-quality.md).
 */
export function fuse(
  keyword: readonly { id: number; score: number }[],
  semantic: readonly { id: number; score: number }[],
): ScoredId[] {
  const entries = new Map<number, ScoredId>();
  for (const h of keyword) entries.set(h.id, { id: h.id, score: 0, keyword: h.score });
  for (const h of semantic) entries.set(h.id, { ...(entries.get(h.id) ?? { id: h.id, score: 0 }), semantic: h.score });
  const best = Math.max(1e-9, ...keyword.map((h) => bm25Of(h.score)));
  const kNorm = (s: number | undefined) => (s === undefined ? 0 : bm25Of(s) / best);
  const cosines = semantic.map((h) => h.score);
  const top = Math.max(0, ...cosines);
  const bottom = Math.min(top, ...cosines);
  const sNorm = (s: number | undefined) =>
    s === undefined || top <= bottom ? 0 : Math.max(0, (s - bottom) / (top - bottom));
  let w = 1;
  if (keyword.length > 0) {
    const kp = keyword.length > 1 ? 1 - keyword.reduce((sum, h) => sum + kNorm(h.score), 0) / keyword.length : 1;
    const sp = semantic.length > 1 ? (top - bottom) / Math.max(1e-9, 1 - bottom) : 0;
    w = sp + kp > 0 ? (MAX_SEMANTIC_WEIGHT * sp) / (sp + kp) : 0;
  }
  return [...entries.values()]
    .map((e) => ({ ...e, score: (1 - w) * kNorm(e.keyword) + w * sNorm(e.semantic) }))
    .sort((a, b) => b.score - a.score || (b.semantic ?? 0) - (a.semantic ?? 0));
}

/**
 * A memory is read in its context: one stored just before or after a strong match (same project, within
 * NEIGHBOUR_WINDOW_MS) scores at least NEIGHBOUR_SHARE of that match's score. An answer often sits beside the memory
 * whose words match the question (a question and its reply, a decision and its reason), and a max rather than a sum
 * leaves the best match where it was. LoCoMo development half, hybrid: recall@5 0.571 vs 0.540 without,
 * recall@10 0.668 vs 0.623; a sum instead of the max gained recall but lost MRR on multi-hop questions.
 */
export function withNeighbours(
  store: MemoryStorage,
  hits: ScoredId[],
  filter: MemoryFilter,
  share = NEIGHBOUR_SHARE,
): ScoredId[] {
  if (hits.length === 0 || share <= 0) return hits;
  const score = new Map(hits.map((h) => [h.id, h.score]));
  const lifted = new Map<number, number>();
  const lift = (id: number | null, s: number) => {
    if (id !== null && s * share > (lifted.get(id) ?? 0)) lifted.set(id, s * share);
  };
  for (const n of store.neighbours(
    hits.slice(0, CONTEXT_DEPTH).map((h) => h.id),
    NEIGHBOUR_WINDOW_MS,
    filter,
  )) {
    const s = score.get(n.id)!;
    lift(n.prev, s);
    lift(n.next, s);
  }
  const out = hits.map((h) => ({ ...h, score: Math.max(h.score, lifted.get(h.id) ?? 0) }));
  for (const [id, s] of lifted) if (!score.has(id)) out.push({ id, score: s });
  return out.sort((a, b) => b.score - a.score);
}

/**
 * A memory is read in its episode too: the session it was recorded in, or for memories without one, those of its
 * project stored within NEIGHBOUR_WINDOW_MS of each other. Each hit's score becomes (score + EPISODE_WEIGHT * best) /
 * (1 + EPISODE_WEIGHT), where best is the best score among the hits of its episode: a hit alone in its episode, or the
 * best of it, keeps its score; the others move toward it. Hits without a place are left as they are: the search
 * passes the places of its best CONTEXT_DEPTH. Passage retrieval has long weighed a passage by the document
 * it is in (Callan 1994); here the document is the session, whose strongest match says what it was about.
 * LoCoMo development half, hybrid, categories 1-4 (recall@5 / recall@10 / MRR@10, with BM25's b at 0.5): 0.581 /
 * 0.670 / 0.494 without, 0.597 / 0.691 / 0.503 at a weight of 0.2, 0.610 / 0.708 / 0.508 at 0.5, 0.617 / 0.711 /
 * 0.509 at 0.7, 0.619 / 0.712 / 0.509 at 1.0 (table of attempts in docs/retrieval-quality.md).
 */
export function withEpisodes(
  hits: ScoredId[],
  places: ReadonlyMap<number, MemoryPlace>,
  weight = EPISODE_WEIGHT,
): ScoredId[] {
  if (hits.length < 2 || weight <= 0) return hits;
  const episode = episodesOf(places);
  const best = new Map<string, number>();
  for (const h of hits) {
    const e = episode.get(h.id);
    if (e !== undefined) best.set(e, Math.max(best.get(e) ?? 0, h.score));
  }
  return hits
    .map((h) => {
      const e = episode.get(h.id);
      const top = e === undefined ? h.score : best.get(e)!;
      return top === h.score ? h : { ...h, score: (h.score + weight * top) / (1 + weight) };
    })
    .sort((a, b) => b.score - a.score);
}

/**
 * An episode key for each memory: its session, or for memories without one, a run of its project's memories (among
 * these) each within NEIGHBOUR_WINDOW_MS of the one before.
 */
export function episodesOf(places: ReadonlyMap<number, MemoryPlace>): Map<number, string> {
  const out = new Map<number, string>();
  const loose = [...places]
    .filter(([id, p]) => {
      if (p.sessionId !== null) out.set(id, `s:${p.sessionId}`);
      return p.sessionId === null;
    })
    .sort(([, a], [, b]) => {
      const pa = projectKey(a);
      const pb = projectKey(b);
      return pa < pb ? -1 : pa > pb ? 1 : a.createdAt - b.createdAt;
    });
  let run = 0;
  loose.forEach(([id, p], i) => {
    const prev = loose[i - 1]?.[1];
    if (!prev || projectKey(prev) !== projectKey(p) || p.createdAt - prev.createdAt > NEIGHBOUR_WINDOW_MS) run = i;
    out.set(id, `t:${run}`);
  });
  return out;
}

/** A memory's project as a sort key: no project sorts apart from every named one. */
const projectKey = (p: MemoryPlace): string => (p.project === null ? '' : `/${p.project}`);

/**
 * The words worth matching. BM25 ranks by rare words; a word most memories hold adds almost nothing to a score but
 * makes FTS5 score every memory that has it (53 ms at 100k memories for a five-word query, measured). So words go in
 * from the rarest up while the memories they reach stay under a budget (a 25th of the memories, at least 2,000);
 * the rarest word always goes in, and words no memory holds are left out. Words are counted by their stem, as the
 * index holds them, and two words of one stem ("paint", "painting") go in once.
 */
export function selectTerms(store: Pick<MemoryStorage, 'termDocs' | 'memoryCount'>, terms: string[]): string[] {
  return chooseTerms(store, terms).terms;
}

/** selectTerms, with the document count of each kept word's stem. */
function chooseTerms(
  store: Pick<MemoryStorage, 'termDocs' | 'memoryCount'>,
  terms: string[],
): { terms: string[]; docs: Map<string, number> } {
  const byStem = new Map<string, string>();
  for (const t of terms) if (!byStem.has(indexForm(t))) byStem.set(indexForm(t), t);
  const docs = store.termDocs([...byStem.keys()]);
  if (byStem.size <= 1) return { terms: [...byStem.values()], docs };
  const present = [...byStem.keys()].filter((s) => (docs.get(s) ?? 0) > 0).sort((a, b) => docs.get(a)! - docs.get(b)!);
  const budget = Math.max(2000, store.memoryCount / 25);
  const kept = new Map<string, number>();
  let reach = 0;
  for (const s of present) {
    const df = docs.get(s)!;
    if (kept.size > 0 && reach + df > budget) break;
    kept.set(s, df);
    reach += df;
  }
  return { terms: [...kept.keys()].map((s) => byStem.get(s)!), docs: kept };
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
