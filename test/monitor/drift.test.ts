/**
 * Behaviour of the drift and data-quality kernels beyond scipy parity: the credit convention of the
 * reference bins, PSI bands, Evidently's decision rule, edge cases, and the errors bad input gets.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { isKilnError } from '../../src/core/errors.js';
import {
  binCounts, categoricalDriftTest, categoryCounts, chiSquared, driftTest, jensenShannon, ks2, normalizedWasserstein,
  nullSpike, outOfRange, psi, psiBand, PSI_BANDS, referenceBins, referenceCategories, schemaChanges, volumeAnomaly,
  wasserstein,
} from '../../src/monitor/drift/index.js';

function normals(seed: number, n: number, mean = 0, sd = 1): Float64Array {
  const r = new Rng(seed);
  return Float64Array.from({ length: n }, () => mean + sd * r.normal());
}

function expectInvalid(f: () => unknown, fn: string, argument: string, text?: RegExp): void {
  try { f(); } catch (e) {
    expect(isKilnError(e, 'INVALID_ARGUMENT')).toBe(true);
    const k = e as { path: unknown[]; message: string };
    expect(k.path).toEqual([fn, argument]);
    expect(k.message).toContain(argument);
    if (text) expect(k.message).toMatch(text);
    return;
  }
  throw new Error(`${fn} accepted a bad ${argument}`);
}

describe('reference bins (credit convention)', () => {
  it('puts ~10% of the reference in each decile bin, missing values in the last slot', () => {
    const x = Array.from(normals(1, 10_000), (v, i) => (i % 50 === 0 ? NaN : v));
    const bins = referenceBins(x);
    expect(bins.edges).toHaveLength(9);
    const c = binCounts(x, bins);
    expect(c).toHaveLength(11);
    expect(c[10]).toBe(200);
    for (let i = 0; i < 10; i++) expect(Math.abs(c[i]! / 9800 - 0.1)).toBeLessThan(0.002);
  });
  it('bins are (lo, hi]: a value equal to an edge falls in the bin below; outside values in the end bins', () => {
    const bins = referenceBins([1, 2, 3, 4, 5], { bins: 4 });
    expect(bins.edges).toEqual([2, 3, 4]);
    expect([...binCounts([2, 2.5, 4, 4.01, -100, 100, NaN], bins)]).toEqual([2, 1, 1, 2, 1]);
  });
  it('constant or all-missing input gives one bin; ties collapse duplicate edges', () => {
    expect(referenceBins([3, 3, 3]).edges).toEqual([]);
    const empty = referenceBins([NaN, NaN]);
    expect(empty.edges).toEqual([]);
    expect(empty.min).toBeNaN();
    expect([...binCounts([1, NaN], empty)]).toEqual([1, 1]);
    const tied = referenceBins([0, 0, 0, 0, 0, 0, 0, 0, 1, 2]).edges; // deciles 0 ×8, 0.2, 1.1
    expect(tied).toHaveLength(3);
    [0, 0.2, 1.1].forEach((e, i) => expect(tied[i]).toBeCloseTo(e, 14));
  });
  it('refuses infinite references, bad bin counts and non-numbers', () => {
    expectInvalid(() => referenceBins([1, Infinity]), 'referenceBins', 'values', /finite/);
    expectInvalid(() => referenceBins([1, 2], { bins: 0 }), 'referenceBins', 'bins');
    expectInvalid(() => binCounts(['a' as unknown as number], referenceBins([1, 2])), 'binCounts', 'values');
    expectInvalid(() => binCounts([1], { kind: 'numeric', edges: [2, 1], min: 0, max: 3 }), 'binCounts', 'bins', /ascending/);
  });
});

describe('categories', () => {
  it('counts reference categories, unseen ones and missing; newRate over non-missing values', () => {
    const ref = referenceCategories(['b', 'a', null, 'b', undefined]);
    expect(ref).toEqual({ kind: 'categorical', categories: ['a', 'b'], counts: [1, 2], missing: 2 });
    const { counts, newRate } = categoryCounts(['a', 'z', 'y', null, 'b'], ref);
    expect([...counts]).toEqual([1, 1, 2, 1]);
    expect(newRate).toBe(0.5);
    expect(categoryCounts([null], ref).newRate).toBe(0);
    expectInvalid(() => referenceCategories([1 as unknown as string]), 'referenceCategories', 'values');
  });
});

describe('PSI', () => {
  const ref = normals(2, 5000);
  const bins = referenceBins(ref);
  const expected = binCounts(ref, bins);
  it('is 0 and stable for an identical sample, significant for a shifted one', () => {
    expect(psi(expected, binCounts(ref, bins))).toBe(0);
    expect(psiBand(psi(expected, binCounts(ref, bins)))).toBe('stable');
    expect(psiBand(psi(expected, binCounts(normals(3, 5000), bins)))).toBe('stable');
    const shifted = psi(expected, binCounts(normals(4, 5000, 0.8), bins));
    expect(shifted).toBeGreaterThanOrEqual(PSI_BANDS.significant);
    expect(psiBand(shifted)).toBe('significant');
    const mild = psi(expected, binCounts(normals(5, 5000, 0.35), bins));
    expect(psiBand(mild)).toBe('moderate');
  });
  it('bands: boundaries go to the higher band', () => {
    expect([psiBand(0.0999), psiBand(0.1), psiBand(0.2499), psiBand(0.25)]).toEqual(['stable', 'moderate', 'moderate', 'significant']);
    expectInvalid(() => psiBand(-1), 'psiBand', 'value');
  });
  it('floors empty bins at epsilon: finite, and larger for a smaller epsilon', () => {
    const a = psi([50, 50, 0], [40, 40, 20]);
    expect(Number.isFinite(a)).toBe(true);
    expect(psi([50, 50, 0], [40, 40, 20], { epsilon: 1e-8 })).toBeGreaterThan(a);
  });
  it('refuses empty, negative, all-zero and mismatched counts', () => {
    expectInvalid(() => psi([], []), 'psi', 'expected', /empty/);
    expectInvalid(() => psi([1, -1], [1, 1]), 'psi', 'expected', />= 0/);
    expectInvalid(() => psi([1, 1], [0, 0]), 'psi', 'actual', /sums to 0/);
    expectInvalid(() => psi([1, 1], [1, 1, 1]), 'psi', 'actual', /same bins/);
    expectInvalid(() => psi([1], [1], { epsilon: 0 }), 'psi', 'epsilon');
  });
});

describe('two-sample statistics: edge cases and errors', () => {
  it('ignore NaN and null, refuse empty samples', () => {
    expect(ks2([1, 2, NaN, 3], [1, 2, 3]).statistic).toBe(0);
    expect(wasserstein([1, null as unknown as number, 3], [1, 3])).toBe(0);
    expectInvalid(() => ks2([], [1]), 'ks2', 'a', /no non-missing/);
    expectInvalid(() => ks2([1], [NaN]), 'ks2', 'b');
    expectInvalid(() => wasserstein([1], [Infinity]), 'wasserstein', 'b', /finite/);
    expectInvalid(() => ks2([1], [2], { method: 'fast' as 'exact' }), 'ks2', 'method');
  });
  it('wasserstein of a shift by c is c; normalised divides by the reference std, floored at 0.001', () => {
    const x = normals(6, 1000);
    const y = x.map((v) => v + 0.5);
    expect(wasserstein(x, y)).toBeCloseTo(0.5, 12);
    expect(normalizedWasserstein([2, 2, 2], [2, 2, 2.001])).toBeCloseTo((0.001 / 3) / 0.001, 9);
  });
  it('jensenShannon is 0 for equal distributions and ln2-bounded (1 in base 2) for disjoint ones', () => {
    expect(jensenShannon([1, 2], [2, 4])).toBe(0);
    expect(jensenShannon([1, 0], [0, 1], { base: 2 })).toBeCloseTo(1, 15);
    expectInvalid(() => jensenShannon([1], [1], { base: 1 }), 'jensenShannon', 'base');
    expectInvalid(() => chiSquared([1, 2], [1]), 'chiSquared', 'currentCounts');
  });
  it('chiSquared with one non-empty bin has nothing to test: p = 1, dof 0', () => {
    expect(chiSquared([5, 0], [7, 0])).toEqual({ statistic: 0, pValue: 1, dof: 0 });
  });
});

describe("Evidently's drift rule", () => {
  it('numeric: KS p < 0.05 up to 1000 reference rows, normalised Wasserstein >= 0.1 above', () => {
    const small = driftTest(normals(7, 1000), normals(8, 800, 0.3));
    expect(small).toMatchObject({ method: 'ks', threshold: 0.05, drifted: true });
    expect(driftTest(normals(7, 1000), normals(9, 800)).drifted).toBe(false);
    const big = driftTest(normals(7, 1001), normals(8, 800, 0.3));
    expect(big.method).toBe('wasserstein');
    expect(big.value).toBeGreaterThan(0.1);
    expect(big.drifted).toBe(true);
    const tiny = driftTest(normals(7, 5000), normals(8, 5000, 0.02));
    expect(tiny).toMatchObject({ method: 'wasserstein', drifted: false });
    expect(driftTest(normals(7, 5000), normals(8, 5000, 0.02), { method: 'ks' }).method).toBe('ks');
  });
  it('categorical: chi-squared up to 1000 reference rows, Jensen-Shannon >= 0.1 above', () => {
    const r = new Rng(10);
    const draw = (n: number, p: number): string[] => Array.from({ length: n }, () => (r.uniform() < p ? 'a' : 'b'));
    expect(categoricalDriftTest(draw(1000, 0.5), draw(1000, 0.6))).toMatchObject({ method: 'chi-squared', drifted: true });
    expect(categoricalDriftTest(draw(1000, 0.5), draw(1000, 0.5)).drifted).toBe(false);
    const big = categoricalDriftTest(draw(2000, 0.5), draw(1000, 0.9));
    expect(big).toMatchObject({ method: 'jensen-shannon', drifted: true });
    expect(categoricalDriftTest(draw(2000, 0.5), draw(1000, 0.52)).drifted).toBe(false);
    expectInvalid(() => categoricalDriftTest([null], ['a']), 'categoricalDriftTest', 'reference');
    expectInvalid(() => categoricalDriftTest(['a'], [null]), 'categoricalDriftTest', 'current');
  });
});

describe('data quality', () => {
  it('nullSpike needs both a significant z and a 5-point rise', () => {
    expect(nullSpike(0.02, 120, 1000)).toMatchObject({ rate: 0.12, spike: true });
    expect(nullSpike(0.02, 30, 1000).spike).toBe(false); // z ~ 2.3
    const huge = nullSpike(0.02, 25_000, 1_000_000); // z ~ 11 but +0.5 points only
    expect(huge.z).toBeGreaterThan(10);
    expect(huge.spike).toBe(false);
    expect(nullSpike(0, 10, 100)).toMatchObject({ z: Infinity, spike: true });
    expect(nullSpike(0.1, 0, 0)).toEqual({ rate: 0, spike: false, z: 0 });
    expectInvalid(() => nullSpike(1.5, 1, 10), 'nullSpike', 'referenceNullRate');
    expectInvalid(() => nullSpike(0.1, 11, 10), 'nullSpike', 'currentNulls');
  });
  it('outOfRange counts values outside [min, max], ignoring missing', () => {
    expect(outOfRange([0, 1, 5, 11, NaN, -2], { min: 0, max: 10 })).toEqual({ rate: 0.4, below: 1, above: 1 });
    expectInvalid(() => outOfRange([1], referenceBins([NaN])), 'outOfRange', 'ref');
  });
  it('volumeAnomaly: median and MAD of history, needs 3 windows', () => {
    const h = [1000, 1040, 980, 1010, 990, 1020];
    expect(volumeAnomaly(h, 1005).anomaly).toBe(false);
    const drop = volumeAnomaly(h, 400);
    expect(drop.expected).toBe(1005);
    expect(drop.ratio).toBeCloseTo(400 / 1005, 15);
    expect(drop.anomaly).toBe(true);
    expect(drop.z).toBeLessThan(-3.5);
    expect(volumeAnomaly([100, 100, 100], 101).anomaly).toBe(false); // flat history: Poisson floor
    expect(volumeAnomaly([100, 100, 100], 200).anomaly).toBe(true);
    const short = volumeAnomaly([100, 100], 5000);
    expect(short.anomaly).toBe(false);
    expect(short.reason).toMatch(/at least 3/);
    expectInvalid(() => volumeAnomaly([1, -1, 2], 1), 'volumeAnomaly', 'history');
  });
  it('schemaChanges lists added, removed and retyped columns by name', () => {
    const r = schemaChanges(
      [{ name: 'age', type: 'int' }, { name: 'income', type: 'double' }, { name: 'zip', type: 'varchar' }],
      [{ name: 'zip', type: 'int' }, { name: 'age', type: 'int' }, { name: 'tenure', type: 'int' }],
    );
    expect(r).toEqual({ added: ['tenure'], removed: ['income'], retyped: [{ name: 'zip', from: 'varchar', to: 'int' }] });
    expectInvalid(() => schemaChanges([{ name: 'a', type: 'int' }, { name: 'a', type: 'int' }], []), 'schemaChanges', 'reference', /twice/);
  });
});
