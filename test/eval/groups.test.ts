import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { describeInputs, familyName, groupFigures, originsFromFeatures, originsFromNames, topWithRest } from '../../src/eval/index.js';
import { loadFeatureRegistry } from '../../src/features/index.js';
import { wideColumnCount, wideDefinitions } from '../../bench/wide-shape.js';

describe('familyName', () => {
  it('stars the window token of the name', () => {
    expect(familyName('spend_by_category_30d', '30d')).toBe('spend_by_category_*');
    expect(familyName('txn_count_7d_online', '7d')).toBe('txn_count_*_online');
    expect(familyName('spend_1w', '7d')).toBe('spend_*');
    expect(familyName('age', undefined)).toBe('age');
  });
});

describe('grouping by declaration at width (the issue-15 shape: 360 features, 1,818 columns)', () => {
  const registry = loadFeatureRegistry(wideDefinitions());
  const columns = [...registry.features.values()].flatMap((f) => f.outputs.map((o) => o.column));
  const origins = originsFromFeatures(['age', ...columns], registry.features.values());

  it('maps each column to its declared feature, family and source', () => {
    expect(columns).toHaveLength(wideColumnCount());
    const o = origins.find((x) => x.column === 'spend_by_category_30d__grocery')!;
    expect(o).toEqual({ column: 'spend_by_category_30d__grocery', feature: 'spend_by_category_30d', family: 'spend_by_category_*', source: 'transactions' });
    expect(origins[0]).toEqual({ column: 'age', feature: 'age', family: 'age', source: null });
    expect(new Set(origins.map((x) => x.feature)).size).toBe(361);
    // 20 aggregates (7 overall, 6 by category, 7 by channel) over 18 windows, plus the spine column.
    expect(new Set(origins.map((x) => x.family)).size).toBe(21);
  });

  it('summarises the inputs in one line', () => {
    expect(describeInputs(origins)).toBe('1,819 inputs from 361 features (21 families) of 1 source (transactions) and 1 other column');
    expect(describeInputs(originsFromNames(['a', 'b']))).toBe('2 inputs');
  });

  it('grouped figures sum to the total, by feature and by family, and name the top column', () => {
    const rng = new Rng(15, 1);
    const values = Object.fromEntries(origins.map((o) => [o.column, rng.uniform()]));
    values['spend_by_category_30d__travel'] = 50;
    const total = Object.values(values).reduce((a, b) => a + b, 0);
    for (const by of ['feature', 'family'] as const) {
      const g = groupFigures(values, origins, by);
      expect(g.reduce((a, x) => a + x.value, 0)).toBeCloseTo(total, 9);
      expect(g.reduce((a, x) => a + x.columns, 0)).toBe(origins.length);
      for (let i = 1; i < g.length; i++) expect(g[i - 1]!.value).toBeGreaterThanOrEqual(g[i]!.value);
      expect(g[0]!.top).toBe('spend_by_category_30d__travel');
    }
    const byFeature = groupFigures(values, origins);
    expect(byFeature[0]).toMatchObject({ name: 'spend_by_category_30d', columns: 11 });
    expect(groupFigures(values, origins, 'family')[0]).toMatchObject({ name: 'spend_by_category_*', columns: 198 });
  });

  it('top N plus one row for the rest keeps the total', () => {
    const g = groupFigures(Object.fromEntries(columns.map((c, j) => [c, j % 7])), origins);
    const { top, rest } = topWithRest(g, 20);
    expect(top).toHaveLength(20);
    expect(rest!.count).toBe(g.length - 20);
    expect(top.reduce((a, x) => a + x.value, 0) + rest!.value).toBeCloseTo(g.reduce((a, x) => a + x.value, 0), 9);
    expect(topWithRest(g.slice(0, 5), 20)).toEqual({ top: g.slice(0, 5), rest: null });
  });
});

describe('originsFromNames (no registry at hand)', () => {
  it('groups `<feature>__<bucket>` under the feature and stars windows for families', () => {
    const o = originsFromNames(['spend_30d__fuel', 'spend_30d__grocery', 'spend_90d__fuel', 'age']);
    expect(o.map((x) => x.feature)).toEqual(['spend_30d', 'spend_30d', 'spend_90d', 'age']);
    expect(o.map((x) => x.family)).toEqual(['spend_*', 'spend_*', 'spend_*', 'age']);
    expect(groupFigures({ spend_30d__fuel: 2, spend_30d__grocery: 1, age: 0.5 }, o)).toEqual([
      { name: 'spend_30d', value: 3, columns: 2, top: 'spend_30d__fuel' },
      { name: 'age', value: 0.5, columns: 1, top: 'age' },
      { name: 'spend_90d', value: 0, columns: 1, top: 'spend_90d__fuel' },
    ]);
  });
});
