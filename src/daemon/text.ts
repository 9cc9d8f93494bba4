import type { CompactMemory, DeleteResult, FullHit, Listing, Memory, StoreResult } from '../protocol/results.js';
import { compactOf, relativeAge } from '../search/compact.js';
import { renderCompact } from '../search/render.js';

/**
 * Human text for results, made by the daemon so that the native client and the CLI only print a string. The
 * per-operation choice is in handlers.ts; these are the pieces several operations share.
 */

export const plural = (n: number, one: string, many: string) => (n === 1 ? one : many);

/** "just now", "5m ago", "3d ago": how long ago, for text and pages. */
export const ago = (t: number, now: number) => {
  const age = relativeAge(t, now);
  return age === 'now' ? 'just now' : `${age} ago`;
};

export function storeLine(r: StoreResult): string {
  const tags = r.memory.tags.length > 0 ? ` [${r.memory.tags.join(', ')}]` : '';
  return `${r.created ? 'stored' : 'already stored'} ${r.memory.hash}${tags}`;
}

/** A listing as lines (or its already budgeted text), with its notice first; scores where the listing has them. */
export function listingText(r: Listing, o: { budget: number | undefined; now: number }): string {
  const note = r.notice ? `note: ${r.notice}\n` : '';
  if (r.format === 'text') return `${note}${r.text}`;
  if (r.results.length === 0) return `${note}no memories found`;
  const ranked = (m: FullHit) => m.scores.semantic !== undefined || m.scores.keyword !== undefined;
  const compact: CompactMemory[] =
    r.format === 'compact'
      ? r.results
      : r.results.map((m) => ({ ...compactOf(m, { score: ranked(m) ? m.score : undefined }), preview: m.content }));
  return (
    note +
    renderCompact(compact, {
      budget: o.budget ?? 100_000,
      now: o.now,
      scores: compact.some((m) => m.score !== undefined),
    }).text
  );
}

export function memoryText(m: Memory, now: number): string {
  const lines = [
    `hash     ${m.hash}`,
    `type     ${m.type}`,
    ...(m.project ? [`project  ${m.project}`] : []),
    ...(m.sessionId ? [`session  ${m.sessionId}`] : []),
    `tags     ${m.tags.length > 0 ? m.tags.join(', ') : '-'}`,
    `created  ${new Date(m.createdAt).toISOString()} (${ago(m.createdAt, now)})`,
    `updated  ${new Date(m.updatedAt).toISOString()}`,
    `accessed ${m.accessCount} ${plural(m.accessCount, 'time', 'times')}`,
  ];
  if (Object.keys(m.metadata).length > 0) lines.push(`metadata ${JSON.stringify(m.metadata)}`);
  return `${lines.join('\n')}\n\n${m.content}`;
}

export function deleteText(d: DeleteResult, now: number): string {
  const head = d.dryRun
    ? `would delete ${d.matched} ${plural(d.matched, 'memory', 'memories')} (dry run, nothing changed)`
    : d.trashed
      ? `moved ${d.deleted} ${plural(d.deleted, 'memory', 'memories')} to the trash ` +
        '(`mnemo restore` brings them back)'
      : `deleted ${d.deleted} ${plural(d.deleted, 'memory', 'memories')} for good`;
  const list = renderCompact(d.memories, { budget: 100_000, now, scores: false }).text;
  const more = d.matched > d.memories.length ? `\n(+${d.matched - d.memories.length} more)` : '';
  return list ? `${head}\n${list}${more}` : head;
}

/** Nested key: value lines for status-like results. */
export function keyValues(obj: object, indent = ''): string {
  const lines: string[] = [];
  for (const [key, value] of Object.entries(obj)) {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      lines.push(`${indent}${key}:`);
      lines.push(keyValues(value as Record<string, unknown>, `${indent}  `));
    } else if (Array.isArray(value)) {
      if (value.length === 0) lines.push(`${indent}${key}: -`);
      else if (value.every((v) => typeof v !== 'object' || v === null))
        lines.push(`${indent}${key}: ${value.join(', ')}`);
      else {
        lines.push(`${indent}${key}:`);
        for (const v of value) lines.push(`${indent}  - ${Object.values(v as object).join('  ')}`);
      }
    } else lines.push(`${indent}${key}: ${value ?? '-'}`);
  }
  return lines.join('\n');
}
