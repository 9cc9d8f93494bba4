import { stemmer } from 'stemmer';
import { STOP_WORDS } from './stopwords.js';

/** Most terms taken from one query: a 10 KB paste must not become a 2,000-term FTS program. */
export const MAX_FTS_TERMS = 32;

/** Text with the diacritics of Latin letters removed, as the index's remove_diacritics 2 does (ASCII unchanged). */
export const foldDiacritics = (text: string): string =>
  /[^\p{ASCII}]/u.test(text)
    ? text
        .normalize('NFD')
        .replace(/([A-Za-z])\p{M}+/gu, '$1')
        .normalize('NFC')
    : text;

/**
 * A word as FTS5's unicode61 tokenizer reads one in Latin text: a run of letters, digits and marks (it folds some
 * other scripts' marks and letters differently). Global: for matchAll, which copies it.
 */
export const FTS_WORD = /[\p{L}\p{N}\p{M}]+/gu;

/**
 * The words of free text as FTS5's unicode61 tokenizer indexes them: runs of letters, digits and marks, lower-cased,
 * with diacritics of Latin letters removed. At most MAX_FTS_TERMS, no repeats.
 */
export function ftsTerms(text: string): string[] {
  const terms = new Set<string>();
  for (const word of foldDiacritics(text).matchAll(FTS_WORD)) {
    terms.add(word[0].toLowerCase());
    if (terms.size >= MAX_FTS_TERMS) break;
  }
  return [...terms];
}

/**
 * The words of a query worth matching: its terms less English stop words (all of them when nothing else is left, so
 * "who is he" still matches something).
 */
export function queryTerms(text: string): string[] {
  const all = ftsTerms(text);
  const kept = all.filter((t) => !STOP_WORDS.has(t));
  return kept.length > 0 ? kept : all;
}

/**
 * A term as the index stores it: FTS5's porter tokenizer stems English words (migration 5). The `stemmer` package is
 * Porter's algorithm too; it agrees with FTS5 on 3,722 of the 3,724 distinct words of the LoCoMo development half
 * (the two others carry a diacritic or an emoji selector, which ftsTerms has already folded or that match nothing).
 */
export const indexForm = (term: string): string => stemmer(term);

/**
 * A safe FTS5 query for terms: each quoted (inner quotes doubled), joined by OR and ranked by BM25. Quotes, `*`, `-`,
 * `NEAR`, `:`, parentheses and column names in user text are therefore plain words, never syntax. Null for no terms
 * (only punctuation or emoji): callers treat that as "no keyword hits".
 */
export function ftsMatch(terms: readonly string[]): string | null {
  if (terms.length === 0) return null;
  return terms.map((t) => `"${t.replaceAll('"', '""')}"`).join(' OR ');
}

export const toFtsQuery = (text: string): string | null => ftsMatch(ftsTerms(text));
