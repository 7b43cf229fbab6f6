/**
 * kiln GBDT against XGBoost (tree_method=hist, /usr/bin/python3) on the same data: max_depth 6,
 * learning_rate 0.1, 200 rounds, max_bin 256, 2 threads, 80/20 split. Per data set: train seconds, test
 * AUC, batch predict rows/s, single-row predict p50/p99, TreeSHAP rows/s (one thread on both sides) and
 * the kiln/XGBoost ratios; then the interchange check (kiln model exported to XGBoost JSON and scored
 * by xgboost, XGBoost model imported and scored by kiln: max |difference| of test predictions).
 *
 * Data: (a) a seeded synthetic 1,000,000 x 50 binary task, 5% missing, nonlinear logit (--rows to
 * shrink it); (b) ../shared/data/give-me-some-credit/cs-training.csv (label SeriousDlqin2yrs, 'NA' is
 * missing, the unnamed index column dropped), skipped with a message when absent.
 *
 *   npx tsx bench/gbdt.ts [--rows 1000000] [--rounds 200] [--threads 2] [--no-xgboost] [--only synthetic|credit]
 * --repeat K: K runs of the whole bench, each in a fresh process (kiln's first training in a process pays
 * its cold start, as a user's does), one after another, then each shape's train-time ratios, their median
 * and how many are <= 1.0 (a target holds when most runs meet it).
 *     [--features 50] [--missing 0.05]     other shapes of the synthetic set: dense (--missing 0), sparse
 *                                          (--missing 0.5), wide (--features 500)
 *     [--lossguide 255]                    lossguide growth with at most that many leaves (max_depth 0), both sides
 *     [--data-seed 72024]                  another draw of the synthetic data
 *     [--categorical 0]                    the last K synthetic features categorical (3 to 120 categories,
 *                                          four of them in the logit); XGBoost with enable_categorical
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../src/core/rng.js';
import type { Booster } from '../src/gbdt/index.js';
import { auc } from '../src/gbdt/metrics.js';
import { loadCredit } from './credit-data.js';
import { arg, builtOrSource, machine, median, printTable, writeNpy } from './util.js';

// kiln/gbdt as users run it: the built package when current (`npm run build`), else src/ through tsx.
const gbdt = await builtOrSource<typeof import('../src/entries/gbdt.js')>('entries/gbdt');
const { train, explain, explainRow, fromXGBoostJSON, toXGBoostJSON } = gbdt.mod;

const ROWS = arg('rows', 1_000_000);
const ROUNDS = arg('rounds', 200);
const THREADS = arg('threads', 2);
const SHAP_ROWS = 2000;
const PY = '/usr/bin/python3';
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
const FEATURES = arg('features', 50);
const MISSING = arg('missing', 0.05);
const LEAVES = arg('lossguide', 0);
/** Seed of the synthetic data (another draw of the same task, to tell a real AUC gap from sampling noise). */
const DATA_SEED = arg('data-seed', 7_2024);
const CATEGORICAL = arg('categorical', 0);
const CARDINALITIES = [3, 8, 20, 50, 120];
/** The tree shape on both sides: depth 6, or lossguide with LEAVES leaves and no depth limit. */
const KILN_SHAPE = LEAVES > 0 ? { grow_policy: 'lossguide' as const, max_leaves: LEAVES, max_depth: 0 } : { max_depth: 6 };
const XGB_SHAPE = LEAVES > 0 ? { grow_policy: 'lossguide', max_leaves: LEAVES, max_depth: 0 } : { max_depth: 6 };

interface Data { name: string; cols: Float32Array[]; label: Float32Array; categorical?: number[] }

/**
 * Seeded synthetic binary task: F features (normal and uniform; the logit reads the first 14), a share
 * `missing` of every value missing, interactions and a missingness effect.
 */
