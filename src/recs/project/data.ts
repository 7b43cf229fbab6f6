/**
 * A declared recommender's data out of the offline store: its interactions table (any columns, any key
 * types, an optional `where`), and the user and item attribute tables. Keys become dense ids in sorted
 * key order (so the same table gives the same ids however DuckDB scans it); a categorical column's values
 * become codes in sorted order. Every problem names the recommender, the table and the column.
 */
import { KilnError, didYouMean } from '../../core/errors.js';
import type { RecommenderSpec } from '../../config/index.js';
import type { Project } from '../../store/index.js';
import { quoteIdent as q } from '../../store/index.js';
import type { ImpressionLog } from '../impressions.js';
import { mergeAttributes, storeAttributes, type FeatureCut, type LiveFeatures } from './live.js';
import type { RecsData } from '../ranker.js';
import { checkInteractions, type EntityAttributes, type InteractionTable } from '../table.js';

/** What the model's dense ids and codes mean. */
export interface RecsKeys {
  users: string[];
  items: string[];
  /** Per categorical column, its values in code order. */
  categories: { users: Record<string, string[]>; items: Record<string, string[]> };
}

export interface LoadedRecsData {
  data: RecsData;
  keys: RecsKeys;
  /** Rows read from the interactions table (after `where`). */
  rows: number;
  /** Unit of the time column: 'seconds' for timestamps and dates, else the column's own. */
  timeUnit?: string;
  /** Feature-store attributes: what a request reads from the online store. */
  live?: { users?: LiveFeatures; items?: LiveFeatures };
}

async function columns(project: Project, rec: string, table: string, field: string): Promise<Map<string, string>> {
  const store = project.offline;
  const tables = (await store.all<{ name: string }>(`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'main'`)).map((t) => t.name);
  if (!tables.includes(table)) {
    const hint = didYouMean(table, tables);
    throw new KilnError('TABLE_NOT_FOUND', `recommender '${rec}': ${field}.table '${table}' is not in the offline store${hint ? `; did you mean '${hint}'?` : ''}`, { path: ['recommenders', rec, field, 'table'] });
  }
  const rows = await store.all<{ column_name: string; column_type: string }>(`DESCRIBE ${q(table)}`);
  return new Map(rows.map((r) => [r.column_name, r.column_type]));
}

function need(cols: Map<string, string>, rec: string, field: string, key: string, col: string, table: string): string {
  const type = cols.get(col);
  if (type !== undefined) return type;
  const hint = didYouMean(col, [...cols.keys()]);
  throw new KilnError('CONFIG_INVALID', `recommender '${rec}': ${field}.${key}: table '${table}' has no column '${col}'${hint ? `; did you mean '${hint}'?` : ''} (columns: ${[...cols.keys()].join(', ')})`, { path: ['recommenders', rec, field, key] });
}

const NUMERIC = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|REAL|DOUBLE|DECIMAL.*|BOOLEAN)$/i;
const TEMPORAL = /^(TIMESTAMP.*|DATE)$/i;

function textValue(v: unknown): string | null {
  return v === null || v === undefined ? null : String(v);
}

function numValue(v: unknown): number {
  return v === null || v === undefined ? NaN : Number(v);
}

type TableSpec = NonNullable<RecommenderSpec['users']> & { table: string; id: string };

