import { describe, expect, it } from 'vitest';
import { isKilnError } from '../../src/core/errors.js';
import { auc, brier, bySlice, expectedCalibrationError, fairnessReport, ks, logLoss } from '../../src/eval/index.js';
import { compareModels, swapSet, type EvalSet, type MetricRow } from '../../src/loop/gates/index.js';
import { world } from './gates-world.js';

const row = (rows: MetricRow[], metric: string, slice: string): MetricRow => {
  const r = rows.find((x) => x.metric === metric && x.slice === slice);
  expect(r, `${metric} ${slice}`).toBeDefined();
  return r!;
};

describe('compareModels', () => {
  const set = world(11, 3000);
  const rows = compareModels(set, { slices: ['region'] });

  it('equals the eval kernels overall', () => {
    const y = set.label;
    for (const [who, pd, cut] of [['champion', set.championPd, set.championCutoff], ['challenger', set.challengerPd, set.challengerCutoff]] as const) {
      expect(row(rows, 'auc', 'all')[who]).toBe(auc(y, pd));
      expect(row(rows, 'ks', 'all')[who]).toBe(ks(y, pd).statistic);
      expect(row(rows, 'ece', 'all')[who]).toBe(expectedCalibrationError(y, pd));
      expect(row(rows, 'brier', 'all')[who]).toBe(brier(y, pd));
      expect(row(rows, 'logloss', 'all')[who]).toBe(logLoss(y, pd));
      const keep = set.group!.values.flatMap((g, i) => (g === null ? [] : [i]));
      const air = fairnessReport(keep.map((i) => pd[i]!), keep.map((i) => set.group!.values[i]!), { cutoff: cut }).minAdverseImpactRatio;
      expect(row(rows, 'air', 'all')[who]).toBe(air);
      let appr = 0, bad = 0;
      for (let i = 0; i < pd.length; i++) if (pd[i]! < cut) { appr++; bad += y[i]!; }
      expect(row(rows, 'approvalRate', 'all')[who]).toBe(appr / pd.length);
      expect(row(rows, 'badRate', 'all')[who]).toBe(bad / appr);
    }
    const a = row(rows, 'auc', 'all');
    expect(a.rows).toBe(3000);
    expect(a.delta).toBe(a.challenger! - a.champion!);
    expect(a.challenger!).toBeGreaterThan(a.champion!); // the challenger is the sharper model
  });

  it('equals bySlice per region (and the kernels on each subset for ECE), null region last', () => {
    const region = set.slices!.region!;
    const ref = bySlice(set.label, set.challengerPd, region, ['auc', 'ks', 'brier', 'logLoss']);
    const slices = rows.filter((r) => r.metric === 'auc' && r.slice !== 'all').map((r) => r.slice);
    expect(slices).toEqual(['region=coastal', 'region=inland', 'region=north', 'region=null']);
    for (const s of ref) {
      const name = `region=${s.slice}`;
      expect(row(rows, 'auc', name).challenger).toBe(s.metrics.auc);
      expect(row(rows, 'ks', name).challenger).toBe(s.metrics.ks);
      expect(row(rows, 'brier', name).challenger).toBe(s.metrics.brier);
      expect(row(rows, 'logloss', name).challenger).toBe(s.metrics.logLoss);
      expect(row(rows, 'auc', name).rows).toBe(s.count);
      const idx = region.flatMap((v, i) => (v === s.slice ? [i] : []));
      const y = idx.map((i) => set.label[i]!), pd = idx.map((i) => set.championPd[i]!);
      expect(row(rows, 'ece', name).champion).toBe(expectedCalibrationError(y, pd));
    }
  });

  it('a slice with one outcome gets null for auc and ks, numbers for the rest; small slices are left uncomputed', () => {
    const s: EvalSet = {
      label: Float64Array.from([0, 0, 0, 1, 0, 1]), championPd: Float64Array.from([0.1, 0.2, 0.3, 0.4, 0.05, 0.6]), challengerPd: Float64Array.from([0.1, 0.1, 0.2, 0.5, 0.05, 0.7]),
      slices: { seg: ['a', 'a', 'a', 'b', 'b', 'b'] }, championCutoff: 0.25, challengerCutoff: 0.25,
    };
    const r = compareModels(s);
    expect(row(r, 'auc', 'seg=a')).toMatchObject({ rows: 3, champion: null, challenger: null, delta: null });
    expect(row(r, 'brier', 'seg=a').champion).toBeCloseTo((0.01 + 0.04 + 0.09) / 3, 12);
    expect(row(r, 'air', 'all')).toMatchObject({ champion: null, challenger: null }); // no protected attribute
    expect(row(r, 'badRate', 'seg=a')).toMatchObject({ champion: 0, challenger: 0 });
    const small = compareModels(s, { minSliceRows: 4 });
    expect(row(small, 'brier', 'seg=b')).toMatchObject({ rows: 3, champion: null, challenger: null });
    expect(row(small, 'brier', 'all').champion).not.toBeNull();
  });

  it('outcome metrics use only known labels (NaN = not yet matured), rates every row', () => {
    const s = world(5, 800, { unknownShare: 0.3 });
    const r = compareModels(s, { slices: [] });
    const known = [...s.label.keys()].filter((i) => !Number.isNaN(s.label[i]!));
    expect(row(r, 'auc', 'all').rows).toBe(known.length);
    expect(row(r, 'auc', 'all').challenger).toBe(auc(known.map((i) => s.label[i]!), known.map((i) => s.challengerPd[i]!)));
    expect(row(r, 'approvalRate', 'all').rows).toBe(800);
  });

  it('refuses bad input naming the argument', () => {
    const bad = (s: Partial<EvalSet>, re: RegExp, o?: Parameters<typeof compareModels>[1]): void => {
      let err: unknown;
      try { compareModels({ ...set, ...s } as EvalSet, o); } catch (e) { err = e; }
      expect(isKilnError(err, 'EVAL_INPUT_INVALID')).toBe(true);
      expect((err as Error).message).toMatch(re);
    };
    bad({ challengerPd: new Float64Array(3) }, /challengerPd has 3 values but label has 3000/);
    bad({ label: Float64Array.from([0, 2]), championPd: new Float64Array(2), challengerPd: new Float64Array(2), slices: {}, group: undefined }, /label\[1\] is 2/);
    bad({ championCutoff: NaN }, /championCutoff is NaN/);
    bad({}, /slice column 'regoin' is not in the evaluation set \(did you mean 'region'\?\)/, { slices: ['regoin'] });
    bad({ championPd: Float64Array.from(set.championPd, (v, i) => (i === 7 ? 1.5 : v)) }, /championPd\[7\] is 1.5/);
  });
});

