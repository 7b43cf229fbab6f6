/**
 * The decision log on PostgreSQL (a project whose metadata is there): the same group commit as the file
 * log (writer.ts), each group one multi-row INSERT (`unnest` of arrays: one statement, one round trip,
 * one WAL flush at COMMIT), so under load many requests share one commit. `durable`: an append resolves
 * once its group is committed (PostgreSQL's synchronous_commit: on disk). `buffered`: resolves at once;
 * a timer commits within `flushMs`. Any number of writers (serving replicas) share the one table: no
 * writer lock. A record is kept as its JSON line, beside the columns readers filter on.
 */
import pg from 'pg';
import { KilnError } from '../../core/errors.js';
import { redactUrl, type PgLocation } from '../../store/index.js';
import type { DecisionLogStats, DecisionRecord, Durability } from '../types.js';
import { DECISION_ID_RE } from './id.js';
import type { DecisionLog, DecisionLogOptions } from './writer.js';

interface Waiter { resolve: () => void; reject: (e: Error) => void }
interface Entry { readonly rec: DecisionRecord; readonly json: string; readonly at: number; readonly w: Waiter | null }

const fail = (msg: string, cause?: unknown): KilnError => new KilnError('DECISION_LOG_INVALID', msg, cause ? { cause } : {});

/** A pool on the project's schema (search_path set per connection). */
export function decisionPool(loc: PgLocation, max = 2): pg.Pool {
  // The schema is set at connection start-up (no query of its own racing the first one).
  const pool = new pg.Pool({ connectionString: loc.url, max, application_name: `kiln decisions ${process.pid}`, connectionTimeoutMillis: 15_000, options: `-c search_path="${loc.schema}"` });
  pool.on('error', () => { /* a dropped idle connection: the next query opens another */ });
  return pool;
}

const INSERT = `INSERT INTO decisions (id, model, version, entity_id, record)
  SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::text[]) ON CONFLICT (id) DO NOTHING`;

class PgWriter implements DecisionLog {
  readonly recovered = [];
  readonly tookOver = null;
  private pending: Entry[] = [];
  private inflight: Entry[] = [];
  private running: Promise<void> | null = null;
  private scheduled = false;
  private force = false;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private lastError: KilnError | null = null;
  private committed = 0;
  private commits = 0;
  private failures = 0;
  private lastCommitMs = 0;

  constructor(readonly dir: string, readonly durability: Durability, readonly flushMs: number, private readonly pool: pg.Pool, private readonly maxGroup: number) {}

  append(records: readonly DecisionRecord[]): Promise<void> {
    if (this.closed) return Promise.reject(fail(`the decision log ${this.dir} is closed: no more decisions can be recorded`));
    const durable = this.durability === 'durable';
    if (!durable && this.lastError) return Promise.reject(fail(`the decision log ${this.dir} cannot be written (${this.lastError.message}); decisions are refused until a write succeeds`, this.lastError));
    const bad = records.find((r) => typeof r?.id !== 'string' || !DECISION_ID_RE.test(r.id));
    if (bad) return Promise.reject(fail(`a decision record has no valid id (${JSON.stringify(bad?.id)}): make ids with newDecisionId()`));
    if (!records.length) return Promise.resolve();
    const at = Date.now();
    let promise: Promise<void> = Promise.resolve();
    let w: Waiter | null = null;
    if (durable) promise = new Promise<void>((resolve, reject) => { w = { resolve, reject }; });
    for (const rec of records) this.pending.push({ rec, json: JSON.stringify(rec), at, w });
    if (durable) {
      if (!this.running && !this.scheduled) {
        this.scheduled = true;
        queueMicrotask(() => { this.scheduled = false; void this.kick(false); });
      }
    } else if (this.pending.length >= this.maxGroup) void this.kick(true);
    else this.arm();
    return promise;
  }

  private arm(): void {
    if (this.timer || !this.pending.length) return;
    const wait = this.lastError ? this.flushMs : Math.max(0, this.pending[0]!.at + this.flushMs - Date.now());
    this.timer = setTimeout(() => { this.timer = null; void this.kick(true); }, wait);
  }

  private kick(force: boolean): Promise<void> {
    if (force) this.force = true;
    if (!this.running) {
      this.running = this.loop().finally(() => {
        this.running = null;
        if (this.pending.length && (this.durability === 'durable' || this.force)) void this.kick(false);
        else if (this.durability === 'buffered') this.arm();
      });
    }
    return this.running;
  }

  private async loop(): Promise<void> {
    while (this.pending.length && (this.durability === 'durable' || this.force)) {
      this.force = false;
      const group = this.pending.splice(0, this.maxGroup);
      this.inflight = group;
      const t0 = performance.now();
      try {
        await this.pool.query(INSERT, [
          group.map((e) => e.rec.id), group.map((e) => e.rec.model), group.map((e) => e.rec.version),
          group.map((e) => (e.rec.entityId === null || e.rec.entityId === undefined ? null : String(e.rec.entityId))), group.map((e) => e.json),
        ]);
        this.committed += group.length;
        this.commits++;
        this.lastCommitMs = performance.now() - t0;
        this.lastError = null;
        const settled = new Set<Waiter>();
        for (const e of group) if (e.w && !settled.has(e.w)) { settled.add(e.w); }
        // A waiter resolves once all of its records are committed: an append's records are queued together and stay in one group unless split by maxGroup.
        for (const w of settled) if (!this.pending.some((p) => p.w === w)) w.resolve();
      } catch (e) {
        const err = fail(`cannot write the decision log ${this.dir}: ${(e as Error).message}`, e);
        this.failures++;
        this.lastError = err;
        if (this.durability === 'durable') {
          const rejected = new Set<Waiter>();
          for (const x of group) if (x.w && !rejected.has(x.w)) { rejected.add(x.w); x.w.reject(err); }
          this.pending = this.pending.filter((p) => !p.w || !rejected.has(p.w));
        } else {
          // Buffered records stay queued for the next try; appends are refused meanwhile.
          this.pending = group.concat(this.pending);
          this.inflight = [];
          return;
        }
      } finally {
        this.inflight = [];
      }
    }
  }