async function entityAttributes(
  project: Project, rec: string, field: 'users' | 'items', spec: TableSpec, keys: string[],
): Promise<{ attrs: EntityAttributes; categories: Record<string, string[]> }> {
  const cols = await columns(project, rec, spec.table, field);
  need(cols, rec, field, 'id', spec.id, spec.table);
  spec.numeric.forEach((c, k) => {
    const type = need(cols, rec, field, `numeric.${k}`, c, spec.table);
    if (!NUMERIC.test(type)) throw new KilnError('CONFIG_INVALID', `recommender '${rec}': ${field}.numeric.${k}: column '${c}' of '${spec.table}' is ${type}; a numeric attribute must be a number or boolean (declare it under categorical)`, { path: ['recommenders', rec, field, 'numeric', k] });
  });
  spec.categorical.forEach((c, k) => need(cols, rec, field, `categorical.${k}`, c, spec.table));
  const select = [`CAST(${q(spec.id)} AS VARCHAR)`, ...spec.numeric.map((c) => `CAST(${q(c)} AS DOUBLE)`), ...spec.categorical.map((c) => `CAST(${q(c)} AS VARCHAR)`)];
  const reader = await project.offline.con.runAndReadAll(`SELECT ${select.join(', ')} FROM ${q(spec.table)} WHERE ${q(spec.id)} IS NOT NULL`);
  const data = reader.getColumnsJS() as unknown[][];
  const index = new Map(keys.map((k, i) => [k, i]));
  const n = keys.length;
  const numeric: Record<string, Float32Array> = Object.fromEntries(spec.numeric.map((c) => [c, new Float32Array(n).fill(NaN)]));
  const raw: Record<string, (string | null)[]> = Object.fromEntries(spec.categorical.map((c) => [c, new Array<string | null>(n).fill(null)]));
  const seen = new Uint8Array(n);
  const ids = data[0] ?? [];
  for (let r = 0; r < ids.length; r++) {
    const id = String(ids[r]);
    const e = index.get(id);
    if (e === undefined) continue;
    if (seen[e]) throw new KilnError('RECS_DATA_INVALID', `recommender '${rec}': ${field} table '${spec.table}' has two rows for ${spec.id} '${id}'; attributes need one row per ${field === 'users' ? 'user' : 'item'}`, { path: ['recommenders', rec, field, 'id'] });
    seen[e] = 1;
    spec.numeric.forEach((c, k) => { numeric[c]![e] = numValue(data[1 + k]![r]); });
    spec.categorical.forEach((c, k) => { raw[c]![e] = textValue(data[1 + spec.numeric.length + k]![r]); });
  }
  const categorical: Record<string, Int32Array> = {};
  const categories: Record<string, string[]> = {};
  for (const c of spec.categorical) {
    const values = [...new Set(raw[c]!.filter((v): v is string => v !== null))].sort();
    const code = new Map(values.map((v, i) => [v, i]));
    categorical[c] = Int32Array.from(raw[c]!, (v) => (v === null ? -1 : code.get(v)!));
    categories[c] = values;
  }
  return { attrs: { numeric, categorical }, categories };
}

/**
 * The impressions table with the interactions' ids (rows of users or items the interactions do not have
 * are left out: no feature can be computed for them) and times in the interactions' unit.
 */
async function loadImpressions(
  project: Project, rec: string, spec: NonNullable<RecommenderSpec['impressions']>, uid: Map<string, number>, iid: Map<string, number>, temporal: boolean,
): Promise<ImpressionLog> {
  const cols = await columns(project, rec, spec.table, 'impressions');
  for (const key of ['user', 'item', 'clicked', 'time', ...(spec.slate ? ['slate'] as const : [])] as const) need(cols, rec, 'impressions', key, spec[key]!, spec.table);
  const tType = cols.get(spec.time)!;
  if (temporal ? !TEMPORAL.test(tType) : !NUMERIC.test(tType)) {
    throw new KilnError('CONFIG_INVALID', `recommender '${rec}': impressions.time: column '${spec.time}' of '${spec.table}' is ${tType}; it must be ${temporal ? 'a timestamp or date' : 'a number'}, as the interactions' time is`, { path: ['recommenders', rec, 'impressions', 'time'] });
  }
  if (!NUMERIC.test(cols.get(spec.clicked)!)) throw new KilnError('CONFIG_INVALID', `recommender '${rec}': impressions.clicked: column '${spec.clicked}' of '${spec.table}' is ${cols.get(spec.clicked)}; expected a number or boolean`, { path: ['recommenders', rec, 'impressions', 'clicked'] });
  const select = [`CAST(${q(spec.user)} AS VARCHAR)`, `CAST(${q(spec.item)} AS VARCHAR)`, `CAST(${q(spec.clicked)} AS DOUBLE)`, temporal ? `CAST(epoch(${q(spec.time)}) AS DOUBLE)` : `CAST(${q(spec.time)} AS DOUBLE)`, ...(spec.slate ? [`CAST(${q(spec.slate)} AS VARCHAR)`] : [])];
  const where = [spec.user, spec.item, spec.time].map((c) => `${q(c)} IS NOT NULL`).concat(spec.where ? [`(${spec.where})`] : []);
  let reader;
  try {
    reader = await project.offline.con.runAndReadAll(`SELECT ${select.join(', ')} FROM ${q(spec.table)} WHERE ${where.join(' AND ')}`);
  } catch (e) {
    throw new KilnError('CONFIG_INVALID', `recommender '${rec}': reading impressions '${spec.table}' failed: ${(e as Error).message}`, { path: ['recommenders', rec, 'impressions'] });
  }
  const d = reader.getColumnsJS() as unknown[][];
  const users: number[] = [];
  const items: number[] = [];
  const clicked: number[] = [];
  const times: number[] = [];
  const slates: number[] = [];
  const slateIds = new Map<string, number>();
  for (let r = 0; r < reader.currentRowCount; r++) {
    const u = uid.get(String(d[0]![r]));
    const i = iid.get(String(d[1]![r]));
    if (u === undefined || i === undefined) continue;
    users.push(u);
    items.push(i);
    clicked.push(numValue(d[2]![r]) > 0 ? 1 : 0);
    times.push(numValue(d[3]![r]));
    if (spec.slate) {
      const key = String(d[4]![r]);
      let id = slateIds.get(key);
      if (id === undefined) { id = slateIds.size; slateIds.set(key, id); }
      slates.push(id);
    }
  }
  if (users.length === 0) throw new KilnError('RECS_DATA_INVALID', `recommender '${rec}': no impression in '${spec.table}' is of a user and an item the interactions have`, { path: ['recommenders', rec, 'impressions'] });
  return {
    users: Int32Array.from(users), items: Int32Array.from(items), clicked: Float32Array.from(clicked), times: Float64Array.from(times),
    ...(spec.slate ? { slates: Int32Array.from(slates) } : {}),
  };
}

