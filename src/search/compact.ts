import type { CompactMemory, Memory } from '../protocol/results.js';
import { sliceChars } from '../text.js';

export type { CompactMemory };

export const SHORT_HASH_LENGTH = 8;
export const DEFAULT_PREVIEW_CHARS = 200;

/**
 * Collapses whitespace (line breaks to " · ") and cuts at a word boundary so the preview, ellipsis included, is at most
 * `max` characters.
 */
export function preview(content: string, max = DEFAULT_PREVIEW_CHARS): string {
  // Line breaks become " · " so a multi-line memory (an observation: gist, tools, files) stays readable on one line.
  const flat = content
    .trim()
    .replace(/\s*\n\s*/g, ' · ')
    .replace(/\s+/g, ' ');
  if (flat.length <= max) return flat;
  if (max <= 1) return '…'.slice(0, max);
  const room = sliceChars(flat, 0, max - 1);
  const cut = room.lastIndexOf(' ');
  // A single very long word (a URL, a hash) is cut mid-word rather than dropped.
  const head = cut >= max / 2 ? room.slice(0, cut) : room;
  return `${head.replace(/[\s,;:.-]+$/, '')}…`;
}

/** Age as people write it: now, 5m, 3h, 2d, 3w, 4mo, 2y. */
export function relativeAge(created: number, now: number): string {
  const s = Math.max(0, (now - created) / 1000);
  if (s < 60) return 'now';
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  if (s < 86400 * 14) return `${Math.floor(s / 86400)}d`;
  if (s < 86400 * 60) return `${Math.floor(s / (86400 * 7))}w`;
  if (s < 86400 * 365) return `${Math.floor(s / (86400 * 30))}mo`;
  return `${Math.floor(s / (86400 * 365))}y`;
}

/**
 * The one way a memory becomes its compact form: short hash, preview, tags (all, or those given), type, creation time
 * and, when ranked, the score at three decimals.
 */
export function compactOf(
  m: Pick<Memory, 'hash' | 'content' | 'tags' | 'type' | 'createdAt'>,
  o: { score?: number | undefined; previewChars?: number | undefined; tags?: string[] | undefined } = {},
): CompactMemory {
  const c: CompactMemory = {
    hash: m.hash.slice(0, SHORT_HASH_LENGTH),
    preview: preview(m.content, o.previewChars ?? DEFAULT_PREVIEW_CHARS),
    tags: o.tags ?? m.tags,
    type: m.type,
    created: m.createdAt,
  };
  if (o.score !== undefined) c.score = Math.round(o.score * 1000) / 1000;
  return c;
}
