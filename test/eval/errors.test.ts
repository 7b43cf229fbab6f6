/** Input validation at the edge: every problem named, with the argument and what to do. */
import { describe, expect, it } from 'vitest';
import { KilnError } from '../../src/core/errors.js';
import {
  approvalCurve, auc, brier, calibrationTable, fitIsotonic, fitPlatt, gini, ks, liftTable, logLoss, prAuc, prCurve, rocCurve,
} from '../../src/eval/index.js';
import { expectKilnError } from './helpers.js';

describe('one-class windows', () => {
  it('AUC, Gini, KS, PR-AUC and the curves refuse them with an actionable message', () => {
    expectKilnError(() => auc([0, 0, 0], [0.1, 0.2, 0.3]), 'auc: y has only one class (all 0); AUC is undefined — evaluate on a window with both outcomes');
    expectKilnError(() => ks([1, 1], [0.1, 0.2]), 'ks: y has only one class (all 1); KS is undefined');
    expectKilnError(() => prAuc([0], [0.5]), 'prAuc: y has only one class (all 0); PR-AUC is undefined');
    expectKilnError(() => gini([1], [0.5]), 'gini: y has only one class (all 1)');
    expectKilnError(() => rocCurve([0, 0], [0.1, 0.2]), 'rocCurve: y has only one class');
    expectKilnError(() => prCurve([1, 1], [0.1, 0.2]), 'prCurve: y has only one class');
    expectKilnError(() => auc([0, 1], [0.1, 0.2], { weight: [1, 0] }), 'auc: y has both classes but all rows with y = 1 have weight 0');
  });

  it('is fine for metrics that are defined on one outcome', () => {
    expect(brier([0, 0], [0.1, 0.3])).toBeCloseTo(0.05, 15);
    expect(liftTable([0, 0], [0.1, 0.3], { groups: 2 })[0]).toMatchObject({ rate: 0, lift: null, captureRate: 0 }); // lift undefined without defaults
    expect(approvalCurve([1, 1], [0.1, 0.3], { points: 2 }).at(-1)!.badRate).toBe(1);
  });
});

describe('bad input', () => {
  it('names the argument, the first offending row, how many more, and the fix', () => {
    expectKilnError(() => auc([0, 1, 1], [0.1, 0.2]), 'auc: score has 2 values but y has 3; pass one value per row');
    expectKilnError(() => auc([0, 1, NaN, NaN], [0.1, 0.2, 0.3, 0.4]), 'y[2] is NaN (and 1 more); labels must be 0 or 1 — drop rows whose outcome is not yet known');
    expectKilnError(() => auc([0, 2, 1], [0.1, 0.2, 0.3]), 'y[1] is 2; labels must be 0 or 1 (1 = default)');
    expectKilnError(() => auc([0, 1], [NaN, 0.2]), 'score[0] is NaN; score every row, or drop unscored rows before evaluating');
    expectKilnError(() => auc([0, 1], [Infinity, 0.2]), 'score[0] is Infinity; values must be finite');
    expectKilnError(() => auc([0, 1], [0.1, 0.2], { weight: [1, -1] }), 'weight[1] is -1; weights must be finite and >= 0');
    expectKilnError(() => auc([0, 1], [0.1, 0.2], { weight: [0, 0] }), 'weight sums to 0; at least one row needs a positive weight');
    expectKilnError(() => auc([0, 1], [0.1, 0.2], { weight: [1] }), 'weight has 1 values but y has 2');
    expectKilnError(() => auc([], []), 'auc: y is empty; pass at least one row');
    expectKilnError(() => logLoss([0, 1], [0.1, 1.2]), 'logLoss: score[1] is 1.2; expected a probability of default in [0, 1]');
    expectKilnError(() => logLoss([0, 1], [0.1, 0.2], { eps: 0 }), 'eps is 0; expected a number in (0, 0.5)');
    expectKilnError(() => fitPlatt([0.1, 0.2], [0, 3]), 'fitPlatt: y[1] is 3');
    expectKilnError(() => fitIsotonic([0.1], [0, 1]), 'fitIsotonic: score has 1 values but y has 2');
  });

  it('collects every problem into one error with structured details and a path', () => {
    let err: unknown;
    try { auc([0, 5, NaN], [NaN, 0.2], { weight: [1, 2, -3] }); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(KilnError);
    const k = err as KilnError;
    expect(k.code).toBe('EVAL_INPUT_INVALID');
    expect(k.path).toEqual(['auc', 'y']);
    expect(k.message).toBe('auc: y[2] is NaN; labels must be 0 or 1 — drop rows whose outcome is not yet known; y[1] is 5; labels must be 0 or 1 (1 = default); score has 2 values but y has 3; pass one value per row; weight[2] is -3; weights must be finite and >= 0');
    expect((k.details as { issues: { argument: string }[] }).issues.map((i) => i.argument)).toEqual(['y', 'y', 'score', 'weight']);
  });

  it('checks options against closed sets and ranges', () => {
    expectKilnError(() => calibrationTable([0, 1], [0.1, 0.2], { strategy: 'quantiles' as never }), "strategy 'quantiles' is unknown; use one of: uniform, quantile");
    expectKilnError(() => calibrationTable([0, 1], [0.1, 0.2], { bins: 0 }), 'bins is 0; expected an integer in [1, 1000000]');
    expectKilnError(() => liftTable([0, 1], [0.1, 0.2], { groups: 2.5 }), 'groups is 2.5');
    expectKilnError(() => liftTable([0, 1], [0.1, 0.2], { ties: 'random' as never }), "ties 'random' is unknown; use one of: together, by-index");
    expectKilnError(() => rocCurve([0, 1], [0.1, 0.2], { maxPoints: 1 }), 'maxPoints is 1; expected an integer in [2, ∞]');
    expectKilnError(() => approvalCurve([0, 1], [0.1, 0.2], { points: 1 }), 'points is 1');
  });

  it('a Platt fit that overflows (weights near the float maximum) is bad input, not an internal error', () => {
    let err: unknown;
    try { fitPlatt([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1], { weight: [1e308, 1e308, 1e308, 1e308] }); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(KilnError);
    expect([(err as KilnError).code, (err as KilnError).message]).toEqual(['EVAL_INPUT_INVALID', expect.stringMatching(/^fitPlatt: Newton's method diverged .*use fitIsotonic/)]);
  });
});
