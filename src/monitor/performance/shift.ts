/**
 * Performance under covariate shift, from the labelled reference. A classifier (kiln GBDT) learns to tell
 * current rows (class 1) from reference rows (class 0); by Bayes, for a reference row x
 *   w(x) = p(x | current) / p(x | reference) = c(x) / (1 − c(x)) · n_ref / n_cur,
 * c the classifier's probability of "current" and n_ref / n_cur its training counts. The classifier is
 * cross-fitted (k folds, each row scored by the model trained on the other folds), so a row's weight does
 * not come from a model that memorised it; weights are clipped and then scaled to mean 1 over the
 * reference. The out-of-fold AUC of the classifier says how separable the two samples are (0.5: no shift).
 * The shift-aware estimate reweights the reference by w: weighted realised AUC, KS and bad rate, and CBPE
 * on the reweighted pd. It is right when only the inputs moved (P(y | x) unchanged) and the current inputs
 * lie where the reference has rows; a change in how inputs relate to the outcome is invisible to it.
 */
import { auc, ks } from '../../eval/index.js';
import { train } from '../../gbdt/index.js';
import { Rng } from '../../core/rng.js';
import { cbpeKernel, type CbpeEstimate } from './cbpe.js';
import { badData, badOption, checkIntOption, checkProbabilities, checkWeightArray } from './check.js';

export interface DensityRatioOptions {
  /** Seed of the fold assignment and the classifier (default 0). */
  seed?: number;
  /** Cross-fitting folds (default 5). */
  folds?: number;
  /** Bounds of the weights before scaling to mean 1 (default [0.05, 20]). */
  clip?: [number, number];
  /** Trees of the classifier (default 50), their depth (default 3) and learning rate (default 0.1). */
  trees?: number;
  maxDepth?: number;
  learningRate?: number;
}

export interface DensityRatio {
  /** One weight per reference row, mean 1. */
  weights: Float64Array;
  /** Out-of-fold AUC of the current-vs-reference classifier; 0.5 = no detectable shift. */
  classifierAuc: number;
  /** (Σw)² / Σw²: how many reference rows the reweighted sample is worth. */
  effectiveSampleSize: number;
}

const FN = 'densityRatioWeights';

function checkColumns(name: string, cols: readonly Float64Array[]): number {
  if (!Array.isArray(cols) || cols.length === 0) badData(FN, name, `${name} must be a non-empty array of feature columns (Float64Array, NaN = missing)`);
  const n = cols[0]!.length;
  cols.forEach((c, j) => {
    if (!(c instanceof Float64Array)) badData(FN, name, `${name}[${j}] is not a Float64Array; pass one Float64Array per feature`);
    if (c.length !== n) badData(FN, name, `${name}[${j}] has ${c.length} rows but ${name}[0] has ${n}; every column needs one value per row`);
    for (let i = 0; i < n; i++) if (c[i] === Infinity || c[i] === -Infinity) badData(FN, name, `${name}[${j}][${i}] is ${c[i]}; values must be finite or NaN (missing)`);
  });
  if (n < 2) badData(FN, name, `${name} has ${n} rows; pass at least 2`);
  return n;
}

/** Fold of each row: a seeded shuffle of each sample dealt round-robin, so every fold holds both samples. */
function foldsOf(nRef: number, nCur: number, k: number, rng: Rng): Uint8Array {
  const fold = new Uint8Array(nRef + nCur);
  for (const [from, n] of [[0, nRef], [nRef, nCur]] as const) {
    const idx = Array.from({ length: n }, (_, i) => from + i);
    for (let i = n - 1; i > 0; i--) { const j = rng.int(i + 1); [idx[i], idx[j]] = [idx[j]!, idx[i]!]; }
    idx.forEach((row, r) => { fold[row] = r % k; });
  }
  return fold;
}

/**
 * Density ratio current/reference for the reference rows, from a cross-fitted classifier telling
 * current from reference; clipped, mean 1 over the reference. Seeded: same inputs and seed, same weights.
 */
