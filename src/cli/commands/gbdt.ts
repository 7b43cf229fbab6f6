/**
 * `kiln gbdt train|predict|explain`: the GBDT engine on a CSV or Parquet file, without a project.
 * Files are read with DuckDB (`read_csv` / `read_parquet`). Feature columns must be numeric (BOOLEAN
 * reads as 0/1; 'NA' and empty cells are missing by default); a text column is refused with a
 * message, so encode categories as integer codes and name them with --categorical.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { didYouMean, KilnError } from '../../core/errors.js';
import { formatCount } from '../../core/progress.js';
import { explain, loadModelText, meanAbsContributions, toXGBoostJSON, train, type Booster, type GbdtParams, type IterationInfo } from '../../gbdt/index.js';
import { OfflineStore, quoteIdent, quoteLiteral } from '../../store/index.js';
import { formatTable } from '../output.js';

const NUMERIC = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|DECIMAL.*|BOOLEAN)$/;

export interface Table {
  names: string[];
  types: string[];
  rows: number;
  /** Numeric columns as float64 (NaN = missing); null for columns that were not read. */
  columns: (Float64Array | null)[];
}

function list(v: string | undefined): string[] {
  return (v ?? '').split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}

/**
 * Reads a CSV or Parquet file's columns (those in `only`, or all) into float64 arrays with DuckDB.
 * Text and temporal columns are an error naming the column.
 */
export async function readTable(path: string, opts: { only?: readonly string[]; na?: readonly string[] } = {}): Promise<Table> {
  const na = opts.na ?? ['NA', ''];
  const source = /\.(parquet|pq)$/i.test(path) ? `read_parquet(${quoteLiteral(path)})` : `read_csv(${quoteLiteral(path)}, nullstr=[${na.map(quoteLiteral).join(', ')}])`;
  const store = await OfflineStore.open(':memory:');
  try {
    let described: { column_name: string; column_type: string }[];
    try {
      described = await store.all(`DESCRIBE SELECT * FROM ${source}`);
    } catch (e) {
      throw new KilnError('INVALID_ARGUMENT', `cannot read ${path}: ${(e as Error).message.split('\n')[0]}`, { path: [path], cause: e });
    }
    const names = described.map((d) => d.column_name);
    const types = described.map((d) => d.column_type);
    const want = opts.only ?? names;
    for (const w of want) {
      if (names.includes(w)) continue;
      const hint = didYouMean(w, names);
      throw new KilnError('INVALID_ARGUMENT', `${path} has no column '${w}'${hint ? ` (did you mean '${hint}'?)` : ''}; it has: ${names.join(', ')}`, { path: [path, w] });
    }
    const bad = want.filter((w) => !NUMERIC.test(types[names.indexOf(w)]!));
    if (bad.length) {
      const desc = bad.map((b) => `'${b}' (${types[names.indexOf(b)]})`).join(', ');
      throw new KilnError('INVALID_ARGUMENT', `${path}: column${bad.length > 1 ? 's' : ''} ${desc} ${bad.length > 1 ? 'are' : 'is'} not numeric; encode categories as integer codes (and pass --categorical) or drop ${bad.length > 1 ? 'them' : 'it'} with --drop`, { path: [path, bad[0]!] });
    }
    const reader = await store.con.runAndReadAll(`SELECT ${want.map((w) => `CAST(${quoteIdent(w)} AS DOUBLE) AS ${quoteIdent(w)}`).join(', ')} FROM ${source}`);
    const raw = reader.getColumnsJS() as unknown[][];
    const columns = names.map((nm) => {
      const k = want.indexOf(nm);
      return k < 0 ? null : Float64Array.from(raw[k]!, (v) => (v === null || v === undefined ? NaN : Number(v)));
    });
    return { names, types, rows: raw[0]?.length ?? 0, columns };
  } finally {
    store.close();
  }
}

function column(t: Table, name: string): Float64Array {
  return t.columns[t.names.indexOf(name)]!;
}

function readParams(v: string | undefined): GbdtParams {
  if (v === undefined) return {};
  const text = v.trimStart().startsWith('{') ? v : readFileSync(v, 'utf8');
  try {
    return JSON.parse(text) as GbdtParams;
  } catch (e) {
    throw new KilnError('INVALID_ARGUMENT', `--params is not valid JSON (${(e as Error).message}); give a JSON object such as '{"objective":"binary:logistic","max_depth":6}' or a file holding one`, { path: ['params'] });
  }
}

export function loadModelFile(path: string): { booster: Booster; source: string } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new KilnError('MODEL_NOT_FOUND', `cannot read model file ${path}: ${(e as Error).message}`, { path: ['model'], cause: e });
  }
  return loadModelText(text, path);
}

