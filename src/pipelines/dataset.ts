import { KilnError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { isOutOfTime, type ModelSpec } from '../config/index.js';
import { buildTrainingSet, coverageWarnings, sourceCoverage, type SourceCoverage, type TrainingSetSummary } from '../features/training/index.js';
import { quoteIdent, quoteLiteral, tableChecksum, type Project } from '../store/index.js';
import type { CheckedSpec } from './checks.js';

/** One model input column as the engine sees it. */
export interface InputColumn {
  name: string;
  /** The feature the column comes from (a bucketed feature has several columns); a spine column is its own. */
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
  /** Spine time of each row, epoch ms (for month-by-month metrics); null for a spine without time. */
  timeMs: Float64Array | null;
  /** Slice columns and the fairness attribute, as text, by name. */
  extra: Record<string, (string | null)[]>;
  /** Sequence columns (DatasetOptions.sequences), each row's value as its SQL gives it. */
  sequences: Record<string, unknown[]>;
  /** Raw columns (DatasetOptions.raw), each row's value as its SQL gives it. */
  raw: Record<string, unknown[]>;
  /** Extra label columns (DatasetOptions.labels): 0/1, NaN where unknown. */
  labels: Record<string, Float64Array>;
}

export interface ModelDataset {
  table: string;
  summary: TrainingSetSummary;
  inputs: InputColumn[];
  /** Columns left out of the model inputs, and why (e.g. a sequence feature a tree cannot take). */
  skipped: { column: string; reason: string }[];
  splits: Record<'train' | 'valid' | 'test', Split>;
  /** How the rows were split, in words: the windows, 'random split, seed 7', or the split column. */
  splitText: string;
  /** Rows dropped because their label was not yet known when it would have been needed. */
  unlabelled: number;
  fingerprint: { rows: number; from: string | null; to: string | null; checksum: string };
  /** Rows outside each feature source's data, and a warning line per source that misses many. */
  coverage: SourceCoverage[];
  warnings: string[];
}

const NUMERIC = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|FLOAT|DOUBLE|DECIMAL.*|BOOLEAN)$/;
const CATEGORICAL = /^(VARCHAR|ENUM.*)$/;
const SPLITS = ['train', 'valid', 'test'] as const;

/** The split in words, for logs, reports and the model card. */
export function describeSplit(spec: ModelSpec): string {
  const s = spec.split;
  if (isOutOfTime(s)) return `out of time: train ${s.trainFrom ?? '(start)'} .. ${s.validFrom}, validation ${s.validFrom} .. ${s.testFrom}, test ${s.testFrom} .. ${s.testTo}`;
  if ('random' in s) return `random split, seed ${s.random.seed} (validation ${(s.random.valid * 100).toFixed(0)}%, test ${(s.random.test * 100).toFixed(0)}%)`;
  return `declared split: column '${s.column}' (train / valid / test)`;
}

/**
 * Builds the model's training set and loads it as column arrays. With `features`, through the feature
 * store (point in time at each spine row); with `columns` only, the spine table's own columns. Rows are
 * split out of time by spine time (train [trainFrom, validFrom), valid [validFrom, testFrom), test
 * [testFrom, testTo)), at random with a seed, or by a declared column. Rows whose label is not known yet
 * (NULL: the outcome window has not closed) are left out and counted.
 */
export interface DatasetOptions {
  /**
   * Build the set as it could have been built at this time (ISO, UTC): only spine rows before it, and a
   * label only where it was known by then (label.availableAt at or before it; without availableAt the
   * label counts as known at the spine time). The continuous-learning loop and its backtest train this way.
   */
  readonly asOf?: string;
  /** Feature definitions to build with instead of the config's (feature discovery adds its candidates). */
  readonly definitions?: readonly unknown[];
  /**
   * Sequence features to build and read for a neural encoder (never tree inputs): the feature, and the
   * SQL that reads its column (nn's sequenceSql). A model may then have no scalar input at all.
   */
  readonly sequences?: readonly { feature: string; sql: string }[];
  /** More values per row, read as their SQL gives them (e.g. the next event's category). */
  readonly raw?: readonly { name: string; sql: string }[];
  /** More labels per row (multi-task training): a name and a SQL expression over the training set giving 0/1 or NULL. */
  readonly labels?: readonly { name: string; sql: string }[];
}

