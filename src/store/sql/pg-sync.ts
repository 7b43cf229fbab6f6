import { createRequire } from 'node:module';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { KilnError } from '../../core/errors.js';
import { bindValues, toPostgres, type PgStatementText } from './dialect.js';
import { PG_WORKER_SOURCE } from './pg-worker.js';
import type { SqlDb, SqlRunResult, SqlStatement } from './types.js';

interface Reply {
  ok: boolean;
  rows?: Record<string, unknown>[];
  rowCount?: number;
  error?: { message: string; code?: string; detail?: string; constraint?: string; table?: string };
}

/** A PostgreSQL error, its SQLSTATE in `sqlState` and `code` = `PG_<sqlstate>` (as better-sqlite3's `SQLITE_...`). */
export class PgError extends Error {
  /** PostgreSQL's five-character SQLSTATE; undefined for a connection failure (then `code` carries Node's errno). */
  readonly sqlState: string | undefined;
  constructor(message: string, code: string | undefined, readonly detail?: string, readonly constraint?: string) {
    super(message);
    this.name = 'PgError';
    this.sqlState = code && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
    (this as { code?: string }).code = `PG_${code ?? 'CONNECTION'}`;
  }
}

const require = createRequire(import.meta.url);

/** `postgres://user:secret@host/db` without the secret, for messages. */
export function redactUrl(url: string): string {
  return url.replace(/(\/\/[^:/@]+):[^@]*@/, '$1:***@');
}

/**
 * SqlDb on PostgreSQL, synchronous like better-sqlite3: a worker thread holds the `pg` connection and
 * the calling thread waits on a shared Int32Array (Atomics.wait) for each reply. One connection per
 * store; statements are prepared once per connection (named) and cached by their text.
 */
export class PgSyncDb implements SqlDb {
  readonly dialect = 'postgres' as const;
  readonly location: string;
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly signal = new Int32Array(new SharedArrayBuffer(4));
  private readonly texts = new Map<string, PgStatementText & { name: string }>();
  private depth = 0;
  /** How long one statement may go without a reply (KILN_DATABASE_TIMEOUT_MS, default 10 minutes). */
  private readonly replyTimeoutMs = Number(process.env.KILN_DATABASE_TIMEOUT_MS) || 600_000;
  private closed = false;

  constructor(readonly url: string, readonly schema: string) {
    this.location = `${redactUrl(url)} (schema ${schema})`;
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.worker = new Worker(PG_WORKER_SOURCE, {
      eval: true,
      // The worker's source is CommonJS: flags of this process such as --input-type=module or --import must not apply to it.
      execArgv: [],
      workerData: { pgPath: require.resolve('pg'), signal: this.signal, port: port2, url, schema, applicationName: `kiln ${process.pid}` },
      transferList: [port2],
    });
    this.worker.unref();
    this.port.unref();
    // The first round trip connects: an unreachable server is found here, not mid-command.
    this.query('SELECT 1', []);
  }

  /** One round trip: post, wait for the worker's signal, read its reply. */
  query(text: string, values: unknown[], name?: string): Reply {
    if (this.closed) throw new KilnError('INTERNAL', `the metadata store ${this.location} is closed`);
    Atomics.store(this.signal, 0, 0);
    this.port.postMessage({ op: 'query', text, values, name });
    // The worker signals 1 with a reply, 2 when it is ending; a query may take long, a silent worker not forever.
    for (let waited = 0; Atomics.wait(this.signal, 0, 0, 1000) === 'timed-out';) {
      waited += 1000;
      if (waited >= this.replyTimeoutMs) throw new KilnError('DATABASE_UNAVAILABLE', `no reply from PostgreSQL ${this.location} in ${waited / 1000} s for: ${text.slice(0, 200)}`);
    }
    const msg = receiveMessageOnPort(this.port);
    const reply = msg?.message as Reply | undefined;
    if (!reply) throw new KilnError('DATABASE_UNAVAILABLE', `the connection to PostgreSQL ${this.location} ended (its worker stopped) during: ${text.slice(0, 200)}`);
    if (!reply.ok) {
      const e = reply.error!;
      throw new PgError(e.message, e.code, e.detail, e.constraint);
    }
    return reply;
  }

  prepare(sql: string): SqlStatement {
    let stmt = this.texts.get(sql);
    if (!stmt) {
      // Statements are prepared once per connection by name; SQL built on the fly past the first 1,000 texts is not kept.
      stmt = { ...toPostgres(sql), name: this.texts.size < 1000 ? `kiln_${this.texts.size + 1}` : '' };
      if (stmt.name) this.texts.set(sql, stmt);
    }
    const s = stmt;
    const exec = (params: unknown[]): Reply => this.query(s.text, bindValues(s, params, sql), s.name || undefined);
    return {
      run: (...params: unknown[]): SqlRunResult => {
        const r = exec(params);
        const first = r.rows?.[0];
        const id = first && 'id' in first && typeof first.id === 'number' ? first.id : 0;
        return { changes: r.rowCount ?? 0, lastInsertRowid: id };
      },
      get: (...params: unknown[]) => exec(params).rows?.[0],
      all: (...params: unknown[]) => exec(params).rows ?? [],
    };
  }

  exec(sql: string): void {
    this.query(sql, []);
  }

  transaction<F extends (...args: never[]) => unknown>(fn: F): F {
    return ((...args: never[]) => {
      const outer = this.depth === 0;
      const savepoint = `kiln_sp_${this.depth}`;
      // Writers of one project take turns, as on SQLite: the lock is released at COMMIT or ROLLBACK.
      this.query(outer ? `BEGIN; SELECT pg_advisory_xact_lock(hashtext('kiln:' || current_schema()))` : `SAVEPOINT ${savepoint}`, []);
      this.depth++;
      let result: unknown;
      try {
        result = fn(...args);
      } catch (e) {
        this.depth--;
        try {
          this.query(outer ? 'ROLLBACK' : `ROLLBACK TO SAVEPOINT ${savepoint}; RELEASE SAVEPOINT ${savepoint}`, []);
        } catch { /* the connection is gone: PostgreSQL rolls back on its own */ }
        throw e;
      }
      this.depth--;
      this.query(outer ? 'COMMIT' : `RELEASE SAVEPOINT ${savepoint}`, []);
      return result;
    }) as unknown as F;
  }

  changeToken(): string {
    // Every connection sees what others committed; the audit tables' last ids carry the news.
    return '';
  }

  close(): void {
    if (this.closed) return;
    try {
      Atomics.store(this.signal, 0, 0);
      this.port.postMessage({ op: 'close' });
      Atomics.wait(this.signal, 0, 0, 5000);
      receiveMessageOnPort(this.port);
    } finally {
      this.closed = true;
      this.port.close();
      void this.worker.terminate();
    }
  }
}
