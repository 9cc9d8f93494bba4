import type { Memory } from '../protocol/results.js';

export type { Memory };

export interface MemoryRow {
  id: number;
  hash: string;
  content: string;
  type: string;
  project: string | null;
  session_id: string | null;
  metadata: string;
  created_at: number;
  updated_at: number;
  access_count: number;
  last_accessed_at: number | null;
}

/** What narrows a set of memories. Every field is optional; all given fields must hold. */
export interface MemoryFilter {
  project?: string;
  sessionId?: string;
  types?: string[];
  tags?: string[];
  /** `any` (default): a memory with at least one of `tags`; `all`: a memory with every one of them. */
  tagMode?: 'any' | 'all';
  since?: number;
  until?: number;
}

export interface ModelRecord {
  id: number;
  name: string;
  fingerprint: string;
  dimension: number;
  vecTable: string;
}

/** Where a memory sits: its project, session and creation time (episodes, search/retrieve.ts). */
export interface MemoryPlace {
  project: string | null;
  sessionId: string | null;
  createdAt: number;
}