/** Reads the recommender's interactions and attributes (docs/recommendations.md). */
export async function loadRecsData(project: Project, name: string, spec: RecommenderSpec): Promise<LoadedRecsData> {
  const it = spec.interactions;
  const cols = await columns(project, name, it.table, 'interactions');
  need(cols, name, 'interactions', 'user', it.user, it.table);
  need(cols, name, 'interactions', 'item', it.item, it.table);
  const select = [`CAST(${q(it.user)} AS VARCHAR)`, `CAST(${q(it.item)} AS VARCHAR)`];
  let timeUnit: string | undefined;
  if (it.time !== undefined) {
    const type = need(cols, name, 'interactions', 'time', it.time, it.table);
    if (TEMPORAL.test(type)) { select.push(`CAST(epoch(${q(it.time)}) AS DOUBLE)`); timeUnit = 'seconds'; }
    else if (NUMERIC.test(type)) { select.push(`CAST(${q(it.time)} AS DOUBLE)`); timeUnit = `the units of ${it.time}`; }
    else throw new KilnError('CONFIG_INVALID', `recommender '${name}': interactions.time: column '${it.time}' of '${it.table}' is ${type}; expected a timestamp, date or number`, { path: ['recommenders', name, 'interactions', 'time'] });
  }
  if (it.weight !== undefined) {
    const type = need(cols, name, 'interactions', 'weight', it.weight, it.table);
    if (!NUMERIC.test(type)) throw new KilnError('CONFIG_INVALID', `recommender '${name}': interactions.weight: column '${it.weight}' of '${it.table}' is ${type}; expected a number`, { path: ['recommenders', name, 'interactions', 'weight'] });
    select.push(`CAST(${q(it.weight)} AS DOUBLE)`);
  }
  const where = [`${q(it.user)} IS NOT NULL`, `${q(it.item)} IS NOT NULL`, ...(it.where ? [`(${it.where})`] : [])];
  let reader;
  try {
    reader = await project.offline.con.runAndReadAll(`SELECT ${select.join(', ')} FROM ${q(it.table)} WHERE ${where.join(' AND ')}`);
  } catch (e) {
    throw new KilnError('CONFIG_INVALID', `recommender '${name}': reading '${it.table}'${it.where ? ` where ${it.where}` : ''} failed: ${(e as Error).message}`, { path: ['recommenders', name, 'interactions', it.where ? 'where' : 'table'] });
  }
  const data = reader.getColumnsJS() as unknown[][];
  const n = reader.currentRowCount;
  if (n === 0) throw new KilnError('RECS_DATA_INVALID', `recommender '${name}': '${it.table}' has no interactions${it.where ? ` where ${it.where}` : ''}`, { path: ['recommenders', name, 'interactions'] });
  const userCol = (data[0] ?? []).map(String);
  const itemCol = (data[1] ?? []).map(String);
  const userKeys = [...new Set(userCol)].sort();
  const itemKeys = [...new Set(itemCol)].sort();
  const uid = new Map(userKeys.map((k, i) => [k, i]));
  const iid = new Map(itemKeys.map((k, i) => [k, i]));
  const train: InteractionTable = {
    nUsers: userKeys.length, nItems: itemKeys.length,
    users: Int32Array.from(userCol, (k) => uid.get(k)!), items: Int32Array.from(itemCol, (k) => iid.get(k)!),
  };
  let c = 2;
  for (const [field, col] of [['time', it.time], ['weight', it.weight]] as const) {
    if (col === undefined) continue;
    const values = Float64Array.from(data[c++] ?? [], numValue);
    const bad = values.findIndex((v) => !Number.isFinite(v) || (field === 'weight' && v < 0));
    if (bad >= 0) {
      const nulls = values.reduce((s, v) => s + (Number.isNaN(v) ? 1 : 0), 0);
      throw new KilnError('RECS_DATA_INVALID', `recommender '${name}': interactions.${field}: column '${col}' of '${it.table}' is ${values[bad]} for user '${userCol[bad]}', item '${itemCol[bad]}'${nulls ? ` (${nulls} NULL rows)` : ''}; ${field === 'time' ? 'every interaction needs a time (filter with `where`)' : 'weights must be finite and >= 0'}`, { path: ['recommenders', name, 'interactions', field] });
    }
    if (field === 'time') train.times = values;
    else train.weights = Float32Array.from(values);
  }
  const recs: RecsData = { train };
  if (spec.impressions) {
    recs.impressions = await loadImpressions(project, name, spec.impressions, uid, iid, TEMPORAL.test(cols.get(it.time ?? '') ?? ''));
  }
  const keys: RecsKeys = { users: userKeys, items: itemKeys, categories: { users: {}, items: {} } };
  const live: NonNullable<LoadedRecsData['live']> = {};
  const cuts = await featureCuts(project, spec, TEMPORAL.test(cols.get(it.time ?? '') ?? ''));
  for (const field of ['users', 'items'] as const) {
    const s = spec[field];
    if (!s) continue;
    let table: EntityAttributes | undefined;
    if (s.table !== undefined) {
      const got = await entityAttributes(project, name, field, s as TableSpec, field === 'users' ? userKeys : itemKeys);
      table = got.attrs;
      keys.categories[field] = got.categories;
    }
    let fresh: EntityAttributes[] = [];
    if (s.features !== undefined) {
      const col = field === 'users' ? it.user : it.item;
      const spineSql = `SELECT ${q(col)} AS k FROM ${q(it.table)} WHERE ${where.join(' AND ')}`;
      const got = await storeAttributes(project, name, field, s.features, spineSql, field === 'users' ? userKeys : itemKeys, cuts);
      live[field] = got.live;
      fresh = got.attrs;
    }
    const attrs = mergeAttributes(name, field, [table, fresh[0]]);
    if (field === 'users') recs.userAttributes = attrs;
    else recs.itemAttributes = attrs;
    if (fresh[1]) {
      recs.impressionAttributes ??= {};
      recs.impressionAttributes[field === 'users' ? 'userAttributes' : 'itemAttributes'] = mergeAttributes(name, field, [table, fresh[1]]);
    }
  }
  checkInteractions(train, { users: recs.userAttributes, items: recs.itemAttributes }, 'interactions');
  return { data: recs, keys, rows: n, ...(timeUnit ? { timeUnit } : {}), ...(live.users || live.items ? { live } : {}) };
}

