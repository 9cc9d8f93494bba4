import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import type { MnemoClient } from '../client/client.js';
import { ErrorCode, MnemoError } from '../errors.js';
import { Progress } from './progress.js';

/**
 * Imports memories from the databases of peer tools (columns as listed in shared/peers/schemas.md): every memory is
 * re-embedded with mnemo's model through the daemon, keeps its original times, and is stored once (a second import
 * adds nothing: the content hash is the identity).
 */
export type Peer = 'mcp-memory-service' | 'claude-mem';
export const PEERS: readonly Peer[] = ['mcp-memory-service', 'claude-mem'];

export interface PeerMemory {
  content: string;
  type: string;
  tags: string[];
  project?: string;
  sessionId?: string;
  metadata: Record<string, unknown>;
  createdAt?: number;
  updatedAt?: number;
}

export interface ImportReport {
  peer: Peer;
  file: string;
  dryRun: boolean;
  found: number;
  imported: number;
  alreadyPresent: number;
  skipped: { reason: string; count: number }[];
}

const MCP_TYPES = new Set([
  'observation',
  'decision',
  'learning',
  'error',
  'pattern',
  'planning',
  'note',
  'reference',
  'fact',
  'task',
]);

const jsonOr = <T>(text: unknown, fallback: T): T => {
  if (typeof text !== 'string' || text.trim() === '') return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
};
const asList = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string' && x.trim() !== '') : [];
const secondsToMs = (v: unknown): number | undefined =>
  typeof v === 'number' && Number.isFinite(v) && v > 0 ? Math.round(v * 1000) : undefined;
const msOrIso = (ms: unknown, iso: unknown): number | undefined => {
  if (typeof ms === 'number' && Number.isFinite(ms) && ms > 0) return ms;
  const t = typeof iso === 'string' ? Date.parse(iso) : NaN;
  return Number.isNaN(t) ? undefined : t;
};

function columns(db: Database.Database, table: string): Set<string> {
  return new Set((db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name));
}

function tableExists(db: Database.Database, name: string): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;
}

