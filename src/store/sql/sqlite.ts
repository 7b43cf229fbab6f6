import type Database from 'better-sqlite3';
import type { SqlDb, SqlStatement } from './types.js';

/** SqlDb over a better-sqlite3 connection: statements are better-sqlite3's own (already the SqlStatement shape). */
export class SqliteDb implements SqlDb {
  readonly dialect = 'sqlite' as const;
  constructor(readonly raw: Database.Database, readonly location: string) {}

  prepare(sql: string): SqlStatement {
    return this.raw.prepare(sql) as unknown as SqlStatement;
  }

  exec(sql: string): void {
    this.raw.exec(sql);
  }

  transaction<F extends (...args: never[]) => unknown>(fn: F): F {
    const tx = this.raw.transaction(fn as unknown as (...a: unknown[]) => unknown);
    // The outermost transaction takes the write lock first (IMMEDIATE): a deferred one that reads, then
    // writes after another process committed, would fail with SQLITE_BUSY instead of waiting its turn.
    return ((...args: unknown[]) => (this.raw.inTransaction ? tx(...args) : tx.immediate(...args))) as unknown as F;
  }

  changeToken(): string {
    return String(this.raw.pragma('data_version', { simple: true }));
  }

  close(): void {
    this.raw.close();
  }
}
