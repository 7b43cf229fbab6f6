/**
 * User and item features of the feature store (`users: { features: [...] }`, `items: { features }`):
 * at training, point-in-time from the offline store (a training set whose spine is every user or item
 * of the interactions at the cut); at request time, the same columns from the online store as of now,
 * so the ranker sees what the user and the candidates look like at the moment of the request.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KilnError } from '../../core/errors.js';
import type { RecommenderSpec } from '../../config/index.js';
import type { Project } from '../../store/index.js';
import { quoteIdent as q } from '../../store/index.js';
import { loadFeatureRegistry, resolveSelection } from '../../features/index.js';
import type { EntityAttributes } from '../table.js';

/** What a version records of its feature-store attributes, to read the same columns at request time. */
export interface LiveFeatures {
  /** The selection as declared (a set's name or feature names). */
  features: string[];
  entity: string;
  /** The entity's key column (the online row's key). */
  key: string;
  /** Output columns read as numbers, and as categories (codes in `categories` order). */
  numeric: string[];
  categorical: string[];
  categories: Record<string, string[]>;
  /** The time the training values are for (ISO 8601, UTC) and whether events at that time count. */
  asOf: string;
  eventTimeBound: 'strict' | 'inclusive';
}

/** One cut of the training data: the time feature values are computed for. */
export interface FeatureCut { asOf: string; eventTimeBound: 'strict' | 'inclusive' }

const NUMERIC_TYPES = new Set(['integer', 'bigint', 'double', 'boolean']);

function fail(rec: string, field: string, message: string): KilnError {
  return new KilnError('CONFIG_INVALID', `recommender '${rec}': ${field}.features: ${message}`, { path: ['recommenders', rec, field, 'features'] });
}

/** The declared selection resolved: its entity and output columns (numeric or categorical); checked, nothing read. */
export function resolveLive(project: Project, rec: string, field: 'users' | 'items', selection: string | string[]): Omit<LiveFeatures, 'categories' | 'asOf' | 'eventTimeBound'> & { sources: { table: string; key: string }[] } {
  const names = typeof selection === 'string' ? [selection] : selection;
  let resolved;
  try {
    resolved = resolveSelection(loadFeatureRegistry(project.config.features ?? []), names);
  } catch (e) {
    if (e instanceof KilnError) throw fail(rec, field, e.message);
    throw e;
  }
  const { features, selected } = resolved;
  const entities = [...new Set(features.map((f) => f.entity.name))];
  if (entities.length !== 1) throw fail(rec, field, `the features describe several entities (${entities.join(', ')}); the ${field} are one entity: list features of one`);
  const numeric: string[] = [];
  const categorical: string[] = [];
  for (const f of features) {
    if (!selected.has(f.name)) continue;
    if (f.outputKind === 'list') throw fail(rec, field, `'${f.name}' is a sequence (lastK); the ranker reads one value per feature (a sequence model reads sequences: generators: [{ kind: 'sequence' }])`);
    if (f.outputKind === 'value' && (f.valueType === 'timestamp' || f.valueType === 'date')) throw fail(rec, field, `'${f.name}' is a ${f.valueType}; the ranker reads numbers and categories (timeSinceLast gives the time since an event as a number)`);
    const isNumber = f.outputKind === 'number' || (f.valueType !== null && NUMERIC_TYPES.has(f.valueType));
    for (const o of f.outputs) (isNumber ? numeric : categorical).push(o.column);
  }
  const sources = [...new Map(features.flatMap((f) => (f.source ? [[f.source.name, { table: f.source.table, key: f.source.key }] as const] : []))).values()];
  return { features: names, entity: entities[0]!, key: features[0]!.entity.key, numeric, categorical, sources };
}

/** Features keyed by another entity than the users (or items) would read nothing: an error when no key of the interactions is a key of any of their sources. */
async function checkKeysMeet(project: Project, rec: string, field: 'users' | 'items', entity: string, sources: { table: string; key: string }[], spineSql: string): Promise<void> {
  if (sources.length === 0) return;
  const hits = await Promise.all(sources.map(async (s) => {
    const [row] = await project.offline.all<{ n: unknown }>(`SELECT count(*) AS n FROM (SELECT DISTINCT CAST(k AS VARCHAR) AS k FROM (${spineSql})) WHERE k IN (SELECT CAST(${q(s.key)} AS VARCHAR) FROM ${q(s.table)})`);
    return Number(row?.n ?? 0);
  }));
  if (hits.every((n) => n === 0)) {
    throw fail(rec, field, `no ${field === 'users' ? 'user' : 'item'} of the interactions is a key of ${sources.map((s) => `${s.table}.${s.key}`).join(' or ')} (entity '${entity}'); the features must be of the ${field === 'users' ? "interactions' user" : "interactions' item"} entity`);
  }
}

function numberOf(v: unknown): number {
  if (v === null || v === undefined) return NaN;
  if (typeof v === 'boolean') return v ? 1 : 0;
  const n = Number(v);
  return Number.isFinite(n) ? n : NaN;
}

/**
 * The features' values for every key at each cut, from the offline store (kiln's point-in-time training
 * set). `spineSql` selects the distinct keys (in the column types the feature sources use). Keys without
 * events get the values of an entity without events, as the online store gives them.
 */