/** Reads the peer's memories, with the reason for every row left out. */
export function readPeer(peer: Peer, file: string): { memories: PeerMemory[]; skipped: Map<string, number> } {
  if (!existsSync(file)) throw new MnemoError(ErrorCode.NOT_FOUND, `no such file: ${file}`);
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    db.prepare('SELECT 1 FROM sqlite_master').get();
  } catch (err) {
    throw new MnemoError(ErrorCode.BAD_ARGS, `${file} is not a SQLite database (${(err as Error).message})`);
  }
  const skipped = new Map<string, number>();
  const skip = (reason: string) => skipped.set(reason, (skipped.get(reason) ?? 0) + 1);
  const memories: PeerMemory[] = [];
  try {
    if (peer === 'mcp-memory-service') {
      if (!tableExists(db, 'memories'))
        throw new MnemoError(
          ErrorCode.BAD_ARGS,
          `${file} has no memories table: is it an mcp-memory-service database (sqlite_vec.db)?`,
        );
      const cols = columns(db, 'memories');
      for (const r of db.prepare('SELECT * FROM memories ORDER BY id').iterate() as Iterable<Record<string, unknown>>) {
        if (cols.has('deleted_at') && r.deleted_at !== null && r.deleted_at !== undefined) {
          skip('deleted in mcp-memory-service');
          continue;
        }
        const content = typeof r.content === 'string' ? r.content : '';
        if (content.trim() === '') {
          skip('empty content');
          continue;
        }
        const type =
          typeof r.memory_type === 'string' && r.memory_type.trim()
            ? r.memory_type.trim().toLowerCase()
            : 'observation';
        const metadata = jsonOr<Record<string, unknown>>(r.metadata, {});
        memories.push({
          content,
          type: MCP_TYPES.has(type) ? type : 'observation',
          tags:
            typeof r.tags === 'string'
              ? r.tags
                  .split(',')
                  .map((t) => t.trim())
                  .filter(Boolean)
              : [],
          metadata: {
            ...(typeof metadata === 'object' && metadata && !Array.isArray(metadata) ? metadata : { value: metadata }),
            importedFrom: 'mcp-memory-service',
            originalHash: r.content_hash ?? null,
            ...(MCP_TYPES.has(type) ? {} : { originalType: type }),
          },
          ...(secondsToMs(r.created_at) ? { createdAt: secondsToMs(r.created_at)! } : {}),
          ...(secondsToMs(r.updated_at) ? { updatedAt: secondsToMs(r.updated_at)! } : {}),
        });
      }
    } else {
      if (!tableExists(db, 'observations'))
        throw new MnemoError(
          ErrorCode.BAD_ARGS,
          `${file} has no observations table: is it a claude-mem database (claude-mem.db)?`,
        );
      for (const r of db.prepare('SELECT * FROM observations ORDER BY id').iterate() as Iterable<
        Record<string, unknown>
      >) {
        const facts = asList(jsonOr(r.facts, []));
        const read = asList(jsonOr(r.files_read, []));
        const modified = asList(jsonOr(r.files_modified, []));
        const parts = [
          [r.title, r.subtitle].filter((x) => typeof x === 'string' && x.trim()).join(': '),
          typeof r.narrative === 'string' ? r.narrative : typeof r.text === 'string' ? r.text : '',
          ...facts.map((f) => `- ${f}`),
          modified.length ? `Changed: ${modified.join(', ')}` : '',
          read.length ? `Read: ${read.join(', ')}` : '',
        ].filter((x) => x && x.trim());
        if (parts.length === 0) {
          skip('observation with no text');
          continue;
        }
        const type =
          typeof r.type === 'string' && r.type.trim()
            ? r.type
                .trim()
                .toLowerCase()
                .replace(/[^a-z0-9_.-]+/g, '-')
                .slice(0, 50)
            : 'observation';
        const project = typeof r.project === 'string' && r.project ? r.project : undefined;
        memories.push({
          content: parts.join('\n'),
          type,
          tags: ['claude-mem', ...(project ? [project] : []), ...asList(jsonOr(r.concepts, [])).slice(0, 8)],
          ...(project ? { project } : {}),
          ...(typeof r.memory_session_id === 'string' ? { sessionId: r.memory_session_id } : {}),
          metadata: {
            importedFrom: 'claude-mem',
            observationId: r.id,
            promptNumber: r.prompt_number ?? null,
            filesRead: read,
            filesModified: modified,
          },
          ...(msOrIso(r.created_at_epoch, r.created_at)
            ? { createdAt: msOrIso(r.created_at_epoch, r.created_at)! }
            : {}),
        });
      }
      if (tableExists(db, 'session_summaries')) {
        for (const r of db
          .prepare('SELECT rowid AS rid, * FROM session_summaries ORDER BY rowid')
          .iterate() as Iterable<Record<string, unknown>>) {
          const field = (name: string, label: string) =>
            typeof r[name] === 'string' && r[name].trim() ? `${label}: ${r[name].trim()}` : '';
          const parts = [
            field('request', 'Request'),
            field('investigated', 'Investigated'),
            field('learned', 'Learned'),
            field('completed', 'Completed'),
            field('next_steps', 'Next steps'),
            field('notes', 'Notes'),
          ].filter(Boolean);
          if (parts.length === 0) {
            skip('session summary with no text');
            continue;
          }
          const project = typeof r.project === 'string' && r.project ? r.project : undefined;
          memories.push({
            content: parts.join('\n'),
            type: 'session-summary',
            tags: ['claude-mem', 'session-summary', ...(project ? [project] : [])],
            ...(project ? { project } : {}),
            ...(typeof r.memory_session_id === 'string' ? { sessionId: r.memory_session_id } : {}),
            metadata: {
              importedFrom: 'claude-mem',
              filesRead: asList(jsonOr(r.files_read, [])),
              filesEdited: asList(jsonOr(r.files_edited, [])),
            },
            ...(msOrIso(r.created_at_epoch, r.created_at)
              ? { createdAt: msOrIso(r.created_at_epoch, r.created_at)! }
              : {}),
          });
        }
      }
    }
  } finally {
    db.close();
  }
  return { memories, skipped };
}

/** Imports through the daemon in batches, with progress; a dry run only counts. */
export async function importPeer(
  client: MnemoClient | null,
  peer: Peer,
  file: string,
  options: { dryRun: boolean; quiet: boolean },
): Promise<ImportReport> {
  const { memories, skipped } = readPeer(peer, file);
  const report: ImportReport = {
    peer,
    file,
    dryRun: options.dryRun,
    found: memories.length,
    imported: 0,
    alreadyPresent: 0,
    skipped: [],
  };
  if (!options.dryRun && client) {
    const progress = new Progress(`import ${peer}`, memories.length, 'items', options.quiet);
    for (let i = 0; i < memories.length; i += 100) {
      const batch = memories.slice(i, i + 100);
      let results;
      try {
        results = await client.storeBatch({ memories: batch });
      } catch (err) {
        // One bad memory must not sink its batch: store them one by one and count what is refused.
        results = [];
        for (const m of batch) {
          try {
            results.push(await client.store(m));
          } catch (e) {
            const reason = `refused: ${(e as Error).message.slice(0, 80)}`;
            skipped.set(reason, (skipped.get(reason) ?? 0) + 1);
          }
        }
        void err;
      }
      for (const r of results) report[r.created ? 'imported' : 'alreadyPresent']++;
      progress.update(Math.min(memories.length, i + batch.length));
    }
    progress.done();
  }
  report.skipped = [...skipped].map(([reason, count]) => ({ reason, count }));
  return report;
}
