/**
 * Materialisation: the online store's state at a time, built from the offline store. Every event visible
 * at `asOf` (event time and availability strictly before it) is streamed from DuckDB in entity and time
 * order into the same write path as pushes, so the store holds tiles, raw edges and bases (not just final
 * values) and later pushes continue exactly. Events that become available after `asOf` are for `push`.
 */
import { Progress } from '../core/progress.js';
import { definitionsError } from '../features/index.js';
import type { SourceColumnType } from '../features/index.js';
import { checkSourcesAgainstStore } from '../features/training/index.js';
import { quoteIdent, type Project } from '../store/index.js';
import type { OnlineFeatureStore } from './store.js';
import { eventUid, makeEvent } from './events.js';
import type { SourcePlan } from './engine/plan.js';
import { parseUtc } from '../core/time.js';
import { isoMicros } from './engine/time.js';
import type { RawEvent } from './types.js';
import type { MaterializationRecord } from './manifest.js';

export interface MaterializeOptions {
  /** Epoch ms, a Date or ISO 8601 in UTC (default: now). */
  readonly asOf?: number | string | Date;
  /** No progress output. */
  readonly quiet?: boolean;
  /** Events per write batch (default 20,000). */
  readonly batchEvents?: number;
}

export interface MaterializeSummary {
  readonly asOf: string;
  readonly features: readonly string[];
  readonly sources: readonly { readonly name: string; readonly table: string; readonly events: number; readonly entities: number; readonly seconds: number }[];
  readonly events: number;
  readonly seconds: number;
}

const CASTS: Readonly<Record<SourceColumnType, (c: string) => string>> = {
  double: (c) => `CAST(${c} AS DOUBLE)`,
  integer: (c) => `CAST(${c} AS BIGINT)`,
  bigint: (c) => `CAST(${c} AS BIGINT)`,
  varchar: (c) => `CAST(${c} AS VARCHAR)`,
  boolean: (c) => `CAST(${c} AS BOOLEAN)`,
  timestamp: (c) => `epoch_us(CAST(${c} AS TIMESTAMP))::DOUBLE`,
  date: (c) => `epoch_us(CAST(${c} AS TIMESTAMP))::DOUBLE`,
};

function scalar(v: unknown): string | number | boolean | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v;
  return String(v);
}

/**
 * Rebuilds the served sources of the online store from the offline store as of `asOf`.
 * @example const s = await materialize(project, online, { asOf: '2025-01-01T00:00:00Z' });
 */
export async function materialize(project: Project, online: OnlineFeatureStore, opts: MaterializeOptions = {}): Promise<MaterializeSummary> {
  const started = performance.now();
  const at = opts.asOf === undefined ? Date.now() * 1000 : parseUtc(opts.asOf, 'as-of time');
  const served = new Set(online.plan.sources.keys());
  const issues = await checkSourcesAgainstStore(project, online.plan.registry, served);
  if (issues.length) throw definitionsError(issues, 'feature sources do not match the offline store');
  const startedAt = new Date().toISOString();
  await online.reset({ startedAt, finishedAt: null, asOf: isoMicros(at), features: online.plan.selection, sources: [] });
  const sources: (MaterializeSummary['sources'][number] & { latestEvent: string | null })[] = [];
  for (const sp of online.plan.sources.values()) sources.push(await materializeSource(project, online, sp, at, opts));
  await online.flush();
  await online.recordMaterialization({
    startedAt, finishedAt: new Date().toISOString(), asOf: isoMicros(at), features: online.plan.selection,
    sources: sources.map((x) => ({ name: x.name, table: x.table, events: x.events, entities: x.entities, latestEvent: x.latestEvent })),
  });
  return {
    asOf: isoMicros(at), features: online.plan.selection, sources: sources.map(({ latestEvent: _l, ...x }) => x),
    events: sources.reduce((s, x) => s + x.events, 0), seconds: (performance.now() - started) / 1000,
  };
}

/**
 * One partition of a partitioned materialisation (`kiln backfill materialize`): every served source's
 * events, as of `asOf`, from `project`'s offline store (a worker's slice of the sources) into `online`,
 * with no reset and no manifest: the caller commits the partition and records the materialisation once
 * every partition is in.
 */
