/**
 * Model interchange: XGBoost JSON both ways (against Python xgboost when /usr/bin/python3 can import it,
 * and against stored fixtures written once by fixtures/make-xgboost-fixtures.py otherwise), and
 * LightGBM text models built by hand whose predictions follow from LightGBM's routing rules.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { train, type Booster } from '../../src/gbdt/index.js';
import { fromLightGBMText, lightgbmThreshold } from '../../src/gbdt/lightgbm-text.js';
import { loadModelText } from '../../src/gbdt/model-formats.js';
import { explain } from '../../src/gbdt/shap.js';
import { fromXGBoostJSON, toXGBoostJSON, toXGBoostModel } from '../../src/gbdt/xgboost-json.js';
import { OfflineStore } from '../../src/store/index.js';
import { binaryData, type Dataset } from './data.js';

const FIX = join(import.meta.dirname, 'fixtures');
const PY = '/usr/bin/python3';
const probe = spawnSync(PY, ['-c', 'import xgboost, numpy'], { encoding: 'utf8' });
const why = probe.status === 0 ? '' : ` (skipped: ${PY} cannot import xgboost: ${(probe.stderr || probe.error?.message || 'not found').trim().split('\n').pop()})`;
const dir = mkdtempSync(join(tmpdir(), 'kiln-interop-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function python(script: string, ...args: string[]): unknown {
  writeFileSync(join(dir, 'run.py'), script);
  const r = spawnSync(PY, [join(dir, 'run.py'), ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

const rows = (cols: ArrayLike<number>[]): (number | null)[][] => Array.from({ length: cols[0]!.length }, (_, i) => cols.map((c) => (Number.isNaN(c[i]!) ? null : c[i]!)));
const columns = (r: (number | null)[][], F: number): Float64Array[] => Array.from({ length: F }, (_, j) => Float64Array.from(r, (x) => x[j] ?? NaN));

function withCategory(d: Dataset): Dataset {
  const rng = new Rng(5, 3);
  const cat = Float32Array.from(d.label, () => (rng.uniform() < 0.1 ? NaN : rng.int(7)));
  const label = Float32Array.from(d.label, (y, i) => ([2, 5].includes(cat[i]!) && rng.uniform() < 0.4 ? 1 - y : y));
  return { features: [...d.features, cat], label, names: [...d.names, 'cat'] };
}

const PREDICT = String.raw`
import json, sys
import numpy as np
import xgboost as xgb
out = []
for job in json.load(open(sys.argv[1])):
    b = xgb.Booster(model_file=job['model'])
    X = np.array([[np.nan if v is None else v for v in r] for r in job['rows']], dtype=np.float32)
    d = xgb.DMatrix(X, missing=np.nan, feature_names=b.feature_names, feature_types=b.feature_types, enable_categorical=True)
    out.append({'margin': b.predict(d, output_margin=True).ravel().tolist(), 'prediction': b.predict(d).ravel().tolist()})
print(json.dumps(out))
`;

describe('XGBoost JSON export, loaded by Python xgboost', () => {
  it.skipIf(why !== '')(`binary (missing values, a categorical feature), regression and multi:softprob predict the same (< 1e-5)${why}`, async () => {
    const d = withCategory(binaryData(3000, 5, 17, 0.1));
    const common = { max_depth: 5, learning_rate: 0.3, n_estimators: 30, nthread: 1 };
    const models: Booster[] = [
      await train({ features: d.features, label: d.label, featureNames: d.names, categorical: ['cat'], params: { ...common, objective: 'binary:logistic', base_score: 0.3 } }),
      await train({ features: d.features, label: Float32Array.from(d.features[0]!, (v, i) => (Number.isNaN(v) ? 1 : v * 2 + d.label[i]!)), featureNames: d.names, categorical: ['cat'], params: { ...common, objective: 'reg:squarederror' } }),
      await train({ features: d.features, label: Float32Array.from(d.features[1]!, (v) => (Number.isNaN(v) ? 2 : v > 0 ? 1 : 0)), featureNames: d.names, params: { ...common, objective: 'multi:softprob', num_class: 3 } }),
    ];
    expect(models[0]!.trees.some((t) => t.catNodes.length > 0)).toBe(true);
    const jobs = models.map((b, k) => {
      writeFileSync(join(dir, `export-${k}.json`), toXGBoostJSON(b));
      return { model: join(dir, `export-${k}.json`), rows: rows(d.features) };
    });
    writeFileSync(join(dir, 'jobs.json'), JSON.stringify(jobs));
    const out = python(PREDICT, join(dir, 'jobs.json')) as { margin: number[]; prediction: number[] }[];
    models.forEach((b, k) => {
      expect(maxDiff(out[k]!.margin, b.predictRaw(d.features))).toBeLessThan(1e-5);
      expect(maxDiff(out[k]!.prediction, b.predict(d.features))).toBeLessThan(1e-5);
    });
  });
});

const TRAIN_XGB = String.raw`
import json, sys
import numpy as np
import xgboost as xgb
rng = np.random.default_rng(11)
n, F = 4000, 8
X = rng.normal(size=(n, F)).astype(np.float32)
X[rng.random((n, F)) < 0.08] = np.nan
cat = rng.integers(0, 9, n).astype(np.float32)
cat[rng.random(n) < 0.1] = np.nan
z = np.nan_to_num(X[:, 0]) * np.nan_to_num(X[:, 1]) + np.sin(2 * np.nan_to_num(X[:, 2])) + np.isnan(X[:, 3]) + np.isin(cat, [1, 4, 7])
y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(np.float32)
out = {'rows': np.where(np.isnan(X), None, X).tolist(), 'catRows': np.where(np.isnan(cat), None, cat).tolist()}
b = xgb.train({'tree_method': 'hist', 'objective': 'binary:logistic', 'max_depth': 6, 'eta': 0.1, 'nthread': 2, 'seed': 0}, xgb.DMatrix(X, label=y, missing=np.nan), 50)
b.save_model(sys.argv[1] + '/xgb-plain.json')
d = xgb.DMatrix(X, missing=np.nan)
out['plain'] = {'margin': b.predict(d, output_margin=True).tolist(), 'prediction': b.predict(d).tolist()}
Xc = np.column_stack([X, cat])
types = ['q'] * F + ['c']
dc = xgb.DMatrix(Xc, label=y, missing=np.nan, feature_types=types, enable_categorical=True)
b = xgb.train({'tree_method': 'hist', 'objective': 'binary:logistic', 'max_depth': 6, 'eta': 0.1, 'nthread': 2, 'seed': 0, 'max_cat_to_onehot': 1}, dc, 50)
b.save_model(sys.argv[1] + '/xgb-cat.json')
out['cat'] = {'margin': b.predict(dc, output_margin=True).tolist(), 'prediction': b.predict(dc).tolist()}
print(json.dumps(out))
`;

describe('XGBoost JSON import of a model trained by Python xgboost', () => {
  it.skipIf(why !== '')(`hist, depth 6, 50 rounds, missing values (and a categorical feature): kiln predicts the same (< 1e-5)${why}`, () => {
    type Out = { margin: number[]; prediction: number[] };
    const out = python(TRAIN_XGB, dir) as { rows: (number | null)[][]; catRows: (number | null)[]; plain: Out; cat: Out };
    const X = columns(out.rows, 8);
    const plain = fromXGBoostJSON(readFileSync(join(dir, 'xgb-plain.json'), 'utf8'));
    expect(plain.numRounds).toBe(50);
    expect(plain.featureNames).toEqual(['f0', 'f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7']);
    expect(maxDiff(plain.predictRaw(X), out.plain.margin)).toBeLessThan(1e-5);
    expect(maxDiff(plain.predict(X), out.plain.prediction)).toBeLessThan(1e-5);
    const withCat = fromXGBoostJSON(readFileSync(join(dir, 'xgb-cat.json'), 'utf8'));
    expect(withCat.categorical[8]).toBe(true);
    const Xc = [...X, Float64Array.from(out.catRows, (v) => v ?? NaN)];
    expect(maxDiff(withCat.predictRaw(Xc), out.cat.margin)).toBeLessThan(1e-5);
    expect(maxDiff(withCat.predict(Xc), out.cat.prediction)).toBeLessThan(1e-5);
  });
});

describe('stored XGBoost fixtures (no Python needed)', () => {
  for (const name of ['xgb-binary-categorical', 'xgb-softprob', 'xgb-regression']) {
    it(`${name}: margins, predictions and SHAP equal XGBoost's; export then import is lossless`, () => {
      const text = readFileSync(join(FIX, `${name}.json`), 'utf8');
      const want = JSON.parse(readFileSync(join(FIX, `${name}.expected.json`), 'utf8')) as { rows: (number | null)[][]; margin: number[] | number[][]; prediction: number[] | number[][]; contribs: number[][] | number[][][] };
      const b = fromXGBoostJSON(text);
      const X = columns(want.rows, b.numFeatures);
      expect(maxDiff(b.predictRaw(X), want.margin.flat())).toBeLessThan(1e-6);
      expect(maxDiff(b.predict(X), want.prediction.flat())).toBeLessThan(1e-6);
      expect(maxDiff(explain(b, X, { iterations: b.numRounds }).contributions, want.contribs.flat(2))).toBeLessThan(1e-5);
      const again = fromXGBoostJSON(toXGBoostJSON(b));
      expect(Array.from(again.predictRaw(X))).toEqual(Array.from(b.predictRaw(X)));
      expect(again.toJSON().trees).toEqual(b.toJSON().trees);
    });
  }

  it('reads XGBoost NaN split conditions of categorical nodes and the feature types', () => {
    const b = fromXGBoostJSON(readFileSync(join(FIX, 'xgb-binary-categorical.json'), 'utf8'));
    expect(b.featureNames).toEqual(['a', 'b', 'c', 'color']);
    expect(b.categorical).toEqual([false, false, false, true]);
    expect(b.params).toMatchObject({ objective: 'binary:logistic', imported_from: 'xgboost 1.7.4' });
    expect(b.bestIteration).toBeUndefined(); // xgboost.train records best_iteration without early stopping
    const m = toXGBoostModel(b);
    expect(m.learner.feature_types).toEqual(['float', 'float', 'float', 'c']);
    expect(m.learner.learner_model_param.base_score).toBe('0.5');
    expect(toXGBoostJSON(b)).toMatch(/"sum_hessian":\[[0-9.e-]+\.[0-9]/);
  });
});

describe('XGBoost import errors name the field', () => {
  const base = (): Record<string, any> => JSON.parse(readFileSync(join(FIX, 'xgb-regression.json'), 'utf8'));
  const cases: [string, (m: Record<string, any>) => void, RegExp][] = [
    ['dart', (m) => { m.learner.gradient_booster.name = 'dart'; }, /gradient_booster 'dart' is not supported/],
    ['objective', (m) => { m.learner.objective.name = 'count:poisson'; }, /objective 'count:poisson' is not supported; use one of: binary:logistic/],
    ['parallel trees', (m) => { m.learner.gradient_booster.model.gbtree_model_param.num_parallel_tree = '4'; }, /num_parallel_tree = 4/],
    ['feature index', (m) => { m.learner.gradient_booster.model.trees[0].split_indices[0] = 99; }, /tree 0: node 0 splits on feature 99 but the model has 4/],
    ['array length', (m) => { m.learner.gradient_booster.model.trees[1].sum_hessian.pop(); }, /tree 1: sum_hessian has \d+ entries but left_children has \d+/],
  ];
  for (const [what, edit, msg] of cases) {
    it(what, () => {
      const m = base();
      edit(m);
      expect(() => fromXGBoostJSON(m)).toThrow(msg);
    });
  }
  it('a document that is not an XGBoost model', () => {
    expect(() => fromXGBoostJSON({ hello: 1 })).toThrow(/has no learner.gradient_booster/);
    expect(() => fromXGBoostJSON('{"learner": ')).toThrow(/model JSON does not parse/);
  });
});

/** LightGBM's own routing (include/LightGBM/tree.h NumericalDecision), in double. */
function lgbLeft(x: number, t: number, decisionType: number): boolean {
  const missing = (decisionType >> 2) & 3;
  const defaultLeft = (decisionType & 2) !== 0;
  let v = x;
  if (Number.isNaN(v) && missing !== 2) v = 0;
  if ((missing === 1 && Math.abs(v) <= Math.fround(1e-35)) || (missing === 2 && Number.isNaN(v))) return defaultLeft;
  return v <= t;
}

