/**
 * Curves over score thresholds: ROC and precision–recall (scikit-learn's thresholding, one point per
 * distinct score), and the approval-rate vs bad-rate trade-off across cutoffs.
 */
import { checkBinary } from './ranking.js';
import { downsampleIndices, scoreBlocks } from './sort.js';
import { ArgCheck, checkInt, type WeightOption } from './validate.js';

export interface CurveOptions extends WeightOption {
  /** Keep at most this many points (>= 2), spaced evenly along the curve, first and last kept. For charts. */
  maxPoints?: number;
}

export interface RocCurveOptions extends CurveOptions {
  /** Drop points collinear with their neighbours, as scikit-learn does by default (default true). */
  dropIntermediate?: boolean;
}

/** Parallel arrays, thresholds descending; a row is flagged positive when score >= threshold. */
export interface RocCurve {
  fpr: Float64Array;
  tpr: Float64Array;
  /** thresholds[0] is +Infinity (no row flagged), the point (0, 0). */
  thresholds: Float64Array;
}

/** Parallel arrays in scikit-learn's order: thresholds ascending, recall decreasing to the final (recall 0, precision 1). */
export interface PrCurve {
  precision: Float64Array;
  recall: Float64Array;
  /** One fewer than precision: the final point (recall 0, precision 1) has no threshold. */
  thresholds: Float64Array;
}

function checkMaxPoints(fn: string, maxPoints: number | undefined): void {
  if (maxPoints === undefined) return;
  const c = new ArgCheck(fn);
  checkInt(c, 'maxPoints', maxPoints, 2);
  c.done();
}

function pick(a: Float64Array, idx: Uint32Array): Float64Array {
  const out = new Float64Array(idx.length);
  for (let i = 0; i < idx.length; i++) out[i] = a[idx[i]!]!;
  return out;
}

/**
 * ROC curve points (false-positive rate, true-positive rate) for "flag as default when score >= t", one
 * per distinct score, highest first, weighted. Same points as scikit-learn's `roc_curve` (with
 * `drop_intermediate`), except that the extra first threshold is +Infinity rather than max(score) + 1.
 * @example rocCurve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) // fpr [0, 0, 0.5, 0.5, 1], tpr [0, 0.5, 0.5, 1, 1]
 */
export function rocCurve(y: ArrayLike<number>, score: ArrayLike<number>, options?: RocCurveOptions): RocCurve {
  checkBinary('rocCurve', y, score, options, 'the ROC curve');
  checkMaxPoints('rocCurve', options?.maxPoints);
  const b = scoreBlocks(y, score, options?.weight);
  const m = b.m;
  const fps = new Float64Array(m), tps = new Float64Array(m), thr = new Float64Array(m);
  let tp = 0, fp = 0;
  for (let j = 0; j < m; j++) {
    const k = m - 1 - j;
    tp += b.pos[k]!; fp += b.neg[k]!;
    tps[j] = tp; fps[j] = fp; thr[j] = b.values[k]!;
  }
  const keep: number[] = [];
  const drop = (options?.dropIntermediate ?? true) && m > 2;
  for (let j = 0; j < m; j++) {
    // scikit-learn: keep where np.diff(x, 2) != 0 for fps or tps, plus both ends
    if (!drop || j === 0 || j === m - 1
      || (fps[j + 1]! - fps[j]!) - (fps[j]! - fps[j - 1]!) !== 0
      || (tps[j + 1]! - tps[j]!) - (tps[j]! - tps[j - 1]!) !== 0) keep.push(j);
  }
  const len = keep.length + 1;
  const fpr = new Float64Array(len), tpr = new Float64Array(len), thresholds = new Float64Array(len);
  thresholds[0] = Infinity;
  const lastF = fps[m - 1]!, lastT = tps[m - 1]!;
  keep.forEach((j, i) => { fpr[i + 1] = fps[j]! / lastF; tpr[i + 1] = tps[j]! / lastT; thresholds[i + 1] = thr[j]!; });
  if (options?.maxPoints === undefined || len <= options.maxPoints) return { fpr, tpr, thresholds };
  const idx = downsampleIndices(fpr, tpr, options.maxPoints);
  return { fpr: pick(fpr, idx), tpr: pick(tpr, idx), thresholds: pick(thresholds, idx) };
}

