/**
 * Calibration diagnostics: a reliability table (predicted vs observed default rate per score bin) and
 * the expected calibration error derived from it. Bins follow scikit-learn's `calibration_curve`.
 */
import { checkBinary } from './ranking.js';
import { argsortAscending, linspace, percentileOrdered, searchLeft } from './sort.js';
import { ArgCheck, checkInt, checkOneOf, type WeightOption } from './validate.js';

export const CALIBRATION_STRATEGIES = ['uniform', 'quantile'] as const;
export type CalibrationStrategy = (typeof CALIBRATION_STRATEGIES)[number];

export interface CalibrationOptions extends WeightOption {
  /** Number of bins (default 10). */
  bins?: number;
  /**
   * 'uniform' (default): equal-width bins on [0, 1]. 'quantile': edges at the (unweighted) score
   * percentiles, numpy's linear interpolation; tied scores can leave some bins empty.
   */
  strategy?: CalibrationStrategy;
}

export interface CalibrationBin {
  /** Bin k holds lower < score <= upper (the first bin also holds score == lower). */
  lower: number;
  upper: number;
  /** Rows in the bin (unweighted). */
  count: number;
  /** Sum of weights in the bin (= count without weights). */
  weight: number;
  /** Weighted mean predicted probability of default; null when the bin's weight is 0. */
  meanPredicted: number | null;
  /** Weighted observed default rate; null when the bin's weight is 0. */
  observedRate: number | null;
}

export interface CalibrationTable {
  strategy: CalibrationStrategy;
  /** bins + 1 edges. */
  edges: number[];
  /** Every bin, empty ones included (count 0), so charts keep one x-axis. */
  bins: CalibrationBin[];
}

function resolve(fn: string, y: ArrayLike<number>, p: ArrayLike<number>, options: CalibrationOptions | undefined): { bins: number; strategy: CalibrationStrategy } {
  const bins = options?.bins ?? 10;
  const strategy = options?.strategy ?? 'uniform';
  const c = new ArgCheck(fn);
  checkInt(c, 'bins', bins, 1, 1_000_000);
  checkOneOf(c, 'strategy', strategy, CALIBRATION_STRATEGIES);
  c.done();
  checkBinary(fn, y, p, options, null, true);
  return { bins, strategy };
}

/** Kernel: inputs already validated. */
export function calibrationKernel(y: ArrayLike<number>, p: ArrayLike<number>, w: ArrayLike<number> | null | undefined, bins: number, strategy: CalibrationStrategy): CalibrationTable {
  const n = y.length;
  let edges: number[];
  if (strategy === 'uniform') {
    edges = linspace(0, 1, bins + 1);
  } else {
    const order = argsortAscending(p);
    // numpy.percentile(p, linspace(0, 1, bins + 1) * 100), which divides by 100 again
    edges = linspace(0, 1, bins + 1).map((q) => percentileOrdered(p, order, (q * 100) / 100));
  }
  const inner = edges.slice(1, -1);
  const count = new Float64Array(bins), weight = new Float64Array(bins), sumP = new Float64Array(bins), sumY = new Float64Array(bins);
  for (let i = 0; i < n; i++) {
    const pi = p[i]!;
    const k = searchLeft(inner, pi);
    const wi = w ? w[i]! : 1;
    count[k]!++;
    weight[k]! += wi;
    sumP[k]! += wi * pi;
    sumY[k]! += wi * y[i]!;
  }
  const out: CalibrationBin[] = [];
  for (let k = 0; k < bins; k++) {
    const wk = weight[k]!;
    out.push({
      lower: edges[k]!, upper: edges[k + 1]!, count: count[k]!, weight: wk,
      meanPredicted: wk > 0 ? sumP[k]! / wk : null, observedRate: wk > 0 ? sumY[k]! / wk : null,
    });
  }
  return { strategy, edges, bins: out };
}

/**
 * Reliability table: per score bin, rows, weight, mean predicted probability of default and observed
 * default rate. Unweighted, the non-empty bins' (observedRate, meanPredicted) equal scikit-learn's
 * `calibration_curve(y, score, n_bins, strategy)` (prob_true, prob_pred); weights weight both means.
 * @example calibrationTable(y, pd, { bins: 10, strategy: 'quantile' }).bins[9] // { lower: 0.31, upper: 0.97, count: 1000, meanPredicted: 0.52, observedRate: 0.49, … }
 */
export function calibrationTable(y: ArrayLike<number>, score: ArrayLike<number>, options?: CalibrationOptions): CalibrationTable {
  const { bins, strategy } = resolve('calibrationTable', y, score, options);
  return calibrationKernel(y, score, options?.weight, bins, strategy);
}

/**
 * Expected calibration error: Σ_bins (bin weight / total weight) · |observed rate − mean predicted|,
 * over the bins of `calibrationTable` with the same options (default 10 uniform bins).
 * @example expectedCalibrationError([0, 1], [0.2, 0.7]) // 0.25
 */
export function expectedCalibrationError(y: ArrayLike<number>, score: ArrayLike<number>, options?: CalibrationOptions): number {
  const { bins, strategy } = resolve('expectedCalibrationError', y, score, options);
  const t = calibrationKernel(y, score, options?.weight, bins, strategy);
  let total = 0, err = 0;
  for (const b of t.bins) {
    if (b.weight <= 0) continue;
    total += b.weight;
    err += b.weight * Math.abs(b.observedRate! - b.meanPredicted!);
  }
  return err / total;
}
