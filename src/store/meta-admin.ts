import { existsSync } from 'node:fs';
import { configFileIn, loadConfigFile, resolveProjectRoot } from '../config/index.js';
import { KilnError } from '../core/errors.js';
import { copyMetadata, SHARED_TABLES, type CopyReport } from './meta-copy.js';
import { migratePostgres, migrationsFor, schemaVersion } from './meta-migrate.js';
import { MetaStore } from './meta.js';
import { projectPaths, sharedMetadata } from './project.js';
import { openPg, type PgLocation } from './sql/index.js';

/**
 * `kiln db migrate` and `kiln db status`: the metadata schema of a project, on its shared PostgreSQL (the
 * config's `metadata` or KILN_DATABASE_URL) or in its embedded meta.sqlite.
 */
async function locate(project?: string, cwd?: string): Promise<{ metaDb: string; shared: PgLocation | undefined }> {
  const root = resolveProjectRoot(project, cwd);
  const configFile = configFileIn(root)!;
  const config = await loadConfigFile(configFile);
  const paths = projectPaths(root, configFile, config.dataDir);
  return { metaDb: paths.metaDb, shared: sharedMetadata(config) };
}

export interface DbMigrateReport {
  engine: 'postgres' | 'sqlite';
  location: string;
  from: number;
  to: number;
  applied: number[];
  copied?: CopyReport;
}

/**
 * Brings the project's metadata schema to this kiln's version, in one transaction. With `fromSqlite`,
 * then copies the embedded meta.sqlite's registry, runs, audit, loop state, alerts and embedding spaces
 * into the (empty) PostgreSQL schema, also in one transaction.
 */
export async function migrateDb(opts: { project?: string; cwd?: string; fromSqlite?: boolean | string; onTable?: (name: string, rows: number) => void } = {}): Promise<DbMigrateReport> {
  const { metaDb, shared } = await locate(opts.project, opts.cwd);
  if (!shared) {
    if (opts.fromSqlite) throw new KilnError('USAGE', `--from sqlite copies the embedded metadata into PostgreSQL, but this project names none: set metadata: { url } in kiln.config.ts or KILN_DATABASE_URL`, { path: ['from'] });
    // The embedded store migrates itself when opened (after a backup).
    const meta = MetaStore.open(metaDb);
    try {
      const v = schemaVersion(meta.db);
      return { engine: 'sqlite', location: metaDb, from: v, to: v, applied: [] };
    } finally {
      meta.close();
    }
  }
  const pg = openPg(shared);
  try {
    const step = migratePostgres(pg, { upgrade: true });
    const report: DbMigrateReport = { engine: 'postgres', location: pg.location, ...step };
    if (opts.fromSqlite) {
      const file = typeof opts.fromSqlite === 'string' ? opts.fromSqlite : metaDb;
      if (!existsSync(file)) throw new KilnError('FILE_NOT_FOUND', `--from sqlite: ${file} does not exist; give the embedded store with --sqlite PATH`, { path: [file] });
      const local = MetaStore.open(file);
      try {
        report.copied = copyMetadata(local.db, pg, opts.onTable ? { onTable: opts.onTable } : {});
      } finally {
        local.close();
      }
    }
    return report;
  } finally {
    pg.close();
  }
}

export interface DbStatus {
  engine: 'postgres' | 'sqlite';
  location: string;
  schema: number;
  known: number;
  rows: Record<string, number>;
}

/** The schema version and row counts of the project's metadata, without changing anything. */
export async function dbStatus(opts: { project?: string; cwd?: string } = {}): Promise<DbStatus> {
  const { metaDb, shared } = await locate(opts.project, opts.cwd);
  const db = shared ? openPg(shared) : MetaStore.open(metaDb).db;
  try {
    const schema = schemaVersion(db);
    const rows: Record<string, number> = {};
    if (schema > 0) for (const t of SHARED_TABLES) rows[t] = (db.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n;
    return { engine: db.dialect, location: db.location, schema, known: migrationsFor(db).length, rows };
  } finally {
    db.close();
  }
}