function synthetic(n: number, F = 50, missing = 0.05, K = 0): Data {
  const rng = new Rng(DATA_SEED, 3);
  const cols = Array.from({ length: F }, () => new Float32Array(n));
  const label = new Float32Array(n);
  const x = new Float64Array(F);
  const firstCat = F - K;
  const card = (j: number): number => CARDINALITIES[(j - firstCat) % CARDINALITIES.length]!;
  const effect = Array.from({ length: K }, (_, c) => Float64Array.from({ length: card(firstCat + c) }, () => rng.normal()));
  for (let i = 0; i < n; i++) {
    let zc = 0;
    for (let j = 0; j < F; j++) {
      const cat = j >= firstCat;
      const v = cat ? Math.floor(rng.uniform() * card(j)) : j % 4 === 3 ? rng.uniform() * 6 - 3 : rng.normal();
      if (cat && j - firstCat < 4) zc += 0.5 * effect[j - firstCat]![v]!;
      const miss = rng.uniform() < missing;
      cols[j]![i] = miss ? NaN : v;
      x[j] = miss ? 0 : v;
    }
    const z = x[0]! * x[1]! + Math.sin(1.5 * x[2]!) + 0.6 * Math.abs(x[3]!) - 1 + 0.5 * x[4]! * (x[5]! > 0 ? 1 : -1)
      + 0.4 * Math.tanh(x[6]! * x[7]!) + (Number.isNaN(cols[8]![i]!) ? 0.8 : 0.3 * x[8]!) + 0.2 * x[9]! * x[10]! * x[11]! + 0.3 * Math.cos(x[12]! + x[13]!);
    label[i] = rng.uniform() < 1 / (1 + Math.exp(-(z + zc))) ? 1 : 0;
  }
  const categorical = Array.from({ length: K }, (_, c) => firstCat + c);
  return { name: `synthetic ${n} x ${F}${K ? ` (${K} categorical)` : ''}, ${Math.round(missing * 100)}% missing`, cols, label, categorical };
}

const credit = loadCredit;


function readNpyF32(path: string): Float32Array {
  const b = readFileSync(path);
  const start = 10 + b.readUInt16LE(8);
  return new Float32Array(b.buffer.slice(b.byteOffset + start, b.byteOffset + b.length));
}

const XGB = String.raw`
import json, sys, time
import numpy as np
import xgboost as xgb
d, ntr, rounds, threads, shap_rows = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
X = np.ascontiguousarray(np.load(d + '/X.npy')); y = np.load(d + '/y.npy')
params = {'tree_method': 'hist', 'objective': 'binary:logistic', 'eta': 0.1, 'max_bin': 256, 'nthread': threads, 'seed': 0, **json.loads(sys.argv[6])}
cats = set(json.loads(sys.argv[7]))
ft = {'feature_types': ['c' if j in cats else 'q' for j in range(X.shape[1])], 'enable_categorical': True} if cats else {}
t0 = time.perf_counter()
bst = xgb.train(params, xgb.DMatrix(X[:ntr], label=y[:ntr], nthread=threads, **ft), rounds)
train_s = time.perf_counter() - t0
Xte = np.ascontiguousarray(X[ntr:]); yte = y[ntr:]
dte = xgb.DMatrix(Xte, nthread=threads, **ft)
t0 = time.perf_counter(); p = bst.predict(dte); pred_s = time.perf_counter() - t0
order = np.argsort(p, kind='mergesort'); ps = p[order]; ys = yte[order]
_, start, counts = np.unique(ps, return_index=True, return_counts=True)
pos = np.add.reduceat(ys, start); neg = counts - pos
auc = float(np.sum(pos * (np.concatenate([[0], np.cumsum(neg)[:-1]]) + neg / 2)) / (pos.sum() * neg.sum()))
lat = []
for i in range(2000):
    row = Xte[i:i + 1]; s = time.perf_counter_ns(); bst.inplace_predict(row); lat.append((time.perf_counter_ns() - s) / 1000)
lat.sort()
bst.set_param({'nthread': 1})
ds = xgb.DMatrix(Xte[:shap_rows], nthread=1, **ft)
t0 = time.perf_counter(); bst.predict(ds, pred_contribs=True); shap_s = time.perf_counter() - t0
bst.save_model(d + '/xgb.json'); np.save(d + '/xgb_pred.npy', p.astype(np.float32))
k = xgb.Booster(model_file=d + '/kiln.xgb.json')
kp = k.predict(xgb.DMatrix(Xte, feature_names=k.feature_names, nthread=threads, **ft))
export_diff = float(np.abs(kp - np.load(d + '/kiln_pred.npy')).max())
print(json.dumps({'train_s': train_s, 'auc': auc, 'rows_s': len(yte) / pred_s, 'p50': lat[len(lat) // 2], 'p99': lat[int(len(lat) * 0.99)],
                  'shap_rows_s': shap_rows / shap_s, 'export_diff': export_diff, 'version': xgb.__version__}))
`;

interface Figures { trainS: number; auc: number; rowsS: number; p50: number; p99: number; shapRowsS: number }

function pct(a: Float64Array, q: number): number {
  return a[Math.min(a.length - 1, Math.floor(a.length * q))]!;
}

