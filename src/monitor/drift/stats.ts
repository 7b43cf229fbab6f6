/**
 * Distances between a reference distribution and a window's, each the same number scipy gives.
 *  - PSI (and CSI, the same formula per feature) on binned counts: Σ (a_i - e_i)·ln(a_i / e_i) over the
 *    proportions, each floored at epsilon (1e-4) so an empty bin adds a large but finite term.
 *  - Wasserstein-1 between two samples: ∫ |F_u - F_v|, one merge over both sorted samples; normalised
 *    (Evidently) by the reference's population standard deviation, floored at 0.001.
 *  - Jensen-Shannon distance: sqrt of the mean KL divergence of p and q from m = (p + q)/2.
 *  - Pearson's chi-squared goodness of fit of a window's counts to the reference proportions.
 */
import { checkCounts, checkNumberOption, checkSameLength, invalid, nonEmptySample } from './check.js';
import { chi2Sf } from './gamma.js';

/** Default floor of a bin's proportion in `psi`: an empty bin counts as 0.01%. */
export const PSI_EPSILON = 1e-4;

/** The credit industry's PSI / CSI bands: below 0.1 stable, 0.1 to 0.25 moderate, 0.25 and above significant. */
export const PSI_BANDS = { moderate: 0.1, significant: 0.25 } as const;
export type PsiBand = 'stable' | 'moderate' | 'significant';

/**
 * Population stability index of `actual` against `expected`, both counts (or proportions) over the
 * same bins, normalised inside. Each proportion is floored at `epsilon` (default 1e-4) before the log.
 * CSI is the same formula on a feature's bins.
 */
export function psi(expected: ArrayLike<number>, actual: ArrayLike<number>, opts: { epsilon?: number } = {}): number {
  const fn = 'psi';
  const eps = opts.epsilon ?? PSI_EPSILON;
  checkNumberOption(fn, 'epsilon', eps, 0, 1, true);
  const se = checkCounts(fn, 'expected', expected);
  const sa = checkCounts(fn, 'actual', actual);
  checkSameLength(fn, 'expected', expected, 'actual', actual);
  let sum = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = Math.max(expected[i]! / se, eps);
    const a = Math.max(actual[i]! / sa, eps);
    sum += (a - e) * Math.log(a / e);
  }
  return sum;
}

/** The band of a PSI or CSI value (PSI_BANDS; a value on a boundary takes the higher band). */
export function psiBand(value: number): PsiBand {
  if (typeof value !== 'number' || !(value >= 0)) invalid('psiBand', 'value', `value is ${String(value)}; expected a PSI >= 0`);
  return value >= PSI_BANDS.significant ? 'significant' : value >= PSI_BANDS.moderate ? 'moderate' : 'stable';
}

/** ∫|F_u - F_v| over sorted samples (scipy's _cdf_distance with p = 1). */
export function wassersteinSorted(u: Float64Array, v: Float64Array): number {
  const nu = u.length, nv = v.length;
  let i = 0, j = 0, sum = 0;
  let prev = Math.min(u[0]!, v[0]!);
  while (i < nu || j < nv) {
    const x = j >= nv || (i < nu && u[i]! <= v[j]!) ? u[i]! : v[j]!;
    if (x > prev) sum += Math.abs(i / nu - j / nv) * (x - prev);
    prev = x;
    while (i < nu && u[i]! <= x) i++;
    while (j < nv && v[j]! <= x) j++;
  }
  return sum;
}

/** First Wasserstein distance between two samples (= scipy.stats.wasserstein_distance). NaN and null are ignored. */
export function wasserstein(a: ArrayLike<number>, b: ArrayLike<number>): number {
  return wassersteinSorted(nonEmptySample('wasserstein', 'a', a).sort(), nonEmptySample('wasserstein', 'b', b).sort());
}