describe('LightGBM text import', () => {
  const special = [NaN, 0, -0, 1e-36, -1e-36, Math.fround(1e-35), -Math.fround(1e-35), 2e-35, -2e-35, Math.fround(0.1), 0.099999994, 1.5, 1.5000001, 2.5, 2.5000002, -2, -1.9999999, 3, 3.0000002, -3];
  it('regression: numeric splits with None, NaN and Zero missing types equal LightGBM routing, exactly', () => {
    const b = fromLightGBMText(readFileSync(join(FIX, 'lgb-regression.txt'), 'utf8'));
    expect(b.objective).toBe('reg:squarederror');
    expect(b.numRounds).toBe(5);
    const ref = (a: number, bb: number, c: number): number =>
      (lgbLeft(a, 0.1, 10) ? (lgbLeft(bb, 1.5, 0) ? 0.25 : -0.5) : 1) + (lgbLeft(c, 2.5, 4) ? 0.125 : -0.25) + (lgbLeft(c, -2, 6) ? 0.0625 : -0.125) + (lgbLeft(bb, 3, 6) ? 0.5 : -0.5) + 0.03125;
    const A: number[] = [];
    const B: number[] = [];
    const C: number[] = [];
    for (const a of special) for (const bb of special) for (const c of special) { A.push(a); B.push(bb); C.push(c); }
    const got = b.predict([A, B, C]);
    A.forEach((a, i) => expect(got[i], `a=${a} b=${B[i]} c=${C[i]}`).toBe(ref(a, B[i]!, C[i]!)));
    // By hand: a = fround(0.1) lies above the double 0.1, so tree 0 sends it right.
    expect(b.predictRow([Math.fround(0.1), 0, 0])).toBe(1 - 0.25 + 0.0625 + 0.5 + 0.03125);
    expect(b.predictRow([0.099999994, 2, 1])).toBe(-0.5 + 0.125 - 0.125 + 0.5 + 0.03125);
    const e = explain(b, [A, B, C]);
    for (let i = 0; i < A.length; i += 97) expect(e.contributions.subarray(i * 4, i * 4 + 4).reduce((s, v) => s + v, 0)).toBeCloseTo(got[i]!, 12);
  });

  it('binary: categorical bitsets (two words), NaN/negative/unseen categories, sigmoid', () => {
    const text = readFileSync(join(FIX, 'lgb-binary-categorical.txt'), 'utf8');
    const b = fromLightGBMText(text);
    expect(b.categorical).toEqual([true, false]);
    const tree0 = (color: number, size: number): number => {
      const c = Math.trunc(color);
      if (!Number.isNaN(color) && c >= 0 && [1, 3, 5, 32].includes(c)) return 0.5;
      return Number.isNaN(size) || size <= 4.5 ? -0.25 : 0.75;
    };
    const cases: [number, number][] = [[1, 0], [3.9, 9], [5, NaN], [32, 3], [2, 1], [0, 5], [-1, 5], [2.7, 4.5], [64, 2], [NaN, 2.0000002], [NaN, NaN], [7, 2]];
    for (const [color, size] of cases) {
      const margin = tree0(color, size) + (Number.isNaN(size) || size <= 2.0000000000000004 ? -0.125 : 0.125);
      expect(b.predictRow([color, size], true), `color=${color} size=${size}`).toBe(margin);
      expect(b.predictRow([color, size])).toBeCloseTo(1 / (1 + Math.exp(-margin)), 12);
    }
    const s2 = fromLightGBMText(text.replace('binary sigmoid:1', 'binary sigmoid:2'));
    expect(s2.predictRow([1, 0], true)).toBe(2 * (0.5 - 0.125));
  });

  it('multiclass: one tree per class per round, softmax', () => {
    const b = fromLightGBMText(readFileSync(join(FIX, 'lgb-multiclass.txt'), 'utf8'));
    expect(b.numOutputs).toBe(3);
    const out = new Float64Array(3);
    b.predictRowInto([NaN], out, true);
    expect(Array.from(out)).toEqual([1, 2, 0.25]);
    b.predictRowInto([0.7], out, true);
    expect(Array.from(out)).toEqual([-1, 2, 0.25]);
    b.predictRowInto([0.2], out);
    expect(out.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 12);
  });

  it('threshold conversion: x <= t (double) exactly when x < T (float32) for float32 x', () => {
    const rng = new Rng(3, 1);
    const f = new Float32Array(1);
    const u = new Int32Array(f.buffer);
    for (let k = 0; k < 20000; k++) {
      const t = (rng.uniform() - 0.5) * 10 ** (rng.int(12) - 6);
      const T = lightgbmThreshold(t);
      f[0] = t;
      const base = u[0]!;
      for (let s = -2; s <= 2; s++) {
        u[0] = base + s;
        const x = f[0]!;
        expect(x < T).toBe(x <= t);
      }
    }
  });

  const text = readFileSync(join(FIX, 'lgb-regression.txt'), 'utf8');
  const errors: [string, string, RegExp][] = [
    ['linear trees', text.replace('is_linear=0', 'is_linear=1'), /tree 0 is a linear tree \(is_linear=1\)/],
    ['random forest', text.replace('feature_names=', 'average_output\nfeature_names='), /average_output is set/],
    ['objective', text.replace('objective=regression', 'objective=poisson'), /objective 'poisson' is not supported; use one of: binary, cross_entropy/],
    ['sqrt', text.replace('objective=regression', 'objective=regression sqrt'), /squares predictions/],
    ['child', text.replace('left_child=1 -1', 'left_child=7 -1'), /tree 0: node 0 has left_child 7, which is out of range/],
    ['feature', text.replace('split_feature=0 1', 'split_feature=0 5'), /node 1 splits on feature 5 but the model has 3/],
    ['array', text.replace('threshold=2.5', 'threshold=2.5 1'), /'threshold' should have 1 numbers/],
  ];
  for (const [what, t, msg] of errors) {
    it(`refuses ${what} with the field named`, () => {
      const err = (() => { try { fromLightGBMText(t); } catch (e) { return e as { code: string; message: string }; } return null; })();
      expect(err?.code).toBe('MODEL_FORMAT_INVALID');
      expect(err?.message).toMatch(msg);
    });
  }
});

