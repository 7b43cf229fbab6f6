import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { KilnError } from '../core/errors.js';
import { buildTrainingSet } from '../features/training/index.js';
import { scoreBatch } from '../serve/index.js';
import { MANIFEST_FEATURES, MANIFEST_FORMAT, MANIFEST_MATERIALIZED, materializeSlice, ONLINE_FORMAT, openOnlineStore, RedisOnlineStore, type MaterializationRecord } from '../online/index.js';
import { OfflineStore, quoteIdent, quoteLiteral, type Project } from '../store/index.js';
import { partFileName } from './partition.js';
import { PARTITION_COLUMN, SPINE_SNAPSHOT_TABLE } from './plan.js';
import type { BackfillManifest, BackfillSpec, PartRecord } from './types.js';

/**
 * A worker's side of one partition: its spine rows and its entities' rows of the features' sources are
 * copied from the snapshot into a private in-memory DuckDB, kiln's training-set builder computes the rows, and the part
 * is committed by renaming its temp file to part-NNNNN.parquet. A worker killed before the rename leaves
 * only a temp file (removed by the next attempt), never a partial part.
 */

export interface PartitionContext {
  /** The attempt number of this run of the job (1 = first). */
  attempt: number;
  /** True once the backfill was cancelled: the part is not committed. */
  cancelled: () => Promise<boolean>;
  progress?: (stage: string) => void;
  /** DuckDB threads of the worker's private database (default: DuckDB's, all cores). */
  threads?: number;
}

export const workerName = (): string => `${hostname()}:${process.pid}`;
const SNAP = '__kiln_backfill_snap';
const SPINE_TABLE = '__backfill_spine';

/** The project as the training-set builder sees it, with the worker's private store as its offline store. */
function withOffline(project: Project, offline: OfflineStore): Project {
  return Object.create(project, { offline: { value: offline, enumerable: true } }) as Project;
}

/** Removes the temp files that earlier attempts at this partition left behind (killed before the rename). */
export function removeStaleTemps(dir: string, partition: number): string[] {
  const prefix = `.${partFileName(partition)}.`;
  const stale = existsSync(dir) ? readdirSync(dir).filter((f) => f.startsWith(prefix)) : [];
  for (const f of stale) rmSync(join(dir, f), { force: true });
  return stale;
}

/** Computes and commits one partition; returns what was committed. INTERRUPTED (nothing committed) when the backfill was cancelled meanwhile. */
export async function runPartition(project: Project, spec: BackfillSpec, partition: number, ctx: PartitionContext): Promise<PartRecord> {
  if (!Number.isInteger(partition) || partition < 0 || partition >= spec.partitions) {
    throw new KilnError('INVALID_ARGUMENT', `partition ${partition} is not one of backfill ${spec.id}'s 0..${spec.partitions - 1}`);
  }
  const started = performance.now();
  const file = join(spec.dir, partFileName(partition));
  removeStaleTemps(spec.dir, partition);
  if (!existsSync(spec.snapshot)) throw new KilnError('FILE_NOT_FOUND', `backfill ${spec.id}: its snapshot ${spec.snapshot} is gone (was the backfill finished or its folder removed?)`, { path: [spec.snapshot] });
  const tmp = join(spec.dir, `.${partFileName(partition)}.${process.pid}.${ctx.attempt}.parquet`);
  const store = await OfflineStore.open(':memory:', ctx.threads ? { threads: ctx.threads } : {});
  try {
    ctx.progress?.('copying');
    await store.run(`ATTACH ${quoteLiteral(spec.snapshot)} AS ${SNAP} (READ_ONLY)`);
    for (const { table, partitioned } of spec.sources) {
      await store.run(partitioned
        ? `CREATE TABLE main.${quoteIdent(table)} AS SELECT * EXCLUDE (${PARTITION_COLUMN}) FROM ${SNAP}.main.${quoteIdent(table)} WHERE ${PARTITION_COLUMN} = ${partition}`
        : `CREATE TABLE main.${quoteIdent(table)} AS SELECT * FROM ${SNAP}.main.${quoteIdent(table)}`);
    }
    await store.run(`CREATE TABLE main.${SPINE_TABLE} AS SELECT * EXCLUDE (${PARTITION_COLUMN}) FROM ${SNAP}.main.${SPINE_SNAPSHOT_TABLE} WHERE ${PARTITION_COLUMN} = ${partition} ORDER BY rowid`);
    await store.run(`DETACH ${SNAP}`);
    ctx.progress?.('computing');
    if (spec.kind === 'materialize') return await materializePartition(withOffline(project, store), spec, partition, ctx, started);
    const rows = spec.kind === 'score'
      // The pinned version scores the partition's spine, its features point in time from the partition's rows: kiln score's code.
      ? (await scoreBatch(withOffline(project, store), {
        model: spec.model!, spine: SPINE_TABLE, key: spec.spine.key, time: spec.spine.timestamp, output: tmp, quiet: true, threads: 1, ...(spec.reasons ? { reasons: spec.reasons } : {}),
      })).rows
      : (await buildTrainingSet(withOffline(project, store), {
        spine: { table: SPINE_TABLE, key: spec.spine.key, timestamp: spec.spine.timestamp }, features: spec.features, out: tmp, eventTimeBound: spec.eventTimeBound,
      })).rows;
    if (await ctx.cancelled()) throw new KilnError('INTERRUPTED', `backfill ${spec.id} was cancelled; partition ${partition} was not committed`);
    ctx.progress?.('committing');
    renameSync(tmp, file);
    return { partition, file, rows, seconds: (performance.now() - started) / 1000, worker: workerName(), attempt: ctx.attempt, committedAt: new Date().toISOString() };
  } finally {
    store.close();
    rmSync(tmp, { force: true });
  }
}