/**
 * Precision–recall curve of the default class for "flag when score >= t", one point per distinct
 * score, weighted. Same arrays as scikit-learn 1.2's `precision_recall_curve`.
 * @example prCurve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) // precision [0.5, 0.667, 0.5, 1, 1], recall [1, 1, 0.5, 0.5, 0], thresholds [0.1, 0.35, 0.4, 0.8]
 */
export function prCurve(y: ArrayLike<number>, score: ArrayLike<number>, options?: CurveOptions): PrCurve {
  checkBinary('prCurve', y, score, options, 'the precision-recall curve');
  checkMaxPoints('prCurve', options?.maxPoints);
  const b = scoreBlocks(y, score, options?.weight);
  const m = b.m;
  const precision = new Float64Array(m + 1), recall = new Float64Array(m + 1), thresholds = new Float64Array(m);
  let tp = 0, fp = 0;
  for (let k = m - 1; k >= 0; k--) {
    tp += b.pos[k]!; fp += b.neg[k]!;
    // position k: ascending thresholds, as scikit-learn returns them
    precision[k] = tp / (tp + fp);
    recall[k] = tp / b.totalPos;
    thresholds[k] = b.values[k]!;
  }
  precision[m] = 1;
  recall[m] = 0;
  if (options?.maxPoints === undefined || m + 1 <= options.maxPoints) return { precision, recall, thresholds };
  const idx = downsampleIndices(recall, precision, options.maxPoints);
  return { precision: pick(precision, idx), recall: pick(recall, idx), thresholds: pick(thresholds, idx.subarray(0, idx.length - 1)) };
}

export interface ApprovalCurveOptions extends WeightOption {
  /**
   * Number of cutoffs, chosen at evenly spaced approval rates 0, 1/(points−1), …, 1 (default 101: every
   * percent). `Infinity` gives every distinct cutoff.
   */
  points?: number;
}

export interface ApprovalPoint {
  /** Approve when score < cutoff. */
  cutoff: number;
  /** Share of rows (by weight) approved. */
  approvalRate: number;
  /** Default rate among the approved (by weight); null when nobody is approved. */
  badRate: number | null;
  /** Rows approved (count, unweighted). */
  approved: number;
  /** Weighted defaults among the approved. */
  bads: number;
}

/**
 * Approval rate and bad rate among the approved across cutoffs, approving when score < cutoff. Each
 * point is the smallest cutoff whose approval rate reaches the target rate; the candidate cutoffs are
 * the distinct scores (approving everything strictly below) and +Infinity (approving everyone).
 * @example approvalCurve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], { points: 3 })
 * // [{ cutoff: 0.1, approvalRate: 0, badRate: null, … }, { cutoff: 0.4, approvalRate: 0.5, badRate: 0.5, … }, { cutoff: Infinity, approvalRate: 1, badRate: 0.5, … }]
 */
export function approvalCurve(y: ArrayLike<number>, score: ArrayLike<number>, options?: ApprovalCurveOptions): ApprovalPoint[] {
  checkBinary('approvalCurve', y, score, options, null);
  const points = options?.points ?? 101;
  if (points !== Infinity) {
    const c = new ArgCheck('approvalCurve');
    checkInt(c, 'points', points, 2);
    c.done();
  }
  const b = scoreBlocks(y, score, options?.weight, true);
  const total = b.totalPos + b.totalNeg;
  const out: ApprovalPoint[] = [];
  let approvedW = 0, bads = 0, approved = 0, target = 0;
  // candidate j approves blocks 0..j-1; j = m approves everyone
  for (let j = 0; j <= b.m; j++) {
    const rate = j === b.m ? 1 : approvedW / total;
    if (points === Infinity || rate >= target / (points - 1)) {
      out.push({ cutoff: j === b.m ? Infinity : b.values[j]!, approvalRate: rate, badRate: approvedW > 0 ? bads / approvedW : null, approved, bads });
      if (points !== Infinity) while (target <= points - 1 && rate >= target / (points - 1)) target++;
    }
    if (j < b.m) { approvedW += b.pos[j]! + b.neg[j]!; bads += b.pos[j]!; approved += b.count[j]!; }
  }
  return out;
}
