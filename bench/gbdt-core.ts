/**
 * GBDT core benchmark: a seeded synthetic binary task (default 1,000,000 x 50, 5% missing, nonlinear
 * label), 80/20 split, max_depth 6, learning_rate 0.1, 200 rounds, max_bin 256, nthread 2. Prints train
 * seconds, test AUC, batch predict rows/s and single-row predict p50/p99; when /usr/bin/python3 can
 * import xgboost, runs XGBoost tree_method=hist on the same data (exported as .npy) and prints ratios.
 *
 *   npx tsx bench/gbdt-core.ts [--rows 1000000] [--rounds 200] [--threads 2] [--no-xgboost]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../src/core/rng.js';
import { auc, train } from '../src/gbdt/index.js';
import { arg, machine, printTable } from './util.js';

const ROWS = arg('rows', 1_000_000);
const ROUNDS = arg('rounds', 200);
const THREADS = arg('threads', 2);
const FEATURES = 50;
const PY = '/usr/bin/python3';

/** Seeded data: normal and uniform features, 5% missing everywhere, a nonlinear logit with interactions. */
function makeData(n: number): { cols: Float32Array[]; label: Float32Array } {
  const rng = new Rng(20240611, 7);
  const cols = Array.from({ length: FEATURES }, () => new Float32Array(n));
  const label = new Float32Array(n);
  const x = new Float64Array(FEATURES);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < FEATURES; j++) {
      const v = j % 3 === 2 ? rng.uniform() * 4 - 2 : rng.normal();
      const missing = rng.uniform() < 0.05;
      cols[j]![i] = missing ? NaN : v;
      x[j] = missing ? 0 : v;
    }
    const miss10 = cols[10]![i] !== cols[10]![i];
    const z = 1.2 * x[0]! * x[1]! + Math.sin(2 * x[2]!) + 0.8 * x[3]! * x[3]! - 0.8 + 0.6 * x[4]!
      + 0.5 * Math.abs(x[5]!) * Math.sign(x[6]!) + 0.4 * Math.cos(x[7]! + x[8]!) + (x[9]! > 0.5 ? 0.3 : -0.1)
      + (miss10 ? 0.7 : 0.2 * x[10]!) + 0.3 * Math.tanh(x[11]! * x[12]!) - 0.25 * x[13]! * x[14]! * x[15]!;
    label[i] = rng.uniform() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
  }
  return { cols, label };
}

