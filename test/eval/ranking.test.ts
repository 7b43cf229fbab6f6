import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { auc, gini, ks, prAuc, rocCurve, prCurve, logLoss, brier } from '../../src/eval/index.js';
import { argsortAscending } from '../../src/eval/sort.js';
import { expectAllClose, expectClose, naiveAp, naiveArgsort, naiveAuc, naiveKs, randomData } from './helpers.js';

describe('argsortAscending (radix) vs Uint32Array.sort with a comparator', () => {
  it('agrees on ties, negatives, -0, tiny and huge magnitudes', () => {
    const r = new Rng(3);
    for (const n of [0, 1, 2, 17, 1000, 70_000]) {
      const s = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const u = r.uniform();
        s[i] = u < 0.2 ? Math.round(r.normal() * 3) : u < 0.3 ? (r.uniform() < 0.5 ? -0 : 0) : u < 0.4 ? r.normal() * 1e300 : u < 0.5 ? r.normal() * 1e-300 : r.normal();
      }
      expect(argsortAscending(s)).toEqual(naiveArgsort(s));
    }
  });

  it('handles probabilities that share their high bits (skipped radix passes)', () => {
    const s = Float64Array.from({ length: 5000 }, (_, i) => 0.5 + ((i * 7919) % 5000) * 1e-12);
    expect(argsortAscending(s)).toEqual(naiveArgsort(s));
    expect(argsortAscending(new Float64Array(100).fill(0.25))).toEqual(naiveArgsort(new Float64Array(100).fill(0.25)));
  });
});

describe('ranking metrics vs naive references', () => {
  for (const [label, decimals] of [['continuous', undefined], ['ties (2 decimals)', 2], ['heavy ties (1 decimal)', 1]] as const) {
    it(`auc, ks, prAuc on ${label}, weighted and not`, () => {
      for (const seed of [1, 2, 3]) {
        const d = randomData(seed, 400, decimals);
        for (const weight of [undefined, d.weight]) {
          expectClose(auc(d.y, d.score, { weight }), naiveAuc(d.y, d.score, weight));
          expectClose(gini(d.y, d.score, { weight }), 2 * naiveAuc(d.y, d.score, weight) - 1);
          const k = ks(d.y, d.score, { weight });
          const nk = naiveKs(d.y, d.score, weight);
          expectClose(k.statistic, nk.statistic);
          expect(k.score).toBe(nk.score);
          expectClose(prAuc(d.y, d.score, { weight }), naiveAp(d.y, d.score, weight));
        }
      }
    });
  }

  it('does not depend on row order (ties are blocks, not positions)', () => {
    const d = randomData(9, 500, 1);
    const r = new Rng(4);
    const perm = Uint32Array.from({ length: 500 }, (_, i) => i);
    for (let i = perm.length - 1; i > 0; i--) { const j = r.int(i + 1); [perm[i], perm[j]] = [perm[j]!, perm[i]!]; }
    const p = (a: Float64Array): Float64Array => Float64Array.from(perm, (i) => a[i]!);
    const opts = { weight: d.weight }, popts = { weight: p(d.weight) };
    expectClose(auc(p(d.y), p(d.score), popts), auc(d.y, d.score, opts), 1e-14);
    expect(ks(p(d.y), p(d.score), popts).score).toBe(ks(d.y, d.score, opts).score);
    expectClose(prAuc(p(d.y), p(d.score), popts), prAuc(d.y, d.score, opts), 1e-14);
    expectAllClose(rocCurve(p(d.y), p(d.score), popts).tpr, rocCurve(d.y, d.score, opts).tpr, 1e-14);
  });

  it('accepts any typed array: Uint8Array labels, Float32Array scores and weights', () => {
    const d = randomData(14, 300, 3);
    const y8 = Uint8Array.from(d.y), s32 = Float32Array.from(d.score), w32 = Float32Array.from(d.weight);
    expectClose(auc(y8, s32, { weight: w32 }), naiveAuc(Array.from(d.y), Array.from(s32), Array.from(w32)));
    expectClose(prAuc(y8, s32), naiveAp(d.y, Array.from(s32)));
  });

  it('treats weight k like k copies of a row, and weight 0 like no row', () => {
    const y = [0, 1, 0, 1, 1], s = [0.2, 0.3, 0.3, 0.9, 0.1], w = [2, 1, 0, 3, 1];
    const yy: number[] = [], ss: number[] = [];
    w.forEach((k, i) => { for (let j = 0; j < k; j++) { yy.push(y[i]!); ss.push(s[i]!); } });
    for (const f of [auc, prAuc, logLoss, brier]) expectClose(f(y, s, { weight: w }), f(yy, ss));
    expectClose(ks(y, s, { weight: w }).statistic, ks(yy, ss).statistic);
  });
});

