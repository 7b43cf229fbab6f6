/**
 * TreeSHAP against its definitions: additivity (contributions + bias = the row's margin), brute-force
 * Shapley values over every subset of features with the trees' cover-weighted conditional expectation,
 * and XGBoost's pred_contribs on an XGBoost-trained model (when /usr/bin/python3 can import xgboost).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { train, type Booster, type Tree } from '../../src/gbdt/index.js';
import { explain, explainRow } from '../../src/gbdt/shap.js';
import { fromXGBoostJSON } from '../../src/gbdt/xgboost-json.js';
import { binaryData, row, type Dataset } from './data.js';

const PY = '/usr/bin/python3';
const probe = spawnSync(PY, ['-c', 'import xgboost, numpy'], { encoding: 'utf8' });
const why = probe.status === 0 ? '' : ` (skipped: ${PY} cannot import xgboost: ${(probe.stderr || probe.error?.message || 'not found').trim().split('\n').pop()})`;

/** The child a row takes, written independently of src/gbdt (NaN: default; categories in the set: right). */
function next(t: Tree, i: number, x: ArrayLike<number>): number {
  const v = x[t.feature[i]!]!;
  if (Number.isNaN(v)) return t.defaultLeft[i] ? t.left[i]! : t.right[i]!;
  if (t.categorical[i]) {
    const k = Array.from(t.catNodes).indexOf(i);
    const set = Array.from(t.catCodes.subarray(t.catSegments[k]!, t.catSegments[k]! + t.catSizes[k]!));
    return set.includes(Math.trunc(v)) ? t.right[i]! : t.left[i]!;
  }
  return Math.fround(v) < t.threshold[i]! ? t.left[i]! : t.right[i]!;
}

/** Float64 margin: base margin plus every leaf reached. */
function margin64(b: Booster, x: ArrayLike<number>, k = 0): number {
  let m = b.baseMargin;
  b.trees.forEach((t, ti) => {
    if (b.treeGroup[ti] !== k) return;
    let n = 0;
    while (t.feature[n]! >= 0) n = next(t, n, x);
    m += t.leafValue[n]!;
  });
  return m;
}

/** E[tree(x) | features in S known]: unknown features average the children by their cover. */
function condExp(t: Tree, x: ArrayLike<number>, known: number, n = 0): number {
  if (t.feature[n]! < 0) return t.leafValue[n]!;
  if (known & (1 << t.feature[n]!)) return condExp(t, x, known, next(t, n, x));
  const cl = t.cover[t.left[n]!]!;
  const cr = t.cover[t.right[n]!]!;
  const w = cl + cr > 0 ? cl / (cl + cr) : 0.5;
  return w * condExp(t, x, known, t.left[n]!) + (1 - w) * condExp(t, x, known, t.right[n]!);
}

/** Shapley values by enumerating all 2^F subsets; last entry = v(empty set). */
function bruteForce(b: Booster, x: ArrayLike<number>): number[] {
  const F = b.numFeatures;
  const v = (S: number): number => b.trees.reduce((s, t) => s + condExp(t, x, S), b.baseMargin);
  const fact = (m: number): number => (m <= 1 ? 1 : m * fact(m - 1));
  const phi = new Array<number>(F + 1).fill(0);
  for (let i = 0; i < F; i++) {
    for (let S = 0; S < 1 << F; S++) {
      if (S & (1 << i)) continue;
      let size = 0;
      for (let j = 0; j < F; j++) if (S & (1 << j)) size++;
      phi[i]! += ((fact(size) * fact(F - size - 1)) / fact(F)) * (v(S | (1 << i)) - v(S));
    }
  }
  phi[F] = v(0);
  return phi;
}

/** Adds a categorical column (codes 0..7, 10% missing) that moves the label. */
function withCategory(d: Dataset, seed: number): Dataset {
  const rng = new Rng(seed, 3);
  const n = d.label.length;
  const cat = new Float32Array(n);
  const label = Float32Array.from(d.label);
  for (let i = 0; i < n; i++) {
    cat[i] = rng.uniform() < 0.1 ? NaN : rng.int(8);
    if ([1, 4, 6].includes(cat[i]!) && rng.uniform() < 0.3) label[i] = 1 - label[i]!;
  }
  return { features: [...d.features, cat], label, names: [...d.names, 'cat'] };
}

