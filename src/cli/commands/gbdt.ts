/**
 * `kiln gbdt train|predict|explain`: the GBDT engine on a CSV or Parquet file, without a project.
 * Files are read with DuckDB into Float64Arrays (gbdt-input.ts, store/numeric-file.ts). Feature columns
 * must be numeric (BOOLEAN reads as 0/1; 'NA' and empty cells are missing by default); a text column is
 * refused with a message, so encode categories as integer codes and name them with --categorical. The
 * unnamed first column of an R or pandas CSV is a row id, never a feature. Without an objective, a 0/1
 * label trains binary:logistic, any other reg:squarederror.
 */
import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import { KilnError } from '../../core/errors.js';
import { formatCount, Progress } from '../../core/progress.js';
import { explain, meanAbsContributions, toXGBoostJSON, train, type Booster, type IterationInfo } from '../../gbdt/index.js';
import { formatTable } from '../table.js';
import { checkColumns, checkNumeric, chooseObjective, csvText, list, loadModelFile, naList, noRows, note, openData, readColumns, readParams, rowIdColumn, writeFileAtomic } from './gbdt-input.js';

export { loadModelFile } from './gbdt-input.js';

/** Batches of rows scored between progress updates in `predict`. */
const PREDICT_BLOCK = 65_536;

function fmt(scores: Record<string, number> | undefined, prefix: string): string {
  return Object.entries(scores ?? {}).map(([k, v]) => `${prefix}-${k} ${v.toFixed(5)}`).join('  ');
}

export interface TrainOpts { data: string; label: string; params?: string; valid?: string; out: string; xgboostJson?: string; categorical?: string; drop?: string; na?: string; every: string }

export async function trainCommand(o: TrainOpts): Promise<void> {
  const na = naList(o.na);
  const every = Number(o.every);
  if (!Number.isInteger(every) || every < 0) throw new KilnError('USAGE', `--every ${o.every} is not a whole number >= 0; give how many rounds between metric lines (0: none)`, { path: ['every'] });
  const params = readParams(o.params);
  const dropped = list(o.drop);
  const categorical = list(o.categorical);
  const t0 = performance.now();
  const data = await openData(o.data, '--data file', na);
  let label: Float64Array;
  let names: string[];
  let features: Float64Array[];
  let rows: number;
  let valid: { rows: number; features: Float64Array[]; label: Float64Array } | null = null;
  try {
    checkColumns(data, '--label', [o.label]);
    checkColumns(data, '--drop', dropped);
    checkColumns(data, '--categorical', categorical);
    const rowId = o.label === data.rowId ? null : rowIdColumn(data, dropped);
    const left = new Set([o.label, ...dropped, ...(rowId ? [rowId] : [])]);
    names = data.names.filter((nm) => !left.has(nm));
    if (names.length === 0) throw new KilnError('USAGE', `${o.data} has no feature columns besides the label '${o.label}'${dropped.length ? ' and the --drop columns' : ''}`, { path: ['data'] });
    for (const c of categorical) {
      if (!left.has(c)) continue;
      const why = c === o.label ? 'it is the label' : c === rowId ? 'it is the row-id column' : 'it is in --drop';
      throw new KilnError('USAGE', `--categorical '${c}' is not a feature: ${why}`, { path: ['categorical', c] });
    }
    await checkNumeric(data, [...names, o.label]);
    const read = await readColumns(data, [...names, o.label]);
    rows = read.rows;
    if (rows === 0) throw noRows(data);
    features = names.map((nm) => read.columns.get(nm)!);
    label = read.columns.get(o.label)!;
  } finally {
    data.close();
  }
  if (o.valid) {
    const v = await openData(o.valid, '--valid file', na);
    try {
      checkColumns(v, '--valid file column', [...names, o.label], 'GBDT_DATA_INVALID');
      await checkNumeric(v, [...names, o.label]);
      const read = await readColumns(v, [...names, o.label]);
      if (read.rows === 0) throw noRows(v);
      valid = { rows: read.rows, features: names.map((nm) => read.columns.get(nm)!), label: read.columns.get(o.label)! };
    } finally {
      v.close();
    }
  }
  const readS = (performance.now() - t0) / 1000;
  const objective = params.objective ?? chooseObjective(o.label, label);
  const trainParams = { ...params, objective };
  process.stdout.write(`training ${objective} on ${formatCount(rows)} rows x ${names.length} features${valid ? ` (valid: ${formatCount(valid.rows)} rows)` : ''}; data read in ${readS.toFixed(1)}s\n`);
  let last: IterationInfo | null = null;
  const onIteration = every > 0 ? (info: IterationInfo): void => {
    last = info;
    if ((info.iteration + 1) % every !== 0) return;
    process.stdout.write(`[${String(info.iteration + 1).padStart(5)}] ${fmt(info.train, 'train')}  ${fmt(info.valid, 'valid')}\n`);
  } : undefined;
  const t1 = performance.now();
  const booster = await train({
    features, label, featureNames: names, categorical, params: trainParams,
    ...(valid ? { valid: { features: valid.features, label: valid.label } } : {}),
    // Metric lines every --every rounds are the progress; without them, a bar (or plain lines) on stderr.
    ...(onIteration ? { onIteration } : { progress: { label: 'gbdt train' } }),
  });
  const trainS = (performance.now() - t1) / 1000;
  writeFileAtomic(o.out, JSON.stringify(booster));
  if (o.xgboostJson) writeFileAtomic(o.xgboostJson, toXGBoostJSON(booster));
  const best = booster.bestIteration !== undefined ? `best iteration ${booster.bestIteration} (valid-${booster.bestMetric} ${booster.bestScore?.toFixed(5)})` : 'no early stopping';
  const end = last as IterationInfo | null;
  const final = end ? `; last round ${[fmt(end.train, 'train'), fmt(end.valid, 'valid')].filter((x) => x).join('  ')}` : '';
  process.stdout.write(`trained in ${trainS.toFixed(2)}s: ${booster.numRounds} rounds, ${best}${final}; wrote ${o.out}${o.xgboostJson ? ` and ${o.xgboostJson} (XGBoost JSON)` : ''}\n`);
}

