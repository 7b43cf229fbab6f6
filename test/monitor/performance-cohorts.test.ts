/** Cohort performance and vintage curves as of a time: by hand on small examples, and no peeking past asOf. */
import { describe, expect, it } from 'vitest';
import { isKilnError } from '../../src/core/errors.js';
import { Rng } from '../../src/core/rng.js';
import { auc, calibrationTable, expectedCalibrationError, ks } from '../../src/eval/index.js';
import { addMonthsUtc, cbpe, cohortPerformance, monthOf, vintageCurves, type JoinedDecision, type Outcome } from '../../src/monitor/performance/index.js';

const t = (s: string): number => Date.parse(`${s}T00:00:00Z`);
let next = 0;
function row(decided: string, pd: number, outcome: Partial<Outcome> & { originatedAt?: number } | null): JoinedDecision {
  const o: Outcome | null = outcome === null ? null : {
    entityId: 'e', originatedAt: t(decided), label: null, labelAvailableAt: null, badAt: null, ...outcome,
  };
  return { id: `d${next++}`, entityId: 'e', time: t(decided), pd, version: 1, outcome: o };
}

describe('calendar helpers', () => {
  it('months are UTC and month ends clamp', () => {
    expect(monthOf(Date.parse('2024-01-31T23:59:59Z'))).toBe('2024-01');
    expect(monthOf(Date.parse('2024-02-01T00:00:00Z'))).toBe('2024-02');
    expect(new Date(addMonthsUtc(t('2024-01-31'), 1)).toISOString()).toBe('2024-02-29T00:00:00.000Z');
    expect(new Date(addMonthsUtc(t('2023-11-30'), 3)).toISOString()).toBe('2024-02-29T00:00:00.000Z');
    expect(new Date(addMonthsUtc(Date.parse('2024-03-15T10:20:30Z'), 12)).toISOString()).toBe('2025-03-15T10:20:30.000Z');
  });
});

describe('cohortPerformance', () => {
  it('counts decisions, originations and labels known as of asOf, and computes metrics on the labelled', () => {
    const asOf = t('2024-06-01');
    const rows = [
      row('2024-01-05', 0.1, { label: 0, labelAvailableAt: t('2024-04-01') }),
      row('2024-01-06', 0.7, { label: 1, labelAvailableAt: t('2024-05-01'), badAt: t('2024-03-01') }),
      row('2024-01-07', 0.3, { label: 1, labelAvailableAt: t('2024-07-01') }), // label after asOf: unknown
      row('2024-01-08', 0.2, { label: null }), // originated, no label yet
      row('2024-01-09', 0.9, null), // declined: a decision, no loan
      row('2024-01-20', 0.4, { originatedAt: t('2024-06-10'), label: 0, labelAvailableAt: t('2024-06-20') }), // funded after asOf
      row('2024-02-02', 0.5, { label: 0, labelAvailableAt: t('2024-05-15') }),
      row('2024-07-01', 0.5, { label: 0, labelAvailableAt: t('2024-07-02') }), // decided after asOf: dropped
    ];
    const got = cohortPerformance(rows, { asOf, minLabelled: 2 });
    expect(got.map((c) => c.cohort)).toEqual(['2024-01', '2024-02']);
    const [jan, feb] = got;
    expect(jan).toMatchObject({ decisions: 6, originated: 4, labelled: 2, maturity: 0.5, badRate: 0.5, auc: 1, ks: 1 });
    expect(jan!.meanPd).toBeCloseTo(0.4, 15);
    expect(jan!.estimate).toEqual(cbpe([0.1, 0.7, 0.3, 0.2]));
    expect(jan!.ece).toBeCloseTo(expectedCalibrationError([0, 1], [0.1, 0.7]), 15);
    expect(jan!.calibration).toEqual(calibrationTable([0, 1], [0.1, 0.7]).bins);
    // one labelled row of one class: counts, no metrics
    expect(feb).toMatchObject({ decisions: 1, originated: 1, labelled: 1, maturity: 1, badRate: 0, meanPd: 0.5, auc: null, ks: null, ece: null, calibration: null });
    // a month later the third label and the loan funded in June (labelled 06-20) are known
    expect(cohortPerformance(rows, { asOf: t('2024-07-01'), minLabelled: 2 })[0]).toMatchObject({ originated: 5, labelled: 4 });
  });

  it('matches the eval kernels on a larger seeded cohort, and respects minLabelled', () => {
    const r = new Rng(3);
    const rows: JoinedDecision[] = [];
    for (let i = 0; i < 400; i++) {
      const pd = Math.round(r.uniform() * 50) / 100;
      const known = r.uniform() < 0.8;
      rows.push(row(`2024-03-${String(1 + r.int(28)).padStart(2, '0')}`, pd, { label: r.uniform() < pd ? 1 : 0, labelAvailableAt: known ? t('2024-05-01') : t('2025-01-01') }));
    }
    const [c] = cohortPerformance(rows, { asOf: t('2024-06-01'), bins: 5, strategy: 'quantile' });
    const lab = rows.filter((x) => x.outcome!.labelAvailableAt! <= t('2024-06-01'));
    const y = lab.map((x) => x.outcome!.label!), pd = lab.map((x) => x.pd);
    expect(c!.labelled).toBe(lab.length);
    expect(c!.auc).toBe(auc(y, pd));
    expect(c!.ks).toBe(ks(y, pd).statistic);
    expect(c!.ece).toBe(expectedCalibrationError(y, pd, { bins: 5, strategy: 'quantile' }));
    expect(cohortPerformance(rows, { asOf: t('2024-06-01'), minLabelled: lab.length + 1 })[0]!.auc).toBeNull();
  });
});

