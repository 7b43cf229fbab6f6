import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { auc, brier, bySlice, fairnessReport, ks, scorecardScaling } from '../../src/eval/index.js';
import { expectClose, expectKilnError, randomData } from './helpers.js';

describe('fairnessReport', () => {
  // group A: 8 of 10 below the cutoff 0.2; group B: 5 of 10 (0.2 itself is declined)
  const score = [0.05, 0.1, 0.1, 0.15, 0.12, 0.19, 0.01, 0.02, 0.3, 0.2, 0.1, 0.1, 0.1, 0.15, 0.19, 0.2, 0.2, 0.5, 0.4, 0.25];
  const groups = [...new Array<string>(10).fill('A'), ...new Array<string>(10).fill('B')];

  it('hand-checked: approval rates, AIR against the most favoured group, four-fifths flag', () => {
    const r = fairnessReport(score, groups, { cutoff: 0.2 });
    expect(r.rule).toBe('approve when score < cutoff');
    expect(r.reference).toBe('A');
    expect(r.overallApprovalRate).toBe(0.65);
    const [a, b] = r.groups;
    expect(a).toMatchObject({ group: 'A', count: 10, approved: 8, approvalRate: 0.8, adverseImpactRatio: 1, approvalRateDifference: 0, flagged: false });
    expect(b).toMatchObject({ group: 'B', count: 10, approved: 5, approvalRate: 0.5, flagged: true });
    expectClose(b!.adverseImpactRatio, 0.625);
    expectClose(b!.approvalRateDifference, -0.3);
    expect(r.flagged).toEqual(['B']);
    expectClose(r.minAdverseImpactRatio, 0.625);
  });

  it('takes an explicit reference group and weights', () => {
    const r = fairnessReport(score, groups, { cutoff: 0.2, reference: 'B' });
    expect(r.reference).toBe('B');
    expectClose(r.groups[0]!.adverseImpactRatio, 1.6);
    expect(r.flagged).toEqual([]);
    const w = score.map((_, i) => (i === 8 || i === 9 ? 3 : 1)); // A's two declines weigh 3
    const rw = fairnessReport(score, groups, { cutoff: 0.2, weight: w });
    expectClose(rw.groups[0]!.approvalRate, 8 / 14);
    expect(rw.reference).toBe('A');
    expectClose(rw.groups[1]!.adverseImpactRatio, 0.5 / (8 / 14));
  });

  it('matches a naive per-group filter on random data', () => {
    const rng = new Rng(5);
    const d = randomData(5, 2000);
    const g = Array.from({ length: 2000 }, () => ['x', 'y', 'z', 1, null][rng.int(5)]!);
    const r = fairnessReport(d.score, g, { cutoff: 0.2, weight: d.weight });
    expect(r.groups.map((x) => x.group)).toEqual([1, 'x', 'y', 'z', null]);
    const rates = r.groups.map((row) => {
      let w = 0, a = 0;
      g.forEach((gi, i) => { if (gi === row.group) { w += d.weight[i]!; if (d.score[i]! < 0.2) a += d.weight[i]!; } });
      expectClose(row.approvalRate, a / w);
      return a / w;
    });
    const best = Math.max(...rates);
    r.groups.forEach((row, i) => expectClose(row.adverseImpactRatio, rates[i]! / best));
  });

  it('reports an unknown reference with the groups there are', () => {
    expectKilnError(() => fairnessReport(score, groups, { cutoff: 0.2, reference: 'a' }), 'reference group "a" does not occur', "did you mean 'A'?", 'groups are: A, B');
    expectKilnError(() => fairnessReport(score, groups, {} as never), 'cutoff is undefined');
  });
});