export async function storeAttributes(
  project: Project, rec: string, field: 'users' | 'items', selection: string | string[], spineSql: string, keys: string[], cuts: FeatureCut[],
): Promise<{ live: LiveFeatures; attrs: EntityAttributes[] }> {
  const { sources, ...r } = resolveLive(project, rec, field, selection);
  await checkKeysMeet(project, rec, field, r.entity, sources, spineSql);
  const { buildTrainingSet } = await import('../../features/training/index.js');
  const index = new Map(keys.map((k, i) => [k, i]));
  const n = keys.length;
  const dir = mkdtempSync(join(tmpdir(), 'kiln-recs-features-'));
  const raws: { numeric: Record<string, Float32Array>; text: Record<string, (string | null)[]> }[] = [];
  try {
    for (const [c, cut] of cuts.entries()) {
      const spine = join(dir, `spine-${c}.parquet`);
      const out = join(dir, `set-${c}.parquet`);
      const at = `CAST(${`'${cut.asOf.replace(/'/g, "''")}'`} AS TIMESTAMPTZ)::TIMESTAMP`;
      await project.offline.run(`COPY (SELECT DISTINCT k AS ${q(r.key)}, ${at} AS __recs_as_of FROM (${spineSql}) WHERE k IS NOT NULL) TO '${spine.replace(/'/g, "''")}' (FORMAT parquet)`);
      try {
        await buildTrainingSet(project, { spine: { file: spine, key: r.key, timestamp: '__recs_as_of' }, features: r.features, out, eventTimeBound: cut.eventTimeBound });
      } catch (e) {
        if (e instanceof KilnError) throw new KilnError(e.code, `recommender '${rec}': ${field}.features: ${e.message}`, { path: ['recommenders', rec, field, 'features'] });
        throw e;
      }
      const cols = [...r.numeric, ...r.categorical];
      const reader = await project.offline.con.runAndReadAll(`SELECT CAST(${q(r.key)} AS VARCHAR), ${cols.map((col) => `${q(col)}`).join(', ')} FROM read_parquet('${out.replace(/'/g, "''")}')`);
      const data = reader.getColumnsJS() as unknown[][];
      const numeric = Object.fromEntries(r.numeric.map((col) => [col, new Float32Array(n).fill(NaN)]));
      const text = Object.fromEntries(r.categorical.map((col) => [col, new Array<string | null>(n).fill(null)]));
      const ids = data[0] ?? [];
      for (let row = 0; row < ids.length; row++) {
        const e = index.get(String(ids[row]));
        if (e === undefined) continue;
        r.numeric.forEach((col, j) => { numeric[col]![e] = numberOf(data[1 + j]![row]); });
        r.categorical.forEach((col, j) => { const v = data[1 + r.numeric.length + j]![row]; text[col]![e] = v === null || v === undefined ? null : String(v); });
      }
      raws.push({ numeric, text });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const categories: Record<string, string[]> = {};
  for (const col of r.categorical) {
    const values = new Set<string>();
    for (const raw of raws) for (const v of raw.text[col]!) if (v !== null) values.add(v);
    categories[col] = [...values].sort();
  }
  const attrs = raws.map((raw): EntityAttributes => ({
    numeric: raw.numeric,
    categorical: Object.fromEntries(r.categorical.map((col) => {
      const code = new Map(categories[col]!.map((v, i) => [v, i]));
      return [col, Int32Array.from(raw.text[col]!, (v) => (v === null ? -1 : code.get(v)!))];
    })),
  }));
  return { live: { ...r, categories, asOf: cuts[0]!.asOf, eventTimeBound: cuts[0]!.eventTimeBound }, attrs };
}

/** Reads online rows into the ranker's values: numbers (NaN = missing), category codes (-1 = missing or a value training never saw). */
export class LiveReader {
  private readonly codes: Map<string, number>[];

  constructor(readonly live: LiveFeatures) {
    this.codes = live.categorical.map((col) => new Map(live.categories[col]!.map((v, i) => [v, i])));
  }

  /** Column `col` of each row, into a fresh array per column. */
  read(rows: readonly Record<string, unknown>[]): { numeric: Record<string, Float32Array>; categorical: Record<string, Int32Array> } {
    const numeric: Record<string, Float32Array> = {};
    const categorical: Record<string, Int32Array> = {};
    for (const col of this.live.numeric) numeric[col] = Float32Array.from(rows, (r) => numberOf(r[col]));
    this.live.categorical.forEach((col, j) => {
      const codes = this.codes[j]!;
      categorical[col] = Int32Array.from(rows, (r) => { const v = r[col]; return v === null || v === undefined ? -1 : codes.get(String(v)) ?? -1; });
    });
    return { numeric, categorical };
  }
}

/** Merges attribute sets (table columns, feature-store columns); a name in both is an error naming it. */
export function mergeAttributes(rec: string, field: 'users' | 'items', parts: (EntityAttributes | undefined)[]): EntityAttributes | undefined {
  const present = parts.filter((p): p is EntityAttributes => p !== undefined);
  if (present.length === 0) return undefined;
  const numeric: Record<string, Float32Array> = {};
  const categorical: Record<string, Int32Array> = {};
  for (const p of present) {
    for (const [name, col] of [...Object.entries(p.numeric ?? {}), ...Object.entries(p.categorical ?? {})]) {
      if (name in numeric || name in categorical) throw new KilnError('CONFIG_INVALID', `recommender '${rec}': ${field}: '${name}' is both a column of the ${field} table and a feature-store feature; rename one`, { path: ['recommenders', rec, field] });
      if (col instanceof Float32Array) numeric[name] = col;
      else categorical[name] = col;
    }
  }
  return { numeric, categorical };
}

export type EntitySpec = NonNullable<RecommenderSpec['users']>;