export async function materializeSlice(project: Project, online: OnlineFeatureStore, opts: MaterializeOptions & { readonly asOf: string }): Promise<MaterializationRecord['sources']> {
  const at = parseUtc(opts.asOf, 'as-of time');
  const out: MaterializationRecord['sources'][number][] = [];
  for (const sp of online.plan.sources.values()) {
    const r = await materializeSource(project, online, sp, at, { ...opts, quiet: true });
    out.push({ name: r.name, table: r.table, events: r.events, entities: r.entities, latestEvent: r.latestEvent });
  }
  await online.flush();
  return out;
}

async function materializeSource(project: Project, online: OnlineFeatureStore, sp: SourcePlan, at: number, opts: MaterializeOptions): Promise<MaterializeSummary['sources'][number] & { latestEvent: string | null }> {
  const started = performance.now();
  const src = sp.source;
  const q = quoteIdent;
  const t = `make_timestamp(${at}::BIGINT)`;
  const where = [`${q(src.key)} IS NOT NULL`, `${q(src.timestamp)} IS NOT NULL`, `CAST(${q(src.timestamp)} AS TIMESTAMP) < ${t}`];
  if (src.availableAt) where.push(`(${q(src.availableAt)} IS NULL OR CAST(${q(src.availableAt)} AS TIMESTAMP) < ${t})`);
  const from = `FROM ${q(src.table)} WHERE ${where.join(' AND ')}`;
  const [count] = await project.offline.all<{ n: number }>(`SELECT count(*)::BIGINT AS n ${from}`);
  const total = count?.n ?? 0;
  const cols = sp.columns.map((c) => { const type = src.columns[c]; return type ? CASTS[type](q(c)) : q(c); });
  // The event key, when the table declares one: materialised events are remembered by it, so pushing one again is a duplicate.
  const eventKey = online.eventKeyColumn(src.name);
  const keyAt = 3 + sp.columns.length;
  const sql = `SELECT ${q(src.key)}, epoch_us(CAST(${q(src.timestamp)} AS TIMESTAMP))::DOUBLE, ${src.availableAt ? `epoch_us(CAST(${q(src.availableAt)} AS TIMESTAMP))::DOUBLE` : 'NULL::DOUBLE'}${cols.map((c) => `, ${c}`).join('')}${eventKey ? `, ${q(eventKey)}` : ''}
    ${from} ORDER BY 1, 2`;
  const progress = new Progress({ label: `materialize ${src.name}`, total, unit: 'events', quiet: opts.quiet ?? false });
  const batchSize = opts.batchEvents ?? 20_000;
  let batch = new Map<string, RawEvent[]>();
  let inBatch = 0;
  let done = 0;
  let entities = 0;
  let lastEntity: string | null = null;
  let latest = -Infinity;
  // Rows come in entity order: a batch is written at an entity's boundary, so every entity in it is complete
  // and leaves memory (`release`); only an entity of more than four batches' events is split.
  const write = async (keep: string | null): Promise<void> => {
    await online.ingest(src.name, batch, at);
    await online.release(src.name, keep === null ? [...batch.keys()] : [...batch.keys()].filter((e) => e !== keep));
    done += inBatch;
    progress.update(done);
    batch = new Map();
    inBatch = 0;
  };
  const result = await project.offline.con.stream(sql);
  try {
    for await (const rows of result.yieldRowsJs()) {
      for (const row of rows as unknown[][]) {
        const entity = String(scalar(row[0]));
        if (entity !== lastEntity) {
          if (inBatch >= batchSize) await write(null);
          entities++;
          lastEntity = entity;
        }
        const v: Record<string, string | number | boolean | null> = {};
        sp.columns.forEach((c, i) => { v[c] = scalar(row[3 + i]); });
        const key = eventKey === undefined ? null : scalar(row[keyAt]);
        if ((row[1] as number) > latest) latest = row[1] as number;
        const ev = makeEvent(row[1] as number, row[2] === null ? null : (row[2] as number), v, key === null || typeof key === 'boolean' ? undefined : eventUid(key));
        const list = batch.get(entity);
        if (list) list.push(ev); else batch.set(entity, [ev]);
        inBatch++;
      }
      if (inBatch >= 4 * batchSize) await write(lastEntity);
    }
    if (inBatch) await write(null);
    else if (lastEntity !== null) await online.release(src.name, [lastEntity]); // after a split batch
    progress.finish(`${entities} entities`);
  } catch (e) {
    progress.abort();
    throw e;
  }
  return { name: src.name, table: src.table, events: done, entities, seconds: (performance.now() - started) / 1000, latestEvent: Number.isFinite(latest) ? isoMicros(latest) : null };
}