function fmt(scores: Record<string, number> | undefined, prefix: string): string {
  return Object.entries(scores ?? {}).map(([k, v]) => `${prefix}-${k} ${v.toFixed(5)}`).join('  ');
}

function writeCsv(path: string, header: string[], n: number, value: (i: number, j: number) => number): void {
  const lines = [header.map((h) => (/[",\n]/.test(h) ? `"${h.replace(/"/g, '""')}"` : h)).join(',')];
  for (let i = 0; i < n; i++) {
    const cells: string[] = [];
    for (let j = 0; j < header.length; j++) { const v = value(i, j); cells.push(v === v ? String(v) : ''); }
    lines.push(cells.join(','));
  }
  writeFileSync(path, `${lines.join('\n')}\n`);
}

interface TrainOpts { data: string; label: string; params?: string; valid?: string; out: string; xgboostJson?: string; categorical?: string; drop?: string; na?: string; every: string }

async function trainCommand(o: TrainOpts): Promise<void> {
  const na = o.na === undefined ? undefined : list(o.na);
  const t0 = performance.now();
  const data = await readTable(o.data, na ? { na } : {});
  if (!data.names.includes(o.label)) {
    const hint = didYouMean(o.label, data.names);
    throw new KilnError('INVALID_ARGUMENT', `--label '${o.label}' is not a column of ${o.data}${hint ? ` (did you mean '${hint}'?)` : ''}; columns: ${data.names.join(', ')}`, { path: ['label'] });
  }
  const drop = new Set([o.label, ...list(o.drop)]);
  const names = data.names.filter((nm) => !drop.has(nm));
  if (names.length === 0) throw new KilnError('INVALID_ARGUMENT', `${o.data} has no feature columns besides the label '${o.label}'`, { path: ['data'] });
  const params = readParams(o.params);
  const valid = o.valid ? await readTable(o.valid, { only: [...names, o.label], ...(na ? { na } : {}) }) : null;
  const every = Number(o.every);
  const readS = (performance.now() - t0) / 1000;
  const features = names.map((nm) => column(data, nm));
  process.stdout.write(`training ${params.objective ?? 'reg:squarederror'} on ${formatCount(data.rows)} rows x ${names.length} features${valid ? ` (valid: ${formatCount(valid.rows)} rows)` : ''}; data read in ${readS.toFixed(1)}s\n`);
  let last: IterationInfo | null = null;
  const onIteration = every > 0 ? (info: IterationInfo): void => {
    last = info;
    if ((info.iteration + 1) % every !== 0) return;
    process.stdout.write(`[${String(info.iteration + 1).padStart(5)}] ${fmt(info.train, 'train')}  ${fmt(info.valid, 'valid')}\n`);
  } : undefined;
  const t1 = performance.now();
  const booster = await train({
    features, label: column(data, o.label), featureNames: names, categorical: list(o.categorical), params,
    ...(valid ? { valid: { features: names.map((nm) => column(valid, nm)), label: column(valid, o.label) } } : {}),
    ...(onIteration ? { onIteration } : {}),
  });
  const trainS = (performance.now() - t1) / 1000;
  writeFileSync(o.out, JSON.stringify(booster));
  if (o.xgboostJson) writeFileSync(o.xgboostJson, toXGBoostJSON(booster));
  const best = booster.bestIteration !== undefined ? `best iteration ${booster.bestIteration} (valid-${booster.bestMetric} ${booster.bestScore?.toFixed(5)})` : 'no early stopping';
  const end = last as IterationInfo | null;
  const final = end ? `; last round ${[fmt(end.train, 'train'), fmt(end.valid, 'valid')].filter((x) => x).join('  ')}` : '';
  process.stdout.write(`trained in ${trainS.toFixed(2)}s: ${booster.numRounds} rounds, ${best}${final}; wrote ${o.out}${o.xgboostJson ? ` and ${o.xgboostJson} (XGBoost JSON)` : ''}\n`);
}

async function scoreInput(modelPath: string, dataPath: string, na: string | undefined): Promise<{ booster: Booster; source: string; features: Float64Array[]; rows: number }> {
  const { booster, source } = loadModelFile(modelPath);
  const t = await readTable(dataPath, { only: booster.featureNames, ...(na === undefined ? {} : { na: list(na) }) });
  return { booster, source, features: booster.featureNames.map((nm) => column(t, nm)), rows: t.rows };
}

export function registerGbdt(program: Command): void {
  const gbdt = program.command('gbdt').description('train, score and explain gradient-boosted trees on a CSV or Parquet file (kiln, XGBoost JSON and LightGBM text models)');
  gbdt
    .command('train')
    .description('train a model on a file: numeric columns are features, --label is the target')
    .requiredOption('--data <file>', 'training data (.csv, or .parquet)')
    .requiredOption('--label <column>', 'the label column')
    .option('--params <json|file>', 'XGBoost-style parameters as JSON text or a JSON file (e.g. \'{"objective":"binary:logistic"}\')')
    .option('--valid <file>', 'validation data with the same columns: metrics each round, early stopping')
    .option('--out <file>', 'where to write the kiln.gbdt@1 model', 'model.json')
    .option('--xgboost-json <file>', 'also write the model as XGBoost JSON')
    .option('--categorical <columns>', 'comma-separated columns holding integer category codes')
    .option('--drop <columns>', 'comma-separated columns to leave out (ids, a CSV index column such as column00)')
    .option('--na <values>', "comma-separated strings read as missing in CSV files (default: 'NA' and empty)")
    .option('--every <n>', 'print metrics every n rounds (0: no progress; progress costs one pass over the training rows per round)', '10')
    .action(async (o: TrainOpts) => trainCommand(o));
  gbdt
    .command('predict')
    .description('score a file with a model; writes one column per output (probabilities, values or scores)')
    .requiredOption('--model <file>', 'a kiln.gbdt@1 JSON, XGBoost JSON or LightGBM text model')
    .requiredOption('--data <file>', 'rows to score (.csv or .parquet), with the model\'s feature columns by name')
    .requiredOption('--out <file>', 'the CSV to write')
    .option('--raw', 'write margins instead of probabilities', false)
    .option('--na <values>', "comma-separated strings read as missing in CSV files (default: 'NA' and empty)")
    .action(async (o: { model: string; data: string; out: string; raw: boolean; na?: string }) => {
      const { booster, source, features, rows } = await scoreInput(o.model, o.data, o.na);
      const t0 = performance.now();
      const p = o.raw ? booster.predictRaw(features) : booster.predict(features);
      const s = (performance.now() - t0) / 1000;
      const K = booster.numOutputs;
      writeCsv(o.out, K === 1 ? ['prediction'] : Array.from({ length: K }, (_, k) => `class_${k}`), rows, (i, k) => p[i * K + k]!);
      process.stdout.write(`scored ${formatCount(rows)} rows with a ${source} ${booster.objective} model in ${s.toFixed(2)}s; wrote ${o.out}\n`);
    });
  gbdt
    .command('explain')
    .description('TreeSHAP contributions (margin space): the top features by mean |contribution|, optionally every row to a CSV')
    .requiredOption('--model <file>', 'a kiln.gbdt@1 JSON, XGBoost JSON or LightGBM text model')
    .requiredOption('--data <file>', 'rows to explain (.csv or .parquet)')
    .option('--top <k>', 'how many features to list', '10')
    .option('--out <file>', 'write every row\'s contributions (and the bias column) to this CSV')
    .option('--na <values>', "comma-separated strings read as missing in CSV files (default: 'NA' and empty)")
    .action(async (o: { model: string; data: string; top: string; out?: string; na?: string }) => {
      const { booster, source, features, rows } = await scoreInput(o.model, o.data, o.na);
      const t0 = performance.now();
      const e = explain(booster, features);
      const s = (performance.now() - t0) / 1000;
      const F = booster.numFeatures;
      const K = e.numOutputs;
      const meanAbs = meanAbsContributions(e);
      const mean = new Float64Array(F);
      for (let r = 0; r < rows * K; r++) for (let j = 0; j < F; j++) mean[j]! += e.contributions[r * (F + 1) + j]! / Math.max(1, rows);
      const top = booster.featureNames.map((nm, j) => ({ nm, abs: meanAbs[nm]!, mean: mean[j]! })).sort((a, b) => b.abs - a.abs).slice(0, Math.max(1, Number(o.top) || 10));
      process.stdout.write(`explained ${formatCount(rows)} rows with a ${source} ${booster.objective} model in ${s.toFixed(2)}s (${formatCount(Math.round(rows / Math.max(s, 1e-9)))} rows/s); expected margin ${Array.from(e.expectedValues, (v) => v.toFixed(5)).join(', ')}\n`);
      process.stdout.write(`${formatTable(['feature', 'mean |SHAP|', 'mean SHAP'], top.map((t) => [t.nm, t.abs.toFixed(5), t.mean.toFixed(5)]))}\n`);
      if (o.out) {
        const cols = [...booster.featureNames, 'bias'];
        const header = K === 1 ? cols : Array.from({ length: K }, (_, k) => cols.map((c) => `class_${k}:${c}`)).flat();
        writeCsv(o.out, header, rows, (i, j) => e.contributions[i * K * (F + 1) + j]!);
        process.stdout.write(`wrote ${o.out}\n`);
      }
    });
}