export async function loadModelDataset(project: Project, modelName: string, spec: ModelSpec, checked: CheckedSpec, opts: DatasetOptions = {}): Promise<ModelDataset> {
  const { features: featureNames, extra: extraFeatures } = checked;
  const table = `training_${modelName.replace(/[^A-Za-z0-9_]/g, '_')}`;
  const store = project.offline;
  let summary: TrainingSetSummary;
  if (featureNames.length) {
    summary = await buildTrainingSet(project, {
      spine: { table: spec.spine.table, timestamp: spec.spine.timestamp!, ...(spec.spine.key ? { key: spec.spine.key } : {}) },
      features: [...new Set([...featureNames, ...extraFeatures, ...(opts.sequences ?? []).map((q) => q.feature)])],
      table,
      ...(opts.definitions ? { definitions: opts.definitions } : {}),
    });
  } else {
    // A plain table: the training set is the spine itself, in its row order.
    const started = performance.now();
    const staging = store.stagingName('training');
    try {
      await store.run(`CREATE TABLE ${quoteIdent(staging)} AS SELECT * FROM ${quoteIdent(spec.spine.table)} ORDER BY rowid`);
      const columns = (await store.all<{ column_name: string }>(`DESCRIBE ${quoteIdent(staging)}`)).map((c) => c.column_name);
      const [n] = await store.all<{ n: number }>(`SELECT count(*)::BIGINT AS n FROM ${quoteIdent(staging)}`);
      await store.swapIn(staging, table);
      summary = { rows: Number(n!.n), columns, features: [], set: null, table, file: null, seconds: (performance.now() - started) / 1000, eventTimeBound: 'strict' };
    } finally {
      await store.dropIfExists(staging);
    }
  }
  const described = await store.all<{ column_name: string; column_type: string }>(`DESCRIBE ${quoteIdent(table)}`);
  const spineCols = new Set((await store.all<{ column_name: string }>(`DESCRIBE ${quoteIdent(spec.spine.table)}`)).map((c) => c.column_name));
  const asInput = new Set(checked.columns);
  const versionOf = new Map(summary.features.map((f) => [f.name, f.version]));
  const seqSet = new Set((opts.sequences ?? []).map((q) => q.feature));
  const extraSet = new Set([...extraFeatures, ...seqSet]);
  const inputs: InputColumn[] = [];
  const skipped: ModelDataset['skipped'] = [];
  for (const c of described) {
    const own = spineCols.has(c.column_name);
    if (own && !asInput.has(c.column_name)) continue;
    const feature = own ? c.column_name : ownerFeature(c.column_name, versionOf);
    if (!own && extraSet.has(feature)) continue;
    const base = { name: c.column_name, feature, version: own ? `column:${c.column_type}` : versionOf.get(feature) ?? '', sqlType: c.column_type };
    if (NUMERIC.test(c.column_type)) inputs.push({ ...base, kind: 'numeric' });
    else if (CATEGORICAL.test(c.column_type)) inputs.push({ ...base, kind: 'categorical', categories: [] });
    else skipped.push({ column: c.column_name, reason: `type ${c.column_type} is not a tree input${own ? '' : ' (sequences feed neural encoders)'}` });
  }
  if (inputs.length === 0 && seqSet.size === 0) throw new KilnError('CONFIG_INVALID', `model '${modelName}': none of the selected ${featureNames.length ? 'features' : 'columns'} is a scalar a tree can use`);
  for (const col of inputs.filter((i) => i.kind === 'categorical')) {
    const rows = await store.all<{ v: string }>(`SELECT DISTINCT ${quoteIdent(col.name)}::VARCHAR AS v FROM ${quoteIdent(table)} WHERE ${quoteIdent(col.name)} IS NOT NULL ORDER BY 1`);
    col.categories = rows.map((r) => r.v);
  }
  const extraCols = [...new Set([...spec.slices, ...extraFeatures, ...(spec.fairness && !extraFeatures.includes(spec.fairness.feature) ? [spec.fairness.feature] : [])])];
  for (const e of extraCols) {
    if (!described.some((c) => c.column_name === e)) {
      throw new KilnError('CONFIG_INVALID', `model '${modelName}': slice or fairness column '${e}' is neither a spine column of '${spec.spine.table}' nor a selected feature`);
    }
  }

  const ts = spec.spine.timestamp === undefined ? null : quoteIdent(spec.spine.timestamp);
  const asOf = opts.asOf === undefined ? null : `TIMESTAMP ${quoteLiteral(opts.asOf.replace('T', ' ').replace(/Z$/, ''))}`;
  if (asOf && !ts) throw new KilnError('CONFIG_INVALID', `model '${modelName}': a training set as of a time needs a spine timestamp`, { path: ['models', modelName, 'spine', 'timestamp'] });
  const known = asOf && spec.label.availableAt ? `${quoteIdent(spec.label.availableAt)} <= ${asOf}` : null;
  const label = known ? `(CASE WHEN ${known} THEN ${labelSql(spec)} END)` : labelSql(spec);
  const split = spec.split;
  let assign: string | null = null;
  let scope = asOf ? `${ts} < ${asOf}` : 'true';
  if (isOutOfTime(split)) {
    const { trainFrom, validFrom, testFrom, testTo } = split;
    scope = `${scope} AND ${ts} < TIMESTAMP '${testTo}'${trainFrom ? ` AND ${ts} >= TIMESTAMP '${trainFrom}'` : ''}`;
    assign = `CASE WHEN ${ts} >= TIMESTAMP '${testFrom}' AND ${ts} < TIMESTAMP '${testTo}' THEN 2 WHEN ${ts} >= TIMESTAMP '${validFrom}' AND ${ts} < TIMESTAMP '${testFrom}' THEN 1
      WHEN ${trainFrom ? `${ts} >= TIMESTAMP '${trainFrom}' AND ` : ''}${ts} < TIMESTAMP '${validFrom}' THEN 0 END`;
  } else if ('column' in split) {
    const v = `lower(trim(${quoteIdent(split.column)}::VARCHAR))`;
    const others = await store.all<{ v: string | null; n: number }>(
      `SELECT ${quoteIdent(split.column)}::VARCHAR AS v, count(*)::BIGINT AS n FROM ${quoteIdent(table)} WHERE ${label} IS NOT NULL AND coalesce(${v} NOT IN ('train', 'valid', 'test'), true) GROUP BY 1 ORDER BY n DESC LIMIT 5`);
    if (others.length) {
      throw new KilnError('CONFIG_INVALID', `model '${modelName}': split column '${split.column}' of '${spec.spine.table}' must hold 'train', 'valid' or 'test' in every labelled row; found ${others.map((o) => `${o.v === null ? 'NULL' : `'${o.v}'`} (${Number(o.n)} rows)`).join(', ')}`, { path: ['models', modelName, 'split', 'column'] });
    }
    assign = `CASE ${v} WHEN 'train' THEN 0 WHEN 'valid' THEN 1 WHEN 'test' THEN 2 END`;
  }
  const unlabelled = Number((await store.all<{ n: number }>(`SELECT count(*)::BIGINT AS n FROM ${quoteIdent(table)} WHERE ${scope} AND ${label} IS NULL`))[0]!.n);

  // One pass over the labelled rows, then a partition in memory.
  const seqs = opts.sequences ?? [];
  const moreLabels = opts.labels ?? [];
  const rawCols = opts.raw ?? [];
  const cols = [
    ...inputs.map((c) => (c.kind === 'categorical' ? `${quoteIdent(c.name)}::VARCHAR` : `${quoteIdent(c.name)}::DOUBLE`) + ` AS ${quoteIdent(c.name)}`),
    ...seqs.map((q, k) => `${q.sql} AS ${quoteIdent(`__seq_${k}`)}`),
    ...moreLabels.map((l, k) => `CAST(${l.sql} AS DOUBLE) AS ${quoteIdent(`__label_${k}`)}`),
    ...rawCols.map((l, k) => `${l.sql} AS ${quoteIdent(`__raw_${k}`)}`),
  ];
  const order = ts ? `${ts}, rowid` : 'rowid';
  const sql = `SELECT CAST(${label} AS DOUBLE) AS __label, ${ts ? `epoch_ms(${ts})::DOUBLE` : 'NULL::DOUBLE'} AS __t, ${assign ?? 'NULL::INT'} AS __split,
      ${[...cols, ...extraCols.map((e) => `${quoteIdent(e)}::VARCHAR AS ${quoteIdent(`__x_${e}`)}`)].join(', ')}
    FROM ${quoteIdent(table)} WHERE ${scope} AND ${label} IS NOT NULL ORDER BY ${order}`;
  const reader = await store.con.runAndReadAll(sql);
  const columns = reader.getColumnsJS() as unknown[][];
  const n = reader.currentRowCount;
  // An empty result has no columns at all: read each one as empty rather than as undefined.
  const column = (k: number): unknown[] => columns[k] ?? [];
  const which = new Int8Array(n).fill(-1);
  if (assign !== null) column(2).forEach((v, i) => { which[i] = v === null || v === undefined ? -1 : Number(v); });
  else if ('random' in split) randomAssign(which, split.random.valid, split.random.test, split.random.seed);
  const labelAll = Float64Array.from(column(0), (v) => Number(v));
  const timeAll = ts ? Float64Array.from(column(1), (v) => Number(v)) : null;
  const featuresAll = inputs.map((c, j) => {
    const raw = column(3 + j);
    if (c.kind === 'numeric') return Float64Array.from(raw, (v) => (v === null || v === undefined ? NaN : Number(v)));
    const codes = new Map(c.categories!.map((v, k) => [v, k]));
    return Float64Array.from(raw, (v) => (v === null || v === undefined ? NaN : codes.get(String(v)) ?? NaN));
  });
  const extraBase = 3 + inputs.length + seqs.length + moreLabels.length + rawCols.length;
  const rawAll = rawCols.map((_, k) => column(3 + inputs.length + seqs.length + moreLabels.length + k));
  const extraAll = extraCols.map((_, k) => column(extraBase + k).map((v) => (v === null || v === undefined ? null : String(v))));
  const seqAll = seqs.map((_, k) => column(3 + inputs.length + k));
  const labelsAll = moreLabels.map((_, k) => Float64Array.from(column(3 + inputs.length + seqs.length + k), (v) => (v === null || v === undefined ? NaN : Number(v))));
  const splits = {} as ModelDataset['splits'];
  SPLITS.forEach((name, s) => {
    const idx: number[] = [];
    for (let i = 0; i < n; i++) if (which[i] === s) idx.push(i);
    const take = (a: Float64Array): Float64Array => Float64Array.from(idx, (i) => a[i]!);
    const lab = take(labelAll);
    let positives = 0;
    for (let i = 0; i < lab.length; i++) positives += lab[i] === 1 ? 1 : 0;
    splits[name] = {
      name, rows: idx.length, positives, label: lab, timeMs: timeAll ? take(timeAll) : null, features: featuresAll.map(take),
      extra: Object.fromEntries(extraCols.map((e, k) => [e, idx.map((i) => extraAll[k]![i]!)])),
      sequences: Object.fromEntries(seqs.map((q, k) => [q.feature, idx.map((i) => seqAll[k]![i])])),
      labels: Object.fromEntries(moreLabels.map((l, k) => [l.name, take(labelsAll[k]!)])),
      raw: Object.fromEntries(rawCols.map((l, k) => [l.name, idx.map((i) => rawAll[k]![i])])),
    };
  });

  const range = ts
    ? (await store.all<{ lo: string | null; hi: string | null }>(`SELECT min(${ts})::VARCHAR AS lo, max(${ts})::VARCHAR AS hi FROM ${quoteIdent(table)}`))[0]!
    : { lo: null, hi: null };
  const coverage = ts && checked.sources.length ? await sourceCoverage(project, table, spec.spine.timestamp!, checked.sources) : [];
  return {
    table, summary, inputs, skipped, splits, splitText: describeSplit(spec), unlabelled,
    fingerprint: { rows: summary.rows, from: range.lo, to: range.hi, checksum: await tableChecksum(store, table) },
    coverage, warnings: coverageWarnings(coverage),
  };
}

