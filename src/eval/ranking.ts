/**
 * Ranking metrics: how well the score (probability of default) separates defaults (y = 1) from
 * non-defaults. All are computed over blocks of tied scores, so ties count half (AUC) or move together
 * (KS, average precision), and weights are sample weights.
 */
import { ArgCheck, checkLabels, checkScores, checkWeights, requireBothClasses, type WeightOption } from './validate.js';
import { scoreBlocks, type ScoreBlocks } from './sort.js';

/** Validates `y`, `score`, optional weights; with `bothClasses`, also that both outcomes carry weight. */
export function checkBinary(fn: string, y: ArrayLike<number>, score: ArrayLike<number>, options: WeightOption | undefined, bothClasses: string | null, probability = false): void {
  const c = new ArgCheck(fn);
  const n = checkLabels(c, y);
  checkScores(c, score, n, 'score', probability);
  checkWeights(c, options?.weight, n);
  c.done();
  if (bothClasses !== null) requireBothClasses(fn, bothClasses, y, options?.weight);
}

/** AUC over blocks: P(score of a default > score of a non-default), ties counting half. */
export function aucFromBlocks(b: ScoreBlocks): number {
  let negBelow = 0, area = 0;
  for (let k = 0; k < b.m; k++) {
    const q = b.neg[k]!;
    area += b.pos[k]! * (negBelow + q / 2);
    negBelow += q;
  }
  return area / (b.totalPos * b.totalNeg);
}

/**
 * ROC AUC: the probability that a random default scores higher than a random non-default (tied scores
 * count half), weighted. Equals scikit-learn's `roc_auc_score`.
 * @example auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) // 0.75
 */
export function auc(y: ArrayLike<number>, score: ArrayLike<number>, options?: WeightOption): number {
  checkBinary('auc', y, score, options, 'AUC');
  return aucFromBlocks(scoreBlocks(y, score, options?.weight));
}

/**
 * Gini coefficient (accuracy ratio) = 2·AUC − 1: 1 for a perfect ranker, 0 for a random one, −1 for
 * one that ranks exactly backwards.
 * @example gini([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) // 0.5
 */
export function gini(y: ArrayLike<number>, score: ArrayLike<number>, options?: WeightOption): number {
  checkBinary('gini', y, score, options, 'Gini');
  return 2 * aucFromBlocks(scoreBlocks(y, score, options?.weight)) - 1;
}

export interface KsResult {
  /** max over t of |F₁(t) − F₀(t)|, F the (weighted) empirical CDFs of the score among y = 1 and y = 0. */
  statistic: number;
  /** The smallest score t where the maximum is reached: rows with score <= t against those above. */
  score: number;
  /** F₁(score): share of defaults (by weight) with score <= `score`. */
  cdfPositive: number;
  /** F₀(score): share of non-defaults (by weight) with score <= `score`. */
  cdfNegative: number;
}

export function ksFromBlocks(b: ScoreBlocks): KsResult {
  let cp = 0, cn = 0;
  let best: KsResult = { statistic: 0, score: b.values[0]!, cdfPositive: 0, cdfNegative: 0 };
  for (let k = 0; k < b.m; k++) {
    cp += b.pos[k]!;
    cn += b.neg[k]!;
    const fp = cp / b.totalPos, fn = cn / b.totalNeg;
    const d = Math.abs(fp - fn);
    if (d > best.statistic) best = { statistic: d, score: b.values[k]!, cdfPositive: fp, cdfNegative: fn };
  }
  return best;
}

/**
 * Kolmogorov–Smirnov statistic between the score distributions of defaults and non-defaults, and the
 * score where it is reached. Unweighted, equals `scipy.stats.ks_2samp(score[y==1], score[y==0]).statistic`.
 * @example ks([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) // { statistic: 0.5, score: 0.1, cdfPositive: 0, cdfNegative: 0.5 }
 */
export function ks(y: ArrayLike<number>, score: ArrayLike<number>, options?: WeightOption): KsResult {
  checkBinary('ks', y, score, options, 'KS');
  return ksFromBlocks(scoreBlocks(y, score, options?.weight));
}

/** Average precision over blocks, walking thresholds from the highest score down. */
export function prAucFromBlocks(b: ScoreBlocks): number {
  let tp = 0, fp = 0, prevRecall = 0, ap = 0;
  for (let k = b.m - 1; k >= 0; k--) {
    tp += b.pos[k]!;
    fp += b.neg[k]!;
    const recall = tp / b.totalPos;
    ap += (recall - prevRecall) * (tp / (tp + fp));
    prevRecall = recall;
  }
  return ap;
}

/**
 * Area under the precision–recall curve for the default class, as average precision:
 * Σₖ (Rₖ − Rₖ₋₁)·Pₖ over distinct score thresholds, highest first (no interpolation), weighted. Equals
 * scikit-learn's `average_precision_score`.
 * @example prAuc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) // 0.8333…
 */
export function prAuc(y: ArrayLike<number>, score: ArrayLike<number>, options?: WeightOption): number {
  checkBinary('prAuc', y, score, options, 'PR-AUC');
  return prAucFromBlocks(scoreBlocks(y, score, options?.weight));
}
