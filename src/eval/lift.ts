/**
 * Rank-ordering tables: lift/gains by score group (riskiest first), and the score distribution of
 * defaults and non-defaults on common bins.
 */
import { checkBinary } from './ranking.js';
import { LABEL_BIT, linspace, radixSort, ROW_MASK } from './sort.js';
import { ArgCheck, checkInt, checkOneOf, type WeightOption } from './validate.js';

export const LIFT_TIES = ['together', 'by-index'] as const;
export type LiftTies = (typeof LIFT_TIES)[number];

export interface LiftOptions extends WeightOption {
  /** Number of groups (default 10: deciles). */
  groups?: number;
  /**
   * 'together' (default): rows with equal scores always share a group, so the table does not depend on
   * row order; with heavy ties groups are uneven and some can be empty. 'by-index': ties are broken by
   * row index (earlier rows first), so groups are as even as the weights allow.
   */
  ties?: LiftTies;
}

export interface LiftRow {
  /** 1 = highest scores (riskiest). */
  group: number;
  /** Score range of the group; null when empty. */
  minScore: number | null;
  maxScore: number | null;
  /** Rows (unweighted). */
  count: number;
  /** Sum of weights (= count without weights). */
  weight: number;
  /** Weighted defaults. */
  positives: number;
  /** positives / weight; null when empty. */
  rate: number | null;
  /** rate / overall rate; null when empty or when there are no defaults at all. */
  lift: number | null;
  cumulativeCount: number;
  cumulativeWeight: number;
  cumulativePositives: number;
  /** Share of the population (by weight) in groups 1..group. */
  cumulativeShare: number;
  /** Cumulative gain: share of all defaults captured in groups 1..group. */
  captureRate: number;
  /** Default rate in groups 1..group; null while empty. */
  cumulativeRate: number | null;
  /** cumulativeRate / overall rate; null while empty or when there are no defaults at all. */
  cumulativeLift: number | null;
}

/**
 * Lift table by score group, highest scores first: a row is in group g (0-based) when the midpoint of
 * its (or its tie block's) cumulative-weight interval, ranked by score descending, lies in
 * [g/G, (g+1)/G) of the total weight. Without weights and ties that is floor((rank + ½)·G/n) in exact
 * integer arithmetic: ten equal deciles when 10 divides n.
 * @example liftTable(y, pd, { groups: 10 })[0] // { group: 1, rate: 0.31, lift: 3.1, captureRate: 0.31, … }
 */
export function liftTable(y: ArrayLike<number>, score: ArrayLike<number>, options?: LiftOptions): LiftRow[] {
  const groups = options?.groups ?? 10;
  const ties = options?.ties ?? 'together';
  const c = new ArgCheck('liftTable');
  checkInt(c, 'groups', groups, 1, 1_000_000);
  checkOneOf(c, 'ties', ties, LIFT_TIES);
  c.done();
  checkBinary('liftTable', y, score, options, null);
  const w = options?.weight;
  const n = y.length;
  const { idx, hi, lo } = radixSort(score, y);
  const count = new Float64Array(groups), weight = new Float64Array(groups), pos = new Float64Array(groups);
  const minS = new Float64Array(groups).fill(Infinity), maxS = new Float64Array(groups).fill(-Infinity);
  let total = 0, totalPos = 0;
  for (let i = 0; i < n; i++) { const wi = w ? w[i]! : 1; total += wi; if (y[i] === 1) totalPos += wi; }
  // Group of the interval [before, before + size) of 2·total: integers without weights, so exact.
  const groupOf = (before: number, size: number): number => Math.min(groups - 1, Math.floor(((2 * before + size) * groups) / (2 * total)));
  const add = (g: number, t: number, wi: number, s: number): void => {
    count[g]!++; weight[g]! += wi;
    if (t & LABEL_BIT) pos[g]! += wi;
    if (s < minS[g]!) minS[g] = s;
    if (s > maxS[g]!) maxS[g] = s;
  };
  let before = 0;
  for (let end = n; end > 0;) {
    const h = hi[end - 1]!, l = lo[end - 1]!;
    let start = end - 1;
    while (start > 0 && hi[start - 1] === h && lo[start - 1] === l) start--;
    const s = score[idx[start]! & ROW_MASK]! + 0;
    // the sort is stable, so within the tie block [start, end) row indices ascend
    if (ties === 'together') {
      let bw = 0;
      for (let i = start; i < end; i++) bw += w ? w[idx[i]! & ROW_MASK]! : 1;
      const g = groupOf(before, bw);
      for (let i = start; i < end; i++) add(g, idx[i]!, w ? w[idx[i]! & ROW_MASK]! : 1, s);
      before += bw;
    } else {
      for (let i = start; i < end; i++) {
        const wi = w ? w[idx[i]! & ROW_MASK]! : 1;
        add(groupOf(before, wi), idx[i]!, wi, s);
        before += wi;
      }
    }
    end = start;
  }
  const overall = totalPos / total;
  const rows: LiftRow[] = [];
  let cc = 0, cw = 0, cp = 0;
  for (let g = 0; g < groups; g++) {
    const wg = weight[g]!, pg = pos[g]!;
    cc += count[g]!; cw += wg; cp += pg;
    const rate = wg > 0 ? pg / wg : null;
    const cumRate = cw > 0 ? cp / cw : null;
    rows.push({
      group: g + 1,
      minScore: count[g]! > 0 ? minS[g]! : null, maxScore: count[g]! > 0 ? maxS[g]! : null,
      count: count[g]!, weight: wg, positives: pg, rate, lift: rate === null || overall === 0 ? null : rate / overall,
      cumulativeCount: cc, cumulativeWeight: cw, cumulativePositives: cp, cumulativeShare: cw / total,
      captureRate: totalPos > 0 ? cp / totalPos : 0,
      cumulativeRate: cumRate, cumulativeLift: cumRate === null || overall === 0 ? null : cumRate / overall,
    });
  }
  return rows;
}

