import type { Database } from 'better-sqlite3';
import { QuantizedIndex } from './vector-index.js';

/**
 * Schema migrations, applied in order. Migration N moves `user_version` from N-1 to N inside one transaction, so a
 * crash mid-way leaves the previous version intact and the next open simply runs it again.
 */
export type Migration = (db: Database) => void;

export const migrations: readonly Migration[] = [
  // 1: memories, tags, full-text index, embedding models.
  (db) => {
    db.exec(`
      CREATE TABLE memories (
        id               INTEGER PRIMARY KEY,
        hash             TEXT    NOT NULL UNIQUE,
        content          TEXT    NOT NULL,
        type             TEXT    NOT NULL DEFAULT 'note',
        project          TEXT,
        session_id       TEXT,
        metadata         TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(metadata)),
        created_at       INTEGER NOT NULL,
        updated_at       INTEGER NOT NULL,
        access_count     INTEGER NOT NULL DEFAULT 0,
        last_accessed_at INTEGER
      );
      CREATE INDEX memories_created ON memories (created_at);
      CREATE INDEX memories_project_created ON memories (project, created_at);
      CREATE INDEX memories_type_created ON memories (type, created_at);

      CREATE TABLE memory_tags (
        memory_id INTEGER NOT NULL REFERENCES memories (id) ON DELETE CASCADE,
        tag       TEXT    NOT NULL,
        PRIMARY KEY (memory_id, tag)
      ) WITHOUT ROWID;
      CREATE INDEX memory_tags_tag ON memory_tags (tag, memory_id);

      -- External-content FTS5 index over memories.content, kept in sync by triggers.
      CREATE VIRTUAL TABLE memories_fts USING fts5 (
        content, content = 'memories', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2'
      );
      CREATE TRIGGER memories_fts_insert AFTER INSERT ON memories BEGIN
        INSERT INTO memories_fts (rowid, content) VALUES (new.id, new.content);
      END;
      CREATE TRIGGER memories_fts_delete AFTER DELETE ON memories BEGIN
        INSERT INTO memories_fts (memories_fts, rowid, content) VALUES ('delete', old.id, old.content);
      END;
      CREATE TRIGGER memories_fts_update AFTER UPDATE OF content ON memories BEGIN
        INSERT INTO memories_fts (memories_fts, rowid, content) VALUES ('delete', old.id, old.content);
        INSERT INTO memories_fts (rowid, content) VALUES (new.id, new.content);
      END;

      -- One row per embedding model ever attached. Each model's vectors live in their own vec0 table
      -- (vec_table), so vectors of two models can never meet in one KNN query, whatever their dimensions.
      CREATE TABLE embedding_models (
        id          INTEGER PRIMARY KEY,
        name        TEXT    NOT NULL,
        fingerprint TEXT    NOT NULL UNIQUE,
        dimension   INTEGER NOT NULL CHECK (dimension > 0),
        vec_table   TEXT    NOT NULL UNIQUE,
        created_at  INTEGER NOT NULL
      );
    `);
  },
  // 2: capture of Claude Code sessions (issue 4). Prompt counts are derived from rows, never kept as a counter, so a
  // retried event cannot over-count; every natural key is UNIQUE so a retry or a double enqueue collapses.
  (db) => {
    db.exec(`
      CREATE TABLE sessions (
        id              TEXT    PRIMARY KEY,
        project         TEXT    NOT NULL,
        cwd             TEXT,
        source          TEXT,
        model           TEXT,
        transcript_path TEXT,
        started_at      INTEGER NOT NULL,
        last_event_at   INTEGER NOT NULL,
        ended_at        INTEGER,
        end_reason      TEXT,
        status          TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'ended', 'summarized'))
      );
      CREATE INDEX sessions_project_started ON sessions (project, started_at);
      CREATE INDEX sessions_status_last ON sessions (status, last_event_at);

      CREATE TABLE prompts (
        id                     INTEGER PRIMARY KEY,
        session_id             TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        prompt_number          INTEGER NOT NULL,
        prompt_id              TEXT,
        text                   TEXT    NOT NULL,
        created_at             INTEGER NOT NULL,
        stopped_at             INTEGER,
        last_assistant_message TEXT,
        UNIQUE (session_id, prompt_number),
        UNIQUE (session_id, prompt_id)
      );

      CREATE TABLE tool_events (
        id              INTEGER PRIMARY KEY,
        session_id      TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        prompt_number   INTEGER NOT NULL,
        tool_use_id     TEXT    NOT NULL,
        tool_name       TEXT    NOT NULL,
        input_summary   TEXT    NOT NULL,
        outcome_summary TEXT    NOT NULL,
        files_read      TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(files_read)),
        files_changed   TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(files_changed)),
        is_error        INTEGER NOT NULL DEFAULT 0,
        exit_code       INTEGER,
        duration_ms     INTEGER,
        created_at      INTEGER NOT NULL,
        UNIQUE (session_id, tool_use_id)
      );
      CREATE INDEX tool_events_turn ON tool_events (session_id, prompt_number);

      -- The raw hook payload, redacted and capped (head and tail kept around a marker).
      CREATE TABLE tool_event_payloads (
        event_id  INTEGER PRIMARY KEY REFERENCES tool_events (id) ON DELETE CASCADE,
        payload   TEXT    NOT NULL,
        truncated INTEGER NOT NULL DEFAULT 0
      );

      CREATE TABLE pending_compressions (
        id            INTEGER PRIMARY KEY,
        kind          TEXT    NOT NULL CHECK (kind IN ('turn', 'session')),
        session_id    TEXT    NOT NULL,
        prompt_number INTEGER NOT NULL DEFAULT 0,
        enqueued_at   INTEGER NOT NULL,
        not_before    INTEGER NOT NULL,
        attempts      INTEGER NOT NULL DEFAULT 0,
        last_error    TEXT,
        status        TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'parked')),
        memory_hash   TEXT,
        UNIQUE (kind, session_id, prompt_number)
      );
      CREATE INDEX pending_due ON pending_compressions (status, not_before);

      -- Memories already put in a session's context, so UserPromptSubmit never repeats them.
      CREATE TABLE session_context (
        session_id  TEXT    NOT NULL,
        memory_hash TEXT    NOT NULL,
        given_at    INTEGER NOT NULL,
        PRIMARY KEY (session_id, memory_hash)
      ) WITHOUT ROWID;
    `);
  },
  // 3: int8 copies of every model's vectors, loaded into the in-memory quantised index (store/vector-index.ts) at
  // start. Filled here from the float vectors of databases made before it.
  (db) => {
    const models = db.prepare('SELECT id, vec_table AS vecTable FROM embedding_models').all() as {
      id: number;
      vecTable: string;
    }[];
    for (const m of models) {
      const table = quantTable(m.id);
      db.exec(`CREATE TABLE ${table} (memory_id INTEGER PRIMARY KEY, q BLOB NOT NULL, scale REAL NOT NULL)`);
      const insert = db.prepare(`INSERT INTO ${table} (memory_id, q, scale) VALUES (?, ?, ?)`);
      for (const row of db.prepare(`SELECT memory_id AS id, embedding FROM ${m.vecTable}`).iterate() as Iterable<{
        id: number;
        embedding: Buffer;
      }>) {
        const vector = new Float32Array(row.embedding.buffer, row.embedding.byteOffset, row.embedding.byteLength / 4);
        const { q, scale } = QuantizedIndex.quantize(vector);
        insert.run(row.id, Buffer.from(q.buffer, q.byteOffset, q.byteLength), scale);
      }
    }
  },
  // 4: document frequencies of indexed words, so keyword search can leave out words nearly every memory has.
  (db) => {
    db.exec("CREATE VIRTUAL TABLE memories_fts_vocab USING fts5vocab (memories_fts, 'row')");
  },
  // 5: the full-text index stems English words (FTS5's porter around unicode61), so "painted" finds "paint". Issue 12,
  // LoCoMo development half, keyword mode with query stop words: recall@5 0.513 -> 0.536, recall@10 0.578 -> 0.609,
  // MRR 0.428 -> 0.465 (multi-hop questions most: recall@5 0.191 -> 0.273). The index of an existing database is
  // rebuilt from the memories; the triggers name the table, so they carry over.
  (db) => {
    db.exec(`
      DROP TABLE memories_fts_vocab;
      DROP TABLE memories_fts;
      CREATE VIRTUAL TABLE memories_fts USING fts5 (
        content, content = 'memories', content_rowid = 'id', tokenize = 'porter unicode61 remove_diacritics 2'
      );
      INSERT INTO memories_fts (memories_fts) VALUES ('rebuild');
      CREATE VIRTUAL TABLE memories_fts_vocab USING fts5vocab (memories_fts, 'row');
    `);
  },
  // 6: the trash. A delete moves memories here (tags kept as JSON) instead of destroying them; `restore` brings them
  // back (re-embedded and re-indexed), and the daemon empties what is older than the retention (7 days by default).
  (db) => {
    db.exec(`
      CREATE TABLE trash (
        hash TEXT PRIMARY KEY,
        content TEXT NOT NULL,
        type TEXT NOT NULL,
        project TEXT,
        session_id TEXT,
        metadata TEXT NOT NULL,
        tags TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        access_count INTEGER NOT NULL,
        last_accessed_at INTEGER,
        deleted_at INTEGER NOT NULL
      );
      CREATE INDEX trash_deleted_at ON trash (deleted_at);
    `);
  },
  // 7: what each SessionStart and UserPromptSubmit put into the agent's context, as it was printed (issue 15: the
  // session page shows it). session_context only keeps which memories a session was given, to avoid repeats.
  (db) => {
    db.exec(`
      CREATE TABLE injections (
        id            INTEGER PRIMARY KEY,
        session_id    TEXT    NOT NULL,
        event         TEXT    NOT NULL CHECK (event IN ('SessionStart', 'UserPromptSubmit')),
        prompt_number INTEGER,
        text          TEXT    NOT NULL,
        hashes        TEXT    NOT NULL CHECK (json_valid(hashes)),
        created_at    INTEGER NOT NULL
      );
      CREATE INDEX injections_session ON injections (session_id, id);
    `);
  },
  // 8: raw tool payloads are kept for a window (14 days by default; issue 14), pruned by their own time, oldest
  // first, through this index. Filled from their events' times for databases made before it.
  (db) => {
    db.exec(`
      ALTER TABLE tool_event_payloads ADD COLUMN created_at INTEGER NOT NULL DEFAULT 0;
      UPDATE tool_event_payloads
        SET created_at = (SELECT created_at FROM tool_events WHERE tool_events.id = tool_event_payloads.event_id);
      CREATE INDEX tool_event_payloads_created ON tool_event_payloads (created_at);
    `);
  },
];

/** The table of int8 vector copies of a model. */
export const quantTable = (modelId: number): string => `vecq_m${modelId}`;

export const SCHEMA_VERSION = migrations.length;

/** Migrates to `to` (the current version; tests make older databases with a lower one). */
export function migrate(db: Database, to = SCHEMA_VERSION): number {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) {
    throw new Error(
      `database schema version ${current} is newer than this mnemo understands (${SCHEMA_VERSION}); upgrade mnemo`,
    );
  }
  for (let version = current; version < to; version++) {
    const step = migrations[version]!;
    db.transaction(() => {
      step(db);
      db.pragma(`user_version = ${version + 1}`);
    }).immediate();
  }
  return Math.max(current, to);
}
