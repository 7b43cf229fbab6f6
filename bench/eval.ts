/**
 * Evaluation metrics on 1,000,000 seeded synthetic rows: ms per call (best of --repeats) for auc, ks,
 * logLoss, prAuc, liftTable and calibrationTable. When `/usr/bin/python3 -c 'import sklearn'` works,
 * also times scikit-learn's roc_auc_score, average_precision_score and log_loss on the same data
 * (written as raw float64 and read with numpy.fromfile), checks the values agree, and prints ratios.
 *
 *   npx tsx bench/eval.ts                 # 1e6 rows, best of 5
 *   npx tsx bench/eval.ts --rows 200000   # or BENCH_ROWS=200000
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../src/core/rng.js';
import { auc, calibrationTable, ks, liftTable, logLoss, prAuc } from '../src/eval/index.js';
import { arg, machine, printTable } from './util.js';

const rows = arg('rows', 1_000_000);
const repeats = arg('repeats', 5);

function data(n: number): { y: Float64Array; score: Float64Array } {
  const r = new Rng(2024);
  const y = new Float64Array(n), score = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const z = r.normal();
    y[i] = r.uniform() < 1 / (1 + Math.exp(2.5 - z)) ? 1 : 0;
    // rounded to 1e-6 like a float32 model output would be: realistic ties
    score[i] = Math.round(1e6 / (1 + Math.exp(2.2 - 0.8 * z - 0.6 * r.normal()))) / 1e6;
  }
  return { y, score };
}

function best(fn: () => unknown): { ms: number; value: unknown } {
  let ms = Infinity, value: unknown;
  for (let i = 0; i < repeats; i++) {
    const t = performance.now();
    value = fn();
    ms = Math.min(ms, performance.now() - t);
  }
  return { ms, value };
}

const PY = String.raw`
import sys, time, json
import numpy as np
from sklearn.metrics import roc_auc_score, average_precision_score, log_loss
d, repeats = sys.argv[1], int(sys.argv[2])
y = np.fromfile(d + '/y.f64', dtype=np.float64)
s = np.fromfile(d + '/score.f64', dtype=np.float64)
out = {}
for name, f in [('auc', roc_auc_score), ('prAuc', average_precision_score), ('logLoss', log_loss)]:
    ms = float('inf')
    for _ in range(repeats):
        t = time.perf_counter(); v = f(y, s); ms = min(ms, (time.perf_counter() - t) * 1000)
    out[name] = {'ms': ms, 'value': float(v)}
import sklearn; out['version'] = sklearn.__version__
print(json.dumps(out))
`;

function sklearn(y: Float64Array, score: Float64Array): Record<string, { ms: number; value: number }> & { version?: string } | null {
  if (spawnSync('/usr/bin/python3', ['-c', 'import sklearn'], { stdio: 'ignore' }).status !== 0) return null;
  const dir = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), 'kiln-bench-eval-'));
  try {
    writeFileSync(join(dir, 'y.f64'), new Uint8Array(y.buffer, y.byteOffset, y.byteLength));
    writeFileSync(join(dir, 'score.f64'), new Uint8Array(score.buffer, score.byteOffset, score.byteLength));
    const r = spawnSync('/usr/bin/python3', ['-c', PY, dir, String(repeats)], { encoding: 'utf8' });
    if (r.status !== 0) { console.error(`scikit-learn run failed: ${r.stderr}`); return null; }
    return JSON.parse(r.stdout) as ReturnType<typeof sklearn>;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const t0 = performance.now();
const { y, score } = data(rows);
console.log(`eval bench: ${rows.toLocaleString('en-US')} rows (${new Set(score).size.toLocaleString('en-US')} distinct scores), best of ${repeats}, generated in ${(performance.now() - t0).toFixed(0)} ms`);
console.log(machine());

const results: [string, { ms: number; value: unknown }][] = [
  ['auc', best(() => auc(y, score))],
  ['ks', best(() => ks(y, score).statistic)],
  ['logLoss', best(() => logLoss(y, score))],
  ['prAuc', best(() => prAuc(y, score))],
  ['liftTable (10 groups)', best(() => liftTable(y, score, { groups: 10 })[0]!.lift)],
  ['calibrationTable (10 uniform)', best(() => calibrationTable(y, score, { bins: 10 }).bins[0]!.observedRate)],
  ['calibrationTable (10 quantile)', best(() => calibrationTable(y, score, { bins: 10, strategy: 'quantile' }).bins[0]!.observedRate)],
];
const sk = sklearn(y, score);
const ref: Record<string, string> = { auc: 'auc', prAuc: 'prAuc', logLoss: 'logLoss' };
printTable(
  ['metric', 'kiln ms', 'value', ...(sk ? [`sklearn ${sk.version} ms`, 'sklearn / kiln', '|Δ value|'] : [])],
  results.map(([name, r]) => {
    const s = sk && ref[name] ? sk[ref[name]!] : undefined;
    return [
      name, r.ms.toFixed(1), typeof r.value === 'number' ? r.value.toPrecision(10) : String(r.value),
      ...(sk ? (s ? [s.ms.toFixed(1), (s.ms / r.ms).toFixed(2), Math.abs(s.value - (r.value as number)).toExponential(1)] : ['', '', '']) : []),
    ];
  }),
);
if (!sk) console.log('(scikit-learn not available at /usr/bin/python3: no comparison)');
