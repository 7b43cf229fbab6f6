import { KilnError } from '../core/errors.js';
import type { ModelSpec } from '../config/index.js';
import { buildTrainingSet, type TrainingSetSummary } from '../features/training/index.js';
import { quoteIdent, tableChecksum, type Project } from '../store/index.js';

/** One model input column as the engine sees it. */
export interface InputColumn {
  name: string;
  /** The feature the column comes from (a bucketed feature has several columns). */
  feature: string;
  version: string;
  /** DuckDB type of the column in the training set. */
  sqlType: string;
  kind: 'numeric' | 'categorical';
  /** Category dictionary of a categorical column: code = index. */
  categories?: string[];
}

export interface Split {
  name: 'train' | 'valid' | 'test';
  rows: number;
  positives: number;
  features: Float64Array[];
  label: Float64Array;
  /** Spine time of each row, epoch ms (for month-by-month metrics). */
  timeMs: Float64Array;
  /** Slice columns and the fairness attribute, as text, by name. */
  extra: Record<string, (string | null)[]>;
}

export interface ModelDataset {
  table: string;
  summary: TrainingSetSummary;
  inputs: InputColumn[];
  /** Columns left out of the model inputs, and why (e.g. a sequence feature a tree cannot take). */
  skipped: { column: string; reason: string }[];
  splits: Record<'train' | 'valid' | 'test', Split>;
  /** Rows dropped because their label was not yet known when it would have been needed. */
  unlabelled: number;
  fingerprint: { rows: number; from: string | null; to: string | null; checksum: string };
}

const NUMERIC = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|FLOAT|DOUBLE|DECIMAL.*|BOOLEAN)$/;
const CATEGORICAL = /^(VARCHAR|ENUM.*)$/;

/**
 * Builds the model's training set through the feature store (point in time at each spine row) and
 * loads it as column arrays, split out of time by spine time: train [trainFrom, validFrom), valid
 * [validFrom, testFrom), test [testFrom, testTo). Rows whose label is not known yet (NULL: the outcome
 * window has not closed) are left out and counted.
 */
export async function loadModelDataset(project: Project, modelName: string, spec: ModelSpec, featureNames: string[], extraFeatures: string[]): Promise<ModelDataset> {
  const table = `training_${modelName.replace(/[^A-Za-z0-9_]/g, '_')}`;
  const summary = await buildTrainingSet(project, {
    spine: { table: spec.spine.table, timestamp: spec.spine.timestamp, ...(spec.spine.key ? { key: spec.spine.key } : {}) },
    features: [...featureNames, ...extraFeatures],
    table,
  });
  const store = project.offline;
  const described = await store.all<{ column_name: string; column_type: string }>(`DESCRIBE ${quoteIdent(table)}`);
  const spineCols = new Set((await store.all<{ column_name: string }>(`DESCRIBE ${quoteIdent(spec.spine.table)}`)).map((c) => c.column_name));
  const versionOf = new Map(summary.features.map((f) => [f.name, f.version]));
  const extraSet = new Set(extraFeatures);
  const inputs: InputColumn[] = [];
  const skipped: ModelDataset['skipped'] = [];
  for (const c of described) {
    if (spineCols.has(c.column_name)) continue;
    const feature = ownerFeature(c.column_name, versionOf);
    if (extraSet.has(feature)) continue;
    const base = { name: c.column_name, feature, version: versionOf.get(feature) ?? '', sqlType: c.column_type };
    if (NUMERIC.test(c.column_type)) inputs.push({ ...base, kind: 'numeric' });
    else if (CATEGORICAL.test(c.column_type)) inputs.push({ ...base, kind: 'categorical', categories: [] });
    else skipped.push({ column: c.column_name, reason: `type ${c.column_type} is not a tree input (sequences feed neural encoders)` });
  }
  if (inputs.length === 0) throw new KilnError('INVALID_ARGUMENT', `model '${modelName}': none of the selected features is a scalar a tree can use`);
  for (const col of inputs.filter((i) => i.kind === 'categorical')) {
    const rows = await store.all<{ v: string }>(`SELECT DISTINCT ${quoteIdent(col.name)}::VARCHAR AS v FROM ${quoteIdent(table)} WHERE ${quoteIdent(col.name)} IS NOT NULL ORDER BY 1`);
    col.categories = rows.map((r) => r.v);
  }
  const ts = quoteIdent(spec.spine.timestamp);
  const label = quoteIdent(spec.label.column);
  const { trainFrom, validFrom, testFrom, testTo } = spec.split;
  const unlabelled = (await store.all<{ n: number }>(
    `SELECT count(*)::BIGINT AS n FROM ${quoteIdent(table)} WHERE ${ts} < TIMESTAMP '${testTo}' ${trainFrom ? `AND ${ts} >= TIMESTAMP '${trainFrom}'` : ''} AND ${label} IS NULL`,
  ))[0]!.n;
  const windows = {
    train: `${trainFrom ? `${ts} >= TIMESTAMP '${trainFrom}' AND ` : ''}${ts} < TIMESTAMP '${validFrom}'`,
    valid: `${ts} >= TIMESTAMP '${validFrom}' AND ${ts} < TIMESTAMP '${testFrom}'`,
    test: `${ts} >= TIMESTAMP '${testFrom}' AND ${ts} < TIMESTAMP '${testTo}'`,
  };
  const extraCols = [...new Set([...spec.slices, ...extraFeatures])];
  for (const e of extraCols) {
    if (!described.some((c) => c.column_name === e)) {
      throw new KilnError('INVALID_ARGUMENT', `model '${modelName}': slice or fairness column '${e}' is neither a spine column of '${spec.spine.table}' nor a selected feature`);
    }
  }
  const splits = {} as ModelDataset['splits'];
  for (const name of ['train', 'valid', 'test'] as const) {
    splits[name] = await loadSplit(project, table, name, windows[name], label, ts, inputs, extraCols);
  }
  const range = (await store.all<{ lo: string | null; hi: string | null }>(`SELECT min(${ts})::VARCHAR AS lo, max(${ts})::VARCHAR AS hi FROM ${quoteIdent(table)}`))[0]!;
  return {
    table, summary, inputs, skipped, splits, unlabelled,
    fingerprint: { rows: summary.rows, from: range.lo, to: range.hi, checksum: await tableChecksum(store, table) },
  };
}

