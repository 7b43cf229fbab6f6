/**
 * `kiln score` throughput against the target (issue 13): >= 200,000 rows/s for a 200-tree depth-6 model
 * from a table. Two shapes, each a registered model scored by `scoreBatch` (what `kiln score` runs, in
 * process: no CLI start-up) into Parquet:
 *  (a) plain table: 50 numeric columns (seeded, 5% missing), --rows rows (default 1,000,000); the model is
 *      trained on a separate 100,000-row table with n_estimators 200, max_depth 6 (early stopping may use
 *      fewer rounds: the trees used are printed);
 *  (b) the demo world (--borrowers, default 20,000): spine loan_labels with the credit_v1 features built
 *      point in time, then scored (features included in the total, reported apart).
 * Rates: rows / scoring seconds (read, score, write) and rows / whole run; ratio = scoring rate / 200k.
 * XGBoost column: the same trees exported to XGBoost JSON, `inplace_predict` over the same rows as a
 * float32 numpy array (predict only: no reading, no writing), via /usr/bin/python3; skipped with a note
 * when it cannot import xgboost.
 *   npx tsx bench/score.ts [--rows 1000000] [--borrowers 20000] [--no-xgboost]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEMO_REASONS, DEMO_REASON_GROUPS } from '../examples/demo/features.js';
import { Rng } from '../src/core/rng.js';
import { toXGBoostJSON } from '../src/gbdt/xgboost-json.js';
import { trainModel } from '../src/pipelines/index.js';
import { gbdtBundle, loadLiveVersion, scoreBatch } from '../src/serve/index.js';
import { simulate } from '../src/sim/index.js';
import { ColumnarAppender, initProject, Project, type ColumnSchema } from '../src/store/index.js';
import { arg, machine, printTable } from './util.js';

const ROWS = arg('rows', 1_000_000);
const BORROWERS = arg('borrowers', 20_000);
const TARGET = 200_000;
const F = 50;
const PY = '/usr/bin/python3';
const DEMO_FEATURES_FILE = join(import.meta.dirname, '..', 'examples', 'demo', 'features.ts');
const TREES = { max_depth: 6, learning_rate: 0.05, n_estimators: 200, early_stopping_rounds: 200, subsample: 0.8, colsample_bytree: 0.8 };

console.log(`machine: ${machine()}; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);

/** Seeded plain table: x0..x49 (normal and uniform, 5% missing), `bad` from a nonlinear logit; also returns float32 columns. */
async function plainTable(project: Project, table: string, n: number, seed: number, keep: boolean): Promise<Float32Array[] | null> {
  const schema: ColumnSchema = { id: 'int64', ...Object.fromEntries(Array.from({ length: F }, (_, j) => [`x${j}`, 'float64'])), bad: 'int32' };
  const app = await ColumnarAppender.create(await project.offline.ready(), table, schema);
  const rng = new Rng(seed, 3);
  const c = app.columns as Record<string, Float64Array>;
  const out = keep ? Array.from({ length: F }, () => new Float32Array(n)) : null;
  const x = new Float64Array(F);
  for (let i = 0; i < n; i++) {
    const r = app.next();
    c.id![r] = i + 1;
    for (let j = 0; j < F; j++) {
      const v = j % 4 === 3 ? rng.uniform() * 6 - 3 : rng.normal();
      const miss = rng.uniform() < 0.05;
      c[`x${j}`]![r] = miss ? NaN : v;
      if (out) out[j]![i] = miss ? NaN : v;
      x[j] = miss ? 0 : v;
    }
    const z = x[0]! * x[1]! + Math.sin(1.5 * x[2]!) + 0.6 * Math.abs(x[3]!) - 1 + 0.5 * x[4]! * (x[5]! > 0 ? 1 : -1) + 0.3 * x[6]!;
    c.bad![r] = rng.uniform() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
  }
  app.close();
  return out;
}

