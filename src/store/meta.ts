import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { KilnError } from '../core/errors.js';
import { assertReadableFile, assertWritable, sqliteError } from './fs-errors.js';

/**
 * Embedded metadata in `meta.sqlite`: the table registry and the ingest log (later: runs, registry,
 * audit). Schema changes are numbered migrations applied in order inside a transaction.
 */
export { MIGRATIONS } from './migrations.js';
import { MIGRATIONS } from './migrations.js';

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

export class MetaStore {
  private constructor(readonly path: string, readonly db: Database.Database) {}

  /**
   * Opens (creating when absent) the metadata store. SQLite failures become KilnErrors naming the file:
   * a damaged file is META_CORRUPT, a read-only one PROJECT_READONLY. WAL and a busy timeout let several
   * processes read and write it at once, writers waiting for each other instead of failing.
   */
  static open(path: string): MetaStore {
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
      const store = new MetaStore(path, db);
      store.migrate();
      lastOpened = path;
      return store;
    } catch (e) {
      try { db?.close(); } catch { /* already failed */ }
      throw sqliteError(e, path);
    }
  }

  private migrate(): void {
    this.db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
    const row = this.db.prepare('SELECT max(version) AS v FROM schema_migrations').get() as { v: number | null };
    const current = row.v ?? 0;
    if (current > MIGRATIONS.length) {
      throw new KilnError('STORE_TOO_NEW', `${this.path} was written by a newer kiln (schema ${current}; this kiln knows ${MIGRATIONS.length}). Upgrade kiln.`, { path: [this.path] });
    }
    if (current === MIGRATIONS.length) return;
    // Keep a copy of what a migration is about to change (a fresh, empty store has nothing to keep).
    if (current > 0 && this.path !== ':memory:') this.backup(current);
    const apply = this.db.transaction(() => {
      for (let v = current + 1; v <= MIGRATIONS.length; v++) {
        this.db.exec(MIGRATIONS[v - 1]!);
        this.db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(v, new Date().toISOString());
      }
    });
    apply();
  }

  /** A consistent copy of the store, `meta.sqlite.bak-v<schema>-<UTC timestamp>`, beside it. */
  backup(schemaVersion: number): string {
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
    const file = `${this.path}.bak-v${schemaVersion}-${stamp}`;
    this.db.exec(`VACUUM INTO '${file.replace(/'/g, "''")}'`);
    return file;
  }

  upsertTable(t: { name: string; timestampColumn?: string | null; keyColumn?: string | null; source: string; description?: string | null }): void {
    const now = new Date().toISOString();
    this.db
      .prepare(
        `INSERT INTO tables (name, timestamp_column, key_column, source, description, created_at, updated_at)
         VALUES (@name, @ts, @key, @source, @description, @now, @now)
         ON CONFLICT (name) DO UPDATE SET timestamp_column = @ts, key_column = @key, source = @source,
           description = coalesce(@description, description), updated_at = @now`,
      )
      .run({ name: t.name, ts: t.timestampColumn ?? null, key: t.keyColumn ?? null, source: t.source, description: t.description ?? null, now });
  }

  getTable(name: string): TableRecord | undefined {
    const r = this.db.prepare('SELECT * FROM tables WHERE name = ?').get(name) as Record<string, string | null> | undefined;
    return r ? toTableRecord(r) : undefined;
  }

  listTables(): TableRecord[] {
    return (this.db.prepare('SELECT * FROM tables ORDER BY name').all() as Record<string, string | null>[]).map(toTableRecord);
  }

  deleteTable(name: string): void {
    this.db.prepare('DELETE FROM tables WHERE name = ?').run(name);
  }

  /**
   * The completed ingest of this content into this table since its last replace, if any: what makes
   * re-ingesting the same file in append mode a no-op.
   */
  findIngestedContent(table: string, fileHash: string): IngestRecord | undefined {
    const lastReplace = this.db
      .prepare(
        `SELECT min(id) AS first FROM ingests WHERE batch_id = (
           SELECT batch_id FROM ingests WHERE table_name = ? AND mode = 'replace' AND status = 'done' ORDER BY id DESC LIMIT 1)`,
      )
      .get(table) as { first: number | null };
    const r = this.db
      .prepare(`SELECT * FROM ingests WHERE table_name = ? AND file_hash = ? AND status = 'done' AND id >= ? ORDER BY id DESC LIMIT 1`)
      .get(table, fileHash, lastReplace.first ?? 0) as Record<string, unknown> | undefined;
    return r ? toIngestRecord(r) : undefined;
  }

  /** Records the files of one ingest as pending, before the offline store commits. */
  beginIngest(rows: { tableName: string; mode: 'append' | 'replace'; filePath: string; fileHash: string; fileBytes: number; batchId: string }[]): void {
    const now = new Date().toISOString();
    const stmt = this.db.prepare(
      `INSERT INTO ingests (table_name, mode, file_path, file_hash, file_bytes, status, batch_id, started_at)
       VALUES (@tableName, @mode, @filePath, @fileHash, @fileBytes, 'pending', @batchId, @now)`,
    );
    this.db.transaction(() => { for (const r of rows) stmt.run({ ...r, now }); })();
  }

  finishIngest(batchId: string, status: 'done' | 'failed', rowsByFile: Map<string, number>, error?: string): void {
    const now = new Date().toISOString();
    const stmt = this.db.prepare(`UPDATE ingests SET status = @status, rows = @rows, finished_at = @now, error = @error WHERE batch_id = @batchId AND file_path = @file`);
    this.db.transaction(() => {
      const files = this.db.prepare('SELECT file_path FROM ingests WHERE batch_id = ?').all(batchId) as { file_path: string }[];
      for (const f of files) stmt.run({ status, rows: rowsByFile.get(f.file_path) ?? null, now, error: error ?? null, batchId, file: f.file_path });
    })();
  }

  pendingBatches(): string[] {
    return (this.db.prepare(`SELECT DISTINCT batch_id FROM ingests WHERE status = 'pending'`).all() as { batch_id: string }[]).map((r) => r.batch_id);
  }

  ingestLog(table?: string, limit = 50): IngestRecord[] {
    const rows = table
      ? this.db.prepare('SELECT * FROM ingests WHERE table_name = ? ORDER BY id DESC LIMIT ?').all(table, limit)
      : this.db.prepare('SELECT * FROM ingests ORDER BY id DESC LIMIT ?').all(limit);
    return (rows as Record<string, unknown>[]).map(toIngestRecord);
  }

  close(): void {
    this.db.close();
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