describe('at scale', () => {
  it('1e6 rows: auc equals a rank-sum from native sorts of each class, ks and prAuc stay consistent', () => {
    const n = 1_000_000;
    const d = randomData(31, n, 5);
    const t = performance.now();
    const a = auc(d.y, d.score);
    const ms = performance.now() - t;
    // Mann–Whitney by merging the separately sorted classes (ties half): independent of the radix sort
    const pos = Float64Array.from(d.score.filter((_, i) => d.y[i] === 1)).sort();
    const neg = Float64Array.from(d.score.filter((_, i) => d.y[i] === 0)).sort();
    let below = 0, tiedStart = 0, u = 0;
    for (let i = 0; i < pos.length; i++) {
      const v = pos[i]!;
      while (below < neg.length && neg[below]! < v) below++;
      if (tiedStart < below) tiedStart = below;
      while (tiedStart < neg.length && neg[tiedStart] === v) tiedStart++;
      u += below + (tiedStart - below) / 2;
    }
    expectClose(a, u / (pos.length * neg.length), 1e-12);
    expect(ms).toBeLessThan(10_000); // a hang guard only; bench/eval.ts has the figures
    const k = ks(d.y, d.score);
    expect(k.statistic).toBeGreaterThan(0.2);
    expect(prAuc(d.y, d.score)).toBeGreaterThan(pos.length / n);
  });
});

describe('documented examples', () => {
  const y = [0, 0, 1, 1], s = [0.1, 0.4, 0.35, 0.8];
  it('match the JSDoc', () => {
    expect(auc(y, s)).toBe(0.75);
    expect(gini(y, s)).toBe(0.5);
    expect(ks(y, s)).toEqual({ statistic: 0.5, score: 0.1, cdfPositive: 0, cdfNegative: 0.5 });
    expectClose(prAuc(y, s), 5 / 6);
    expectClose(logLoss([0, 1], [0.2, 0.7]), (-Math.log(0.8) - Math.log(0.7)) / 2);
    expectClose(brier([0, 1], [0.2, 0.7]), 0.065);
    const r = rocCurve(y, s);
    expect(Array.from(r.fpr)).toEqual([0, 0, 0.5, 0.5, 1]);
    expect(Array.from(r.tpr)).toEqual([0, 0.5, 0.5, 1, 1]);
    const p = prCurve(y, s);
    expectAllClose(p.precision, [0.5, 2 / 3, 0.5, 1, 1]);
    expect(Array.from(p.recall)).toEqual([1, 1, 0.5, 0.5, 0]);
    expect(Array.from(p.thresholds)).toEqual([0.1, 0.35, 0.4, 0.8]);
  });

  it('perfect and inverted rankers, and a constant score', () => {
    const yy = [0, 0, 0, 1, 1];
    expect(auc(yy, [1, 2, 3, 4, 5])).toBe(1);
    expect(auc(yy, [5, 4, 3, 2, 1])).toBe(0);
    expect(auc(yy, [0.3, 0.3, 0.3, 0.3, 0.3])).toBe(0.5);
    expect(ks(yy, [1, 2, 3, 4, 5]).statistic).toBe(1);
    expect(ks(yy, [1, 2, 3, 4, 5]).score).toBe(3);
    expect(ks(yy, [0.3, 0.3, 0.3, 0.3, 0.3]).statistic).toBe(0);
    expect(prAuc(yy, [1, 2, 3, 4, 5])).toBe(1);
    expectClose(prAuc(yy, [0.3, 0.3, 0.3, 0.3, 0.3]), 0.4);
  });

  it('logLoss clips like scikit-learn and accepts a custom eps', () => {
    expectClose(logLoss([1, 0], [0, 1]), -Math.log(2.220446049250313e-16));
    expectClose(logLoss([1], [0], { eps: 1e-15 }), -Math.log(1e-15));
    expect(logLoss([0, 0], [0.5, 0.5])).toBeCloseTo(Math.LN2, 14); // one class: defined
  });
});

describe('curves downsampled for charts', () => {
  it('keep at most maxPoints, the end points, and stay monotone', () => {
    const d = randomData(11, 5000);
    const full = rocCurve(d.y, d.score);
    expect(full.fpr.length).toBeGreaterThan(200);
    const r = rocCurve(d.y, d.score, { maxPoints: 50 });
    expect(r.fpr.length).toBeLessThanOrEqual(50);
    expect(r.fpr.length).toBeGreaterThan(40);
    expect([r.fpr[0], r.tpr[0], r.fpr.at(-1), r.tpr.at(-1)]).toEqual([0, 0, 1, 1]);
    for (let i = 1; i < r.fpr.length; i++) { expect(r.fpr[i]).toBeGreaterThanOrEqual(r.fpr[i - 1]!); expect(r.thresholds[i]).toBeLessThan(r.thresholds[i - 1]!); }
    // every kept point is a point of the full curve
    const key = (f: number, t: number): string => `${f}|${t}`;
    const all = new Set(Array.from(full.fpr, (f, i) => key(f, full.tpr[i]!)));
    r.fpr.forEach((f, i) => expect(all.has(key(f, r.tpr[i]!))).toBe(true));
    const p = prCurve(d.y, d.score, { maxPoints: 30 });
    expect(p.precision.length).toBeLessThanOrEqual(30);
    expect(p.thresholds.length).toBe(p.precision.length - 1);
    expect([p.recall.at(-1), p.precision.at(-1), p.recall[0]]).toEqual([0, 1, 1]);
  });
});