/** The model and the data's columns for it, by name; the file's row-id column is never one of them. */
async function scoreInput(modelPath: string, dataPath: string, na: string | undefined): Promise<{ booster: Booster; source: string; features: Float64Array[]; rows: number }> {
  const { booster, source } = loadModelFile(modelPath);
  const data = await openData(dataPath, '--data file', naList(na));
  try {
    const need = booster.featureNames;
    const id = data.rowId;
    if (id !== null && need.includes(id)) {
      throw new KilnError('GBDT_DATA_INVALID', `the model uses a feature '${id}', but in ${dataPath} that is the unnamed first column (row names, as R's write.csv writes them), a row id that kiln never uses as a feature; retrain the model without it (kiln gbdt train leaves it out)`, { path: [dataPath, id] });
    }
    const missing = need.filter((nm) => !data.names.includes(nm));
    if (missing.length) checkColumns(data, `${modelPath}: the model's feature`, missing, 'GBDT_DATA_INVALID');
    if (id !== null) rowIdColumn(data);
    await checkNumeric(data, need);
    const read = await readColumns(data, need);
    return { booster, source, features: need.map((nm) => read.columns.get(nm)!), rows: read.rows };
  } finally {
    data.close();
  }
}

export async function predictCommand(o: { model: string; data: string; out: string; raw: boolean; na?: string }): Promise<void> {
  const { booster, source, features, rows } = await scoreInput(o.model, o.data, o.na);
  const K = booster.numOutputs;
  const t0 = performance.now();
  const p = new Float64Array(rows * K);
  const progress = new Progress({ label: 'gbdt predict', total: rows, unit: 'rows', quiet: rows < 4 * PREDICT_BLOCK });
  for (let a = 0; a < rows; a += PREDICT_BLOCK) {
    const b = Math.min(rows, a + PREDICT_BLOCK);
    const block = features.map((c) => c.subarray(a, b));
    p.set(o.raw ? booster.predictRaw(block) : booster.predict(block), a * K);
    progress.update(b);
  }
  const s = (performance.now() - t0) / 1000;
  progress.finish();
  writeFileAtomic(o.out, csvText(K === 1 ? ['prediction'] : Array.from({ length: K }, (_, k) => `class_${k}`), rows, (i, k) => p[i * K + k]!));
  process.stdout.write(`scored ${formatCount(rows)} rows with a ${source} ${booster.objective} model in ${s.toFixed(2)}s; wrote ${o.out}\n`);
}

export async function explainCommand(o: { model: string; data: string; top: string; out?: string; na?: string; nthread?: string }): Promise<void> {
  const { booster, source, features, rows } = await scoreInput(o.model, o.data, o.na);
  const nthread = o.nthread === undefined ? availableParallelism() : Number(o.nthread);
  if (!Number.isInteger(nthread) || nthread < 1) throw new KilnError('USAGE', `--nthread ${o.nthread}: expected a whole number >= 1`, { path: ['nthread'] });
  const t0 = performance.now();
  const progress = new Progress({ label: 'gbdt explain', total: rows, unit: 'rows' });
  let e: ReturnType<typeof explain>;
  try {
    if (nthread > 1) await booster.startThreads(nthread);
    e = booster.explain(features, { onProgress: (done) => progress.update(done) });
  } catch (err) {
    progress.abort();
    throw err;
  } finally {
    await booster.close();
  }
  progress.finish();
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
    writeFileAtomic(o.out, csvText(header, rows, (i, j) => e.contributions[i * K * (F + 1) + j]!));
    process.stdout.write(`wrote ${o.out}\n`);
  }
}

/** The command registration (light: no engine) lives in gbdt-register.ts; these actions load on use. */
export { registerGbdt } from './gbdt-register.js';