function regressionData(n: number, F: number, seed: number): Dataset {
  const rng = new Rng(seed, 5);
  const features = Array.from({ length: F }, () => new Float32Array(n));
  const label = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < F; j++) features[j]![i] = rng.uniform() < 0.08 ? NaN : rng.normal();
    const x = (j: number): number => (Number.isNaN(features[j]![i]!) ? 0.5 : features[j]![i]!);
    label[i] = 2 * x(0) - x(1) * x(2) + Math.sin(3 * x(3)) + 0.3 * rng.normal();
  }
  return { features, label, names: features.map((_, j) => `r${j}`) };
}

function expectAdditive(b: Booster, d: Dataset, rows: number): void {
  const e = explain(b, d.features);
  const F = b.numFeatures;
  const K = b.numOutputs;
  const raw = b.predictRaw(d.features);
  for (let i = 0; i < rows; i++) {
    const x = row(d.features, i);
    for (let k = 0; k < K; k++) {
      const o = (i * K + k) * (F + 1);
      let s = 0;
      for (let j = 0; j <= F; j++) s += e.contributions[o + j]!;
      const m = margin64(b, x, k);
      expect(Math.abs(s - m)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(m)));
      // predictRaw accumulates in float32, as XGBoost does.
      expect(Math.abs(s - raw[i * K + k]!)).toBeLessThan(1e-5 * Math.max(1, Math.abs(m)));
    }
  }
}

describe('TreeSHAP additivity', () => {
  it('binary:logistic with missing values and a categorical feature: contributions + bias = margin (1e-9 relative)', async () => {
    const d = withCategory(binaryData(4000, 6, 21, 0.1), 7);
    const b = await train({ features: d.features, label: d.label, featureNames: d.names, categorical: ['cat'], params: { objective: 'binary:logistic', max_depth: 5, n_estimators: 40, learning_rate: 0.2, nthread: 1 } });
    expect(b.trees.some((t) => t.catNodes.length > 0)).toBe(true);
    expectAdditive(b, d, 4000);
    const e = explain(b, d.features);
    expect(e.featureNames).toEqual(d.names);
    expect(e.contributions.length).toBe(4000 * 8);
    expect(e.expectedValue).toBe(e.contributions[7]);
  });

  it('reg:squarederror, deep lossguide trees', async () => {
    const d = regressionData(3000, 8, 3);
    const b = await train({ features: d.features, label: d.label, featureNames: d.names, params: { objective: 'reg:squarederror', max_depth: 0, grow_policy: 'lossguide', max_leaves: 48, n_estimators: 25, nthread: 1, subsample: 0.8 } });
    expectAdditive(b, d, 3000);
  });

  it('multi:softprob: n x K x (F + 1), each class adds up to its margin', async () => {
    const d = binaryData(2000, 5, 9, 0.05);
    const y = Float32Array.from(d.features[0]!, (v, i) => (Number.isNaN(v) ? 2 : v > 0.3 ? 1 : d.label[i]! ? 2 : 0));
    const b = await train({ features: d.features, label: y, featureNames: d.names, params: { objective: 'multi:softprob', num_class: 3, max_depth: 4, n_estimators: 15, nthread: 1 } });
    const e = explain(b, d.features);
    expect(e.numOutputs).toBe(3);
    expect(e.contributions.length).toBe(2000 * 3 * 6);
    expect(e.expectedValues.length).toBe(3);
    expectAdditive(b, { ...d, label: y }, 2000);
  });
});

describe('TreeSHAP against brute-force Shapley values (all 2^F subsets)', () => {
  for (const [F, seed] of [[4, 1], [6, 2]] as const) {
    it(`${F} features, missing values and a categorical feature: equal to 1e-9`, async () => {
      const d = withCategory(binaryData(1500, F - 1, seed, 0.15), seed);
      const b = await train({ features: d.features, label: d.label, featureNames: d.names, categorical: ['cat'], params: { objective: 'binary:logistic', max_depth: 5, n_estimators: 6, learning_rate: 0.5, nthread: 1 } });
      // Reuse of a feature on one path is what unwinding handles; make sure the trees exercise it.
      const reuse = b.trees.some((t) => Array.from(t.feature).some((f, i) => f >= 0 && t.parent[i]! >= 0 && t.feature[t.parent[i]!] === f));
      expect(reuse).toBe(true);
      const e = explain(b, d.features);
      for (let i = 0; i < 40; i++) {
        const ref = bruteForce(b, row(d.features, i));
        for (let j = 0; j <= F; j++) expect(e.contributions[i * (F + 1) + j]!).toBeCloseTo(ref[j]!, 9);
      }
    });
  }
});

