/**
 * The synchronous SQL surface kiln's metadata code is written against: the subset of better-sqlite3's API
 * it uses (prepare / get / all / run, transactions that nest, exec), implemented by SQLite directly and
 * by PostgreSQL through a connection held in a worker thread (pg-sync.ts). SQL is written once, in the
 * portable subset both engines accept; dialect.ts rewrites what differs for PostgreSQL.
 */
export type SqlParams = unknown[];

export interface SqlRunResult {
  changes: number;
  lastInsertRowid: number | bigint;
}

export interface SqlStatement {
  run(...params: SqlParams): SqlRunResult;
  get(...params: SqlParams): unknown;
  all(...params: SqlParams): unknown[];
}

export type SqlDialect = 'sqlite' | 'postgres';

export interface SqlDb {
  readonly dialect: SqlDialect;
  /** Where it lives, for messages: a file path, or a PostgreSQL URL without its password, with the schema. */
  readonly location: string;
  prepare(sql: string): SqlStatement;
  /** Runs statements without results (DDL; several separated by ';'). */
  exec(sql: string): void;
  /**
   * Wraps `fn` so that calling it runs it in one transaction (nested calls are savepoints). Writers of
   * one project are serialised, on SQLite by its write lock (BEGIN IMMEDIATE), on PostgreSQL by a
   * transaction-scoped advisory lock on the project's schema: read-then-write sequences such as alias
   * moves and version numbering stay atomic across processes and machines.
   */
  transaction<F extends (...args: never[]) => unknown>(fn: F): F;
  /** Changes whenever another connection commits a change (SQLite's data_version; PostgreSQL: a counter bumped by triggers). */
  changeToken(): string;
  close(): void;
}