/** Seeded random split: a shuffle of the rows, the first `test` share to test, the next `valid` share to validation. */
export function randomAssign(which: Int8Array, valid: number, test: number, seed: number): void {
  const n = which.length;
  const order = Int32Array.from({ length: n }, (_, i) => i);
  const rng = new Rng(seed, 0x5b1);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.uniform() * (i + 1));
    const t = order[i]!; order[i] = order[j]!; order[j] = t;
  }
  const nTest = Math.round(n * test);
  const nValid = Math.round(n * valid);
  for (let k = 0; k < n; k++) which[order[k]!] = k < nTest ? 2 : k < nTest + nValid ? 1 : 0;
}

/** The feature a training-set column belongs to: itself, or the bucketed feature `name__bucket`. */
function ownerFeature(column: string, versions: Map<string, string>): string {
  if (versions.has(column)) return column;
  const i = column.indexOf('__');
  return i > 0 && versions.has(column.slice(0, i)) ? column.slice(0, i) : column;
}

/** The label as SQL: the column itself (0/1 or boolean), or 1/0 by membership in `label.positive`. */
export function labelSql(spec: ModelSpec): string {
  const col = quoteIdent(spec.label.column);
  const positive = spec.label.positive;
  if (!positive) return col;
  return `(CASE WHEN ${col} IS NULL THEN NULL WHEN ${col}::VARCHAR IN (${positive.map((v) => quoteLiteral(String(v))).join(', ')}) THEN 1 ELSE 0 END)`;
}
