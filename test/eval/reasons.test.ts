import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { reasonCodes, reasonCoder, type ReasonCode } from '../../src/eval/index.js';
import { expectKilnError } from './helpers.js';

const names = ['util', 'dti', 'inquiries', 'age', 'delinq_30', 'delinq_60'];
const reasonText = {
  util: 'Revolving utilisation is high',
  dti: 'Debt is high relative to income',
  age: 'Credit history is short',
  delinquency: 'Recent late payments',
};

/** Sort-everything reference: sum groups by name, keep > 0, order by value desc then name. */
function naiveReasons(c: ArrayLike<number>, f: string[], k: number, text: Record<string, string>, groups: Record<string, string[]>): ReasonCode[][] {
  const unitOf = (name: string): string => Object.entries(groups).find(([, m]) => m.includes(name))?.[0] ?? name;
  const out: ReasonCode[][] = [];
  for (let r = 0; r < c.length / f.length; r++) {
    const sums = new Map<string, number>();
    f.forEach((name, j) => sums.set(unitOf(name), (sums.get(unitOf(name)) ?? 0) + c[r * f.length + j]!));
    out.push([...sums].filter(([, v]) => v > 0).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, k)
      .map(([reason, contribution]) => ({ reason, text: text[reason] ?? reason, contribution, missingText: !(reason in text) })));
  }
  return out;
}

describe('reasonCodes', () => {
  it('hand-checked: top-k positive contributions, grouped, with text; missing text flagged by name', () => {
    const c = new Float64Array([
      0.5, 0.2, 0.3, -0.1, 0.1, 0.15, // row 0: delinquency 0.25, inquiries 0.3, util 0.5, dti 0.2
      -0.5, -0.2, 0, 0, -0.1, 0.05, //    row 1: only delinquency −0.05 → none; 0 is not a reason
    ]);
    const r = reasonCodes(c, names, { k: 3, reasonText, groups: { delinquency: ['delinq_30', 'delinq_60'] } });
    expect(r[0]).toEqual([
      { reason: 'util', text: 'Revolving utilisation is high', contribution: 0.5, missingText: false },
      { reason: 'inquiries', text: 'inquiries', contribution: 0.3, missingText: true },
      { reason: 'delinquency', text: 'Recent late payments', contribution: 0.25, missingText: false },
    ]);
    expect(r[1]).toEqual([]);
  });

  it('breaks ties by reason name, whatever the column order', () => {
    const c = new Float64Array([0.2, 0.2, 0.2, 0, 0, 0]);
    const r = reasonCodes(c, names, { k: 2, reasonText: { util: 'u', dti: 'd' } });
    expect(r[0]!.map((x) => x.reason)).toEqual(['dti', 'inquiries']);
    const reordered = ['inquiries', 'dti', 'util', 'age', 'delinq_30', 'delinq_60'];
    expect(reasonCodes(c, reordered, { k: 2, reasonText: {} })[0]!.map((x) => x.reason)).toEqual(['dti', 'inquiries']);
  });

  it('matches a naive reference on random contributions (never a non-positive reason)', () => {
    const rng = new Rng(17);
    const n = 500;
    const c = Float64Array.from({ length: n * names.length }, () => (rng.uniform() < 0.2 ? 0 : Math.round(rng.normal() * 4) / 8));
    const groups = { delinquency: ['delinq_30', 'delinq_60'] };
    for (const k of [1, 4, 10]) {
      const got = reasonCodes(c, names, { k, reasonText, groups });
      expect(got).toEqual(naiveReasons(c, names, k, reasonText, groups));
      for (const row of got) for (const x of row) expect(x.contribution).toBeGreaterThan(0);
    }
  });

  it('validates names, groups, text keys and the matrix shape', () => {
    expectKilnError(() => reasonCodes(new Float64Array(7), names, { reasonText }), 'contributions has 7 values, not a multiple of 6 features');
    expectKilnError(() => reasonCodes(new Float64Array([NaN, 0, 0, 0, 0, 0]), names, { reasonText }), "contributions at row 0, feature 'util' is NaN");
    expectKilnError(() => reasonCodes(new Float64Array(6), names, { reasonText, groups: { d: ['delinq_3O'] } }), "group 'd' lists 'delinq_3O', which is not in featureNames (did you mean 'delinq_30'?)");
    expectKilnError(() => reasonCodes(new Float64Array(6), names, { reasonText, groups: { a: ['util'], b: ['util'] } }), "feature 'util' is in groups 'a' and 'b'");
    expectKilnError(() => reasonCodes(new Float64Array(6), names, { reasonText: { utl: 'x' } }), "reasonText has 'utl', which is neither a feature nor a group (did you mean 'util'?)");
    expectKilnError(() => reasonCodes(new Float64Array(6), names, { reasonText, direction: 'toward-approval' as never }), "direction 'toward-approval' is unknown; use one of: toward-default");
    expectKilnError(() => reasonCodes(new Float64Array(6), names, { reasonText, k: 0 }), 'k is 0; expected an integer in [1, ∞]');
  });

  it('reasonCoder: the options checked once, the same reasons per call; bad contributions still named', () => {
    const rng = new Rng(5);
    const groups = { delinquency: ['delinq_30', 'delinq_60'] };
    const coder = reasonCoder(names, { k: 3, reasonText, groups });
    for (let t = 0; t < 20; t++) {
      const c = Float64Array.from({ length: 3 * names.length }, () => Math.round(rng.normal() * 4) / 8);
      expect(coder(c)).toEqual(reasonCodes(c, names, { k: 3, reasonText, groups }));
    }
    expectKilnError(() => coder(new Float64Array(7)), 'contributions has 7 values, not a multiple of 6 features');
    expectKilnError(() => reasonCoder(names, { reasonText, groups: { d: ['delinq_3O'] } }), "group 'd' lists 'delinq_3O'");
    expectKilnError(() => reasonCoder(names, { reasonText: null as never }), 'reasonText is missing');
  });
});