describe('loadModelText', () => {
  it('tells kiln, XGBoost and LightGBM models apart by content', async () => {
    const d = binaryData(500, 3, 2);
    const b = await train({ features: d.features, label: d.label, featureNames: d.names, params: { objective: 'binary:logistic', n_estimators: 3, nthread: 1 } });
    expect(loadModelText(JSON.stringify(b)).source).toBe('kiln');
    expect(loadModelText(toXGBoostJSON(b)).source).toBe('xgboost');
    expect(loadModelText(readFileSync(join(FIX, 'lgb-multiclass.txt'), 'utf8')).source).toBe('lightgbm');
    expect(() => loadModelText('hello', 'm.bin')).toThrow(/m.bin is neither JSON/);
    expect(() => loadModelText('{"a": 1}', 'm.json')).toThrow(/m.json is JSON but neither a kiln.gbdt@1 model/);
  });
});

// The command imports the interchange API from src/gbdt/index.ts; until that file exports it, skip.
const stage = (await import('../../src/gbdt/index.js')) as Record<string, unknown>;
const missing = ['explain', 'loadModelText', 'meanAbsContributions', 'toXGBoostJSON'].filter((k) => typeof stage[k] !== 'function');
const cliWhy = missing.length ? ` (skipped: src/gbdt/index.ts does not export ${missing.join(', ')} yet)` : '';
const cli = await import('../../src/cli/commands/gbdt.js');

