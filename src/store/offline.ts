import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { KilnError } from '../core/errors.js';
import { quoteIdent } from './sql.js';

let stageCounter = 0;

/**
 * The offline store: one DuckDB database file. All timestamps are UTC (the session time zone is fixed
 * to UTC so that TIMESTAMPTZ input converts the same way on every machine).
 */
export class OfflineStore {
  private constructor(
    readonly path: string,
    private readonly instance: DuckDBInstance,
    readonly con: DuckDBConnection,
  ) {}

  static async open(path: string, opts: { threads?: number } = {}): Promise<OfflineStore> {
    let instance: DuckDBInstance;
    try {
      const config: Record<string, string> = {};
      if (opts.threads) config.threads = String(opts.threads);
      instance = await DuckDBInstance.create(path, config);
    } catch (e) {
      throw new KilnError('INTERNAL', `cannot open the offline store ${path}: ${(e as Error).message}. Is another kiln process writing to it?`, { cause: e });
    }
    const con = await instance.connect();
    await con.run(`SET TimeZone = 'UTC'`);
    // Query progress is read by kiln's own progress output; DuckDB must track it but never print it.
    await con.run('SET enable_progress_bar = true; SET enable_progress_bar_print = false; SET progress_bar_time = 200');
    return new OfflineStore(path, instance, con);
  }

  /** A fresh, unique name for a staging table; staging tables never collide with user tables. */
  stagingName(purpose: string): string {
    return `__kiln_stage_${purpose.replace(/[^A-Za-z0-9_]/g, '_')}_${process.pid}_${Date.now().toString(36)}_${stageCounter++}`;
  }

  async run(sql: string): Promise<void> {
    await this.con.run(sql);
  }

  /** Rows as plain JS objects (BIGINT as number where safe, timestamps as ISO strings). */
  async all<T = Record<string, unknown>>(sql: string): Promise<T[]> {
    const reader = await this.con.runAndReadAll(sql);
    return reader.getRowObjectsJS().map(normaliseRow) as T[];
  }

  async tableExists(name: string): Promise<boolean> {
    const rows = await this.all<{ n: number }>(
      `SELECT count(*) AS n FROM duckdb_tables() WHERE schema_name = 'main' AND table_name = '${name.replace(/'/g, "''")}'`,
    );
    return (rows[0]?.n ?? 0) > 0;
  }

  /**
   * Replaces (or creates) `target` with the staging table in one transaction: readers see the old table
   * or the new one, never a half-written one; on failure the old table is untouched.
   */
  async swapIn(staging: string, target: string): Promise<void> {
    await this.transaction(async () => {
      await this.con.run(`DROP TABLE IF EXISTS ${quoteIdent(target)}`);
      await this.con.run(`ALTER TABLE ${quoteIdent(staging)} RENAME TO ${quoteIdent(target)}`);
    });
  }

  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    await this.con.run('BEGIN TRANSACTION');
    try {
      const out = await fn();
      await this.con.run('COMMIT');
      return out;
    } catch (e) {
      await this.con.run('ROLLBACK').catch(() => undefined);
      throw e;
    }
  }

  async dropIfExists(table: string): Promise<void> {
    await this.con.run(`DROP TABLE IF EXISTS ${quoteIdent(table)}`).catch(() => undefined);
  }

  /** Removes staging tables left behind by a process that was killed mid-write. */
  async dropStaleStaging(): Promise<string[]> {
    const rows = await this.all<{ table_name: string }>(
      `SELECT table_name FROM duckdb_tables() WHERE table_name LIKE '__kiln_stage_%'`,
    );
    for (const r of rows) await this.dropIfExists(r.table_name);
    return rows.map((r) => r.table_name);
  }

  interrupt(): void {
    this.con.interrupt();
  }

  close(): void {
    this.con.closeSync();
    this.instance.closeSync();
  }
}

function normaliseRow(row: Record<string, unknown>): Record<string, unknown> {
  for (const [k, v] of Object.entries(row)) {
    if (typeof v === 'bigint') row[k] = Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
    else if (v instanceof Date) row[k] = v.toISOString();
  }
  return row;
}
