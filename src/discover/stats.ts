/**
 * Univariate and stability measures of one candidate column, over the monitoring stage's own bins:
 * information value and a binned AUC on decile bins (missing values are one more bin), and PSI of each
 * spine month against the training window. Pure functions over typed arrays.
 */
import { binCounts, psi, referenceBins, type NumericBins } from '../monitor/index.js';

/** Smoothing added to every bin's good and bad counts so an empty bin gives a finite WoE. */
export const WOE_SMOOTHING = 0.5;
/** Months with fewer spine rows than this get no PSI (too few rows for ten bins). */
export const MIN_MONTH_ROWS = 30;

export interface Univariate {
  /** Information value Σ (good% − bad%) · ln(good% / bad%) over decile bins + missing. */
  iv: number;
  /** AUC of the bins ordered by bad rate (≥ 0.5: direction-free); 0.5 when the column is constant. */
  auc: number;
  /** Share of rows with a missing value. */
  missing: number;
}

function split(x: Float64Array, y: Float64Array): { pos: Float64Array; neg: Float64Array } {
  let np = 0;
  for (let i = 0; i < y.length; i++) np += y[i] === 1 ? 1 : 0;
  const pos = new Float64Array(np), neg = new Float64Array(y.length - np);
  let a = 0, b = 0;
  for (let i = 0; i < y.length; i++) { if (y[i] === 1) pos[a++] = x[i]!; else neg[b++] = x[i]!; }
  return { pos, neg };
}

/**
 * Information value and binned AUC of `x` against the 0/1 label `y` (NaN = missing).
 * @example univariate(Float64Array.from([1, 2, 3, 4]), Float64Array.from([0, 0, 1, 1])) // { iv: …, auc: 1, missing: 0 }
 */
export function univariate(x: Float64Array, y: Float64Array, bins: NumericBins = referenceBins(x)): Univariate {
  const { pos, neg } = split(x, y);
  const bad = binCounts(pos, bins), good = binCounts(neg, bins);
  const k = bad.length;
  let tb = 0, tg = 0, missing = bad[k - 1]! + good[k - 1]!;
  for (let i = 0; i < k; i++) { tb += bad[i]! + WOE_SMOOTHING; tg += good[i]! + WOE_SMOOTHING; }
  let iv = 0;
  const rate: { b: number; g: number; r: number }[] = [];
  for (let i = 0; i < k; i++) {
    if (bad[i]! + good[i]! === 0) continue;
    const pb = (bad[i]! + WOE_SMOOTHING) / tb, pg = (good[i]! + WOE_SMOOTHING) / tg;
    iv += (pg - pb) * Math.log(pg / pb);
    rate.push({ b: bad[i]!, g: good[i]!, r: bad[i]! / (bad[i]! + good[i]!) });
  }
  // Bins by ascending bad rate: AUC from the counts (ties within a bin count half).
  rate.sort((p, q) => p.r - q.r);
  let goodBelow = 0, area = 0, B = 0, G = 0;
  for (const r of rate) { area += r.b * (goodBelow + r.g / 2); goodBelow += r.g; B += r.b; G += r.g; }
  return { iv, auc: B > 0 && G > 0 ? area / (B * G) : 0.5, missing: y.length ? missing / y.length : 0 };
}

/** UTC month ('2024-07') of an epoch-ms time. */
export const monthOf = (ms: number): string => new Date(ms).toISOString().slice(0, 7);

/**
 * PSI of the values of each month against a reference sample (the training window), on the reference's
 * decile bins; months with fewer than MIN_MONTH_ROWS rows are left out. `excess` is the PSI above what
 * sampling alone gives two samples of the same distribution, about (k − 1)(1/n + 1/N) for k occupied
 * bins, n month rows and N reference rows (0.1 on 100-row months): the figure stability is judged on.
 */
export function monthlyPsi(reference: Float64Array, values: Float64Array, timeMs: Float64Array): { month: string; rows: number; psi: number; excess: number }[] {
  const bins = referenceBins(reference);
  const expected = binCounts(reference, bins);
  const k = expected.filter((c) => c > 0).length;
  const byMonth = new Map<string, number[]>();
  for (let i = 0; i < values.length; i++) {
    const m = monthOf(timeMs[i]!);
    let list = byMonth.get(m);
    if (!list) byMonth.set(m, (list = []));
    list.push(values[i]!);
  }
  return [...byMonth.entries()].sort(([a], [b]) => (a < b ? -1 : 1))
    .filter(([, v]) => v.length >= MIN_MONTH_ROWS)
    .map(([month, v]) => {
      const p = psi(expected, binCounts(v, bins));
      return { month, rows: v.length, psi: p, excess: Math.max(0, p - (k - 1) * (1 / v.length + 1 / reference.length)) };
    });
}
