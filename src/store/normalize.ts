import { createHash } from 'node:crypto';
import { badArgs } from '../errors.js';

/** Largest content accepted for one memory. Embedding truncates at the model's max tokens; storage keeps it whole. */
export const MAX_CONTENT_BYTES = 1024 * 1024;
export const MAX_TAGS = 64;
export const MAX_TAG_LENGTH = 100;

/**
 * The form content is stored and hashed in: Unicode NFC, LF line ends, no trailing blanks on lines, trimmed. Two
 * texts that differ only in those ways are the same memory.
 */
export function normalizeContent(content: unknown, field = 'content'): string {
  if (typeof content !== 'string') throw badArgs(`\`${field}\` must be a string, got ${describe(content)}`);
  if (!content.isWellFormed()) {
    throw badArgs(
      `\`${field}\` is not valid Unicode text (it holds a lone surrogate, which cannot be stored as UTF-8)`,
    );
  }
  if (content.includes('\u0000')) throw badArgs(`\`${field}\` must not contain NUL characters`);
  const normalized = content
    .normalize('NFC')
    .replace(/\r\n?/g, '\n')
    .replace(/[ \t]+$/gm, '')
    .trim();
  if (normalized.length === 0) throw badArgs(`\`${field}\` must not be empty`);
  const bytes = Buffer.byteLength(normalized, 'utf8');
  if (bytes > MAX_CONTENT_BYTES) {
    throw badArgs(`\`${field}\` is ${bytes} bytes; the limit is ${MAX_CONTENT_BYTES} bytes (1 MiB)`);
  }
  return normalized;
}

export const contentHash = (normalized: string): string =>
  createHash('sha256').update(normalized, 'utf8').digest('hex');

/** Why `tags` (an array of strings, or one comma-separated string) cannot be tags, or null when it can. */
export function tagsProblem(tags: unknown): string | null {
  const list = typeof tags === 'string' ? tags.split(',') : tags;
  if (!Array.isArray(list)) return `must be an array of strings, got ${describe(tags)}`;
  const out = new Set<string>();
  for (const tag of list) {
    if (typeof tag !== 'string') return `must hold only strings, got ${describe(tag)}`;
    if (!tag.isWellFormed()) return 'holds a tag that is not valid Unicode text';
    const t = normalizeTag(tag);
    if (t.length > MAX_TAG_LENGTH) return `holds a tag longer than ${MAX_TAG_LENGTH} characters`;
    if (t.length > 0) out.add(t);
  }
  return out.size > MAX_TAGS ? `holds ${out.size} tags; the limit is ${MAX_TAGS}` : null;
}

const normalizeTag = (tag: string) => tag.normalize('NFC').trim().toLowerCase().replace(/\s+/g, ' ');

/** Tags are trimmed, lower-cased, inner whitespace collapsed to one space; empties and duplicates go. */
export function normalizeTags(tags: unknown, field = 'tags'): string[] {
  if (tags === undefined || tags === null) return [];
  const problem = tagsProblem(tags);
  if (problem) throw badArgs(`\`${field}\` ${problem}`);
  const list = (typeof tags === 'string' ? tags.split(',') : tags) as string[];
  return [...new Set(list.map(normalizeTag).filter((t) => t.length > 0))];
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `'${value.length > 40 ? `${value.slice(0, 40)}…` : value}'`;
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return typeof value === 'undefined' ? 'nothing' : `a ${typeof value}`;
}