/** A Fortran-order (column-major) float32 .npy file, so the columns are written as they are. */
function writeNpy(path: string, cols: Float32Array[] | Float32Array, n: number): void {
  const isMatrix = Array.isArray(cols);
  const shape = isMatrix ? `(${n}, ${cols.length})` : `(${n},)`;
  let header = `{'descr': '<f4', 'fortran_order': ${isMatrix ? 'True' : 'False'}, 'shape': ${shape}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const pre = Buffer.alloc(10);
  pre.write('\x93NUMPY', 0, 'latin1');
  pre[6] = 1;
  pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  const parts = [pre, Buffer.from(header, 'latin1')];
  for (const c of isMatrix ? cols : [cols]) parts.push(Buffer.from(c.buffer as ArrayBuffer, c.byteOffset, c.byteLength));
  writeFileSync(path, Buffer.concat(parts));
}

const XGB_SCRIPT = String.raw`
import json, sys, time
import numpy as np
import xgboost as xgb
d, ntr, rounds, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
X = np.ascontiguousarray(np.load(d + '/X.npy'))
y = np.load(d + '/y.npy')
params = {'tree_method': 'hist', 'objective': 'binary:logistic', 'max_depth': 6, 'eta': 0.1, 'max_bin': 256, 'nthread': threads, 'seed': 0}
t0 = time.perf_counter(); c0 = time.process_time()
dtrain = xgb.DMatrix(X[:ntr], label=y[:ntr], nthread=threads)
t1 = time.perf_counter()
bst = xgb.train(params, dtrain, rounds)
t2 = time.perf_counter(); cpu = time.process_time() - c0
Xte = np.ascontiguousarray(X[ntr:]); yte = y[ntr:]
p = bst.predict(xgb.DMatrix(Xte, nthread=threads))
best = float('inf')
for _ in range(3):  # a fresh DMatrix each pass: XGBoost caches predictions per DMatrix
    dtest = xgb.DMatrix(Xte, nthread=threads)
    t3 = time.perf_counter(); bst.predict(dtest); best = min(best, time.perf_counter() - t3)
order = np.argsort(p, kind='mergesort'); ps = p[order]; ys = yte[order]
# AUC with ties counted half
_, start, counts = np.unique(ps, return_index=True, return_counts=True)
pos = np.add.reduceat(ys, start); neg = counts - pos
negbelow = np.concatenate([[0], np.cumsum(neg)[:-1]])
auc = float(np.sum(pos * (negbelow + neg / 2)) / (pos.sum() * neg.sum()))
lat = []
for i in range(2000):
    row = Xte[i:i + 1]
    s = time.perf_counter_ns(); bst.inplace_predict(row); lat.append((time.perf_counter_ns() - s) / 1000)
lat.sort()
print(json.dumps({'dmatrix_s': t1 - t0, 'train_s': t2 - t1, 'cpu_s': cpu, 'auc': auc, 'predict_rows_s': len(yte) / best, 'p50_us': lat[len(lat) // 2], 'p99_us': lat[int(len(lat) * 0.99)], 'version': xgb.__version__}))
`;

interface Figures { trainS: number; cpuS: number; auc: number; rowsPerS: number; p50: number; p99: number }

function pct(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]!;
}

async function runKiln(cols: Float32Array[], label: Float32Array, ntr: number): Promise<Figures & { rowsPerS1: number }> {
  const names = cols.map((_, j) => `f${j}`);
  const tr = cols.map((c) => c.subarray(0, ntr));
  const te = cols.map((c) => c.subarray(ntr));
  const yte = label.subarray(ntr);
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const booster = await train({
    features: tr, label: label.subarray(0, ntr), featureNames: names,
    params: { objective: 'binary:logistic', max_depth: 6, learning_rate: 0.1, n_estimators: ROUNDS, max_bin: 256, nthread: THREADS, seed: 0 },
  });
  const trainS = (performance.now() - t0) / 1000;
  const cu = process.cpuUsage(c0);
  const cpuS = (cu.user + cu.system) / 1e6;
  booster.predict(te.map((c) => c.subarray(0, 1000)));
  // Best of three timed passes: on a shared machine one pass can lose its second core.
  const timeBest = (): number => {
    let best = Infinity;
    for (let k = 0; k < 3; k++) {
      const t = performance.now();
      booster.predict(te);
      best = Math.min(best, (performance.now() - t) / 1000);
    }
    return best;
  };
  const pred = booster.predict(te);
  const predS1 = timeBest();
  await booster.startThreads(THREADS);
  booster.predict(te.map((c) => c.subarray(0, 20000)));
  const predS = timeBest();
  await booster.close();
  const a = auc({ pred, label: yte, weight: null, nOutputs: 1, groupPtr: null });
  const nLat = Math.min(20000, te[0]!.length);
  const row = new Float64Array(FEATURES);
  const lat = new Float64Array(nLat);
  for (let pass = 0; pass < 2; pass++) {
    for (let i = 0; i < nLat; i++) {
      for (let j = 0; j < FEATURES; j++) row[j] = te[j]![i]!;
      const s = process.hrtime.bigint();
      booster.predictRow(row);
      lat[i] = Number(process.hrtime.bigint() - s) / 1000;
    }
  }
  lat.sort();
  return { trainS, cpuS, auc: a, rowsPerS: yte.length / predS, rowsPerS1: yte.length / predS1, p50: pct(lat, 0.5), p99: pct(lat, 0.99) };
}

function runXgboost(cols: Float32Array[], label: Float32Array, ntr: number): (Figures & { dmatrixS: number; version: string }) | string {
  if (process.argv.includes('--no-xgboost')) return 'skipped (--no-xgboost)';
  const probe = spawnSync(PY, ['-c', 'import xgboost, numpy'], { encoding: 'utf8' });
  if (probe.status !== 0) return `skipped: ${PY} cannot import xgboost (${(probe.stderr || probe.error?.message || '').trim().split('\n').pop()})`;
  const dir = mkdtempSync(join(tmpdir(), 'kiln-gbdt-bench-'));
  try {
    writeNpy(join(dir, 'X.npy'), cols, label.length);
    writeNpy(join(dir, 'y.npy'), label, label.length);
    writeFileSync(join(dir, 'run.py'), XGB_SCRIPT);
    const r = spawnSync(PY, [join(dir, 'run.py'), dir, String(ntr), String(ROUNDS), String(THREADS)], { encoding: 'utf8', maxBuffer: 1 << 24 });
    if (r.status !== 0) return `failed: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`;
    const j = JSON.parse(r.stdout.trim().split('\n').pop()!) as { dmatrix_s: number; train_s: number; cpu_s: number; auc: number; predict_rows_s: number; p50_us: number; p99_us: number; version: string };
    return { trainS: j.dmatrix_s + j.train_s, cpuS: j.cpu_s, dmatrixS: j.dmatrix_s, auc: j.auc, rowsPerS: j.predict_rows_s, p50: j.p50_us, p99: j.p99_us, version: j.version };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const t0 = performance.now();
const { cols, label } = makeData(ROWS);
const ntr = Math.floor(ROWS * 0.8);
console.log(`machine: ${machine()}`);
console.log(`data: ${ROWS} x ${FEATURES} (5% missing), generated in ${((performance.now() - t0) / 1000).toFixed(1)}s; train ${ntr}, test ${ROWS - ntr}; max_depth 6, eta 0.1, ${ROUNDS} rounds, max_bin 256, nthread ${THREADS}`);
const k = await runKiln(cols, label, ntr);
const x = runXgboost(cols, label, ntr);
const f = (v: number, d: number): string => v.toFixed(d);
const rows: (string | number)[][] = [['kiln', f(k.trainS, 2), f(k.cpuS, 1), f(k.auc, 4), f(k.rowsPerS, 0), f(k.p50, 1), f(k.p99, 1)]];
if (typeof x !== 'string') {
  rows.push([`xgboost ${x.version} (train incl. DMatrix ${f(x.dmatrixS, 2)}s; row latency via Python inplace_predict)`, f(x.trainS, 2), f(x.cpuS, 1), f(x.auc, 4), f(x.rowsPerS, 0), f(x.p50, 1), f(x.p99, 1)]);
  rows.push(['kiln / xgboost', f(k.trainS / x.trainS, 2), f(k.cpuS / x.cpuS, 2), f(k.auc - x.auc, 4) + ' (diff)', f(k.rowsPerS / x.rowsPerS, 2), f(k.p50 / x.p50, 2), f(k.p99 / x.p99, 2)]);
}
printTable(['engine', 'train s', 'train CPU s', 'test AUC', 'predict rows/s', 'row p50 us', 'row p99 us'], rows);
if (typeof x === 'string') console.log(`xgboost: ${x}`);
console.log(`kiln batch predict (best of 3 passes over the test set): ${f(k.rowsPerS, 0)} rows/s on ${THREADS} threads (Booster.startThreads), ${f(k.rowsPerS1, 0)} rows/s on the calling thread alone; single-row latency: predictRow on one thread`);
