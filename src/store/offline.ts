import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { KilnError } from '../core/errors.js';
import { assertReadableFile, assertWritable, duckdbOpenError, isLockConflict } from './fs-errors.js';
import { clearLockInfo, describeHolder, readLockInfo, writeLockInfo } from './lock.js';
import { duckdbApi } from './duckdb.js';
import { quoteIdent } from './sql.js';

let stageCounter = 0;

/** 'write': one process at a time (DuckDB's rule); 'read': several readers at once, but never beside a writer. */
export type OfflineAccess = 'write' | 'read';

export interface OfflineOpenOptions {
  threads?: number;
  access?: OfflineAccess;
  /** How long to wait for another process that holds the store, in seconds (default 30). */
  waitTimeoutSeconds?: number;
  /** Told once when the store is busy and this process starts waiting (default: a line on stderr). */
  onWait?: (message: string) => void;
  /** Runs after each open (e.g. settling what a killed process left behind). */
  afterOpen?: (store: OfflineStore) => Promise<void>;
}

export const DEFAULT_WAIT_TIMEOUT_SECONDS = 30;

/**
 * The offline store: one DuckDB database file. All timestamps are UTC (the session time zone is fixed
 * to UTC so that TIMESTAMPTZ input converts the same way on every machine).
 *
 * A store from `OfflineStore.lazy` opens the file on first use and `close` lets go of it (a later use
 * opens it again), so that a process holds DuckDB's lock only while it uses the store. When another
 * process holds it, opening waits with backoff up to `waitTimeoutSeconds`, then fails with STORE_BUSY.
 */
export class OfflineStore {
  private instance: DuckDBInstance | null = null;
  private connection: DuckDBConnection | null = null;
  private opening: Promise<DuckDBConnection> | null = null;
  private wroteLock = false;

  private constructor(
    readonly path: string,
    private readonly opts: OfflineOpenOptions,
  ) {}

  /** Opens the store now. */
  static async open(path: string, opts: OfflineOpenOptions = {}): Promise<OfflineStore> {
    const store = new OfflineStore(path, opts);
    await store.ready();
    return store;
  }

  /** A store that opens on first use. */
  static lazy(path: string, opts: OfflineOpenOptions = {}): OfflineStore {
    return new OfflineStore(path, opts);
  }

  get access(): OfflineAccess {
    return this.opts.access ?? 'write';
  }

  get isOpen(): boolean {
    return this.connection !== null;
  }

  /** The DuckDB connection; the store must be open (any awaited method, or `ready()`, opens it). */
  get con(): DuckDBConnection {
    if (!this.connection) throw new KilnError('INTERNAL', `the offline store ${this.path} is not open; await store.ready() before using store.con`);
    return this.connection;
  }

  /** Opens the store if it is not open; returns its connection. */
  async ready(): Promise<DuckDBConnection> {
    if (this.connection) return this.connection;
    this.opening ??= this.openNow().finally(() => { this.opening = null; });
    return this.opening;
  }