describe('bySlice', () => {
  it('per-slice counts, rates and metrics; one-class slices get null AUC, not an error', () => {
    const y = [0, 1, 0, 1, 0, 0, 1, 1];
    const s = [0.1, 0.8, 0.3, 0.6, 0.2, 0.4, 0.9, 0.7];
    const region = ['n', 'n', 'n', 'n', 's', 's', 'e', 'e'];
    const rows = bySlice(y, s, region, ['auc', 'ks', 'brier']);
    expect(rows.map((r) => r.slice)).toEqual(['e', 'n', 's']);
    expect(rows.map((r) => [r.count, r.positives, r.rate])).toEqual([[2, 2, 1], [4, 2, 0.5], [2, 0, 0]]);
    expect(rows[0]!.metrics).toEqual({ auc: null, ks: null, brier: brier([1, 1], [0.9, 0.7]) });
    expect(rows[1]!.metrics.auc).toBe(1);
    expect(rows[2]!.metrics.auc).toBeNull();
  });

  it('equals the metrics computed on each slice alone (weighted)', () => {
    const rng = new Rng(9);
    const d = randomData(9, 3000, 2);
    const v = Array.from({ length: 3000 }, () => rng.int(4));
    const rows = bySlice(d.y, d.score, v, ['auc', 'gini', 'ks', 'prAuc', 'logLoss', 'brier', 'meanScore'], { weight: d.weight });
    expect(rows.map((r) => r.slice)).toEqual([0, 1, 2, 3]);
    for (const r of rows) {
      const idx = v.flatMap((x, i) => (x === r.slice ? [i] : []));
      const pick = (a: Float64Array): number[] => idx.map((i) => a[i]!);
      expectClose(r.metrics.auc, auc(pick(d.y), pick(d.score), { weight: pick(d.weight) }));
      expectClose(r.metrics.ks, ks(pick(d.y), pick(d.score), { weight: pick(d.weight) }).statistic);
      expectClose(r.metrics.gini, 2 * r.metrics.auc! - 1);
    }
  });

  it('names an unknown metric with a suggestion and the valid names', () => {
    expectKilnError(() => bySlice([0, 1], [0.1, 0.2], ['a', 'b'], ['aucc' as never]), "metric 'aucc' is unknown (did you mean 'auc'?); use one of: auc, gini, ks, prAuc, logLoss, brier, meanScore");
    expectKilnError(() => bySlice([0, 1], [0.1, 0.2], ['a', NaN]), 'sliceValues[1] is NaN', "map missing values to null or a label such as 'missing'");
  });
});

describe('scorecardScaling', () => {
  const s = scorecardScaling({ basePoints: 600, baseOdds: 50, pdo: 20 });

  it('hand-checked: 50:1 is 600 points, each 20 points doubles the odds', () => {
    expectClose(s.factor, 20 / Math.LN2);
    expectClose(s.offset, 600 - (20 / Math.LN2) * Math.log(50));
    expectClose(s.toPoints(1 / 51), 600);
    expectClose(s.toPoints(1 / 101), 620);
    expectClose(s.toPoints(1 / 26), 580);
    expectClose(s.toPd(620), 1 / 101);
    expect(s.toPoints(0)).toBe(Infinity);
    expect(s.toPoints(1)).toBe(-Infinity);
    expect(s.toPd(Infinity)).toBe(0);
    expect(s.toPd(-Infinity)).toBe(1);
  });

  it('is invertible and decreasing in pd', () => {
    const pd = Float64Array.from({ length: 999 }, (_, i) => (i + 1) / 1000);
    const pts = s.toPointsArray(pd);
    const back = s.toPdArray(pts);
    for (let i = 0; i < pd.length; i++) {
      expect(Math.abs(back[i]! - pd[i]!)).toBeLessThan(1e-14);
      if (i > 0) expect(pts[i]).toBeLessThan(pts[i - 1]!);
    }
    expect(scorecardScaling().params).toEqual({ basePoints: 600, baseOdds: 50, pdo: 20 });
  });

  it('rejects bad parameters and probabilities', () => {
    expectKilnError(() => scorecardScaling({ pdo: 0, baseOdds: -1 }), 'pdo is 0', 'baseOdds is -1');
    expectKilnError(() => s.toPoints(1.5), 'scorecardScaling.toPoints: pd is 1.5; expected a probability of default in [0, 1]');
  });
});
