import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { KilnError } from '../core/errors.js';
import { assertReadableFile, assertWritable, sqliteError } from './fs-errors.js';
import { openPg, SqliteDb, type PgLocation, type PgSyncDb, type SqlDb } from './sql/index.js';
import { backupSqlite, migratePostgres, migrateSqlite } from './meta-migrate.js';

/**
 * Embedded metadata in `meta.sqlite`: the table registry and the ingest log (later: runs, registry,
 * audit). Schema changes are numbered migrations applied in order inside a transaction.
 */
export { MIGRATIONS } from './migrations.js';

export interface TableRecord {
  name: string;
  timestampColumn: string | null;
  keyColumn: string | null;
  source: string;
  description: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface IngestRecord {
  id: number;
  tableName: string;
  mode: 'append' | 'replace';
  filePath: string;
  fileHash: string;
  fileBytes: number;
  rows: number | null;
  status: 'pending' | 'done' | 'failed';
  batchId: string;
  startedAt: string;
  finishedAt: string | null;
}

let lastOpened: string | undefined;

/** The metadata store this process opened last: where a SQLite error that escaped a command came from. */
export function lastMetaPath(): string | undefined {
  return lastOpened;
}

/**
 * The metadata of a project. `db` holds the registry, tracking, audit logs, loop state, alerts and
 * embedding spaces: the embedded `meta.sqlite`, or a schema of a shared PostgreSQL database. `local` is
 * always meta.sqlite and holds what describes this machine's offline store (its tables and ingest log);
 * embedded, the two are one connection.
 */
export class MetaStore {
  private constructor(readonly path: string, readonly db: SqlDb, readonly local: SqliteDb, readonly shared?: PgLocation) {}

  /**
   * Opens (creating when absent) the embedded metadata store. SQLite failures become KilnErrors naming the
   * file: a damaged file is META_CORRUPT, a read-only one PROJECT_READONLY. WAL and a busy timeout let
   * several processes read and write it at once, writers waiting for each other instead of failing.
   * With `shared`, the registry and the rest live in that PostgreSQL schema instead.
   */
  static open(path: string, shared?: PgLocation): MetaStore {
    const local = openSqlite(path);
    if (!shared) {
      try {
        migrateSqlite(local, path);
      } catch (e) {
        local.close();
        throw sqliteError(e, path);
      }
      lastOpened = path;
      return new MetaStore(path, local, local);
    }
    let pg: PgSyncDb | undefined;
    try {
      migrateSqlite(local, path);
      pg = openPg(shared);
      migratePostgres(pg, { create: true });
    } catch (e) {
      try { pg?.close(); } catch { /* already failed */ }
      local.close();
      throw pg ? e : sqliteError(e, path);
    }
    lastOpened = path;
    return new MetaStore(pg.location, pg, local, shared);
  }

  /** A consistent copy of the embedded store, `meta.sqlite.bak-v<schema>-<UTC timestamp>`, beside it. */
  backup(schemaVersion: number): string {
    return backupSqlite(this.local, schemaVersion);
  }

  upsertTable(t: { name: string; timestampColumn?: string | null; keyColumn?: string | null; source: string; description?: string | null }): void {
    const now = new Date().toISOString();
    this.local
      .prepare(
        `INSERT INTO tables (name, timestamp_column, key_column, source, description, created_at, updated_at)
         VALUES (@name, @ts, @key, @source, @description, @now, @now)
         ON CONFLICT (name) DO UPDATE SET timestamp_column = @ts, key_column = @key, source = @source,
           description = coalesce(@description, description), updated_at = @now`,
      )
      .run({ name: t.name, ts: t.timestampColumn ?? null, key: t.keyColumn ?? null, source: t.source, description: t.description ?? null, now });
  }

  getTable(name: string): TableRecord | undefined {
    const r = this.local.prepare('SELECT * FROM tables WHERE name = ?').get(name) as Record<string, string | null> | undefined;
    return r ? toTableRecord(r) : undefined;
  }

  listTables(): TableRecord[] {
    return (this.local.prepare('SELECT * FROM tables ORDER BY name').all() as Record<string, string | null>[]).map(toTableRecord);
  }

  deleteTable(name: string): void {
    this.local.prepare('DELETE FROM tables WHERE name = ?').run(name);
  }