/**
 * When feature-store values are computed for training: as of the latest interaction (events at that time
 * included) when interaction times are timestamps, else as of now; and, for ranker rows from
 * impressions, as of the first impression (strictly before it), when the generators of those rows were
 * fitted on what came before it too.
 */
async function featureCuts(project: Project, spec: RecommenderSpec, temporal: boolean): Promise<FeatureCut[]> {
  if (!spec.users?.features && !spec.items?.features) return [];
  const it = spec.interactions;
  const iso = (v: unknown): string => new Date(Number(v) * 1000).toISOString();
  if (!temporal) return [{ asOf: new Date().toISOString(), eventTimeBound: 'strict' }];
  const where = [`${q(it.user)} IS NOT NULL`, `${q(it.item)} IS NOT NULL`, ...(it.where ? [`(${it.where})`] : [])];
  const [last] = await project.offline.all<{ t: unknown }>(`SELECT max(epoch(${q(it.time!)})) AS t FROM ${q(it.table)} WHERE ${where.join(' AND ')}`);
  const cuts: FeatureCut[] = [{ asOf: iso(last!.t), eventTimeBound: 'inclusive' }];
  const im = spec.impressions;
  if (im && spec.rankerRows !== 'held-out') {
    const w = [`${q(im.user)} IS NOT NULL`, `${q(im.item)} IS NOT NULL`, `${q(im.time)} IS NOT NULL`, ...(im.where ? [`(${im.where})`] : [])];
    const [first] = await project.offline.all<{ t: unknown }>(`SELECT min(epoch(${q(im.time)})) AS t FROM ${q(im.table)} WHERE ${w.join(' AND ')}`);
    if (first?.t !== null && first?.t !== undefined) cuts.push({ asOf: iso(first.t), eventTimeBound: 'strict' });
  }
  return cuts;
}