  private async openNow(): Promise<DuckDBConnection> {
    const memory = this.path === ':memory:' || this.path === '';
    const config: Record<string, string> = {};
    if (this.opts.threads) config.threads = String(this.opts.threads);
    if (this.access === 'read' && !memory) config.access_mode = 'READ_ONLY';
    if (!memory && this.access === 'read' && !existsSync(this.path)) {
      throw new KilnError('FILE_NOT_FOUND', `the offline store ${this.path} does not exist; create the project's stores with 'kiln init'`, { path: [this.path] });
    }
    if (!memory) {
      if (existsSync(this.path)) assertReadableFile(this.path, 'the offline store');
      if (this.access === 'write') assertWritable(dirname(this.path), this.path);
    }
    const timeout = (this.opts.waitTimeoutSeconds ?? DEFAULT_WAIT_TIMEOUT_SECONDS) * 1000;
    const t0 = Date.now();
    let delay = 50;
    let told = false;
    let instance: DuckDBInstance;
    // Loaded on first open: a command that never touches the offline store never loads DuckDB.
    const { DuckDBInstance } = duckdbApi();
    for (;;) {
      try {
        instance = await DuckDBInstance.create(this.path, config);
        // Say who holds the store as soon as DuckDB's lock is ours: a waiter reads this to name us.
        if (!memory && this.access === 'write') { writeLockInfo(this.path); this.wroteLock = true; }
        break;
      } catch (e) {
        if (memory || !isLockConflict(e)) throw duckdbOpenError(e, this.path);
        const holder = describeHolder(this.path, (e as Error).message);
        const waited = Date.now() - t0;
        if (waited >= timeout) {
          throw new KilnError(
            'STORE_BUSY',
            `the offline store ${this.path} is in use by ${holder}; gave up after ${Math.round(waited / 1000)}s. ` +
              `Wait for that command to finish, or wait longer with --wait-timeout SECONDS`,
            { path: [this.path], details: { holder }, cause: e },
          );
        }
        // The holder writes its lock info just after it takes DuckDB's lock: give it a moment (on a loaded machine) to appear.
        if (!told && (readLockInfo(this.path) !== null || waited >= 2000)) {
          told = true;
          const msg = `waiting for the offline store ${this.path}: it is in use by ${holder}; waiting up to ${Math.round(timeout / 1000)}s (--wait-timeout)`;
          (this.opts.onWait ?? ((m: string) => process.stderr.write(`${m}\n`)))(msg);
        }
        await new Promise((r) => setTimeout(r, Math.min(delay, Math.max(10, timeout - waited))));
        delay = Math.min(delay * 2, 1000);
      }
    }
    const con = await instance.connect();
    // UTC sessions. Query progress is read by kiln's own progress output: DuckDB must track it but never
    // print it. One round trip.
    await con.run(`SET TimeZone = 'UTC'; SET enable_progress_bar = true; SET enable_progress_bar_print = false; SET progress_bar_time = 200`);
    this.instance = instance;
    this.connection = con;
    try {
      if (this.opts.afterOpen) await this.opts.afterOpen(this);
    } catch (e) {
      this.close();
      throw e;
    }
    return con;
  }

  /**
   * Another connection to the open store, for the caller to close: a query streamed on it keeps going
   * while the main connection writes (a write on the connection that streams ends the stream early).
   */
  async connect(): Promise<DuckDBConnection> {
    await this.ready();
    return this.instance!.connect();
  }

  /** A fresh, unique name for a staging table; staging tables never collide with user tables. */
  stagingName(purpose: string): string {
    return `__kiln_stage_${purpose.replace(/[^A-Za-z0-9_]/g, '_')}_${process.pid}_${Date.now().toString(36)}_${stageCounter++}`;
  }

  async run(sql: string): Promise<void> {
    await (await this.ready()).run(sql);
  }

  /** Rows as plain JS objects (BIGINT as number where safe, timestamps as ISO strings). */
  async all<T = Record<string, unknown>>(sql: string): Promise<T[]> {
    const reader = await (await this.ready()).runAndReadAll(sql);
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
    await (await this.ready()).run('BEGIN TRANSACTION');
    try {
      const out = await fn();
      await this.con.run('COMMIT');
      return out;
    } catch (e) {
      await this.connection?.run('ROLLBACK').catch(() => undefined);
      throw e;
    }
  }

  async dropIfExists(table: string): Promise<void> {
    await (await this.ready()).run(`DROP TABLE IF EXISTS ${quoteIdent(table)}`).catch(() => undefined);
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
    this.connection?.interrupt();
  }

  /** Lets go of the file (and DuckDB's lock); a later use opens it again. */
  close(): void {
    const con = this.connection;
    const instance = this.instance;
    this.connection = null;
    this.instance = null;
    try {
      con?.closeSync();
      instance?.closeSync();
    } finally {
      if (this.wroteLock) { this.wroteLock = false; clearLockInfo(this.path); }
    }
  }
}

function normaliseRow(row: Record<string, unknown>): Record<string, unknown> {
  for (const [k, v] of Object.entries(row)) {
    if (typeof v === 'bigint') row[k] = Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
    else if (v instanceof Date) row[k] = v.toISOString();
  }
  return row;
}