async function runKiln(d: Data, ntr: number): Promise<{ f: Figures; booster: Booster; pred: Float64Array; rowsS1: number; shapP50: number }> {
  const F = d.cols.length;
  const tr = d.cols.map((c) => c.subarray(0, ntr));
  const te = d.cols.map((c) => c.subarray(ntr));
  const t0 = performance.now();
  const booster = await train({
    features: tr, label: d.label.subarray(0, ntr), featureNames: d.cols.map((_, j) => `f${j}`),
    ...(d.categorical?.length ? { categorical: d.categorical } : {}),
    params: { objective: 'binary:logistic', ...KILN_SHAPE, learning_rate: 0.1, n_estimators: ROUNDS, max_bin: 256, nthread: THREADS, seed: 0 },
  });
  const trainS = (performance.now() - t0) / 1000;
  const nte = te[0]!.length;
  booster.predict(te.map((c) => c.subarray(0, 1000)));
  let t1 = performance.now();
  const pred = booster.predict(te);
  const rowsS1 = nte / ((performance.now() - t1) / 1000);
  await booster.startThreads(THREADS);
  booster.predict(te.map((c) => c.subarray(0, Math.min(nte, 20_000))));
  t1 = performance.now();
  booster.predict(te);
  const rowsS = nte / ((performance.now() - t1) / 1000);
  await booster.close();
  const row = new Float64Array(F);
  const nLat = Math.min(20_000, nte);
  const lat = new Float64Array(nLat);
  for (let pass = 0; pass < 2; pass++) {
    for (let i = 0; i < nLat; i++) {
      for (let j = 0; j < F; j++) row[j] = te[j]![i]!;
      const s = process.hrtime.bigint();
      booster.predictRow(row);
      lat[i] = Number(process.hrtime.bigint() - s) / 1000;
    }
  }
  lat.sort();
  const shapCols = te.map((c) => c.subarray(0, Math.min(SHAP_ROWS, nte)));
  explain(booster, shapCols.map((c) => c.subarray(0, 100)));
  t1 = performance.now();
  explain(booster, shapCols);
  const shapRowsS = shapCols[0]!.length / ((performance.now() - t1) / 1000);
  const out = new Float64Array(F + 1);
  const sl = new Float64Array(200);
  for (let i = 0; i < sl.length; i++) {
    for (let j = 0; j < F; j++) row[j] = te[j]![i]!;
    const s = process.hrtime.bigint();
    explainRow(booster, row, out);
    sl[i] = Number(process.hrtime.bigint() - s) / 1000;
  }
  sl.sort();
  const a = auc({ pred, label: d.label.subarray(ntr), weight: null, nOutputs: 1, groupPtr: null });
  return { f: { trainS, auc: a, rowsS, p50: pct(lat, 0.5), p99: pct(lat, 0.99), shapRowsS }, booster, pred, rowsS1, shapP50: pct(sl, 0.5) };
}