  stats(): DecisionLogStats {
    const oldest = this.inflight[0]?.at ?? this.pending[0]?.at;
    return { queued: this.pending.length + this.inflight.length, committed: this.committed, commits: this.commits, lastCommitMs: this.lastCommitMs, lagMs: oldest === undefined ? 0 : Date.now() - oldest, failures: this.failures };
  }

  async get(id: string): Promise<DecisionRecord> {
    const wanted = id.toUpperCase();
    const queued = this.pending.find((e) => e.rec.id === wanted) ?? this.inflight.find((e) => e.rec.id === wanted);
    if (queued) return queued.rec;
    return getPgDecision(this.pool, this.dir, wanted);
  }

  async flush(): Promise<void> {
    if (this.timer) { clearTimeout(this.timer); this.timer = null; }
    while (this.pending.length || this.running) {
      await this.kick(true);
      if (this.lastError && this.pending.length) throw this.lastError;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.flush();
    } finally {
      this.closed = true;
      await this.pool.end().catch(() => undefined);
    }
  }
}

/** Opens the decision log in the project's PostgreSQL schema for writing (several writers may hold it). */
export async function openPgDecisionLog(loc: PgLocation, opts: DecisionLogOptions = {}): Promise<DecisionLog> {
  const durability = opts.durability ?? 'durable';
  if (durability !== 'durable' && durability !== 'buffered') {
    throw new KilnError('CONFIG_INVALID', `decision log durability ${JSON.stringify(durability)}: expected 'durable' or 'buffered'`, { path: ['durability'] });
  }
  const pool = decisionPool(loc);
  const where = `${redactUrl(loc.url)} (schema ${loc.schema}, table decisions)`;
  try {
    await pool.query('SELECT 1 FROM decisions LIMIT 0');
  } catch (e) {
    await pool.end().catch(() => undefined);
    throw new KilnError('DATABASE_UNAVAILABLE', `cannot open the decision log ${where}: ${(e as Error).message}. Is the schema migrated ('kiln db migrate')?`, { cause: e });
  }
  // One INSERT carries at most this many records (~4 MiB of records of about 1 KiB).
  const maxGroup = Math.max(1, Math.floor((opts.maxQueuedBytes ?? 4 * 1024 * 1024) / 1024));
  return new PgWriter(where, durability, opts.flushMs ?? 200, pool, maxGroup);
}

export async function getPgDecision(pool: pg.Pool, where: string, id: string): Promise<DecisionRecord> {
  const r = await pool.query<{ record: string }>('SELECT record FROM decisions WHERE id = $1', [id]);
  if (!r.rows[0]) {
    throw new KilnError('DECISION_NOT_FOUND', `no decision ${id} in the decision log ${where}. Check the id (\`kiln decisions list\`), and that this is the project that served it`, { path: ['id'] });
  }
  return JSON.parse(r.rows[0].record) as DecisionRecord;
}

/** Reads the log in pages of `page` records by id (keyset paging), filtered in SQL. */
export async function* readPgDecisions(loc: PgLocation, f: { lo: string; hi: string; model?: string; version?: number; entity?: string; limit: number; desc: boolean }, page = 2000): AsyncGenerator<DecisionRecord> {
  const pool = decisionPool(loc, 1);
  try {
    let lo = f.lo;
    let hi = f.hi;
    let sent = 0;
    let first = true;
    for (;;) {
      const args: unknown[] = [lo, hi];
      // lo is inclusive on the first page; later pages go on after the last id seen.
      const where = [`id ${f.desc || first ? '>=' : '>'} $1 AND id < $2`];
      first = false;
      if (f.model !== undefined) { args.push(f.model); where.push(`model = $${args.length}`); }
      if (f.version !== undefined) { args.push(f.version); where.push(`version = $${args.length}`); }
      if (f.entity !== undefined) { args.push(f.entity); where.push(`entity_id = $${args.length}`); }
      const n = Math.min(page, f.limit - sent);
      if (n <= 0) return;
      args.push(n);
      const rows = (await pool.query<{ id: string; record: string }>(`SELECT id, record FROM decisions WHERE ${where.join(' AND ')} ORDER BY id ${f.desc ? 'DESC' : 'ASC'} LIMIT $${args.length}`, args)).rows;
      for (const r of rows) { sent++; yield JSON.parse(r.record) as DecisionRecord; }
      if (rows.length < n) return;
      if (f.desc) hi = rows[rows.length - 1]!.id; else lo = rows[rows.length - 1]!.id;
    }
  } finally {
    await pool.end().catch(() => undefined);
  }
}
