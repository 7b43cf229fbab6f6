/**
 * TreeSHAP speed: leaf tables (the default) against the recursion (algorithm: 'recursion') on three
 * model shapes trained by kiln on a seeded synthetic binary task with 50 features, 5% missing:
 * 200 trees depth 6, 600 trees depth 4, 100 trees depth 8. Per model: table build time (on a fresh
 * copy of the booster), table memory, trees on tables / on the recursion, explainRow µs per row (mean
 * of the best half of interleaved 100-row batches, so other load on a shared machine hits both alike;
 * p50 and p99 over all rows), explain (batch) rows/s (best of a few runs), the recursion/new ratios,
 * batch explain on 2 threads (Booster.startThreads) and its speed-up over one, and the largest difference
 * between the two algorithms (relative to the row's total |contribution|).
 *
 *   npx tsx bench/shap.ts [--rows 40000] [--shap-rows 2000]
 */
import { loadavg } from 'node:os';
import { Rng } from '../src/core/rng.js';
import { Booster, train } from '../src/gbdt/index.js';
import { explain, explainPlan, explainRow } from '../src/gbdt/shap.js';
import { arg, machine, printTable } from './util.js';

const ROWS = arg('rows', 40_000);
const SHAP_ROWS = arg('shap-rows', 2000);
const F = 50;

function data(n: number, seed: number): { cols: Float32Array[]; label: Float32Array } {
  const rng = new Rng(seed, 3);
  const cols = Array.from({ length: F }, () => new Float32Array(n));
  const label = new Float32Array(n);
  const x = new Float64Array(F);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < F; j++) {
      const v = j % 4 === 3 ? rng.uniform() * 6 - 3 : rng.normal();
      const miss = rng.uniform() < 0.05;
      cols[j]![i] = miss ? NaN : v;
      x[j] = miss ? 0 : v;
    }
    let z = x[0]! * x[1]! + Math.sin(1.5 * x[2]!) + 0.6 * Math.abs(x[3]!) - 1 + 0.5 * x[4]! * (x[5]! > 0 ? 1 : -1) + 0.2 * x[9]! * x[10]! * x[11]!;
    for (let j = 12; j < F; j++) z += 0.05 * x[j]! * (j % 2 ? 1 : -1);
    label[i] = rng.uniform() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
  }
  return { cols, label };
}

function quantile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/**
 * explainRow µs per row for each algorithm, interleaved in batches of 100 rows (so load from other
 * processes hits both alike): the mean of the best half of the batches, and p50/p99 over all rows.
 */
function rowTimes(b: Booster, rows: Float64Array[], algorithms: ('auto' | 'recursion')[], rounds: number): { best: number; p50: number; p99: number }[] {
  const out = new Float64Array(F + 1);
  for (const algorithm of algorithms) for (let i = 0; i < Math.min(200, rows.length); i++) explainRow(b, rows[i]!, out, { algorithm });
  const batches = algorithms.map(() => [] as number[]);
  const times = algorithms.map(() => [] as number[]);
  const B = 100;
  for (let r = 0; r < rounds; r++) {
    const from = (r * B) % Math.max(1, rows.length - B);
    algorithms.forEach((algorithm, k) => {
      const t0 = performance.now();
      for (let i = from; i < from + B; i++) {
        const s = performance.now();
        explainRow(b, rows[i]!, out, { algorithm });
        times[k]!.push(performance.now() - s);
      }
      batches[k]!.push((performance.now() - t0) / B);
    });
  }
  return algorithms.map((_, k) => {
    const bt = Float64Array.from(batches[k]!).sort();
    const half = bt.subarray(0, Math.max(1, bt.length >> 1));
    const t = Float64Array.from(times[k]!).sort();
    return { best: (half.reduce((a, v) => a + v, 0) / half.length) * 1000, p50: quantile(t, 0.5) * 1000, p99: quantile(t, 0.99) * 1000 };
  });
}

/** explain (batch) rows/s: the best of `reps` runs. */
function batchRate(b: Booster, cols: Float32Array[], algorithm: 'auto' | 'recursion', reps: number): number {
  explain(b, cols.map((c) => c.subarray(0, 100)), { algorithm });
  let best = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    explain(b, cols, { algorithm });
    best = Math.min(best, performance.now() - t0);
  }
  return cols[0]!.length / (best / 1000);
}

