import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { KilnError } from '../core/errors.js';
import { loadFeatureRegistry, resolveSelection, type SourceSpec } from '../features/index.js';
import { prepareSpine, type EventTimeBound } from '../features/training/index.js';
import { quoteIdent, quoteLiteral, timestampSql, type Project } from '../store/index.js';
import { onlineSettings, openOnlineStore } from '../online/index.js';
import { parseUtc } from '../core/time.js';
import { kindText, loadLiveVersion, modelInputs } from '../serve/index.js';
import { partitionOf } from './partition.js';
import type { BackfillSpec } from './types.js';

/**
 * Planning a backfill (the scheduler's side, before anything is enqueued): the spine is checked like
 * `kiln features build` checks it, each spine key is given its partition, and the features' source tables
 * and the partitioned spine are copied into a snapshot file in the backfill's folder. Workers read only
 * the snapshot (read-only, several processes at once), so they never wait for the project's offline store,
 * and every part is computed from the same data even if the store changes meanwhile.
 */

export interface PlanOptions {
  /** A feature set's name, or feature names. */
  features: string | string[];
  /** The spine (a materialisation has none: its entities are the sources' keys). */
  spine?: { table: string; key?: string; timestamp?: string };
  partitions: number;
  /** The folder of the parts (default <dataDir>/backfills/<id>); it must not exist or be empty. */
  out?: string;
  eventTimeBound?: EventTimeBound;
  log?: (line: string) => void;
  /** Score the spine's rows with this version instead of building its training set (features: the version's). */
  score?: { model: string; reasons?: boolean | 'all' };
  /**
   * Materialise the online store (Redis) instead: every entity of the served sources, as of `asOf`
   * (default now); no spine (the entities are the sources' keys). Redis URL and prefix as `kiln online`.
   */
  materialize?: { asOf?: string; redisUrl?: string; prefix?: string };
}

export const MAX_PARTITIONS = 10_000;
export const SPINE_SNAPSHOT_TABLE = '__kiln_backfill_spine';
export const PARTITION_COLUMN = '__kiln_partition';
const SNAP = '__kiln_backfill_snap';

/** A new backfill id: bf-<UTC time>-<random>. */
export function newBackfillId(now = new Date()): string {
  return `bf-${now.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '')}-${randomBytes(3).toString('hex')}`;
}

export function checkPartitions(n: unknown): number {
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_PARTITIONS) {
    throw new KilnError('USAGE', `--partitions ${String(n)}: expected a whole number from 1 to ${MAX_PARTITIONS}`, { path: ['partitions'] });
  }
  return n;
}

/**
 * A materialisation: the features the online store serves (or `features`), the Redis store it writes,
 * and a spine of every entity key of their sources, as of `asOf`, written to a table of the offline store
 * for the planner (dropped after planning).
 */
async function materializePlan(project: Project, m: NonNullable<PlanOptions['materialize']>, features: string | string[] | undefined): Promise<{ features: string[]; spine: { table: string; key: string; timestamp: string }; online: NonNullable<BackfillSpec['online']> }> {
  const asOf = new Date(m.asOf === undefined ? Date.now() : parseUtc(m.asOf, '--as-of') / 1000).toISOString();
  const online = await openOnlineStore(project, { backend: 'redis', ...(m.redisUrl ? { redisUrl: m.redisUrl } : {}), ...(m.prefix ? { prefix: m.prefix } : {}), ...(features !== undefined && (Array.isArray(features) ? features.length : features) ? { features } : {}) });
  const settings = onlineSettings(project, { backend: 'redis', ...(m.redisUrl ? { redisUrl: m.redisUrl } : {}), ...(m.prefix ? { prefix: m.prefix } : {}) });
  let selection: string[];
  let sources: { table: string; key: string }[];
  try {
    selection = [...online.plan.selection];
    sources = [...online.plan.sources.values()].map((sp) => ({ table: sp.source.table, key: sp.source.key }));
  } finally {
    await online.close();
  }
  if (!sources.length) throw new KilnError('USAGE', 'the online store serves no feature with a source to materialise', { path: ['features'] });
  const entityKey = '__kiln_entity';
  const table = `__kiln_materialize_spine_${randomBytes(4).toString('hex')}`;
  const union = sources.map((x) => `SELECT DISTINCT ${quoteIdent(x.key)} AS ${entityKey} FROM ${quoteIdent(x.table)} WHERE ${quoteIdent(x.key)} IS NOT NULL`).join(' UNION ');
  await project.offline.run(`CREATE TABLE ${quoteIdent(table)} AS SELECT DISTINCT ${entityKey}, ${timestampSql(asOf)} AS as_of FROM (${union}) ORDER BY 1`);
  return { features: selection, spine: { table, key: entityKey, timestamp: 'as_of' }, online: { redisUrl: settings.redisUrl, prefix: settings.prefix, asOf } };
}