function runXgboost(d: Data, ntr: number, kiln: { booster: Booster; pred: Float64Array }): (Figures & { version: string; exportDiff: number; importDiff: number }) | string {
  if (process.argv.includes('--no-xgboost')) return 'skipped (--no-xgboost)';
  const probe = spawnSync(PY, ['-c', 'import xgboost, numpy'], { encoding: 'utf8' });
  if (probe.status !== 0) return `skipped: ${PY} cannot import xgboost (${(probe.stderr || probe.error?.message || '').trim().split('\n').pop()})`;
  const dir = mkdtempSync(join(tmpdir(), 'kiln-bench-gbdt-'));
  try {
    writeNpy(join(dir, 'X.npy'), d.cols, d.label.length);
    writeNpy(join(dir, 'y.npy'), [d.label], d.label.length);
    writeNpy(join(dir, 'kiln_pred.npy'), [Float32Array.from(kiln.pred)], kiln.pred.length);
    writeFileSync(join(dir, 'kiln.xgb.json'), toXGBoostJSON(kiln.booster));
    writeFileSync(join(dir, 'run.py'), XGB);
    const r = spawnSync(PY, [join(dir, 'run.py'), dir, String(ntr), String(ROUNDS), String(THREADS), String(SHAP_ROWS), JSON.stringify(XGB_SHAPE), JSON.stringify(d.categorical ?? [])], { encoding: 'utf8', maxBuffer: 1 << 24 });
    if (r.status !== 0) return `failed: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`;
    const j = JSON.parse(r.stdout.trim().split('\n').pop()!) as { train_s: number; auc: number; rows_s: number; p50: number; p99: number; shap_rows_s: number; export_diff: number; version: string };
    const imported = fromXGBoostJSON(readFileSync(join(dir, 'xgb.json'), 'utf8'));
    const mine = imported.predict(d.cols.map((c) => c.subarray(ntr)));
    const theirs = readNpyF32(join(dir, 'xgb_pred.npy'));
    let importDiff = 0;
    for (let i = 0; i < theirs.length; i++) importDiff = Math.max(importDiff, Math.abs(mine[i]! - theirs[i]!));
    return { trainS: j.train_s, auc: j.auc, rowsS: j.rows_s, p50: j.p50, p99: j.p99, shapRowsS: j.shap_rows_s, version: j.version, exportDiff: j.export_diff, importDiff };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const f = (v: number, dp: number): string => v.toFixed(dp);
const REPEAT = arg('repeat', 1);
if (REPEAT > 1) {
  const args = process.argv.slice(2);
  const at = args.indexOf('--repeat');
  args.splice(at, 2);
  const ratios = new Map<string, number[]>();
  console.log(`machine: ${machine()}; ${REPEAT} runs of bench/gbdt.ts ${args.join(' ')}, each in a fresh process`);
  for (let k = 0; k < REPEAT; k++) {
    const r = spawnSync(process.execPath, [...process.execArgv, import.meta.filename, ...args, '--json'], { encoding: 'utf8', maxBuffer: 1 << 26 });
    if (r.status !== 0) throw new Error(`run ${k + 1} failed:\n${r.stderr}`);
    for (const line of r.stdout.split('\n').filter((l) => l.startsWith('{"shape"'))) {
      const j = JSON.parse(line) as { shape: string; kiln: number; xgboost: number | null };
      if (j.xgboost === null) continue;
      const list = ratios.get(j.shape) ?? [];
      list.push(j.kiln / j.xgboost);
      ratios.set(j.shape, list);
      console.log(`run ${k + 1}: ${j.shape}: kiln ${f(j.kiln, 2)} s, xgboost ${f(j.xgboost, 2)} s, ratio ${f(j.kiln / j.xgboost, 2)}`);
    }
  }
  const rows = [...ratios].map(([shape, list]) => [shape, list.map((x) => f(x, 2)).join(' '), f(median(list), 2), `${list.filter((x) => x <= 1).length} of ${list.length}`]);
  printTable(['shape', 'train time kiln / xgboost, in run order', 'median', '<= 1.0'], rows);
  process.exit(0);
}
const JSON_OUT = process.argv.includes('--json');
console.log(`machine: ${machine()}`);
console.log(`params: ${LEAVES > 0 ? `lossguide, max_leaves ${LEAVES}, no depth limit` : 'max_depth 6'}, learning_rate 0.1, ${ROUNDS} rounds, max_bin 256, ${THREADS} threads, 80/20 split; TreeSHAP on ${SHAP_ROWS} test rows, one thread`);
console.log(`kiln from ${gbdt.from === 'dist' ? 'dist/ (the built package)' : 'src/ through tsx (dist/ absent or older than src/: npm run build)'}`);
const sets: (() => Promise<Data | string>)[] = [];
if (only !== 'credit') sets.push(async () => synthetic(ROWS, FEATURES, MISSING, CATEGORICAL));
if (only !== 'synthetic') sets.push(credit);
for (const load of sets) {
  const t0 = performance.now();
  const d = await load();
  if (typeof d === 'string') { console.log(`\ngive-me-some-credit: ${d}`); continue; }
  const ntr = Math.floor(d.label.length * 0.8);
  console.log(`\n## ${d.name} (train ${ntr}, test ${d.label.length - ntr}; loaded in ${f((performance.now() - t0) / 1000, 1)}s)`);
  const k = await runKiln(d, ntr);
  const x = runXgboost(d, ntr, k);
  const rows: (string | number)[][] = [['kiln', f(k.f.trainS, 2), f(k.f.auc, 4), f(k.f.rowsS, 0), f(k.f.p50, 1), f(k.f.p99, 1), f(k.f.shapRowsS, 0)]];
  if (typeof x !== 'string') {
    rows.push([`xgboost ${x.version}`, f(x.trainS, 2), f(x.auc, 4), f(x.rowsS, 0), f(x.p50, 1), f(x.p99, 1), f(x.shapRowsS, 0)]);
    rows.push(['kiln / xgboost', f(k.f.trainS / x.trainS, 2), `${f(k.f.auc - x.auc, 4)} (diff)`, f(k.f.rowsS / x.rowsS, 2), f(k.f.p50 / x.p50, 2), f(k.f.p99 / x.p99, 2), f(k.f.shapRowsS / x.shapRowsS, 2)]);
  }
  printTable(['engine', 'train s', 'test AUC', 'predict rows/s', 'row p50 us', 'row p99 us', 'SHAP rows/s'], rows);
  if (JSON_OUT) console.log(JSON.stringify({ shape: d.name, kiln: k.f.trainS, xgboost: typeof x === 'string' ? null : x.trainS }));
  console.log(`kiln: batch predict ${f(k.rowsS1, 0)} rows/s on one thread; explainRow p50 ${f(k.shapP50, 0)} us`);
  if (typeof x === 'string') console.log(`xgboost: ${x}`);
  else console.log(`interchange: kiln -> XGBoost JSON -> xgboost max |p diff| ${x.exportDiff.toExponential(2)}; xgboost -> kiln max |p diff| ${x.importDiff.toExponential(2)}`);
}
