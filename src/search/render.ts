import { preview as cutPreview, relativeAge, type CompactMemory } from './compact.js';
import { countTokens } from './tokens.js';

export interface RenderOptions {
  /** The whole text, header and footer included, never has more tokens than this (see tokens.ts). */
  budget: number;
  now?: number;
  /** A first line, such as "Relevant memories:". Dropped if even it does not fit. */
  header?: string;
  /** Show scores (search results) or not (plain listings). */
  scores?: boolean;
}

export interface Rendered {
  text: string;
  tokens: number;
  /** How many memories made it into the text. */
  shown: number;
  /** How many were left out (no room). */
  omitted: number;
}

/** The shortest preview worth showing when a memory's full line does not fit. */
const MIN_PREVIEW = 24;

function line(m: CompactMemory, now: number, scores: boolean, previewText: string): string {
  const meta = [m.hash, relativeAge(m.created, now)];
  if (scores && m.score !== undefined) meta.push(m.score.toFixed(2));
  const tags = m.tags.length > 0 ? ` [${m.tags.join(', ')}]` : '';
  return `- ${meta.join(' ')}${tags} ${previewText}`;
}

/**
 * Renders memories one per line ("- a1b2c3d4 3d 0.82 [decision, auth] preview…") within a token budget. Lines go in
 * order while they fit; a line that does not fit whole is tried with a shorter preview; then a "(+N more)" footer if
 * it fits. The budget is checked against the count of the whole text, so it holds exactly.
 */
export function renderCompact(memories: readonly CompactMemory[], options: RenderOptions): Rendered {
  const budget = Math.max(0, Math.floor(options.budget));
  const now = options.now ?? Date.now();
  const scores = options.scores ?? true;
  const lines: string[] = [];
  // The text's tokens are the sum of its lines' tokens, each line counted with the line break after it (but the
  // last): cl100k's pieces end at a line break and never reach into a line that starts with a non-space, as every
  // line here does (a header that does not is counted with the whole text). So each line is counted once, not once
  // per line placed after it (8 memories: 184 µs with a cached tokenizer, 857 µs recounting, on a slower day).
  const additive = !/^\s|\n/.test(options.header ?? '');
  let used = 0;
  const cost = (extra: string[]) => {
    if (!additive) return countTokens([...lines, ...extra].join('\n'));
    let n = used;
    extra.forEach((l, i) => (n += countTokens(i === extra.length - 1 ? l : `${l}\n`)));
    return n;
  };
  const fits = (extra: string[]) => cost(extra) <= budget;
  const place = (l: string) => {
    used += countTokens(`${l}\n`);
    lines.push(l);
  };

  if (options.header && fits([options.header])) place(options.header);
  const headerLines = lines.length;
  let shown = 0;
  for (const m of memories) {
    const full = line(m, now, scores, m.preview);
    if (fits([full])) {
      place(full);
      shown++;
      continue;
    }
    // Shorten the preview step by step until it fits or is too short to be useful, keeping room for the
    // "(+N more)" footer when others will be left out: the reader should know there is more.
    const left = memories.length - shown - 1;
    const tail = left > 0 ? [`(+${left} more)`] : [];
    let placed = false;
    for (let max = Math.floor(m.preview.length * 0.6); max >= MIN_PREVIEW && !placed; max = Math.floor(max * 0.6)) {
      const shorter = line(m, now, scores, cutPreview(m.preview, max));
      if (fits([shorter, ...tail])) {
        place(shorter);
        shown++;
        placed = true;
      }
    }
    if (!placed) break;
  }
  const omitted = memories.length - shown;
  if (omitted > 0) {
    const footer = `(+${omitted} more)`;
    if (fits([footer])) place(footer);
  }
  // A header alone, with nothing under it, says nothing.
  if (shown === 0 && headerLines > 0 && omitted === 0) lines.splice(0, headerLines);
  const text = lines.join('\n');
  // Additive: the lines' counts, the last one's without its line break (each line's count is remembered: tokens.ts).
  const last = lines.at(-1);
  const tokens =
    additive && last !== undefined ? used - countTokens(`${last}\n`) + countTokens(last) : countTokens(text);
  return { text, tokens, shown, omitted };
}