/** A scoring backfill: the version pinned (name@version) and the features that make its inputs. */
function scorePlan(project: Project, ref: string): { features: string[]; model: string } {
  const live = loadLiveVersion(project, ref);
  if (live.kind !== 'gbdt') throw new KilnError('USAGE', `${live.ref} is ${kindText(live)}: a scoring backfill scores GBDT versions, as kiln score does`, { path: ['model'] });
  const { owners, columnInputs } = modelInputs(project, live);
  if (owners.length === 0) throw new KilnError('USAGE', `${live.ref} reads no feature of the project's definitions (only spine columns: ${columnInputs.join(', ')}); score it with kiln score, which needs no partitions by entity`, { path: ['model'] });
  return { features: owners, model: `${live.name}@${live.version}` };
}

/** Checks the request, writes the snapshot and backfill.json; returns the spec to enqueue. */
export async function planBackfill(project: Project, opts: PlanOptions): Promise<BackfillSpec> {
  const partitions = checkPartitions(opts.partitions);
  if (opts.score) { const plan = scorePlan(project, opts.score.model); opts = { ...opts, features: plan.features, score: { ...opts.score, model: plan.model } }; }
  let online: BackfillSpec['online'];
  let dropSpine: string | null = null;
  if (opts.materialize) {
    const m = await materializePlan(project, opts.materialize, opts.features);
    online = m.online;
    dropSpine = m.spine.table;
    opts = { ...opts, features: m.features, spine: m.spine, eventTimeBound: 'strict' };
  }
  try {
    if (!opts.spine) throw new KilnError('USAGE', '--spine: a training-set or scoring backfill needs a spine table', { path: ['spine'] });
    return await planPartitions(project, opts as PlanOptions & { spine: NonNullable<PlanOptions['spine']> }, partitions, online);
  } finally {
    if (dropSpine) { await project.offline.dropIfExists(dropSpine).catch(() => undefined); project.releaseOffline(); }
  }
}

