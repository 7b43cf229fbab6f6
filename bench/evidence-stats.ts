/**
 * Small statistics for bench/nn-evidence.ts: AUC restricted to a subgroup of rows (the simulator's
 * order-episode loans, or Berka's loans with a transaction history), with null when the subgroup does
 * not hold both classes; and the spread of a figure across seeds (mean, sample standard deviation,
 * min, max), nulls left out and counted.
 */
import { auc } from '../src/eval/index.js';

/**
 * AUC of `score` against the 0/1 `label` over the rows where `mask` is true; null when those rows hold
 * no positive or no negative (AUC is undefined there). Also gives the subgroup's size and positives.
 */
export function subgroupAuc(label: ArrayLike<number>, score: ArrayLike<number>, mask: ArrayLike<boolean>): { auc: number | null; rows: number; positives: number } {
  if (label.length !== score.length || label.length !== mask.length) throw new RangeError(`subgroupAuc: label (${label.length}), score (${score.length}) and mask (${mask.length}) differ in length`);
  const y: number[] = [];
  const s: number[] = [];
  for (let i = 0; i < label.length; i++) {
    if (!mask[i]) continue;
    y.push(label[i]!);
    s.push(score[i]!);
  }
  const positives = y.reduce((a, v) => a + (v === 1 ? 1 : 0), 0);
  return { auc: positives === 0 || positives === y.length ? null : auc(y, s), rows: y.length, positives };
}

export interface Spread { n: number; missing: number; mean: number; std: number; min: number; max: number }

/** Mean, sample standard deviation (n − 1; 0 for one value), min and max of the non-null values; NaN when none. */
export function spread(values: readonly (number | null)[]): Spread {
  const v = values.filter((x): x is number => x !== null && Number.isFinite(x));
  const n = v.length;
  if (n === 0) return { n, missing: values.length, mean: NaN, std: NaN, min: NaN, max: NaN };
  const mean = v.reduce((a, x) => a + x, 0) / n;
  const ss = v.reduce((a, x) => a + (x - mean) * (x - mean), 0);
  return { n, missing: values.length - n, mean, std: n > 1 ? Math.sqrt(ss / (n - 1)) : 0, min: Math.min(...v), max: Math.max(...v) };
}

/** `0.7123 ± 0.0101 (0.70–0.73)`, or `-` when no seed gave a value; `[k of n]` when some seeds gave none. */
export function formatSpread(s: Spread): string {
  if (s.n === 0) return '-';
  return `${s.mean.toFixed(4)} ± ${s.std.toFixed(4)} (${s.min.toFixed(3)}–${s.max.toFixed(3)})${s.missing ? ` [${s.n} of ${s.n + s.missing}]` : ''}`;
}