describe('swapSet', () => {
  it('counts by hand: four cells, bad rates over known outcomes only', () => {
    // champion approves pd < 0.5, challenger pd < 0.3
    const s: EvalSet = {
      label: Float64Array.from([0, 1, NaN, 0, 1, 1, 0, NaN, 0, 1]),
      championPd: Float64Array.from([0.1, 0.2, 0.4, 0.6, 0.7, 0.8, 0.2, 0.9, 0.45, 0.1]),
      challengerPd: Float64Array.from([0.1, 0.5, 0.2, 0.2, 0.25, 0.9, 0.4, 0.1, 0.35, 0.2]),
      championCutoff: 0.5, challengerCutoff: 0.3,
    };
    // rows: 0 kept-approved(0), 1 swap-out(1), 2 kept-approved(NaN), 3 swap-in(0), 4 swap-in(1), 5 kept-declined(1),
    //       6 swap-out(0), 7 swap-in(NaN), 8 swap-out(0), 9 kept-approved(1)
    const w = swapSet(s);
    expect(w.swapIn).toEqual({ rows: 3, labelled: 2, bad: 1, badRate: 0.5 });
    expect(w.swapOut).toEqual({ rows: 3, labelled: 3, bad: 1, badRate: 1 / 3 });
    expect(w.keptApproved).toEqual({ rows: 3, labelled: 2, bad: 1, badRate: 0.5 });
    expect(w.keptDeclined).toEqual({ rows: 1, labelled: 1, bad: 1, badRate: 1 });
    expect(w.netApprovalChange).toBe(0);
    expect(w.approvalRate).toEqual({ champion: 0.6, challenger: 0.6 });
    expect(w.approvedBadRate.champion).toBeCloseTo(2 / 5, 15);
    expect(w.approvedBadRate.challenger).toBeCloseTo(2 / 4, 15);
  });

  it('a cell with no known outcome has a null bad rate; totals add up on a random world', () => {
    const s = world(3, 2000, { unknownShare: 0.5 });
    const w = swapSet(s);
    expect(w.swapIn.rows + w.swapOut.rows + w.keptApproved.rows + w.keptDeclined.rows).toBe(2000);
    expect(w.netApprovalChange).toBe(w.swapIn.rows - w.swapOut.rows);
    const allUnknown: EvalSet = { ...s, label: new Float64Array(2000).fill(NaN) };
    expect(swapSet(allUnknown).swapIn.badRate).toBeNull();
    expect(swapSet(allUnknown).approvedBadRate).toEqual({ champion: null, challenger: null });
  });
});