async function planPartitions(project: Project, opts: PlanOptions & { spine: NonNullable<PlanOptions['spine']> }, partitions: number, online: BackfillSpec['online']): Promise<BackfillSpec> {
  const bound = opts.eventTimeBound ?? 'strict';
  if (bound !== 'strict' && bound !== 'inclusive') throw new KilnError('USAGE', `--event-time-bound ${String(bound)}: expected 'strict' or 'inclusive'`, { path: ['eventTimeBound'] });
  const registry = loadFeatureRegistry(project.config.features);
  const { features, selected } = resolveSelection(registry, opts.features);
  const entities = [...new Set(features.map((f) => f.entity.name))];
  if (entities.length !== 1) throw new KilnError('USAGE', `--features: the selected features describe several entities (${entities.join(', ')}); a training set reads one entity per row`, { path: ['features'] });
  const sourceSpecs = new Map(features.flatMap((f) => (f.source ? [[f.source.name, f.source] as const] : [])));
  const keysOf = new Map<string, Set<string>>();
  for (const s of sourceSpecs.values()) keysOf.set(s.table, (keysOf.get(s.table) ?? new Set()).add(s.key));

  const id = newBackfillId();
  const dir = resolve(opts.out ?? join(project.paths.dataDir, 'backfills', id));
  if (existsSync(dir) && readdirSync(dir).length > 0) throw new KilnError('USAGE', `--out ${dir}: the folder is not empty; a backfill writes its parts into a new or empty folder`, { path: ['out'] });
  const created = !existsSync(dir);
  mkdirSync(dir, { recursive: true });
  try {
    return await snapshotAndSpec(project, opts, { id, dir, partitions, bound, features, selected, sourceSpecs, keysOf, online });
  } catch (e) {
    if (created) rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

interface Resolved {
  id: string; dir: string; partitions: number; bound: EventTimeBound; online: BackfillSpec['online'];
  features: ReturnType<typeof resolveSelection>['features']; selected: Set<string>;
  sourceSpecs: Map<string, SourceSpec>; keysOf: Map<string, Set<string>>;
}

async function snapshotAndSpec(project: Project, opts: PlanOptions & { spine: NonNullable<PlanOptions['spine']> }, r: Resolved): Promise<BackfillSpec> {
  const { id, dir, partitions, bound, features, selected, sourceSpecs, keysOf } = r;

  const store = project.offline;
  const reserved = new Set(features.filter((f) => selected.has(f.name)).flatMap((f) => f.outputs.map((o) => o.column)));
  const spine = await prepareSpine(project, { table: opts.spine.table, ...(opts.spine.key ? { key: opts.spine.key } : {}), ...(opts.spine.timestamp ? { timestamp: opts.spine.timestamp } : {}) },
    { entity: features[0]!.entity, sources: [...sourceSpecs.values()], reserved, strict: bound === 'strict' });
  const keyColumn = spine.keyColumn;
  const timeColumn = spine.timeColumn;
  await store.dropIfExists(spine.table);

  const snapshot = join(dir, 'snapshot.duckdb');
  const building = join(dir, `.snapshot.${process.pid}.duckdb`);
  const partsTable = store.stagingName('backfill_parts');
  let attached = false;
  try {
    opts.log?.(`planning backfill ${id}: ${partitions} partitions of spine '${opts.spine.table}' by ${keyColumn}`);
    const keys = await store.all<{ k: string }>(`SELECT DISTINCT CAST(${quoteIdent(keyColumn)} AS VARCHAR) AS k FROM ${quoteIdent(opts.spine.table)} WHERE ${quoteIdent(keyColumn)} IS NOT NULL`);
    await store.run(`CREATE TEMP TABLE ${quoteIdent(partsTable)} (k VARCHAR, p INTEGER)`);
    for (let i = 0; i < keys.length; i += 2000) {
      const values = keys.slice(i, i + 2000).map((r) => `(${quoteLiteral(r.k)}, ${partitionOf(r.k, partitions)})`).join(', ');
      await store.run(`INSERT INTO ${quoteIdent(partsTable)} VALUES ${values}`);
    }
    rmSync(building, { force: true });
    await store.run(`ATTACH ${quoteLiteral(building)} AS ${SNAP}`);
    attached = true;
    // A source keyed by the entity (one key column, of the spine key's type) is split like the spine:
    // every feature of a training set reads only its own entity's rows. Anything else is copied whole.
    const types = new Map((await store.all<{ t: string; c: string; type: string }>(`SELECT table_name AS t, column_name AS c, data_type AS type FROM duckdb_columns() WHERE schema_name = 'main'`)).map((r) => [`${r.t}.${r.c}`, r.type]));
    const keyType = types.get(`${opts.spine.table}.${keyColumn}`);
    const sources: BackfillSpec['sources'] = [];
    for (const [t, keySet] of [...keysOf].sort(([a], [b]) => a.localeCompare(b))) {
      const key = keySet.size === 1 ? [...keySet][0]! : null;
      const partitioned = key !== null && keyType !== undefined && types.get(`${t}.${key}`) === keyType;
      await store.run(partitioned
        ? `CREATE TABLE ${SNAP}.main.${quoteIdent(t)} AS SELECT s.*, p.p AS ${PARTITION_COLUMN} FROM main.${quoteIdent(t)} s JOIN ${quoteIdent(partsTable)} p ON CAST(s.${quoteIdent(key)} AS VARCHAR) = p.k`
        : `CREATE TABLE ${SNAP}.main.${quoteIdent(t)} AS SELECT * FROM main.${quoteIdent(t)}`);
      sources.push({ table: t, partitioned });
    }
    await store.run(`CREATE TABLE ${SNAP}.main.${SPINE_SNAPSHOT_TABLE} AS SELECT s.*, p.p AS ${PARTITION_COLUMN} FROM main.${quoteIdent(opts.spine.table)} s `
      + `JOIN ${quoteIdent(partsTable)} p ON CAST(s.${quoteIdent(keyColumn)} AS VARCHAR) = p.k ORDER BY s.rowid`);
    const counts = await store.all<{ p: number; n: number }>(`SELECT ${PARTITION_COLUMN} AS p, count(*)::BIGINT AS n FROM ${SNAP}.main.${SPINE_SNAPSHOT_TABLE} GROUP BY 1`);
    await store.run(`DETACH ${SNAP}`);
    attached = false;
    renameSync(building, snapshot);
    const plannedRows = Array.from({ length: partitions }, () => 0);
    for (const c of counts) plannedRows[c.p] = Number(c.n);
    const spec: BackfillSpec = {
      id, kind: r.online ? 'materialize' : opts.score ? 'score' : 'training-set', ...(r.online ? { online: r.online } : {}), ...(opts.score ? { model: opts.score.model, ...(opts.score.reasons ? { reasons: opts.score.reasons } : {}) } : {}), features: opts.features, spine: { table: opts.spine.table, key: keyColumn, timestamp: timeColumn }, partitions, dir, snapshot,
      sources, eventTimeBound: bound, project: project.paths.root, createdAt: new Date().toISOString(), plannedRows,
    };
    const tmp = join(dir, `.backfill.json.${process.pid}`);
    writeFileSync(tmp, `${JSON.stringify(spec, null, 2)}\n`);
    renameSync(tmp, join(dir, 'backfill.json'));
    opts.log?.(`planned backfill ${id}: ${plannedRows.reduce((a, b) => a + b, 0)} spine rows, ${keys.length} keys, snapshot of ${sources.length} source table(s) (${sources.filter((x) => x.partitioned).length} split by entity) in ${snapshot}`);
    return spec;
  } finally {
    if (attached) await store.run(`DETACH ${SNAP}`).catch(() => undefined);
    await store.dropIfExists(partsTable).catch(() => undefined);
    rmSync(building, { force: true });
    rmSync(`${building}.wal`, { force: true });
    project.releaseOffline();
  }
}