export interface ScoreDistributionOptions extends WeightOption {
  /** Number of equal-width bins (default 20). */
  bins?: number;
  /** [min, max] of the bins; default [0, 1] when every score is in it, else the scores' range. */
  range?: [number, number];
}

export interface ScoreDistribution {
  /** bins + 1 edges; bin k is [edges[k], edges[k+1]), the last bin also holds its upper edge (numpy.histogram). */
  edges: number[];
  /** Weighted count of y = 0 rows per bin. */
  negative: number[];
  /** Weighted count of y = 1 rows per bin. */
  positive: number[];
  /** negative / (total weight of y = 0 rows in range): a density for overlaying the two histograms. */
  negativeShare: number[];
  positiveShare: number[];
  /** Weight of rows outside the range (not in any bin). */
  outOfRange: number;
}

/**
 * Histograms of the score among non-defaults and defaults on common equal-width bins, as
 * numpy.histogram(score[y == k], bins, range, weights).
 * @example scoreDistribution(y, pd, { bins: 20 }).positiveShare
 */
export function scoreDistribution(y: ArrayLike<number>, score: ArrayLike<number>, options?: ScoreDistributionOptions): ScoreDistribution {
  const bins = options?.bins ?? 20;
  const c = new ArgCheck('scoreDistribution');
  checkInt(c, 'bins', bins, 1, 1_000_000);
  const range = options?.range;
  if (range !== undefined && !(Array.isArray(range) && range.length === 2 && Number.isFinite(range[0]) && Number.isFinite(range[1]) && range[0] <= range[1])) {
    c.add('range', `range is ${JSON.stringify(range)}; expected [min, max] with finite min <= max`);
  }
  c.done();
  checkBinary('scoreDistribution', y, score, options, null);
  const w = options?.weight;
  const n = y.length;
  let lo: number, hi: number;
  if (range) [lo, hi] = range;
  else {
    lo = Infinity; hi = -Infinity;
    for (let i = 0; i < n; i++) { const s = score[i]!; if (s < lo) lo = s; if (s > hi) hi = s; }
    if (lo >= 0 && hi <= 1) { lo = 0; hi = 1; }
  }
  if (lo === hi) { lo -= 0.5; hi += 0.5; } // numpy.histogram's rule for an empty range
  const edges = linspace(lo, hi, bins + 1);
  const neg = new Array<number>(bins).fill(0), posH = new Array<number>(bins).fill(0);
  let outOfRange = 0;
  const span = hi - lo;
  for (let i = 0; i < n; i++) {
    const s = score[i]!;
    const wi = w ? w[i]! : 1;
    if (s < lo || s > hi) { outOfRange += wi; continue; }
    let k = Math.min(bins - 1, Math.floor(((s - lo) / span) * bins));
    // numpy corrects the computed bin against the edges themselves
    if (s < edges[k]!) k--;
    else if (k < bins - 1 && s >= edges[k + 1]!) k++;
    if (y[i] === 1) posH[k]! += wi; else neg[k]! += wi;
  }
  const sum = (a: number[]): number => a.reduce((x, v) => x + v, 0);
  const tn = sum(neg), tp = sum(posH);
  return {
    edges, negative: neg, positive: posH,
    negativeShare: neg.map((v) => (tn > 0 ? v / tn : 0)), positiveShare: posH.map((v) => (tp > 0 ? v / tp : 0)),
    outOfRange,
  };
}
