/**
 * Reference bins of a feature, saved with a model version, and the counts of a window on them.
 *
 * Numeric features use the credit convention: the interior cut points are the reference sample's
 * deciles (quantiles at 1/b .. (b-1)/b, numpy's default 'linear' method: position q·(n-1) between the
 * sorted values), duplicates removed, so each reference bin holds ~1/b of the rows. Bins are closed on
 * the right, bin i = (edges[i-1], edges[i]], with the first and last open to ±∞, so every value of a
 * later window has a bin. Missing values (NaN, null) are left out of the edges and counted in a trailing
 * slot. All-missing or constant input gives no edges: one bin (and min = max = NaN when all missing).
 *
 * Categorical features keep each category's reference count (categories sorted by code unit); a window
 * counts per reference category, then one slot for categories the reference never saw, then missing.
 */
import { invalid, isMissing, presentValues, requireArray } from './check.js';

/** Reference bins of a numeric feature: interior cut points at the reference's deciles (credit convention). */
export interface NumericBins {
  readonly kind: 'numeric';
  /** Ascending, unique interior cut points; bin i is (edges[i-1], edges[i]]; k edges -> k+1 bins. */
  readonly edges: number[];
  /** Smallest and largest non-missing reference value (NaN when the reference is all missing). */
  readonly min: number;
  readonly max: number;
}

/** Category frequencies of a categorical (string) feature; null/undefined = missing. */
export interface CategoryBins {
  readonly kind: 'categorical';
  /** Sorted (code-unit order). */
  readonly categories: string[];
  /** Reference count of each category, aligned with `categories`. */
  readonly counts: number[];
  readonly missing: number;
}

/** numpy.quantile(sorted, q) with the default 'linear' method, on an ascending array without NaN. */
export function quantileSorted(sorted: Float64Array, q: number): number {
  const n = sorted.length;
  const pos = (n - 1) * q;
  const lo = Math.floor(pos);
  const t = pos - lo;
  const a = sorted[lo]!;
  if (lo + 1 >= n) return a;
  const b = sorted[lo + 1]!;
  const d = b - a;
  // numpy's _lerp: a + d·t, taken from the upper end when t >= 0.5 (exact at t = 1, monotone).
  return t >= 0.5 ? b - d * (1 - t) : a + d * t;
}

/**
 * Decile (or `bins`-quantile) cut points of a numeric reference sample. NaN and null are missing and
 * excluded; ±Infinity is refused. All-missing or constant input gives `edges: []` (a single bin).
 */
export function referenceBins(values: ArrayLike<number>, opts: { bins?: number } = {}): NumericBins {
  const fn = 'referenceBins';
  const b = opts.bins ?? 10;
  if (typeof b !== 'number' || !Number.isInteger(b) || b < 1 || b > 1000) invalid(fn, 'bins', `bins is ${String(b)}; expected an integer in [1, 1000]`);
  const x = presentValues(fn, 'values', values, true).sort();
  if (x.length === 0) return { kind: 'numeric', edges: [], min: NaN, max: NaN };
  const edges: number[] = [];
  for (let i = 1; i < b; i++) {
    const e = quantileSorted(x, i / b);
    if (edges.length === 0 || e > edges[edges.length - 1]!) edges.push(e === 0 ? 0 : e);
  }
  const min = x[0]!, max = x[x.length - 1]!;
  // A constant sample has every quantile equal to min = max: no cut point separates anything.
  return { kind: 'numeric', edges: min === max ? [] : edges, min, max };
}

function checkNumericBins(fn: string, bins: NumericBins): void {
  if (bins == null || bins.kind !== 'numeric' || !Array.isArray(bins.edges)) invalid(fn, 'bins', "bins must be a NumericBins from referenceBins (kind 'numeric', edges [])");
  const e = bins.edges;
  for (let i = 0; i < e.length; i++) {
    if (typeof e[i] !== 'number' || !Number.isFinite(e[i]) || (i > 0 && !(e[i]! > e[i - 1]!))) {
      invalid(fn, 'bins', `bins.edges[${i}] is ${String(e[i])}; edges must be finite and strictly ascending`);
    }
  }
}

/** Index of the bin (edges[i-1], edges[i]] holding v: the number of edges below v (binary search). */
export function binIndex(edges: ArrayLike<number>, v: number): number {
  let lo = 0, hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (edges[mid]! < v) lo = mid + 1; else hi = mid;
  }
  return lo;
}

/** Counts per bin plus a trailing missing-count slot: length edges.length + 2. */
export function binCounts(values: ArrayLike<number>, bins: NumericBins): Float64Array {
  const fn = 'binCounts';
  requireArray(fn, 'values', values);
  checkNumericBins(fn, bins);
  const edges = Float64Array.from(bins.edges);
  const k = edges.length;
  const out = new Float64Array(k + 2);
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number | null | undefined;
    if (isMissing(v)) { out[k + 1]!++; continue; }
    if (typeof v !== 'number') invalid(fn, 'values', `values[${i}] is ${JSON.stringify(v)}; expected a number (NaN or null for missing)`);
    out[binIndex(edges, v)]!++;
  }
  return out;
}

function checkCategory(fn: string, values: ArrayLike<unknown>, i: number): string | null {
  const v = values[i];
  if (v == null) return null;
  if (typeof v !== 'string') invalid(fn, 'values', `values[${i}] is ${JSON.stringify(v)}; expected a string (null or undefined for missing)`);
  return v;
}

/** Category frequencies of a categorical (string) feature; null/undefined = missing. */
export function referenceCategories(values: ArrayLike<string | null | undefined>): CategoryBins {
  const fn = 'referenceCategories';
  requireArray(fn, 'values', values);
  const counts = new Map<string, number>();
  let missing = 0;
  for (let i = 0; i < values.length; i++) {
    const v = checkCategory(fn, values, i);
    if (v === null) missing++;
    else counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  const categories = [...counts.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return { kind: 'categorical', categories, counts: categories.map((c) => counts.get(c)!), missing };
}

/**
 * A window's counts on reference categories: one slot per reference category, then 'new' (categories
 * the reference never saw), then missing. `newRate` = new / non-missing values of the window (0 when
 * the window has none).
 */
export function categoryCounts(values: ArrayLike<string | null | undefined>, ref: CategoryBins): { counts: Float64Array; newRate: number } {
  const fn = 'categoryCounts';
  requireArray(fn, 'values', values);
  if (ref == null || ref.kind !== 'categorical' || !Array.isArray(ref.categories)) invalid(fn, 'ref', "ref must be a CategoryBins from referenceCategories (kind 'categorical')");
  const k = ref.categories.length;
  const slot = new Map<string, number>();
  ref.categories.forEach((c, i) => slot.set(c, i));
  const counts = new Float64Array(k + 2);
  for (let i = 0; i < values.length; i++) {
    const v = checkCategory(fn, values, i);
    if (v === null) { counts[k + 1]!++; continue; }
    counts[slot.get(v) ?? k]!++;
  }
  const present = values.length - counts[k + 1]!;
  return { counts, newRate: present > 0 ? counts[k]! / present : 0 };
}
