import type { MemoryFilter } from './types.js';

export interface SqlFragment {
  sql: string;
  params: unknown[];
}

/** `true` when the filter narrows anything at all. */
export const isFiltering = (f: MemoryFilter): boolean =>
  f.project !== undefined ||
  f.sessionId !== undefined ||
  (f.types?.length ?? 0) > 0 ||
  (f.tags?.length ?? 0) > 0 ||
  f.since !== undefined ||
  f.until !== undefined;

/** A WHERE condition over `memories` aliased as `m` ("1" when the filter is empty). */
export function filterSql(f: MemoryFilter): SqlFragment {
  const parts: string[] = [];
  const params: unknown[] = [];
  if (f.project !== undefined) {
    parts.push('m.project = ?');
    params.push(f.project);
  }
  if (f.sessionId !== undefined) {
    parts.push('m.session_id = ?');
    params.push(f.sessionId);
  }
  if (f.types && f.types.length > 0) {
    parts.push(`m.type IN (${f.types.map(() => '?').join(', ')})`);
    params.push(...f.types);
  }
  if (f.since !== undefined) {
    parts.push('m.created_at >= ?');
    params.push(f.since);
  }
  if (f.until !== undefined) {
    parts.push('m.created_at < ?');
    params.push(f.until);
  }
  if (f.tags && f.tags.length > 0) {
    const marks = f.tags.map(() => '?').join(', ');
    if ((f.tagMode ?? 'any') === 'all') {
      parts.push(
        `m.id IN (SELECT memory_id FROM memory_tags WHERE tag IN (${marks}) GROUP BY memory_id HAVING count(*) = ?)`,
      );
      params.push(...f.tags, f.tags.length);
    } else {
      parts.push(`m.id IN (SELECT memory_id FROM memory_tags WHERE tag IN (${marks}))`);
      params.push(...f.tags);
    }
  }
  return { sql: parts.length > 0 ? parts.join(' AND ') : '1', params };
}