export async function densityRatioWeights(reference: readonly Float64Array[], current: readonly Float64Array[], opts: DensityRatioOptions = {}): Promise<DensityRatio> {
  const nRef = checkColumns('reference', reference), nCur = checkColumns('current', current);
  if (reference.length !== current.length) badData(FN, 'current', `current has ${current.length} feature columns but reference has ${reference.length}; pass the same features in the same order`);
  const seed = opts.seed ?? 0, k = opts.folds ?? 5, trees = opts.trees ?? 50, maxDepth = opts.maxDepth ?? 3, eta = opts.learningRate ?? 0.1;
  const [lo, hi] = opts.clip ?? [0.05, 20];
  checkIntOption(FN, 'folds', k, 2, 20);
  checkIntOption(FN, 'trees', trees, 1, 100_000);
  checkIntOption(FN, 'maxDepth', maxDepth, 1, 16);
  if (!(eta > 0 && eta <= 1)) badOption(FN, 'learningRate', `learningRate is ${String(eta)}; expected a number in (0, 1]`);
  if (!(lo > 0 && hi >= lo && hi < Infinity)) badOption(FN, 'clip', `clip is [${String(lo)}, ${String(hi)}]; expected [lo, hi] with 0 < lo <= hi < ∞`);
  if (Math.min(nRef, nCur) < k) badData(FN, nRef < nCur ? 'reference' : 'current', `${Math.min(nRef, nCur)} rows cannot fill ${k} folds; pass more rows or fewer folds`);

  const n = nRef + nCur, F = reference.length;
  const fold = foldsOf(nRef, nCur, k, new Rng(seed, 0x5eed));
  const isCurrent = new Float64Array(n).fill(1, nRef);
  const oof = new Float64Array(n); // out-of-fold P(current | x)
  const odds = new Float64Array(n); // out-of-fold prior-corrected odds
  const featureNames = Array.from({ length: F }, (_, j) => `x${j}`);
  for (let f = 0; f < k; f++) {
    const trainRows: number[] = [], testRows: number[] = [];
    for (let i = 0; i < n; i++) (fold[i] === f ? testRows : trainRows).push(i);
    const col = (j: number, i: number): number => (i < nRef ? reference[j]![i]! : current[j]![i - nRef]!);
    const pick = (rows: number[]): Float64Array[] => featureNames.map((_, j) => Float64Array.from(rows, (i) => col(j, i)));
    const label = Float64Array.from(trainRows, (i) => isCurrent[i]!);
    const trainCur = label.reduce((s, v) => s + v, 0), trainRef = label.length - trainCur;
    const booster = await train({
      features: pick(trainRows), label, featureNames,
      params: { objective: 'binary:logistic', n_estimators: trees, max_depth: maxDepth, learning_rate: eta, seed: seed + f, nthread: 1, min_child_weight: 5 },
    });
    const c = booster.predict(pick(testRows));
    testRows.forEach((i, r) => {
      const ci = Math.min(Math.max(c[r]!, 1e-9), 1 - 1e-9);
      oof[i] = c[r]!;
      odds[i] = (ci / (1 - ci)) * (trainRef / trainCur);
    });
  }
  const weights = new Float64Array(nRef);
  let sum = 0;
  for (let i = 0; i < nRef; i++) { weights[i] = Math.min(Math.max(odds[i]!, lo), hi); sum += weights[i]!; }
  let sum2 = 0;
  for (let i = 0; i < nRef; i++) { weights[i]! *= nRef / sum; sum2 += weights[i]! * weights[i]!; }
  return { weights, classifierAuc: auc(isCurrent, oof), effectiveSampleSize: (nRef * nRef) / sum2 };
}

export interface ShiftAwareEstimate {
  /** Weighted realised AUC of the reference: the estimate of the current AUC. */
  auc: number;
  /** Weighted realised KS statistic of the reference. */
  ks: number;
  /** Weighted observed bad rate of the reference. */
  badRate: number;
  /** Weighted mean pd of the reference (the bad rate CBPE expects on the reweighted rows). */
  expectedBadRate: number;
  /** CBPE on the reweighted reference (expected AUC, KS, bad rate from the pd alone). */
  expected: CbpeEstimate;
  /** (Σw)² / Σw² of the weights given. */
  effectiveSampleSize: number;
}

/**
 * Shift-aware estimate: the labelled reference (development sample: labels and calibrated pd)
 * reweighted to the current inputs: weighted AUC, KS, bad rate, and CBPE on the reweighted reference.
 */
export function shiftAwareEstimate(ref: { label: ArrayLike<number>; pd: ArrayLike<number> }, weights: ArrayLike<number>): ShiftAwareEstimate {
  const fn = 'shiftAwareEstimate';
  const y = ref?.label;
  if (y == null || typeof y.length !== 'number' || y.length === 0) badData(fn, 'ref.label', 'ref.label is missing or empty; pass the 0/1 outcomes of the reference rows (1 = bad)');
  for (let i = 0; i < y.length; i++) if (y[i] !== 0 && y[i] !== 1) badData(fn, 'ref.label', `ref.label[${i}] is ${String(y[i])}; labels must be 0 or 1`);
  const n = checkProbabilities(fn, 'ref.pd', ref.pd, y.length);
  checkWeightArray(fn, 'weights', weights, n);
  let w = 0, wy = 0, w2 = 0;
  for (let i = 0; i < n; i++) { const wi = weights[i]!; w += wi; wy += wi * y[i]!; w2 += wi * wi; }
  const expected = cbpeKernel(ref.pd, weights);
  return {
    auc: auc(y, ref.pd, { weight: weights }), ks: ks(y, ref.pd, { weight: weights }).statistic,
    badRate: wy / w, expectedBadRate: expected.badRate, expected, effectiveSampleSize: (w * w) / w2,
  };
}
