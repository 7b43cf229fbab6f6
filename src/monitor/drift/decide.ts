/**
 * Evidently's default drift decision for one feature. With at most 1,000 non-missing reference values a
 * statistical test decides: numeric features by the two-sample KS test (drift when p < 0.05),
 * categorical ones by the chi-squared test (drift when p < 0.05). Above 1,000 rows a test would call
 * every trivial shift significant, so a distance with a fixed threshold decides instead: numeric by the
 * normalised Wasserstein distance (drift when >= 0.1), categorical by the Jensen-Shannon distance
 * (natural log, drift when >= 0.1). Missing values take no part (null rates are a data-quality check).
 */
import { categoryCounts, referenceCategories, type CategoryBins } from './bins.js';
import { checkNumberOption, invalid, nonEmptySample, requireArray } from './check.js';
import { ks2 } from './ks.js';
import { chiSquared, jensenShannon, populationStd, wassersteinSorted, WASSERSTEIN_MIN_STD } from './stats.js';

/** Reference rows up to which a statistical test decides (Evidently's rule). */
export const DRIFT_TEST_MAX_ROWS = 1000;
/** p-value below which a test calls drift. */
export const DRIFT_P_VALUE = 0.05;
/** Distance at or above which normalised Wasserstein or Jensen-Shannon calls drift. */
export const DRIFT_DISTANCE = 0.1;

export interface DriftTestOptions {
  /** Force a method instead of choosing by reference size. */
  method?: 'ks' | 'wasserstein';
  /** Overrides the threshold of the chosen method (a p-value for ks, a distance for wasserstein). */
  threshold?: number;
  /** Reference rows up to which KS is used (default 1000). */
  maxTestRows?: number;
}

export interface DriftTestResult {
  method: 'ks' | 'wasserstein';
  /** The KS p-value, or the normalised Wasserstein distance. */
  value: number;
  drifted: boolean;
  threshold: number;
  /** The KS statistic, or the unnormalised Wasserstein distance. */
  statistic: number;
}

/** Evidently's default numeric drift test (see the module header). NaN and null are ignored. */
export function driftTest(reference: ArrayLike<number>, current: ArrayLike<number>, opts: DriftTestOptions = {}): DriftTestResult {
  const fn = 'driftTest';
  const maxRows = opts.maxTestRows ?? DRIFT_TEST_MAX_ROWS;
  checkNumberOption(fn, 'maxTestRows', maxRows, 0, Infinity);
  if (opts.method !== undefined && opts.method !== 'ks' && opts.method !== 'wasserstein') invalid(fn, 'method', `method '${String(opts.method)}' is unknown; use one of: ks, wasserstein`);
  const r = nonEmptySample(fn, 'reference', reference).sort();
  const c = nonEmptySample(fn, 'current', current).sort();
  const method = opts.method ?? (r.length <= maxRows ? 'ks' : 'wasserstein');
  if (method === 'ks') {
    const threshold = opts.threshold ?? DRIFT_P_VALUE;
    checkNumberOption(fn, 'threshold', threshold, 0, 1);
    const t = ks2(r, c);
    return { method, value: t.pValue, drifted: t.pValue < threshold, threshold, statistic: t.statistic };
  }
  const threshold = opts.threshold ?? DRIFT_DISTANCE;
  checkNumberOption(fn, 'threshold', threshold, 0, Infinity);
  const w = wassersteinSorted(r, c);
  const value = w / Math.max(populationStd(r), WASSERSTEIN_MIN_STD);
  return { method, value, drifted: value >= threshold, threshold, statistic: w };
}

export interface CategoricalDriftOptions {
  method?: 'chi-squared' | 'jensen-shannon';
  threshold?: number;
  maxTestRows?: number;
}

export interface CategoricalDriftResult {
  method: 'chi-squared' | 'jensen-shannon';
  /** The chi-squared p-value, or the Jensen-Shannon distance. */
  value: number;
  drifted: boolean;
  threshold: number;
  /** The chi-squared statistic, or the Jensen-Shannon distance. */
  statistic: number;
  /** Share of the window's non-missing values in categories the reference never saw. */
  newRate: number;
}

/**
 * Evidently's default categorical drift test (see the module header), on the reference categories plus
 * one slot for unseen ones. The reference is either its raw values or its saved `CategoryBins`.
 */
export function categoricalDriftTest(
  reference: CategoryBins | ArrayLike<string | null | undefined>,
  current: ArrayLike<string | null | undefined>,
  opts: CategoricalDriftOptions = {},
): CategoricalDriftResult {
  const fn = 'categoricalDriftTest';
  const maxRows = opts.maxTestRows ?? DRIFT_TEST_MAX_ROWS;
  checkNumberOption(fn, 'maxTestRows', maxRows, 0, Infinity);
  if (opts.method !== undefined && opts.method !== 'chi-squared' && opts.method !== 'jensen-shannon') invalid(fn, 'method', `method '${String(opts.method)}' is unknown; use one of: chi-squared, jensen-shannon`);
  requireArray(fn, 'current', current);
  const ref = isCategoryBins(reference) ? reference : (requireArray(fn, 'reference', reference), referenceCategories(reference));
  const k = ref.categories.length;
  const refRows = ref.counts.reduce((s, v) => s + v, 0);
  if (refRows === 0) invalid(fn, 'reference', 'reference has no non-missing values; pass at least one category');
  const { counts, newRate } = categoryCounts(current, ref);
  const cur = counts.subarray(0, k + 1);
  let curRows = 0;
  for (let i = 0; i <= k; i++) curRows += cur[i]!;
  if (curRows === 0) invalid(fn, 'current', 'current has no non-missing values; pass at least one category');
  const refCounts = new Float64Array(k + 1);
  refCounts.set(ref.counts);
  const method = opts.method ?? (refRows <= maxRows ? 'chi-squared' : 'jensen-shannon');
  if (method === 'chi-squared') {
    const threshold = opts.threshold ?? DRIFT_P_VALUE;
    checkNumberOption(fn, 'threshold', threshold, 0, 1);
    const t = chiSquared(refCounts, cur);
    return { method, value: t.pValue, drifted: t.pValue < threshold, threshold, statistic: t.statistic, newRate };
  }
  const threshold = opts.threshold ?? DRIFT_DISTANCE;
  checkNumberOption(fn, 'threshold', threshold, 0, Infinity);
  const js = jensenShannon(refCounts, cur);
  return { method, value: js, drifted: js >= threshold, threshold, statistic: js, newRate };
}

function isCategoryBins(v: unknown): v is CategoryBins {
  return v != null && typeof v === 'object' && (v as { kind?: unknown }).kind === 'categorical';
}
