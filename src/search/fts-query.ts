/** Most terms taken from one query: a 10 KB paste must not become a 2,000-term FTS program. */
export const MAX_FTS_TERMS = 32;

/**
 * Turns free text into a safe FTS5 query: every word becomes a quoted string (inner quotes doubled), joined by OR, so
 * quotes, `*`, `-`, `NEAR`, `:`, parentheses and column names in user text are plain words, never syntax. Returns
 * null when the text has no searchable word (only punctuation or emoji), which callers treat as "no keyword hits".
 */
export function toFtsQuery(text: string): string | null {
  const terms = new Set<string>();
  for (const word of text.normalize('NFC').split(/\s+/)) {
    // unicode61 indexes letters, digits and marks; anything else only separates words.
    if (!/[\p{L}\p{N}]/u.test(word)) continue;
    terms.add(word.toLowerCase());
    if (terms.size >= MAX_FTS_TERMS) break;
  }
  if (terms.size === 0) return null;
  return [...terms].map((t) => `"${t.replaceAll('"', '""')}"`).join(' OR ');
}
