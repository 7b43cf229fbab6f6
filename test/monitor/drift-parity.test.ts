/**
 * Parity with numpy 1.24 / scipy 1.10 on the fixtures in fixtures/drift.json (made once by
 * fixtures/make_drift_fixtures.py). Tolerance 1e-9 relative for statistics and distances (the same
 * arithmetic summed in another order); p-values 1e-9 relative too, except the Kolmogorov distribution
 * for n > 1000 (1e-8: the Smirnov sum of up to n terms in log space drifts by ~n·eps) and ks_2samp's
 * 'asymp' p-values (1e-7, the same distribution).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  binCounts, categoricalDriftTest, categoryCounts, chi2Sf, chiSquared, gammaQ, jensenShannon, kolmogorovSf, ks2,
  normalizedWasserstein, psi, referenceBins, referenceCategories, wasserstein,
} from '../../src/monitor/drift/index.js';

interface Pair {
  name: string; a: (number | null)[]; b: (number | null)[];
  ks_auto: { statistic: number; pvalue: number }; ks_asymp: { statistic: number; pvalue: number };
  wasserstein: number; normalized_wasserstein: number;
  reference_bins: Record<string, { edges: number[]; counts_a: number[]; counts_b: number[] }>;
}
interface Counts {
  name: string; expected: number[]; actual: number[]; psi: number; psi_eps_1e6: number;
  jensenshannon: number; jensenshannon_base2: number; chisquare: { statistic: number | null; pvalue: number; dof: number };
}
interface Fixtures {
  versions: { numpy: string; scipy: string };
  two_sample: Pair[];
  kstwo: { n: number; x: number; sf: number }[];
  chi2: { x: number; dof: number; sf: number }[];
  gammaincc: { a: number; x: number; q: number }[];
  counts: Counts[];
  categorical: {
    reference: (string | null)[]; current: (string | null)[]; categories: string[]; reference_counts: number[];
    current_counts: number[]; reference_missing: number; current_missing: number; new_rate: number;
    jensenshannon: number; chisquare_known: { statistic: number; pvalue: number; dof: number };
  };
}

const fx = JSON.parse(readFileSync(new URL('./fixtures/drift.json', import.meta.url), 'utf8')) as Fixtures;
const num = (v: (number | null)[]): number[] => v.map((x) => (x === null ? NaN : x));

function close(actual: number, expected: number, tol = 1e-9, what = ''): void {
  const ok = actual === expected || Math.abs(actual - expected) <= tol * Math.max(Math.abs(expected), 1e-300);
  if (!ok) expect(`${what} ${actual}`).toBe(`${what} ${expected}`);
}

describe('fixtures', () => {
  it('were made by scipy 1.10 and cover the required shapes', () => {
    expect(fx.versions.scipy.startsWith('1.10')).toBe(true);
    expect(fx.two_sample.map((c) => c.name)).toEqual(expect.arrayContaining(['equal', 'shifted_normal', 'different_sizes', 'ties', 'heavy_tails', 'tiny', 'nans', 'large_asymp']));
  });
});

describe.each(fx.two_sample.map((c) => [c.name, c] as const))('two samples: %s', (_name, c) => {
  const a = num(c.a), b = num(c.b);
  it('ks2 = scipy.stats.ks_2samp (method auto)', () => {
    const r = ks2(a, b);
    close(r.statistic, c.ks_auto.statistic, 1e-12, 'statistic');
    close(r.pValue, c.ks_auto.pvalue, 1e-9, `p (${r.method})`);
  });
  it("ks2 = scipy.stats.ks_2samp (method 'asymp')", () => {
    const r = ks2(a, b, { method: 'asymp' });
    expect(r.method).toBe('asymp');
    close(r.statistic, c.ks_asymp.statistic, 1e-12, 'statistic');
    close(r.pValue, c.ks_asymp.pvalue, 1e-7, 'p');
  });
  it('wasserstein = scipy.stats.wasserstein_distance; normalised by numpy std', () => {
    close(wasserstein(a, b), c.wasserstein, 1e-9);
    close(normalizedWasserstein(a, b), c.normalized_wasserstein, 1e-9);
  });
  it('reference bins = numpy.quantile (linear), unique; counts = searchsorted left', () => {
    for (const [nb, want] of Object.entries(c.reference_bins)) {
      const bins = referenceBins(a, { bins: Number(nb) });
      expect(bins.edges.length).toBe(want.edges.length);
      bins.edges.forEach((e, i) => close(e, want.edges[i]!, 1e-12, `edge ${i}`));
      const ca = binCounts(a, bins), cb = binCounts(b, bins);
      expect([...ca.subarray(0, -1)]).toEqual(want.counts_a);
      expect([...cb.subarray(0, -1)]).toEqual(want.counts_b);
      expect(ca[ca.length - 1]).toBe(a.filter((v) => v !== v).length);
    }
  });
});

describe('Kolmogorov distribution', () => {
  it('kolmogorovSf = scipy.stats.kstwo.sf over a grid of n and x (every branch)', () => {
    for (const g of fx.kstwo) close(kolmogorovSf(g.n, g.x), g.sf, g.n <= 1000 ? 1e-9 : 1e-8, `n=${g.n} x=${g.x}`);
  });
});

describe('chi-squared and the incomplete gamma function', () => {
  it('chi2Sf = scipy.stats.chi2.sf over a grid', () => {
    for (const g of fx.chi2) {
      if (g.sf < 1e-290) expect(chi2Sf(g.x, g.dof)).toBeLessThan(1e-280);
      else close(chi2Sf(g.x, g.dof), g.sf, 1e-9, `x=${g.x} dof=${g.dof}`);
    }
  });
  it('gammaQ = scipy.special.gammaincc for non-half-integer a', () => {
    for (const g of fx.gammaincc) {
      if (g.q < 1e-290) expect(gammaQ(g.a, g.x)).toBeLessThan(1e-280);
      else close(gammaQ(g.a, g.x), g.q, 1e-9, `a=${g.a} x=${g.x}`);
    }
  });
});

describe.each(fx.counts.map((c) => [c.name, c] as const))('binned counts: %s', (_name, c) => {
  it('psi matches the formula on numpy (epsilon 1e-4 and 1e-6)', () => {
    close(psi(c.expected, c.actual), c.psi, 1e-9);
    close(psi(c.expected, c.actual, { epsilon: 1e-6 }), c.psi_eps_1e6, 1e-9);
  });
  it('jensenShannon = scipy.spatial.distance.jensenshannon (natural log and base 2)', () => {
    const tol = c.jensenshannon < 1e-7 ? 1 : 1e-9; // identical distributions: both ~0 (sqrt of rounding)
    close(jensenShannon(c.expected, c.actual), c.jensenshannon, tol);
    close(jensenShannon(c.expected, c.actual, { base: 2 }), c.jensenshannon_base2, tol);
    if (tol === 1) expect(jensenShannon(c.expected, c.actual)).toBeLessThan(1e-7);
  });
  it("chiSquared = scipy.stats.chisquare(current, reference proportions × current total)", () => {
    const r = chiSquared(c.expected, c.actual);
    expect(r.dof).toBe(c.chisquare.dof);
    if (c.chisquare.statistic === null) expect(r.statistic).toBe(Infinity);
    else close(r.statistic, c.chisquare.statistic, 1e-9);
    close(r.pValue, c.chisquare.pvalue, 1e-9);
  });
});

describe('categorical feature with new categories and missing values', () => {
  const c = fx.categorical;
  it('reference categories and window counts', () => {
    const ref = referenceCategories(c.reference);
    expect(ref.categories).toEqual(c.categories);
    expect(ref.counts).toEqual(c.reference_counts.slice(0, -1));
    expect(ref.missing).toBe(c.reference_missing);
    const { counts, newRate } = categoryCounts(c.current, ref);
    expect([...counts]).toEqual([...c.current_counts, c.current_missing]);
    close(newRate, c.new_rate, 1e-15);
  });
  it('Jensen-Shannon over reference categories + new = scipy', () => {
    const ref = referenceCategories(c.reference);
    const r = categoricalDriftTest(ref, c.current, { method: 'jensen-shannon' });
    close(r.value, c.jensenshannon, 1e-9);
    expect(r.drifted).toBe(r.value >= 0.1);
  });
  it('chi-squared: unseen categories make the statistic infinite; on known categories = scipy', () => {
    const r = categoricalDriftTest(c.reference, c.current);
    expect(r.method).toBe('chi-squared');
    expect(r.statistic).toBe(Infinity);
    expect(r.value).toBe(0);
    expect(r.drifted).toBe(true);
    const known = c.current.map((v) => (v !== null && !c.categories.includes(v) ? null : v));
    const k = categoricalDriftTest(c.reference, known);
    close(k.statistic, c.chisquare_known.statistic, 1e-9);
    close(k.value, c.chisquare_known.pvalue, 1e-9);
  });
});