async function runCli(args: string[]): Promise<string> {
  const { Command } = await import('commander');
  const program = new Command().exitOverride();
  cli.registerGbdt(program);
  const chunks: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((s: string | Uint8Array) => { chunks.push(String(s)); return true; }) as typeof process.stdout.write;
  try {
    await program.parseAsync(['gbdt', ...args], { from: 'user' });
  } finally {
    process.stdout.write = write;
  }
  return chunks.join('');
}

describe('kiln gbdt (CLI)', () => {
  it.skipIf(cliWhy !== '')(`train, predict and explain a CSV; XGBoost JSON and LightGBM models load too${cliWhy}`, async () => {
    const d = withCategory(binaryData(2000, 4, 8, 0.1));
    const lines = ['id,x0,x1,x2,x3,cat,y', ...Array.from({ length: 2000 }, (_, i) => [i, ...d.features.map((c) => (Number.isNaN(c[i]!) ? 'NA' : c[i]!)), d.label[i]].join(','))];
    const csv = join(dir, 'train.csv');
    writeFileSync(csv, lines.join('\n'));
    const model = join(dir, 'cli-model.json');
    const xgb = join(dir, 'cli-model.xgb.json');
    const out = await runCli(['train', '--data', csv, '--valid', csv, '--label', 'y', '--drop', 'id', '--categorical', 'cat', '--every', '5', '--out', model, '--xgboost-json', xgb,
      '--params', '{"objective":"binary:logistic","n_estimators":20,"max_depth":3,"eval_metric":"auc","nthread":1}']);
    expect(out).toContain('training binary:logistic on 2000 rows x 5 features (valid: 2000 rows)');
    expect(out).toMatch(/\[ {4}5\] train-auc 0\.\d+ {2}valid-auc 0\.\d+/);
    expect(out).toMatch(/trained in [\d.]+s: 20 rounds, no early stopping; last round train-auc/);
    const p1 = join(dir, 'p1.csv');
    const p2 = join(dir, 'p2.csv');
    expect(await runCli(['predict', '--model', model, '--data', csv, '--out', p1])).toMatch(/scored 2000 rows with a kiln binary:logistic model/);
    expect(await runCli(['predict', '--model', xgb, '--data', csv, '--out', p2])).toMatch(/with a xgboost binary:logistic model/);
    const a = readFileSync(p1, 'utf8').trim().split('\n');
    expect(a[0]).toBe('prediction');
    expect(a.length).toBe(2001);
    expect(readFileSync(p2, 'utf8')).toBe(readFileSync(p1, 'utf8'));
    const shap = join(dir, 'shap.csv');
    const ex = await runCli(['explain', '--model', model, '--data', csv, '--top', '3', '--out', shap]);
    expect(ex).toMatch(/explained 2000 rows .* expected margin -?\d/);
    expect(ex.split('\n').filter((l) => /^(x\d|cat) +\d/.test(l)).length).toBe(3);
    expect(readFileSync(shap, 'utf8').split('\n')[0]).toBe('x0,x1,x2,x3,cat,bias');
    const lgbCsv = join(dir, 'lgb.csv');
    writeFileSync(lgbCsv, 'color,size\n1,0\nNA,NA\n');
    await runCli(['predict', '--model', join(FIX, 'lgb-binary-categorical.txt'), '--data', lgbCsv, '--out', p1, '--raw']);
    expect(readFileSync(p1, 'utf8')).toBe('prediction\n0.375\n-0.375\n');
    writeFileSync(join(dir, 'text.csv'), 'x,name,y\n1,ann,0\n2,bob,1\n');
    await expect(runCli(['train', '--data', join(dir, 'text.csv'), '--label', 'y'])).rejects.toThrow(/column 'name' \(VARCHAR\) is not numeric; encode categories as integer codes/);
    writeFileSync(join(dir, 'header.csv'), 'x,name,y\n');
    await expect(runCli(['train', '--data', join(dir, 'header.csv'), '--label', 'y'])).rejects.toThrow(/header\.csv: no data rows \(a header line alone\); expected at least one row/);
    const store = await OfflineStore.open(':memory:');
    await store.con.run(`COPY (SELECT 1.0::DOUBLE AS x, 0.0::DOUBLE AS y WHERE false) TO '${join(dir, 'empty.parquet')}' (FORMAT parquet)`);
    store.close();
    await expect(runCli(['train', '--data', join(dir, 'empty.parquet'), '--label', 'y'])).rejects.toThrow(/empty\.parquet: no data rows \(an empty table\)/);
    await expect(runCli(['train', '--data', csv, '--label', 'label'])).rejects.toThrow(/--label 'label' is not a column/);
    await expect(runCli(['predict', '--model', join(dir, 'none.json'), '--data', csv, '--out', p1])).rejects.toThrow(/model file .*none.json does not exist/);
  });
});

