/** The figures quoted in docs/evaluation.md, so the page cannot drift from the code. */
import { describe, expect, it } from 'vitest';
import {
  approvalCurve, auc, bySlice, calibrationTable, calibratorFromJson, expectedCalibrationError, fairnessReport, fitIsotonic, fitPlatt,
  liftTable, reasonCodes, scorecardScaling,
} from '../../src/eval/index.js';
import { expectClose } from './helpers.js';

const y = [0, 0, 1, 0, 1, 0, 0, 1, 0, 1];
const pd = [0.05, 0.1, 0.3, 0.15, 0.6, 0.2, 0.25, 0.45, 0.4, 0.9];
const ab = ['a', 'a', 'a', 'a', 'a', 'b', 'b', 'b', 'b', 'b'];

describe('docs/evaluation.md examples', () => {
  it('ranking, approval curve, calibration', () => {
    expect(auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], { weight: [1, 1, 1, 3] })).toBe(0.875);
    expect(approvalCurve(y, pd, { points: 5 }).map((p) => [p.cutoff, p.approvalRate, p.badRate])).toEqual([
      [0.05, 0, null], [0.2, 0.3, 0], [0.3, 0.5, 0], [0.6, 0.8, 0.25], [Infinity, 1, 0.4],
    ]);
    expect(calibrationTable(y, pd, { bins: 2 }).bins.map((b) => [b.lower, b.upper, b.count, b.meanPredicted, b.observedRate]))
      .toEqual([[0, 0.5, 8, 0.2375, 0.25], [0.5, 1, 2, 0.75, 1]]);
    expectClose(expectedCalibrationError(y, pd, { bins: 2 }), 0.06);
  });

  it('calibrators', () => {
    const cal = fitIsotonic(pd, y);
    expect(cal.params).toEqual({ x: [0.05, 0.25, 0.3, 0.4, 0.45, 0.9], y: [0, 0, 0.5, 0.5, 1, 1] });
    expect(Array.from(cal.apply([0.1, 0.5]))).toEqual([0, 1]);
    expect(calibratorFromJson(JSON.stringify(cal)).params).toEqual(cal.params);
    const p = fitPlatt(pd, y).params as { slope: number; intercept: number; eps: number };
    expect([p.slope.toFixed(4), p.intercept.toFixed(4), p.eps]).toEqual(['1.0108', '0.4062', 1e-15]);
  });

  it('lift, slices, fairness', () => {
    expect(liftTable(y, pd, { groups: 5 }).map((r) => [r.group, r.positives, r.lift, r.captureRate]))
      .toEqual([[1, 2, 2.5, 0.5], [2, 1, 1.25, 0.75], [3, 1, 1.25, 1], [4, 0, 0, 1], [5, 0, 0, 1]]);
    const s = bySlice(y, pd, ab, ['auc', 'brier']);
    expect(s[0]).toMatchObject({ slice: 'a', count: 5, positives: 2, rate: 0.4, metrics: { auc: 1 } });
    expectClose(s[0]!.metrics.brier, 0.137);
    const f = fairnessReport(pd, ab, { cutoff: 0.3 });
    expect(f.reference).toBe('a');
    expect(f.groups[0]!.approvalRate).toBe(0.6);
    expect(f.groups[1]).toMatchObject({ approvalRate: 0.4, flagged: true });
    expect(f.groups[1]!.adverseImpactRatio!.toFixed(3)).toBe('0.667');
    expectClose(f.groups[1]!.approvalRateDifference, -0.2);
  });

  it('scaling and reason codes', () => {
    const s = scorecardScaling();
    expect([s.factor.toFixed(4), s.offset.toFixed(4)]).toEqual(['28.8539', '487.1229']);
    expectClose(s.toPoints(1 / 51), 600);
    expectClose(s.toPoints(1 / 101), 620);
    expect(s.toPoints(0.1).toFixed(2)).toBe('550.52');
    expect(s.toPd(650).toFixed(5)).toBe('0.00352');
    const r = reasonCodes(new Float64Array([0.8, -0.2, 0.1, 0.3, -0.5, -0.1, 0, 0.2]), ['utilisation', 'income', 'delinq_30d', 'delinq_90d'], {
      k: 2, reasonText: { utilisation: 'Revolving balances are high relative to limits', delinquency: 'Recent delinquency' },
      groups: { delinquency: ['delinq_30d', 'delinq_90d'] },
    });
    expect(r.map((row) => row.map((x) => [x.reason, Number(x.contribution.toFixed(12))]))).toEqual([
      [['utilisation', 0.8], ['delinquency', 0.4]], [['delinquency', 0.2]],
    ]);
  });
});
