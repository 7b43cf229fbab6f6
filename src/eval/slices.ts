/**
 * Metrics per slice of the population (region, channel, vintage…). A slice with one outcome only gets
 * null for the metrics that compare outcomes, never an error.
 */
import { didYouMean } from '../core/errors.js';
import { logLossKernel, brierKernel, LOG_LOSS_EPS } from './probability.js';
import { aucFromBlocks, ksFromBlocks, prAucFromBlocks } from './ranking.js';
import { scoreBlocks } from './sort.js';
import { ArgCheck, checkKeys, checkLabels, checkScores, checkWeights, groupRows, type GroupKey, type WeightOption } from './validate.js';

interface SliceMetric {
  /** Undefined (null) when the slice has only one outcome. */
  needsBothClasses: boolean;
  /** Needs score in [0, 1]. */
  probability: boolean;
  compute(y: Float64Array, score: Float64Array, weight: Float64Array | null): number;
}

/** The metrics `bySlice` can compute, by name. */
export const SLICE_METRICS = {
  auc: { needsBothClasses: true, probability: false, compute: (y, s, w) => aucFromBlocks(scoreBlocks(y, s, w)) },
  gini: { needsBothClasses: true, probability: false, compute: (y, s, w) => 2 * aucFromBlocks(scoreBlocks(y, s, w)) - 1 },
  ks: { needsBothClasses: true, probability: false, compute: (y, s, w) => ksFromBlocks(scoreBlocks(y, s, w)).statistic },
  prAuc: { needsBothClasses: true, probability: false, compute: (y, s, w) => prAucFromBlocks(scoreBlocks(y, s, w)) },
  logLoss: { needsBothClasses: false, probability: true, compute: (y, s, w) => logLossKernel(y, s, w, LOG_LOSS_EPS) },
  brier: { needsBothClasses: false, probability: true, compute: (y, s, w) => brierKernel(y, s, w) },
  meanScore: {
    needsBothClasses: false, probability: false,
    compute: (_y, s, w) => { let a = 0, b = 0; for (let i = 0; i < s.length; i++) { const wi = w ? w[i]! : 1; a += wi * s[i]!; b += wi; } return a / b; },
  },
} as const satisfies Record<string, SliceMetric>;

export type SliceMetricName = keyof typeof SLICE_METRICS;
export const SLICE_METRIC_NAMES = Object.keys(SLICE_METRICS) as SliceMetricName[];

export interface SliceRow {
  slice: GroupKey;
  /** Rows (unweighted). */
  count: number;
  /** Sum of weights (= count without weights). */
  weight: number;
  /** Weighted defaults. */
  positives: number;
  /** positives / weight; null when the slice's weight is 0. */
  rate: number | null;
  /** The requested metrics; null where undefined (one outcome only, or no weight). */
  metrics: Partial<Record<SliceMetricName, number | null>>;
}

/**
 * Per distinct value of `sliceValues`: rows, weight, defaults, default rate and the requested metrics
 * (default `['auc']`). Slices are ordered numbers ascending, then strings, booleans, null.
 * @example bySlice(y, pd, region, ['auc', 'brier']) // [{ slice: 'north', count: 812, positives: 40, rate: 0.049, metrics: { auc: 0.74, brier: 0.045 } }, …]
 */
export function bySlice(
  y: ArrayLike<number>, score: ArrayLike<number>, sliceValues: ArrayLike<GroupKey>,
  metrics: readonly SliceMetricName[] = ['auc'], options?: WeightOption,
): SliceRow[] {
  const c = new ArgCheck('bySlice');
  const wanted: SliceMetric[] = [];
  if (!Array.isArray(metrics)) c.add('metrics', `metrics must be an array of names; use some of: ${SLICE_METRIC_NAMES.join(', ')}`);
  else {
    for (const name of metrics) {
      const m = (SLICE_METRICS as Record<string, SliceMetric>)[name];
      if (m) { wanted.push(m); continue; }
      const hint = typeof name === 'string' ? didYouMean(name, SLICE_METRIC_NAMES) : undefined;
      c.add('metrics', `metric '${String(name)}' is unknown${hint ? ` (did you mean '${hint}'?)` : ''}; use one of: ${SLICE_METRIC_NAMES.join(', ')}`);
    }
  }
  const n = checkLabels(c, y);
  checkScores(c, score, n, 'score', wanted.some((m) => m.probability));
  checkWeights(c, options?.weight, n);
  checkKeys(c, 'sliceValues', sliceValues, n);
  c.done();
  const w = options?.weight;
  const g = groupRows(sliceValues);
  const rows: SliceRow[] = [];
  for (let k = 0; k < g.keys.length; k++) {
    const from = g.start[k]!, to = g.start[k + 1]!;
    const len = to - from;
    const ys = new Float64Array(len), ss = new Float64Array(len), ws = w ? new Float64Array(len) : null;
    let pos = 0, neg = 0;
    for (let j = 0; j < len; j++) {
      const r = g.rows[from + j]!;
      ys[j] = y[r]!; ss[j] = score[r]!;
      const wi = w ? w[r]! : 1;
      if (ws) ws[j] = wi;
      if (y[r] === 1) pos += wi; else neg += wi;
    }
    const weight = pos + neg;
    const values: Partial<Record<SliceMetricName, number | null>> = {};
    metrics.forEach((name, i) => {
      const m = wanted[i]!;
      values[name] = weight <= 0 || (m.needsBothClasses && (pos <= 0 || neg <= 0)) ? null : m.compute(ys, ss, ws);
    });
    rows.push({ slice: g.keys[k]!, count: len, weight, positives: pos, rate: weight > 0 ? pos / weight : null, metrics: values });
  }
  return rows;
}