describe('categorical routing of negative values', () => {
  it('treats any negative value as an unseen category, as XGBoost does', async () => {
    const { train } = await import('../../src/gbdt/index.js');
    const n = 400;
    const cat = Float64Array.from({ length: n }, (_, i) => i % 4);
    let checked = 0;
    // Whichever side category 0 lands on, one of the two labellings sends it away from unseen codes.
    for (const positive of [0, 1, 2, 3]) {
      const y = Float64Array.from(cat, (c) => (c === positive ? 1 : 0));
      const b = await train({ features: [cat], label: y, featureNames: ['c'], categorical: ['c'], params: { objective: 'binary:logistic', n_estimators: 3, max_depth: 1, nthread: 1 } });
      const unseen = b.predictRow([99]);
      expect(b.predictRow([-0.5])).toBe(unseen);
      expect(b.predictRow([-3])).toBe(unseen);
      expect(b.predict([Float64Array.of(-0.5)])[0]).toBe(unseen);
      const shap = b.explain([Float64Array.of(-0.5)]);
      expect(shap.contributions[0]! + shap.contributions[1]!).toBeCloseTo(b.predictRaw([Float64Array.of(99)])[0]!, 5);
      if (b.predictRow([0]) !== unseen) checked++;
    }
    expect(checked).toBeGreaterThan(0);
  });
});
