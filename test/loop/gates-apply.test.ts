import { describe, expect, it } from 'vitest';
import { isKilnError } from '../../src/core/errors.js';
import { applyGates, evaluateChallenger, parseGateSpec, type GateResult, type MetricRow } from '../../src/loop/gates/index.js';
import { world } from './gates-world.js';

const m = (metric: string, slice: string, champion: number | null, challenger: number | null, rows = 1000): MetricRow =>
  ({ metric, slice, rows, champion, challenger, delta: champion === null || challenger === null ? null : challenger - champion });

const find = (results: GateResult[], gate: string): GateResult => {
  const r = results.find((x) => x.gate === gate);
  expect(r, `${gate} in ${results.map((x) => x.gate).join(' | ')}`).toBeDefined();
  return r!;
};

describe('applyGates on constructed cases', () => {
  it('a drop under the delta passes, over it fails, with the figures in the reason', () => {
    const spec = { metrics: [{ metric: 'auc' as const, maxDrop: 0.01 }] };
    const ok = applyGates([m('auc', 'all', 0.74, 0.7350)], spec);
    expect(ok).toMatchObject({ passed: true, action: 'promote' });
    expect(ok.results[0]).toMatchObject({ gate: 'auc drop <= 0.01 (all)', passed: true, skipped: false, value: 0.735, champion: 0.74, threshold: 0.01 });
    expect(ok.results[0]!.reason).toBe('challenger auc 0.7350 vs champion 0.7400: drop 0.0050 <= 0.01 on all (1000 rows)');
    const bad = applyGates([m('auc', 'all', 0.74, 0.7250)], spec);
    expect(bad).toMatchObject({ passed: false, action: 'reject' });
    expect(bad.results[0]!.reason).toMatch(/drop 0.0150 > 0.01/);
    expect(bad.summary).toMatch(/^failed 1 of 1 gates: auc drop <= 0.01 \(all\)/);
    // an improvement passes whatever its size
    expect(applyGates([m('auc', 'all', 0.74, 0.80)], spec).passed).toBe(true);
  });

  it('lower-is-better metrics: ece under a bound, brier rise bounded; the direction comes from GATE_METRICS', () => {
    const spec = { metrics: [{ metric: 'ece' as const, max: 0.03 }, { metric: 'brier' as const, maxRise: 0.002 }] };
    const d = applyGates([m('ece', 'all', 0.01, 0.031), m('brier', 'all', 0.080, 0.0815)], spec);
    expect(find(d.results, 'ece <= 0.03 (all)')).toMatchObject({ passed: false });
    expect(find(d.results, 'brier rise <= 0.002 (all)')).toMatchObject({ passed: true });
    expect(applyGates([m('ece', 'all', 0.05, 0.029), m('brier', 'all', 0.08, 0.0823)], spec).results.map((r) => r.passed)).toEqual([true, false]);
  });

  it('air below 0.8 fails (the four-fifths rule), at 0.8 passes', () => {
    const spec = { metrics: [{ metric: 'air' as const, min: 0.8 }], action: { onFail: 'shadow' as const } };
    const low = applyGates([m('air', 'all', 0.9, 0.79)], spec);
    expect(low).toMatchObject({ passed: false, action: 'shadow' });
    expect(low.results[0]!.reason).toMatch(/challenger air 0.7900 < 0.8/);
    expect(applyGates([m('air', 'all', 0.9, 0.8)], spec).passed).toBe(true);
  });

  it('per slice: the same gates on each value; a small slice is skipped and recorded; a big one counts', () => {
    const spec = { metrics: [{ metric: 'auc' as const, maxDrop: 0.01 }], slices: ['region'], minSliceRows: 200 };
    const rows = [m('auc', 'all', 0.74, 0.745), m('auc', 'region=north', 0.70, 0.60, 150), m('auc', 'region=coastal', 0.75, 0.70, 900)];
    const d = applyGates(rows, spec);
    expect(find(d.results, 'auc drop <= 0.01 (region=north)')).toMatchObject({ passed: true, skipped: true, rows: 150 });
    expect(find(d.results, 'auc drop <= 0.01 (region=north)').reason).toMatch(/150 rows, fewer than minSliceRows 200/);
    expect(find(d.results, 'auc drop <= 0.01 (region=coastal)')).toMatchObject({ passed: false, skipped: false });
    expect(d.passed).toBe(false);
    expect(d.summary).toMatch(/failed 1 of 3 gates, 1 skipped/);
    const without = applyGates(rows.slice(0, 2), spec);
    expect(without).toMatchObject({ passed: true, action: 'promote' });
    // perSlice: false keeps a gate to 'all'
    expect(applyGates(rows, { ...spec, metrics: [{ metric: 'auc', maxDrop: 0.01, perSlice: false }] }).results).toHaveLength(1);
  });

  it('null metrics: fail closed on all; skipped on a slice when undefined for both models; fail when only the challenger is', () => {
    const spec = { metrics: [{ metric: 'auc' as const, min: 0.6, maxDrop: 0.02 }], slices: ['region'], minSliceRows: 100 };
    const d = applyGates([m('auc', 'all', null, null), m('auc', 'region=a', null, null, 500), m('auc', 'region=b', 0.7, null, 500)], spec);
    expect(find(d.results, 'auc >= 0.6 (all)')).toMatchObject({ passed: false, skipped: false });
    expect(find(d.results, 'auc >= 0.6 (all)').reason).toMatch(/undefined for the challenger on all .*fails closed/);
    expect(find(d.results, 'auc >= 0.6 (region=a)')).toMatchObject({ passed: true, skipped: true });
    expect(find(d.results, 'auc >= 0.6 (region=b)')).toMatchObject({ passed: false });
    // a change threshold needs the champion too
    const c = applyGates([m('auc', 'all', null, 0.7)], { metrics: [{ metric: 'auc', maxDrop: 0.02 }] });
    expect(c.passed).toBe(false);
    expect(c.results[0]!.reason).toMatch(/undefined for the champion/);
  });

  it('missing evidence fails closed: a metric not evaluated, a slice column not evaluated, no drift figures', () => {
    const d = applyGates([m('auc', 'all', 0.7, 0.7)], { metrics: [{ metric: 'ks', maxDrop: 0.02 }, { metric: 'auc', min: 0.6 }], slices: ['channel'], maxInputDriftPsi: 0.25 });
    expect(find(d.results, 'ks drop <= 0.02 (all)')).toMatchObject({ passed: false });
    expect(find(d.results, 'auc >= 0.6 (channel=*)').reason).toMatch(/slice column 'channel' was not evaluated/);
    expect(find(d.results, 'input drift psi <= 0.25 (all)').reason).toMatch(/no input drift figures/);
    expect(d.passed).toBe(false);
  });

  it("input drift: any of the challenger's inputs above maxInputDriftPsi fails", () => {
    const spec = { metrics: [{ metric: 'auc' as const, min: 0.5 }], maxInputDriftPsi: 0.25 };
    const rows = [m('auc', 'all', 0.7, 0.7)];
    const ok = applyGates(rows, spec, { inputDrift: [{ feature: 'income', psi: 0.04 }, { feature: 'age', psi: 0.25 }] });
    expect(ok.passed).toBe(true);
    const bad = applyGates(rows, spec, { inputDrift: [{ feature: 'income', psi: 0.31 }] });
    expect(find(bad.results, 'input drift psi <= 0.25 (feature=income)')).toMatchObject({ passed: false, value: 0.31 });
    expect(bad.results.at(-1)!.reason).toBe("PSI of input 'income' is 0.3100 above 0.25");
  });
});

