/**
 * Two-sample Kolmogorov-Smirnov test, two-sided, as scipy.stats.ks_2samp(a, b) with its default
 * method='auto' (scipy 1.10). NaN and null are dropped from each sample first. The statistic is the
 * largest gap between the two right-continuous empirical CDFs, found by one merge over both sorted
 * samples (O(n log n)). The p-value is
 *  - 'exact' when both samples have <= 10000 values: the share of lattice paths from (0, 0) to (n1, n2)
 *    that leave the band |x/n1 - y/n2| < d (Hodges 1958): a closed alternating sum when n1 = n2, the
 *    column-by-column recursion otherwise; the statistic is then rounded to a multiple of 1/lcm(n1, n2),
 *    as scipy does. Should that recursion lose its range, it falls back to 'asymp' as scipy does.
 *  - 'asymp' beyond: Pr(D_n >= d) of the one-sample Kolmogorov distribution at n = round(n1·n2/(n1+n2))
 *    (scipy.stats.kstwo.sf; see kolmogorov.ts).
 */
import { invalid, nonEmptySample } from './check.js';
import { kolmogorovSf } from './kolmogorov.js';

/** Beyond this many values in either sample, 'auto' uses the asymptotic p-value (scipy's MAX_AUTO_N). */
export const KS_EXACT_MAX_N = 10000;

export type KsMethod = 'auto' | 'exact' | 'asymp';

export interface KsResult {
  statistic: number;
  pValue: number;
  /** Which p-value was computed: 'exact' or 'asymp'. */
  method: 'exact' | 'asymp';
}

/** max |F_a - F_b| over both sorted samples, with F_a(v) = #{a <= v}/na as scipy computes it. */
export function ksStatistic(a: Float64Array, b: Float64Array): number {
  const na = a.length, nb = b.length;
  let i = 0, j = 0, maxS = -Infinity, minS = Infinity;
  while (i < na || j < nb) {
    const v = j >= nb || (i < na && a[i]! <= b[j]!) ? a[i]! : b[j]!;
    while (i < na && a[i]! <= v) i++;
    while (j < nb && b[j]! <= v) j++;
    const diff = i / na - j / nb;
    if (diff > maxS) maxS = diff;
    if (diff < minS) minS = diff;
  }
  const negMin = Math.min(Math.max(-minS, 0), 1);
  return negMin > maxS ? negMin : maxS;
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** Pr(D_{n,n} >= h/n): 2·(A0·(1 - A1·(1 - A2·(...)))), Horner-like, without cancellation. */
function probOutsideSquare(n: number, h: number): number {
  let P = 0;
  for (let k = Math.floor(n / h); k >= 0; k--) {
    let p1 = 1;
    for (let j = 0; j < h; j++) p1 = ((n - k * h - j) * p1) / (n + k * h + j + 1);
    P = p1 * (1 - P);
  }
  return 2 * P;
}

/**
 * Share of lattice paths (0,0) -> (m,n) that touch |x·n/g - y·m/g| >= h, one column of the path-count
 * table at a time, each entry kept as a probability so nothing overflows.
 */
function probOutsideBand(m0: number, n0: number, g: number, h: number): number {
  const m = Math.max(m0, n0), n = Math.min(m0, n0);
  const mg = m / g, ng = n / g;
  let minj = 0, maxj = Math.min(Math.ceil(h / mg), n + 1);
  let curlen = maxj - minj;
  const A = new Float64Array(Math.min(2 * maxj + 2, n + 1)).fill(1);
  A.fill(0, minj, maxj);
  for (let i = 1; i <= m; i++) {
    const lastminj = minj, lastlen = curlen;
    minj = Math.min(Math.max(Math.floor((ng * i - h) / mg) + 1, 0), n);
    maxj = Math.min(Math.ceil((ng * i + h) / mg), n + 1);
    if (maxj <= minj) return 1;
    let val = minj === 0 ? 0 : 1;
    for (let jj = 0; jj < maxj - minj; jj++) {
      const j = jj + minj;
      val = (A[jj + minj - lastminj]! * i + val * j) / (i + j);
      A[jj] = val;
    }
    curlen = maxj - minj;
    if (lastlen > curlen) A.fill(1, maxj - minj, maxj - minj + (lastlen - curlen));
  }
  return A[maxj - minj - 1]!;
}

/** = scipy.stats.ks_2samp(a, b) (two-sided; method 'auto' unless given). NaN and null are ignored. */
export function ks2(a: ArrayLike<number>, b: ArrayLike<number>, opts: { method?: KsMethod } = {}): KsResult {
  const fn = 'ks2';
  const method = opts.method ?? 'auto';
  if (method !== 'auto' && method !== 'exact' && method !== 'asymp') invalid(fn, 'method', `method '${String(method)}' is unknown; use one of: auto, exact, asymp`);
  const x = nonEmptySample(fn, 'a', a).sort();
  const y = nonEmptySample(fn, 'b', b).sort();
  const n1 = x.length, n2 = y.length;
  let d = ksStatistic(x, y);
  const g = gcd(n1, n2);
  let mode: 'exact' | 'asymp' = method === 'auto' ? (Math.max(n1, n2) <= KS_EXACT_MAX_N ? 'exact' : 'asymp') : method;
  if (mode === 'exact' && n1 / g >= 2147483647 / (n2 / g)) mode = 'asymp';
  if (mode === 'exact') {
    const lcm = (n1 / g) * n2;
    const h = Math.round(d * lcm);
    d = h / lcm;
    if (h === 0) return { statistic: d, pValue: 1, method: 'exact' };
    const p = n1 === n2 ? probOutsideSquare(n1, h) : probOutsideBand(n1, n2, g, h);
    if (p >= 0 && p <= 1) return { statistic: d, pValue: p, method: 'exact' };
  }
  const en = (Math.max(n1, n2) * Math.min(n1, n2)) / (n1 + n2);
  return { statistic: d, pValue: kolmogorovSf(roundHalfEven(en), d), method: 'asymp' };
}

/** numpy.round: halves to even. */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