/** The feature a training-set column belongs to: itself, or the bucketed feature `name__bucket`. */
function ownerFeature(column: string, versions: Map<string, string>): string {
  if (versions.has(column)) return column;
  const i = column.indexOf('__');
  return i > 0 && versions.has(column.slice(0, i)) ? column.slice(0, i) : column;
}

async function loadSplit(project: Project, table: string, name: Split['name'], where: string, label: string, ts: string, inputs: InputColumn[], extra: string[]): Promise<Split> {
  const cols = inputs.map((c) => (c.kind === 'categorical' ? `${quoteIdent(c.name)}::VARCHAR` : `${quoteIdent(c.name)}::DOUBLE`) + ` AS ${quoteIdent(c.name)}`);
  const sql = `SELECT ${label}::INT AS __label, epoch_ms(${ts})::DOUBLE AS __t, ${[...cols, ...extra.map((e) => `${quoteIdent(e)}::VARCHAR AS ${quoteIdent(`__x_${e}`)}`)].join(', ')}
    FROM ${quoteIdent(table)} WHERE ${where} AND ${label} IS NOT NULL ORDER BY ${ts}, rowid`;
  const reader = await project.offline.con.runAndReadAll(sql);
  const columns = reader.getColumnsJS() as unknown[][];
  const n = reader.currentRowCount;
  const labelArr = Float64Array.from(columns[0]!, (v) => Number(v));
  const timeMs = Float64Array.from(columns[1]!, (v) => Number(v));
  const features = inputs.map((c, j) => {
    const raw = columns[2 + j]!;
    if (c.kind === 'numeric') return Float64Array.from(raw, (v) => (v === null || v === undefined ? NaN : Number(v)));
    const codes = new Map(c.categories!.map((v, k) => [v, k]));
    return Float64Array.from(raw, (v) => (v === null || v === undefined ? NaN : codes.get(String(v)) ?? NaN));
  });
  const extraOut: Record<string, (string | null)[]> = {};
  extra.forEach((e, k) => { extraOut[e] = (columns[2 + inputs.length + k] ?? []).map((v) => (v === null || v === undefined ? null : String(v))); });
  let positives = 0;
  for (let i = 0; i < n; i++) positives += labelArr[i]! === 1 ? 1 : 0;
  return { name, rows: n, positives, features, label: labelArr, timeMs, extra: extraOut };
}
