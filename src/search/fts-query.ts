/** Most terms taken from one query: a 10 KB paste must not become a 2,000-term FTS program. */
export const MAX_FTS_TERMS = 32;

/**
 * Turns free text into a safe FTS5 query. The text is cut into the same words FTS5's unicode61 tokenizer indexes
 * (runs of letters, digits and marks); each becomes a quoted string, joined by OR and ranked by BM25. Quotes, `*`,
 * `-`, `NEAR`, `:`, parentheses and column names in user text are therefore plain words, never syntax. Returns null
 * when the text has no word at all (only punctuation or emoji): callers treat that as "no keyword hits".
 */
export function toFtsQuery(text: string): string | null {
  const terms = new Set<string>();
  for (const word of text.normalize('NFC').matchAll(/[\p{L}\p{N}\p{M}]+/gu)) {
    terms.add(word[0].toLowerCase());
    if (terms.size >= MAX_FTS_TERMS) break;
  }
  if (terms.size === 0) return null;
  return [...terms].map((t) => `"${t.replaceAll('"', '""')}"`).join(' OR ');
}