/**
 * A materialisation partition: its entities' events, as of the backfill's time, into a staging prefix of
 * the Redis store (cleared first: a killed attempt's keys go), then moved to the live prefix in one
 * MULTI/EXEC (readers see each entity's old state or its new one, the partition at once), then
 * part-NNNNN.json (what was written) by rename.
 */
async function materializePartition(project: Project, spec: BackfillSpec, partition: number, ctx: PartitionContext, started: number): Promise<PartRecord> {
  const { redisUrl, prefix, asOf } = spec.online!;
  const stage = `${prefix}stage:${spec.id}:${partition}:`;
  const staging = await RedisOnlineStore.connect({ url: redisUrl, prefix: stage });
  try {
    await staging.drop();
  } finally {
    await staging.close();
  }
  const online = await openOnlineStore(project, { backend: 'redis', redisUrl, prefix: stage, features: spec.features });
  let sources: MaterializationRecord['sources'];
  try {
    sources = await materializeSlice(project, online, { asOf });
  } finally {
    await online.close();
  }
  const live = await RedisOnlineStore.connect({ url: redisUrl, prefix });
  try {
    if (await ctx.cancelled()) {
      await RedisOnlineStore.connect({ url: redisUrl, prefix: stage }).then(async (s) => { await s.drop(); await s.close(); });
      throw new KilnError('INTERRUPTED', `backfill ${spec.id} was cancelled; partition ${partition} was not committed`);
    }
    ctx.progress?.('committing');
    await live.commitStaged(stage);
    const rest = await RedisOnlineStore.connect({ url: redisUrl, prefix: stage });
    await rest.drop();
    await rest.close();
  } finally {
    await live.close();
  }
  const file = join(spec.dir, `part-${String(partition).padStart(5, '0')}.json`);
  const tmp = join(spec.dir, `.part-${String(partition).padStart(5, '0')}.json.${process.pid}.${ctx.attempt}`);
  writeFileSync(tmp, `${JSON.stringify({ partition, asOf, sources }, null, 2)}\n`);
  renameSync(tmp, file);
  const rows = sources.reduce((n, x) => n + x.events, 0);
  return { partition, file, rows, seconds: (performance.now() - started) / 1000, worker: workerName(), attempt: ctx.attempt, committedAt: new Date().toISOString() };
}

/**
 * Once every materialisation part is in: the live store's manifest records what was served and the
 * materialisation (events and entities per source summed over the parts), as `kiln online materialize` does.
 */
export async function recordPartitionedMaterialization(spec: BackfillSpec, parts: PartRecord[]): Promise<MaterializationRecord> {
  const bySource = new Map<string, { name: string; table: string; events: number; entities: number; latestEvent: string | null }>();
  for (const p of parts) {
    const body = JSON.parse(readFileSync(p.file, 'utf8')) as { sources: MaterializationRecord['sources'] };
    for (const x of body.sources) {
      const cur = bySource.get(x.name) ?? { name: x.name, table: x.table, events: 0, entities: 0, latestEvent: null };
      cur.events += x.events;
      cur.entities += x.entities;
      if (x.latestEvent !== null && (cur.latestEvent === null || x.latestEvent > cur.latestEvent)) cur.latestEvent = x.latestEvent;
      bySource.set(x.name, cur);
    }
  }
  const record: MaterializationRecord = {
    startedAt: spec.createdAt, finishedAt: new Date().toISOString(), asOf: spec.online!.asOf,
    features: Array.isArray(spec.features) ? spec.features : [spec.features], sources: [...bySource.values()],
  };
  const live = await RedisOnlineStore.connect({ url: spec.online!.redisUrl, prefix: spec.online!.prefix });
  try {
    await live.reset([], { [MANIFEST_FEATURES]: JSON.stringify(record.features), [MANIFEST_FORMAT]: ONLINE_FORMAT, [MANIFEST_MATERIALIZED]: JSON.stringify(record) });
  } finally {
    await live.close();
  }
  return record;
}

/** Writes `_manifest.json` (temp file, then rename) once every part is recorded and on disk; false if some are missing. */
export function writeManifest(spec: BackfillSpec, parts: PartRecord[]): BackfillManifest | null {
  const byPartition = new Map(parts.map((p) => [p.partition, p]));
  for (let p = 0; p < spec.partitions; p++) {
    const rec = byPartition.get(p);
    if (!rec || !existsSync(rec.file)) return null;
  }
  const sorted = [...byPartition.values()].sort((a, b) => a.partition - b.partition);
  const manifest: BackfillManifest = {
    format: 'kiln.backfill@1', id: spec.id, kind: spec.kind ?? 'training-set', ...(spec.model ? { model: spec.model } : {}), features: spec.features, spine: spec.spine, partitions: spec.partitions,
    rows: sorted.reduce((s, p) => s + p.rows, 0), parts: sorted, completedAt: new Date().toISOString(),
  };
  const tmp = join(spec.dir, `._manifest.json.${process.pid}`);
  writeFileSync(tmp, `${JSON.stringify(manifest, null, 2)}\n`);
  renameSync(tmp, join(spec.dir, '_manifest.json'));
  return manifest;
}