describe('explainRow (serving)', () => {
  it('matches explain, writes into a caller buffer, and checks its input', async () => {
    const d = binaryData(1000, 5, 4, 0.1);
    const b = await train({ features: d.features, label: d.label, featureNames: d.names, params: { objective: 'binary:logistic', max_depth: 4, n_estimators: 10, nthread: 1 } });
    const e = explain(b, d.features);
    const out = new Float64Array(6);
    for (let i = 0; i < 50; i++) {
      const phi = explainRow(b, Array.from(row(d.features, i)), out);
      expect(phi).toBe(out);
      expect(Array.from(phi)).toEqual(Array.from(e.contributions.subarray(i * 6, i * 6 + 6)));
    }
    expect(() => explainRow(b, [1, 2])).toThrow(/row has 2 values but the model has 5 features/);
    expect(() => explainRow(b, [1, 2, 3, 4, 5], new Float64Array(3))).toThrow(/out has room for 3 values; the model writes 6/);
    expect(() => explain(b, d.features.slice(1))).toThrow(/got 4 feature columns but the model has 5/);
    expect(() => explain(b, { x0: d.features[0]! })).toThrow(/feature 'x1' is missing/);
    expect(() => explain(b, d.features, { iterations: 11 })).toThrow(/iterations = 11 is out of range/);
    const two = explain(b, d.features, { iterations: 2 });
    expect(two.expectedValue).not.toBe(e.expectedValue);
  });
});

const XGB_SCRIPT = String.raw`
import json, sys
import numpy as np
import xgboost as xgb
d = sys.argv[1]
rng = np.random.default_rng(7)
n, F = 3000, 8
X = rng.normal(size=(n, F)).astype(np.float32)
X[rng.random((n, F)) < 0.1] = np.nan
z = np.nan_to_num(X[:, 0]) * np.nan_to_num(X[:, 1]) + np.sin(2 * np.nan_to_num(X[:, 2])) + 0.5 * np.isnan(X[:, 3])
y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(np.float32)
dm = xgb.DMatrix(X, label=y, missing=np.nan)
b = xgb.train({'tree_method': 'hist', 'objective': 'binary:logistic', 'max_depth': 6, 'eta': 0.3, 'nthread': 1, 'seed': 0}, dm, 30)
b.save_model(d + '/m.json')
c = b.predict(xgb.DMatrix(X[:300], missing=np.nan), pred_contribs=True)
json.dump({'X': np.where(np.isnan(X[:300]), None, X[:300]).tolist(), 'contribs': c.tolist()}, open(d + '/out.json', 'w'))
`;

describe('TreeSHAP against XGBoost', () => {
  it.skipIf(why !== '')(`equals XGBoost pred_contribs on an XGBoost-trained model (float32 there: 1e-5)${why}`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-shap-xgb-'));
    try {
      writeFileSync(join(dir, 'run.py'), XGB_SCRIPT);
      const r = spawnSync(PY, [join(dir, 'run.py'), dir], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      const b = fromXGBoostJSON(readFileSync(join(dir, 'm.json'), 'utf8'));
      const out = JSON.parse(readFileSync(join(dir, 'out.json'), 'utf8')) as { X: (number | null)[][]; contribs: number[][] };
      const cols = Array.from({ length: 8 }, (_, j) => Float64Array.from(out.X, (x) => x[j] ?? NaN));
      const e = explain(b, cols);
      let worst = 0;
      out.contribs.forEach((c, i) => c.forEach((v, j) => { worst = Math.max(worst, Math.abs(v - e.contributions[i * 9 + j]!)); }));
      expect(worst).toBeLessThan(1e-5);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
