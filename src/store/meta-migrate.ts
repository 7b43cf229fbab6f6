import { KilnError } from '../core/errors.js';
import { MIGRATIONS } from './migrations.js';
import { PG_MIGRATIONS, type SqlDb, type SqliteDb } from './sql/index.js';

/**
 * Versioned migrations of the metadata schema, on SQLite (applied when a store is opened, after a
 * backup) and on PostgreSQL (a fresh schema is created on first use; an existing one is upgraded only by
 * `kiln db migrate`, since kiln processes on other machines may be using it). Both refuse a schema
 * written by a newer kiln.
 */
const TRACK = 'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)';

export function schemaVersion(db: SqlDb): number {
  // On PostgreSQL the table is created only inside the migrating transaction (under the writers' lock):
  // CREATE ... IF NOT EXISTS from several processes at once can still collide there.
  if (db.dialect === 'postgres') {
    if (!(db.prepare(`SELECT to_regclass('schema_migrations') IS NOT NULL AS present`).get() as { present: number }).present) return 0;
  } else {
    db.exec(TRACK);
  }
  return (db.prepare('SELECT max(version) AS v FROM schema_migrations').get() as { v: number | null }).v ?? 0;
}

/** The migrations this kiln knows for a dialect. */
export function migrationsFor(db: SqlDb): string[] {
  return db.dialect === 'postgres' ? PG_MIGRATIONS : MIGRATIONS;
}

function tooNew(db: SqlDb, current: number, known: number): KilnError {
  return new KilnError('STORE_TOO_NEW', `${db.location} was written by a newer kiln (schema ${current}; this kiln knows ${known}). Upgrade kiln.`, { path: [db.location] });
}

/** Applies the missing migrations in one transaction; returns the versions applied. */
function apply(db: SqlDb): number[] {
  const all = migrationsFor(db);
  return db.transaction(() => {
    db.exec(TRACK);
    const current = schemaVersion(db);
    if (current > all.length) throw tooNew(db, current, all.length);
    const done: number[] = [];
    for (let v = current + 1; v <= all.length; v++) {
      db.exec(all[v - 1]!);
      db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(v, new Date().toISOString());
      done.push(v);
    }
    return done;
  })();
}

export function migrateSqlite(db: SqliteDb, path: string): void {
  const current = schemaVersion(db);
  if (current > MIGRATIONS.length) throw tooNew(db, current, MIGRATIONS.length);
  if (current === MIGRATIONS.length) return;
  // Keep a copy of what a migration is about to change (a fresh, empty store has nothing to keep).
  if (current > 0 && path !== ':memory:') backupSqlite(db, current);
  apply(db);
}

/**
 * On PostgreSQL: creates a fresh schema (`create`), or checks that an existing one is current. With
 * `upgrade` (kiln db migrate) it applies what is missing. Returns the versions before and after.
 */
export function migratePostgres(db: SqlDb, opts: { create?: boolean; upgrade?: boolean }): { from: number; to: number; applied: number[] } {
  const current = schemaVersion(db);
  const known = PG_MIGRATIONS.length;
  if (current > known) throw tooNew(db, current, known);
  if (current === known) return { from: current, to: current, applied: [] };
  if (current > 0 && !opts.upgrade) {
    throw new KilnError('DATABASE_NOT_MIGRATED', `the metadata schema ${db.location} is at version ${current}; this kiln needs ${known}. Run 'kiln db migrate' once to upgrade it`, { path: [db.location] });
  }
  if (current === 0 && !opts.create && !opts.upgrade) {
    throw new KilnError('DATABASE_NOT_MIGRATED', `the metadata schema ${db.location} is empty; run 'kiln db migrate'`, { path: [db.location] });
  }
  const applied = apply(db);
  return { from: current, to: current + applied.length, applied };
}

/** A consistent copy of a SQLite store, `<file>.bak-v<schema>-<UTC timestamp>`, beside it. */
export function backupSqlite(db: SqliteDb, schema: number): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const file = `${db.location}.bak-v${schema}-${stamp}`;
  db.raw.exec(`VACUUM INTO '${file.replace(/'/g, "''")}'`);
  return file;
}