/** numpy.std(x) (ddof 0), two passes. */
export function populationStd(x: Float64Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]!;
  const mean = s / x.length;
  let ss = 0;
  for (let i = 0; i < x.length; i++) { const d = x[i]! - mean; ss += d * d; }
  return Math.sqrt(ss / x.length);
}

/** Floor of the reference's standard deviation in `normalizedWasserstein` (Evidently's). */
export const WASSERSTEIN_MIN_STD = 0.001;

/**
 * Evidently's normalised Wasserstein distance: wasserstein(reference, current) / max(std(reference), 0.001),
 * std the population standard deviation (numpy's default, ddof 0). A constant reference therefore
 * divides by 0.001 rather than by 0. NaN and null are ignored.
 */
export function normalizedWasserstein(reference: ArrayLike<number>, current: ArrayLike<number>): number {
  const r = nonEmptySample('normalizedWasserstein', 'reference', reference).sort();
  const c = nonEmptySample('normalizedWasserstein', 'current', current).sort();
  return wassersteinSorted(r, c) / Math.max(populationStd(r), WASSERSTEIN_MIN_STD);
}

/** x·ln(x/y), 0 when x = 0 (scipy.special.rel_entr on proportions). */
function relEntr(x: number, y: number): number {
  return x > 0 ? x * Math.log(x / y) : 0;
}

/**
 * Jensen-Shannon distance (= scipy.spatial.distance.jensenshannon(p, q, base)): sqrt((KL(p‖m) + KL(q‖m)) / 2)
 * with m = (p + q)/2, p and q normalised inside; natural log unless `base` is given (base 2 bounds it by 1).
 */
export function jensenShannon(p: ArrayLike<number>, q: ArrayLike<number>, opts: { base?: number } = {}): number {
  const fn = 'jensenShannon';
  if (opts.base !== undefined && (typeof opts.base !== 'number' || !(opts.base > 0) || opts.base === 1 || opts.base === Infinity)) {
    invalid(fn, 'base', `base is ${String(opts.base)}; expected a positive number other than 1`);
  }
  const sp = checkCounts(fn, 'p', p);
  const sq = checkCounts(fn, 'q', q);
  checkSameLength(fn, 'p', p, 'q', q);
  let left = 0, right = 0;
  for (let i = 0; i < p.length; i++) {
    const pi = p[i]! / sp, qi = q[i]! / sq;
    const m = (pi + qi) / 2;
    left += relEntr(pi, m);
    right += relEntr(qi, m);
  }
  let js = left + right;
  if (opts.base !== undefined) js /= Math.log(opts.base);
  return Math.sqrt(js / 2);
}

/**
 * Evidently's chi-squared drift test: scipy.stats.chisquare(f_obs = current counts, f_exp = reference
 * proportions × current total). Bins empty in both are dropped (Evidently only lists values seen in
 * either sample), so dof = bins kept - 1. A bin the reference never saw but the window did has expected
 * count 0: statistic +∞, p-value 0.
 */
export function chiSquared(referenceCounts: ArrayLike<number>, currentCounts: ArrayLike<number>): { statistic: number; pValue: number; dof: number } {
  const fn = 'chiSquared';
  const sr = checkCounts(fn, 'referenceCounts', referenceCounts);
  const sc = checkCounts(fn, 'currentCounts', currentCounts);
  checkSameLength(fn, 'referenceCounts', referenceCounts, 'currentCounts', currentCounts);
  let stat = 0, kept = 0;
  for (let i = 0; i < referenceCounts.length; i++) {
    const r = referenceCounts[i]!, o = currentCounts[i]!;
    if (r === 0 && o === 0) continue;
    kept++;
    const e = (r / sr) * sc;
    const d = o - e;
    stat += (d * d) / e;
  }
  const dof = kept - 1;
  if (dof < 1) return { statistic: stat, pValue: 1, dof: 0 };
  return { statistic: stat, pValue: stat === Infinity ? 0 : chi2Sf(stat, dof), dof };
}