describe('GateSpecSchema', () => {
  it('takes the example config and fills the defaults', () => {
    const s = parseGateSpec({ metrics: [{ metric: 'auc', maxDrop: 0.01 }, { metric: 'ks', maxDrop: 0.02 }, { metric: 'ece', max: 0.03 }, { metric: 'air', min: 0.8 }, { metric: 'auc', min: 0.6 }], slices: ['region'] });
    expect(s).toMatchObject({ minSliceRows: 200, action: { onPass: 'promote', onFail: 'reject' } });
  });

  it('refuses a threshold against the direction of the metric, an unknown metric, no threshold', () => {
    const bad = (spec: unknown, re: RegExp): void => {
      let err: unknown;
      try { parseGateSpec(spec); } catch (e) { err = e; }
      expect(isKilnError(err, 'CONFIG_INVALID')).toBe(true);
      expect((err as Error).message).toMatch(re);
    };
    bad({ metrics: [{ metric: 'ece', maxDrop: 0.01 }] }, /loop\.gates\.metrics\[0\]\.maxDrop: 'ece' is lower-is-better.*use maxRise|bound its worsening with maxRise/);
    bad({ metrics: [{ metric: 'auc', maxRise: 0.01 }] }, /'auc' is higher-is-better/);
    bad({ metrics: [{ metric: 'gini', min: 0.3 }] }, /loop\.gates\.metrics\[0\]\.metric/);
    bad({ metrics: [{ metric: 'auc' }] }, /has no threshold/);
    bad({ metrics: [{ metric: 'auc', min: 0.5 }], action: { onPass: 'reject' } }, /action\.onPass/);
  });
});

describe('evaluateChallenger', () => {
  it('end to end on a seeded world: the sharper challenger passes, with its swap set as evidence; deterministic', () => {
    const set = world(42, 4000);
    const spec = { metrics: [{ metric: 'auc' as const, maxDrop: 0.01 }, { metric: 'ks' as const, maxDrop: 0.02 }, { metric: 'ece' as const, max: 0.1 }, { metric: 'air' as const, min: 0.8 }], slices: ['region'], minSliceRows: 200 };
    const d = evaluateChallenger(set, spec);
    expect(d.passed, d.summary).toBe(true);
    expect(d.action).toBe('promote');
    expect(d.swap!.swapIn.rows + d.swap!.swapOut.rows).toBeGreaterThan(0);
    expect(d.rows.some((r) => r.slice === 'region=coastal')).toBe(true);
    expect(JSON.stringify(evaluateChallenger(world(42, 4000), spec))).toBe(JSON.stringify(d));
    // swapping the roles: the weaker model loses more than 0.01 of AUC and is rejected
    const back = evaluateChallenger({ ...set, championPd: set.challengerPd, challengerPd: set.championPd }, spec);
    expect(back.action).toBe('reject');
    expect(back.summary).toMatch(/auc drop <= 0.01 \(all\)/);
  });
});