describe('vintageCurves', () => {
  it('computes cumulative bad rates by months on book by hand', () => {
    const asOf = t('2024-04-20');
    const rows = [
      row('2024-01-15', 0.2, { label: 1, labelAvailableAt: t('2024-03-01'), badAt: t('2024-02-20') }), // L1: bad in month 2
      row('2024-01-15', 0.1, { label: null }), // L2: good so far
      row('2024-01-31', 0.3, { label: null, badAt: t('2024-02-29') }), // L3: bad exactly at 1 month (Jan 31 + 1 = Feb 29)
      row('2024-01-10', 0.3, { label: 1, labelAvailableAt: t('2024-03-01') }), // L4: labelled bad, no badAt: bad at 03-01
      row('2024-01-10', 0.3, { label: 1, labelAvailableAt: t('2024-06-01') }), // L5: label after asOf: not bad yet
      row('2024-01-12', 0.3, null), // declined: no loan
      row('2024-03-25', 0.1, { label: null }), // a March loan: not a month on book yet
    ];
    expect(vintageCurves(rows, { asOf, maxMonths: 6 })).toEqual([
      { cohort: '2024-01', originated: 5, points: [
        { monthsOnBook: 1, cumulativeBadRate: 1 / 5, observed: 5 },
        { monthsOnBook: 2, cumulativeBadRate: 3 / 5, observed: 5 },
        { monthsOnBook: 3, cumulativeBadRate: 2 / 4, observed: 4 }, // L3 (Jan 31 + 3 = Apr 30) is not 3 months on book yet
      ] },
      { cohort: '2024-03', originated: 1, points: [] },
    ]);
    // maxMonths cuts the curve
    expect(vintageCurves(rows, { asOf, maxMonths: 1 })[0]!.points).toHaveLength(1);
  });

  it('does not peek: a bad event after asOf is not seen, and earlier asOf gives shorter curves', () => {
    const rows = [row('2024-01-01', 0.2, { label: null, badAt: t('2024-02-15') }), row('2024-01-01', 0.2, { label: null })];
    expect(vintageCurves(rows, { asOf: t('2024-02-10') })[0]!.points).toEqual([{ monthsOnBook: 1, cumulativeBadRate: 0, observed: 2 }]);
    expect(vintageCurves(rows, { asOf: t('2024-03-01') })[0]!.points.at(-1)).toEqual({ monthsOnBook: 2, cumulativeBadRate: 0.5, observed: 2 });
  });

  it('cohorts by decision month by default, by origination month on request', () => {
    const rows = [row('2023-12-20', 0.2, { originatedAt: t('2024-01-05'), label: null })];
    expect(vintageCurves(rows, { asOf: t('2024-03-01') }).map((c) => c.cohort)).toEqual(['2023-12']);
    expect(vintageCurves(rows, { asOf: t('2024-03-01'), cohortBy: 'origination' }).map((c) => c.cohort)).toEqual(['2024-01']);
  });

  it('refuses bad options naming them', () => {
    const code = (f: () => unknown): string | false => { try { f(); return false; } catch (e) { return isKilnError(e) && `${e.code}: ${e.message}`; } };
    expect(code(() => vintageCurves([], { asOf: NaN }))).toBe('EVAL_INPUT_INVALID: vintageCurves: asOf is NaN; expected a time in epoch milliseconds');
    expect(code(() => vintageCurves([], { asOf: 0, maxMonths: 0 }))).toBe('INVALID_ARGUMENT: vintageCurves: maxMonths is 0; expected an integer in [1, 1200]');
    expect(code(() => vintageCurves([], { asOf: 0, cohortBy: 'loan' as 'decision' }))).toContain("cohortBy 'loan' is unknown");
    expect(code(() => cohortPerformance([], { asOf: 0, minLabelled: 0 }))).toContain('minLabelled is 0');
  });
});
