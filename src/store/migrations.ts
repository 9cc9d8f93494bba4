import type { Database } from 'better-sqlite3';

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
];

export const SCHEMA_VERSION = migrations.length;

export function migrate(db: Database): number {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) {
    throw new Error(
      `database schema version ${current} is newer than this mnemo understands (${SCHEMA_VERSION}); upgrade mnemo`,
    );
  }
  for (let version = current; version < SCHEMA_VERSION; version++) {
    const step = migrations[version]!;
    db.transaction(() => {
      step(db);
      db.pragma(`user_version = ${version + 1}`);
    }).immediate();
  }
  return SCHEMA_VERSION;
}
