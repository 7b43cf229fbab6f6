/**
 * Confidence-based performance estimation (CBPE, as in NannyML): with calibrated scores, row i is bad
 * with probability p_i, so the labels' expected counts follow from the scores alone.
 *
 * Expected AUC: the ratio of expectations over distinct pairs,
 *   AUC ≈ Σ_{i≠j} p_i (1 − p_j) H(p_i − p_j) / Σ_{i≠j} p_i (1 − p_j),   H = 1 above, ½ on a tie, 0 below,
 * i.e. E[concordant bad/good pairs] / E[bad/good pairs] (E[P·N] = Σ_{i≠j} p_i(1−p_j) exactly). NannyML
 * sweeps thresholds with expected TPR = Σ_{s>t} p / Σ p and FPR = Σ_{s>t} (1−p) / Σ (1−p) and integrates
 * the ROC; that is the same ratio with the i = j terms left in (O(1/n) apart). E[AUC] itself, the mean
 * of a ratio, differs from this ratio by O(1/n); test/monitor/estimate-cbpe.test.ts measures both gaps.
 * Expected KS: the largest gap between the expected score CDFs of bads (weights p) and goods (1 − p);
 * a realised KS is the max of noisy CDFs, so it sits above this by O(1/√n) in small samples.
 * Expected bad rate: the mean pd. Weights (importance weights of rows) multiply each row's p and 1 − p;
 * a pair counts w_i·w_j. One sort, O(n log n).
 */
import { checkProbabilities, checkWeightArray } from './check.js';

export interface CbpeEstimate {
  /** Expected AUC (see the module header). */
  auc: number;
  /** Expected KS statistic. */
  ks: number;
  /** Expected bad rate = (weighted) mean pd. */
  badRate: number;
}

/** Kernel: p in [0, 1] and w >= 0 already checked. */
export function cbpeKernel(p: ArrayLike<number>, w: ArrayLike<number> | null): CbpeEstimate {
  const n = p.length;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => p[a]! - p[b]!);
  // Totals summed in sorted order, so the bytes do not depend on row order.
  let totalPos = 0, totalNeg = 0, diag = 0, totalW = 0;
  for (let s = 0; s < n; s++) {
    const i = order[s]!, wi = w ? w[i]! : 1, pi = p[i]!;
    totalPos += wi * pi;
    totalNeg += wi * (1 - pi);
    diag += wi * wi * pi * (1 - pi);
    totalW += wi;
  }
  // Walk blocks of equal pd from the lowest: a bad in block k outranks the goods below it, ties half.
  let negBelow = 0, posBelow = 0, area = 0, ksStat = 0;
  for (let s = 0; s < n;) {
    const v = p[order[s]!]!;
    let pos = 0, neg = 0, e = s;
    for (; e < n && p[order[e]!]! === v; e++) {
      const i = order[e]!, wi = w ? w[i]! : 1;
      pos += wi * p[i]!;
      neg += wi * (1 - p[i]!);
    }
    area += pos * (negBelow + neg / 2);
    negBelow += neg;
    posBelow += pos;
    if (totalPos > 0 && totalNeg > 0) ksStat = Math.max(ksStat, Math.abs(posBelow / totalPos - negBelow / totalNeg));
    s = e;
  }
  const pairs = totalPos * totalNeg - diag;
  return {
    // A row cannot pair with itself: its self-tie (½·w²p(1−p)) leaves the numerator, w²p(1−p) the denominator.
    auc: pairs > 0 ? (area - diag / 2) / pairs : NaN,
    ks: ksStat,
    badRate: totalPos / totalW,
  };
}

/**
 * CBPE: each calibrated pd is the probability that its row is bad; returns the expected AUC, KS and bad
 * rate of the rows once their labels come in, assuming calibration holds on these rows. AUC is NaN when
 * no pair can be a bad/good pair (a single row, or every pd 0 or every pd 1).
 * @example cbpe([0.1, 0.2, 0.6]) // { auc: 0.857… (= 1.2 / 1.4), ks: 0.476…, badRate: 0.3 }
 */
export function cbpe(pd: ArrayLike<number>, opts?: { weight?: ArrayLike<number> }): CbpeEstimate {
  const n = checkProbabilities('cbpe', 'pd', pd);
  if (opts?.weight !== undefined) checkWeightArray('cbpe', 'weight', opts.weight, n);
  return cbpeKernel(pd, opts?.weight ?? null);
}