async function main(): Promise<void> {
  console.log(`load average ${loadavg().map((x) => x.toFixed(2)).join(' ')} (shared machine: timings move with it)`);
  console.log(machine());
  const d = data(ROWS, 2024);
  const test = data(SHAP_ROWS, 7);
  const rows = Array.from({ length: SHAP_ROWS }, (_, i) => Float64Array.from(test.cols, (c) => c[i]!));
  const shapes = [
    { name: '200 trees depth 6', n_estimators: 200, max_depth: 6 },
    { name: '600 trees depth 4', n_estimators: 600, max_depth: 4 },
    { name: '100 trees depth 8', n_estimators: 100, max_depth: 8 },
    { name: '100 trees lossguide 255 leaves', n_estimators: 100, max_depth: 0, grow_policy: 'lossguide', max_leaves: 255 },
  ];
  const table: (string | number)[][] = [];
  for (const s of shapes) {
    const trained = await train({ features: d.cols, label: d.label, featureNames: d.cols.map((_, j) => `f${j}`), params: { objective: 'binary:logistic', max_depth: s.max_depth, n_estimators: s.n_estimators, learning_rate: 0.1, nthread: 2, seed: 1, ...('grow_policy' in s ? { grow_policy: s.grow_policy, max_leaves: s.max_leaves } : {}) } as never });
    const leaves = trained.trees.reduce((m, t) => m + t.feature.filter((f) => f < 0).length, 0) / trained.trees.length;
    const b = Booster.fromJSON(JSON.stringify(trained));
    const plan = explainPlan(b);
    const [rowNew, rowRec] = rowTimes(b, rows, ['auto', 'recursion'], 30) as [{ best: number; p50: number; p99: number }, { best: number; p50: number; p99: number }];
    const batchNew = batchRate(b, test.cols, 'auto', 3);
    const batchRec = batchRate(b, test.cols, 'recursion', 2);
    // Batch explain on the booster's threads (startThreads(2)): rows/s after a warm-up that builds each thread's tables.
    await b.startThreads(2);
    b.explain(test.cols.map((c) => c.subarray(0, 1024)));
    let bestThreads = Infinity;
    for (let rep = 0; rep < 3; rep++) { const t0 = performance.now(); b.explain(test.cols); bestThreads = Math.min(bestThreads, performance.now() - t0); }
    const batchThreads = SHAP_ROWS / (bestThreads / 1000);
    await b.close();
    const a = explain(b, test.cols).contributions;
    const r = explain(b, test.cols, { algorithm: 'recursion' }).contributions;
    let worst = 0;
    for (let i = 0; i < SHAP_ROWS; i++) {
      let scale = 0;
      for (let j = 0; j < F; j++) scale += Math.abs(r[i * (F + 1) + j]!);
      for (let j = 0; j <= F; j++) worst = Math.max(worst, Math.abs(a[i * (F + 1) + j]! - r[i * (F + 1) + j]!) / Math.max(scale, 1e-300));
    }
    table.push([
      s.name, leaves.toFixed(1), `${plan.tableTrees}/${plan.tableTrees + plan.recursionTrees}`, plan.buildMs.toFixed(1), (plan.tableBytes / 2 ** 20).toFixed(1),
      `${rowNew.best.toFixed(1)} / ${rowNew.p50.toFixed(1)} / ${rowNew.p99.toFixed(1)}`, `${rowRec.best.toFixed(1)} / ${rowRec.p50.toFixed(1)} / ${rowRec.p99.toFixed(1)}`,
      (rowRec.best / rowNew.best).toFixed(1), Math.round(batchNew), Math.round(batchRec), (batchNew / batchRec).toFixed(1), Math.round(batchThreads), (batchThreads / batchNew).toFixed(2), worst.toExponential(1),
    ]);
  }
  printTable(['model', 'leaves/tree', 'tables', 'build ms', 'table MiB', 'explainRow µs best/p50/p99', 'recursion µs best/p50/p99', 'row x', 'explain rows/s', 'recursion rows/s', 'batch x', 'explain rows/s, 2 threads', 'threads x', 'max rel diff'], table);
}

await main();