  /**
   * The completed ingest of this content into this table since its last replace, if any: what makes
   * re-ingesting the same file in append mode a no-op.
   */
  findIngestedContent(table: string, fileHash: string): IngestRecord | undefined {
    const lastReplace = this.local
      .prepare(
        `SELECT min(id) AS first FROM ingests WHERE batch_id = (
           SELECT batch_id FROM ingests WHERE table_name = ? AND mode = 'replace' AND status = 'done' ORDER BY id DESC LIMIT 1)`,
      )
      .get(table) as { first: number | null };
    const r = this.local
      .prepare(`SELECT * FROM ingests WHERE table_name = ? AND file_hash = ? AND status = 'done' AND id >= ? ORDER BY id DESC LIMIT 1`)
      .get(table, fileHash, lastReplace.first ?? 0) as Record<string, unknown> | undefined;
    return r ? toIngestRecord(r) : undefined;
  }

  /** Records the files of one ingest as pending, before the offline store commits. */
  beginIngest(rows: { tableName: string; mode: 'append' | 'replace'; filePath: string; fileHash: string; fileBytes: number; batchId: string }[]): void {
    const now = new Date().toISOString();
    const stmt = this.local.prepare(
      `INSERT INTO ingests (table_name, mode, file_path, file_hash, file_bytes, status, batch_id, started_at)
       VALUES (@tableName, @mode, @filePath, @fileHash, @fileBytes, 'pending', @batchId, @now)`,
    );
    this.local.transaction(() => { for (const r of rows) stmt.run({ ...r, now }); })();
  }

  finishIngest(batchId: string, status: 'done' | 'failed', rowsByFile: Map<string, number>, error?: string): void {
    const now = new Date().toISOString();
    const stmt = this.local.prepare(`UPDATE ingests SET status = @status, rows = @rows, finished_at = @now, error = @error WHERE batch_id = @batchId AND file_path = @file`);
    this.local.transaction(() => {
      const files = this.local.prepare('SELECT file_path FROM ingests WHERE batch_id = ?').all(batchId) as { file_path: string }[];
      for (const f of files) stmt.run({ status, rows: rowsByFile.get(f.file_path) ?? null, now, error: error ?? null, batchId, file: f.file_path });
    })();
  }

  pendingBatches(): string[] {
    return (this.local.prepare(`SELECT DISTINCT batch_id FROM ingests WHERE status = 'pending'`).all() as { batch_id: string }[]).map((r) => r.batch_id);
  }

  ingestLog(table?: string, limit = 50): IngestRecord[] {
    const rows = table
      ? this.local.prepare('SELECT * FROM ingests WHERE table_name = ? ORDER BY id DESC LIMIT ?').all(table, limit)
      : this.local.prepare('SELECT * FROM ingests ORDER BY id DESC LIMIT ?').all(limit);
    return (rows as Record<string, unknown>[]).map(toIngestRecord);
  }

  close(): void {
    try {
      if (this.db !== this.local) this.db.close();
    } finally {
      this.local.close();
    }
  }
}

function toTableRecord(r: Record<string, string | null>): TableRecord {
  return {
    name: r.name!, timestampColumn: r.timestamp_column ?? null, keyColumn: r.key_column ?? null, source: r.source!,
    description: r.description ?? null, createdAt: r.created_at!, updatedAt: r.updated_at!,
  };
}

function toIngestRecord(r: Record<string, unknown>): IngestRecord {
  return {
    id: r.id as number, tableName: r.table_name as string, mode: r.mode as 'append' | 'replace', filePath: r.file_path as string,
    fileHash: r.file_hash as string, fileBytes: r.file_bytes as number, rows: (r.rows as number | null) ?? null,
    status: r.status as IngestRecord['status'], batchId: r.batch_id as string, startedAt: r.started_at as string,
    finishedAt: (r.finished_at as string | null) ?? null,
  };
}

function openSqlite(path: string): SqliteDb {
  if (path !== ':memory:') {
    if (existsSync(path)) assertReadableFile(path, 'the metadata store');
    assertWritable(dirname(path), path);
  }
  let db: Database.Database | undefined;
  try {
    db = new Database(path);
    db.pragma('busy_timeout = 10000');
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    // A truncated or overwritten file often opens fine and fails later, mid-command; find out now.
    const check = db.pragma('quick_check', { simple: true }) as string;
    if (check !== 'ok') {
      throw Object.assign(new Error(`integrity check failed: ${check}`), { code: 'SQLITE_CORRUPT' });
    }
    return new SqliteDb(db, path);
  } catch (e) {
    try { db?.close(); } catch { /* already failed */ }
    throw sqliteError(e, path);
  }
}
