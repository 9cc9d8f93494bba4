/**
 * The bar a ranking must clear before the prompt hook spends context on it (issue 12 item 7). Injected text is
 * judged by precision as much as recall: a prompt about something the store knows nothing of must get nothing.
 */

/** A ranked hit as search returns it: its fused score and, where it had them, its two sides' scores. */
export interface RankedHit {
  score: number;
  semantic?: number | undefined;
  keyword?: number | undefined;
}

export interface RelevanceBar {
  /** The best keyword score (BM25 s mapped to s / (1 + s)) that says the store holds the prompt's words. */
  minKeyword: number;
  /**
   * The same bar for a store of any size: BM25's s grows with its words' IDF, about ln(1 + N) for N memories, so the
   * bar on s is this many times ln(1 + N). Calibrated so that it equals minKeyword at the size it was measured at
   * (2,760 memories: s >= 9 is 1.14 ln(2761)); used when the caller says how many memories it searched.
   */
  minKeywordPerLogN: number;
  /**
   * How far the best cosine must stand above the median cosine of the ranking: a vector side that ranks everything
   * alike (a weak model, a prompt it cannot place) says nothing.
   */
  minSemanticLead: number;
  /** A hit goes in when its fused score is at least this share of the best one's. */
  minShareOfBest: number;
  /** At most this many hits. */
  max: number;
}

/**
 * Measured with the quality suite (LoCoMo development half, 760 answerable questions, hybrid, offline pack; each asked
 * in its own conversation's project and in another's, where nothing can answer it):
 *
 * | bar                         | evidence injected | anything injected | evidence share | other project injected |
 * | today's (*)                 | 0.538             | 1.000             | 0.187          | 1.000                  |
 * | best keyword >= 0.85        | 0.538             | 0.984             | 0.191          | 0.559                  |
 * | best keyword >= 0.88        | 0.507             | 0.907             | 0.194          | 0.234                  |
 * | best keyword >= 0.90        | 0.455             | 0.779             | 0.203          | 0.100                  |
 * | best keyword >= 0.92        | 0.349             | 0.561             | 0.217          | 0.024                  |
 * | >= 0.90, at most 4          | 0.495             | 0.779             | 0.173          | 0.100                  |
 * | >= 0.90, at most 5 (this)   | 0.524             | 0.776             | 0.156          | 0.097                  |
 *
 * (*) semantic >= 0.45 or keyword >= 0.5; at most 3 unless said. The last row is within the prompt hook's 300-token
 * budget, rendered as the hook renders (two questions lose their evidence to it). Five short memories fit the budget
 * (LoCoMo turns: a median of about 165 tokens for five); the gate, not the count, is what keeps unrelated prompts
 * empty, so the count buys recall at the price of precision. A gate that also asked for the share of the prompt's
 * IDF the project holds at all (so a prompt about people or things the project never mentions gets nothing) did worse
 * at every setting: at 0.10 cross-project injections it injected evidence for 0.40 (bar 0.85, 75% of the IDF).
 *
 * Sharing of the best (0.7, 0.85 instead of 0.5) raises the evidence share but loses evidence; keyword score divided
 * by the query's total IDF (how much of the query is matched) separated no better than the keyword score itself.
 * The offline pack's cosines never stand out (lead of the best over the median: 0.03 at the 90th percentile), so with
 * it the bar is the keyword one; 0.15 for a real sentence model is a guess, not yet measured. A BM25 score grows with
 * the log of the store's size, so minKeyword suits stores of thousands of memories and is worth re-measuring at scale.
 */
export const DEFAULT_RELEVANCE_BAR: RelevanceBar = {
  minKeyword: 0.9,
  minKeywordPerLogN: 1.14,
  minSemanticLead: 0.15,
  minShareOfBest: 0.5,
  max: 5,
};

/** The keyword-score bar for a store of `storeSize` memories (see minKeywordPerLogN), or the fixed one. */
export function keywordBar(bar: RelevanceBar, storeSize?: number): number {
  if (storeSize === undefined || storeSize <= 0) return bar.minKeyword;
  const s = bar.minKeywordPerLogN * Math.log(1 + storeSize);
  return s / (1 + s);
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : s[Math.floor(s.length / 2)]!;
};

/**
 * The hits worth injecting, from a ranking best first: none unless the ranking as a whole shows the store knows the
 * prompt (a strong keyword match, or a vector side whose best hit stands out from the rest); then the first hits whose
 * fused score is within `minShareOfBest` of the best, at most `max`.
 */
export function relevantHits<T extends RankedHit>(
  hits: readonly T[],
  bar: RelevanceBar = DEFAULT_RELEVANCE_BAR,
  storeSize?: number,
): T[] {
  if (hits.length === 0) return [];
  const minKeyword = keywordBar(bar, storeSize);
  const bestKeyword = Math.max(0, ...hits.map((h) => h.keyword ?? 0));
  const cosines = hits.map((h) => h.semantic).filter((s): s is number => s !== undefined);
  const semanticLead = cosines.length > 1 ? Math.max(...cosines) - median(cosines) : 0;
  if (bestKeyword < minKeyword && semanticLead < bar.minSemanticLead) return [];
  const best = hits[0]!.score;
  return hits.filter((h) => h.score >= best * bar.minShareOfBest).slice(0, bar.max);
}