function xgboostPredict(modelJson: string, cols: Float32Array[]): { rowsS: number; version: string } | string {
  if (process.argv.includes('--no-xgboost')) return 'skipped (--no-xgboost)';
  const probe = spawnSync(PY, ['-c', 'import xgboost, numpy'], { encoding: 'utf8' });
  if (probe.status !== 0) return `skipped: ${PY} cannot import xgboost (${(probe.stderr || probe.error?.message || '').trim().split('\n').pop()})`;
  const dir = mkdtempSync(join(tmpdir(), 'kiln-score-bench-'));
  try {
    const n = cols[0]!.length;
    const rowMajor = new Float32Array(n * F);
    for (let j = 0; j < F; j++) { const c = cols[j]!; for (let i = 0; i < n; i++) rowMajor[i * F + j] = c[i]!; }
    writeFileSync(join(dir, 'x.f32'), rowMajor);
    writeFileSync(join(dir, 'model.json'), modelJson);
    writeFileSync(join(dir, 'run.py'), `
import json, sys, time, numpy as np, xgboost as xgb
d = sys.argv[1]; n = int(sys.argv[2]); f = int(sys.argv[3])
X = np.fromfile(d + '/x.f32', dtype=np.float32).reshape(n, f)
bst = xgb.Booster(); bst.load_model(d + '/model.json'); bst.set_param({'nthread': 0})
bst.inplace_predict(X[:1000])
best = 1e9
for _ in range(3):
    s = time.perf_counter(); bst.inplace_predict(X); best = min(best, time.perf_counter() - s)
print(json.dumps({'rowsS': n / best, 'version': xgb.__version__}))
`);
    const r = spawnSync(PY, [join(dir, 'run.py'), dir, String(n), String(F)], { encoding: 'utf8', maxBuffer: 1 << 24 });
    if (r.status !== 0) return `failed: ${(r.stderr || '').trim().split('\n').pop()}`;
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as { rowsS: number; version: string };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const dir = mkdtempSync(join(tmpdir(), 'kiln-score-bench-'));
const f = (x: number, d = 0): string => x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const rows: (string | number)[][] = [];
const t0 = performance.now();
const step = (what: string): void => console.log(`[${((performance.now() - t0) / 1000).toFixed(1)}s] ${what}`);
try {
  writeFileSync(join(dir, 'kiln.config.ts'), `import { defineConfig } from 'kiln';
import { DEMO_FEATURES } from ${JSON.stringify(DEMO_FEATURES_FILE)};
export default defineConfig({ name: 'score-bench', features: [...DEMO_FEATURES], models: ${JSON.stringify({
  plain: { spine: { table: 'plain_train', key: 'id' }, label: { column: 'bad' }, columns: { exclude: ['id'] }, split: { random: { valid: 0.2, test: 0.2, seed: 7 } }, params: TREES, defaultReason: 'Other factors' },
  credit: {
    spine: { table: 'loan_labels', timestamp: 'funded_at', key: 'borrower_id' }, label: { column: 'default_12m', availableAt: 'label_available_at' }, features: 'credit_v1',
    split: { validFrom: '2024-07-01', testFrom: '2024-10-01', testTo: '2025-01-01' }, params: TREES, minPositives: 5, reasons: DEMO_REASONS, reasonGroups: DEMO_REASON_GROUPS,
  },
})} });
`);
  await initProject(dir);
  const project = await Project.open({ project: dir });
  try {
    // The demo world first: every command checks the config's feature sources against the store.
    step('simulating the demo world');
    const sim = await simulate(project.offline, { borrowers: BORROWERS, months: 24, seed: 42 });
    for (const t of sim.tables) project.meta.upsertTable({ name: t.name, timestampColumn: t.timestampColumn ?? null, keyColumn: t.keyColumn ?? null, source: 'sim', description: t.description });
    // (a) plain table
    await plainTable(project, 'plain_train', 100_000, 1, false);
    const cols = await plainTable(project, 'plain_score', ROWS, 2, true);
    step('tables written; training the plain model');
    const trained = await trainModel(project, 'plain', { quiet: true, force: true });
    const live = { bundle: gbdtBundle(loadLiveVersion(project, `plain@${trained.version}`)) };
    const trees = (live.bundle.booster.bestIteration ?? live.bundle.booster.numRounds - 1) + 1;
    step('scoring the plain table');
    const out = join(dir, 'plain.parquet');
    const r = await scoreBatch(project, { model: `plain@${trained.version}`, spine: 'plain_score', output: out, quiet: true });
    const rate = r.rows / r.scoreSeconds;
    rows.push([`plain table ${f(ROWS)} x ${F}, ${trees} trees depth 6`, f(r.rows), f(r.scoreSeconds, 2), f(rate), f(r.rows / r.seconds), f(rate / TARGET, 2)]);
    step(`plain: ${f(rate)} rows/s scoring; XGBoost next`);
    const x = xgboostPredict(toXGBoostJSON(live.bundle.booster), cols!);
    // (b) demo world, credit_v1 features point in time
    step('training the credit model');
    const credit = await trainModel(project, 'credit', { quiet: true, force: true });
    const creditVersion = loadLiveVersion(project, `credit@${credit.version}`);
    const creditLive = { bundle: gbdtBundle(creditVersion), info: creditVersion.info };
    const creditTrees = (creditLive.bundle.booster.bestIteration ?? creditLive.bundle.booster.numRounds - 1) + 1;
    step('scoring the demo spine');
    const d = await scoreBatch(project, { model: `credit@${credit.version}`, spine: 'loan_labels', output: join(dir, 'credit.parquet'), quiet: true });
    rows.push([`demo spine loan_labels (${f(BORROWERS)} borrowers), credit_v1 (${creditLive.info.signature.features.length} inputs), ${creditTrees} trees`, f(d.rows), f(d.scoreSeconds, 2), f(d.rows / d.scoreSeconds), f(d.rows / d.seconds), f(d.rows / d.scoreSeconds / TARGET, 2)]);
    console.log(`target: ${f(TARGET)} rows/s for a 200-tree depth-6 model from a table; ratio = scoring rows/s / target\n`);
    printTable(['shape', 'rows', 'scoring s', 'scoring rows/s', 'whole run rows/s (features incl.)', 'ratio to target'], rows);
    if (typeof x === 'string') console.log(`\nxgboost: ${x}`);
    else console.log(`\nxgboost ${x.version} inplace_predict, the same ${trees} trees on the same ${f(ROWS)} rows (float32 numpy, all cores, predict only): ${f(x.rowsS)} rows/s; kiln score (read + score + write Parquet) / xgboost predict = ${f(rate / x.rowsS, 2)}`);
  } finally {
    project.close();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
