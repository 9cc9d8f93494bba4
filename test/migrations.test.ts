import Database from 'better-sqlite3';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDb } from '../dist/store/db.js';
import { SCHEMA_VERSION } from '../dist/store/migrations.js';
import { MemoryStore } from '../dist/store/memory-store.js';
import { ErrorCode } from '../dist/engine-index.js';

const tempDb = () => join(mkdtempSync(join(tmpdir(), 'mnemo-db-')), 'data', 'mnemo.db');

describe('database', () => {
  it('opens with WAL, foreign keys and sqlite-vec, and migrates to the current version', () => {
    const path = tempDb();
    const db = openDb(path);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect((db.prepare('SELECT vec_version() AS v').get() as { v: string }).v).toMatch(/^v0\./);
    db.close();
  });

  it('re-running migrations on an up-to-date database changes nothing', () => {
    const path = tempDb();
    openDb(path).close();
    const db = openDb(path);
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all();
    db.close();
    const again = openDb(path);
    expect(again.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all()).toEqual(
      tables,
    );
    again.close();
  });

  it('refuses a database from a newer mnemo', () => {
    const path = tempDb();
    openDb(path).close();
    const raw = new Database(path);
    raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    expect(() => openDb(path)).toThrow(/newer than this mnemo/);
  });

  it('keeps each model in its own vector table and refuses a vector of the wrong size', () => {
    const db = openDb(tempDb());
    const store = new MemoryStore(db);
    const a = store.attachModel('model-a', 'a'.repeat(64), 4);
    const b = store.attachModel('model-b', 'b'.repeat(64), 8);
    expect(a.vecTable).not.toBe(b.vecTable);
    expect(store.attachModel('model-a', 'a'.repeat(64), 4)).toEqual(a);
    expect(() => store.attachModel('model-a', 'a'.repeat(64), 5)).toThrow(
      expect.objectContaining({ code: ErrorCode.MODEL_MISMATCH }),
    );
    const memory = {
      hash: 'c'.repeat(64),
      content: 'x',
      type: 'note',
      project: null,
      sessionId: null,
      tags: [],
      metadata: {},
      createdAt: 1,
    };
    expect(() => store.insertMany([{ memory, vector: new Float32Array(8) }], a)).toThrow(
      expect.objectContaining({ code: ErrorCode.MODEL_MISMATCH }),
    );
    // The failed insert rolled back whole: no memory without its vector.
    expect(store.count()).toBe(0);
    store.insertMany([{ memory, vector: new Float32Array([1, 0, 0, 0]) }], a);
    expect(store.vectorCoverage(a)).toEqual({ withVector: 1, withoutVector: 0 });
    expect(store.vectorCoverage(b)).toEqual({ withVector: 0, withoutVector: 1 });
    expect(store.nearest(new Float32Array(8).fill(1), 5, b)).toEqual([]);
    db.close();
  });
});
