import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { groupFigures, originsFromNames } from '../../src/eval/index.js';
import { explain, meanAbsContributions, train } from '../../src/gbdt/index.js';
import { figureTables } from '../../src/pipelines/report.js';
import { describeSignature } from '../../src/registry/index.js';

/** 8 windows x (6 overall + 6 stats x 11 buckets) = 576 columns from 96 features, named as the feature store names them. */
function wideNames(): string[] {
  const names: string[] = [];
  for (const w of ['1d', '7d', '30d', '60d', '90d', '180d', '365d', '730d']) {
    for (const s of ['txn_count', 'spend', 'mean_amount', 'max_amount', 'min_amount', 'sd_amount']) names.push(`${s}_${w}`);
    for (const s of ['txn_count', 'spend', 'mean_amount', 'max_amount', 'min_amount', 'sd_amount']) {
      for (let b = 0; b < 11; b++) names.push(`${s}_by_category_${w}__cat${b}`);
    }
  }
  return names;
}

/** Rows of each table's body in a rendered section. */
function tableRows(html: string): number[] {
  return [...html.matchAll(/<tbody>(.*?)<\/tbody>/gs)].map((m) => (m[1]!.match(/<tr/g) ?? []).length);
}

describe('per-input figures of a wide model stay readable', () => {
  it('a 576-input model: top N rows plus one for the rest, by input, by declared feature and by family, sums kept', async () => {
    const names = wideNames();
    const n = 1500;
    const rng = new Rng(15, 3);
    const cols = names.map(() => new Float32Array(n));
    const label = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const a = rng.normal();
      for (let j = 0; j < names.length; j++) cols[j]![i] = rng.uniform() < 0.3 ? NaN : a * (j % 13 === 0 ? 1 : 0.1) + rng.normal();
      label[i] = rng.uniform() < 1 / (1 + Math.exp(-2 * a)) ? 1 : 0;
    }
    const booster = await train({ features: cols, label, featureNames: names, params: { objective: 'binary:logistic', n_estimators: 8, max_depth: 3, nthread: 1 } });
    const meanAbs = meanAbsContributions(explain(booster, cols.map((c) => c.subarray(0, 200))));
    const origins = originsFromNames(names);
    const top = 20;
    const html = figureTables(meanAbs, origins, 'mean |SHAP|', top);
    // Three tables: inputs and declared features as top N + one summary row, the 12 families whole.
    expect(tableRows(html)).toEqual([top + 1, top + 1, 12]);
    expect(html).toContain('Top 20 of 576 inputs from 96 features (12 families)');
    expect(html).toContain('(556 more inputs)');
    expect(html).toContain('(76 more features)');
    // Grouped importances sum to the total, by feature and by family.
    const total = Object.values(meanAbs).reduce((a, b) => a + b, 0);
    for (const by of ['feature', 'family'] as const) expect(groupFigures(meanAbs, origins, by).reduce((a, g) => a + g.value, 0)).toBeCloseTo(total, 9);
  });

  it('a narrow model keeps its one plain table', () => {
    const html = figureTables({ age: 0.3, income: 0.2 }, originsFromNames(['age', 'income']), 'gain', 25);
    expect(tableRows(html)).toEqual([2]);
  });
});

describe('describeSignature', () => {
  it('lists every input of a small signature, and summarises a wide one by declared feature', () => {
    expect(describeSignature({ features: [{ name: 'age', type: 'DOUBLE', version: 'v1' }, { name: 'income', type: 'DOUBLE' }] })).toBe('age DOUBLE@v1, income DOUBLE');
    const names = wideNames();
    const s = describeSignature({ features: names.map((name) => ({ name, type: 'DOUBLE', version: 'abc' })) }, 5);
    expect(s).toBe('576 inputs from 96 features [576 DOUBLE]: txn_count_1d, spend_1d, mean_amount_1d, max_amount_1d, min_amount_1d and 91 more features');
    expect(s.length).toBeLessThan(200);
  });
});
