import { relativeAge, type CompactMemory } from '../search/compact.js';
import { renderCompact } from '../search/render.js';
import type { Memory } from '../store/types.js';

/**
 * Human text for every result, made by the daemon so that the native client and the CLI only print a string. One
 * function per kind of result; anything unknown falls back to indented JSON.
 */
export function renderText(op: string, result: unknown, args: Record<string, unknown> = {}): string {
  const r = result as Record<string, unknown>;
  const now = Date.now();
  switch (op) {
    case 'store':
      return storeLine(r);
    case 'storeBatch': {
      const list = result as Record<string, unknown>[];
      const created = list.filter((x) => x.created).length;
      return `stored ${created} new, ${list.length - created} already known\n${list.map(storeLine).join('\n')}`;
    }
    case 'search':
    case 'searchByTag':
    case 'list':
    case 'recall': {
      const note = typeof r.notice === 'string' ? `note: ${r.notice}\n` : '';
      if (r.format === 'text') return `${note}${String(r.text ?? '')}`;
      const results = (r.results as CompactMemory[] | Memory[]) ?? [];
      if (results.length === 0) return `${note}no memories found`;
      const compact = results.map((m) =>
        'preview' in m ? m : ({ hash: m.hash.slice(0, 8), preview: m.content, tags: m.tags, type: m.type, created: m.createdAt } as CompactMemory),
      );
      const budget = typeof args.budget === 'number' ? args.budget : 100_000;
      return note + renderCompact(compact, { budget, now, scores: op === 'search' || (op === 'recall' && typeof args.query === 'string') }).text;
    }
    case 'get':
    case 'update':
      return memoryText(result as Memory, now);
    case 'delete': {
      const d = r as { dryRun: boolean; matched: number; deleted: number; memories: CompactMemory[] };
      const head = d.dryRun
        ? `would delete ${d.matched} ${plural(d.matched, 'memory', 'memories')} (dry run, nothing changed)`
        : `deleted ${d.deleted} ${plural(d.deleted, 'memory', 'memories')}`;
      const list = renderCompact(d.memories, { budget: 100_000, now, scores: false }).text;
      const more = d.matched > d.memories.length ? `\n(+${d.matched - d.memories.length} more)` : '';
      return list ? `${head}\n${list}${more}` : head;
    }
    case 'tags': {
      const tags = result as { tag: string; count: number }[];
      if (tags.length === 0) return 'no tags';
      const width = Math.max(...tags.map((t) => String(t.count).length));
      return tags.map((t) => `${String(t.count).padStart(width)}  ${t.tag}`).join('\n');
    }
    case 'reindex': {
      const x = r as { model: string; reindexed: number; remaining: number; total: number; dropped: string[] };
      return `re-embedded ${x.reindexed} memories with ${x.model}; ${x.remaining} of ${x.total} still to do${x.dropped.length ? `; dropped the vectors of ${x.dropped.join(', ')}` : ''}`;
    }
    case 'shutdown':
      return 'the daemon is stopping';
    case 'hello':
    case 'status':
    case 'health':
    case 'stats':
      return keyValues(r);
    case 'batch':
      return (result as { ok: boolean; result?: unknown; error?: { code: string; message: string } }[])
        .map((item, i) => {
          const call = (args.calls as { op: string; args?: Record<string, unknown> }[] | undefined)?.[i];
          if (!item.ok) return `error ${item.error?.code}: ${item.error?.message}`;
          return renderText(call?.op ?? '', item.result, call?.args ?? {});
        })
        .join('\n\n');
    default:
      return typeof result === 'string' ? result : JSON.stringify(result, null, 2);
  }
}

const plural = (n: number, one: string, many: string) => (n === 1 ? one : many);
const ago = (t: number, now: number) => {
  const age = relativeAge(t, now);
  return age === 'now' ? 'just now' : `${age} ago`;
};

function storeLine(r: Record<string, unknown>): string {
  const m = r.memory as CompactMemory;
  const tags = m.tags.length > 0 ? ` [${m.tags.join(', ')}]` : '';
  return `${r.created ? 'stored' : 'already stored'} ${m.hash}${tags}`;
}

function memoryText(m: Memory, now: number): string {
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

function keyValues(obj: Record<string, unknown>, indent = ''): string {
  const lines: string[] = [];
  for (const [key, value] of Object.entries(obj)) {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      lines.push(`${indent}${key}:`);
      lines.push(keyValues(value as Record<string, unknown>, `${indent}  `));
    } else if (Array.isArray(value)) {
      if (value.length === 0) lines.push(`${indent}${key}: -`);
      else if (value.every((v) => typeof v !== 'object' || v === null)) lines.push(`${indent}${key}: ${value.join(', ')}`);
      else {
        lines.push(`${indent}${key}:`);
        for (const v of value) lines.push(`${indent}  - ${Object.values(v as object).join('  ')}`);
      }
    } else lines.push(`${indent}${key}: ${value ?? '-'}`);
  }
  return lines.join('\n');
}
