import { describe, expect, it } from 'vitest';
import { MIN_ENTRIES_FOR_THREADS, train, type GbdtParams } from '../../src/gbdt/index.js';
import { binaryData } from './data.js';

describe('determinism', () => {
  // 40k rows x 8 features is above the threshold for worker threads, and root nodes span two row blocks.
  const d = binaryData(40_000, 8, 71, 0.05);
  // x7 becomes categorical: integer codes 0..9.
  d.features[7] = d.features[7]!.map((v) => (v === v ? Math.min(9, Math.floor(Math.abs(v) * 4)) : v));
  const classes = d.label.map((y, i) => (y === 1 ? 2 : d.features[2]![i]! > 0 ? 1 : 0));
  const base: GbdtParams = { objective: 'binary:logistic', n_estimators: 12, max_depth: 6, subsample: 0.8, colsample_bytree: 0.75, seed: 5 };
  const model = async (nthread: number, params: GbdtParams = {}, label = d.label): Promise<string> =>
    JSON.stringify(await train({ features: d.features, label, featureNames: d.names, categorical: ['x7'], params: { ...base, ...params, nthread } }));

  it('the data is large enough to start worker threads', () => {
    expect(40_000 * 8).toBeGreaterThanOrEqual(MIN_ENTRIES_FOR_THREADS);
  });

  it('same seed gives the same model bytes for nthread 1, 2 and 4', async () => {
    const one = await model(1);
    expect(await model(2)).toBe(one);
    expect(await model(4)).toBe(one);
    expect(await model(1)).toBe(one);
    expect(await model(2, { seed: 6 })).not.toBe(one);
  });

  it('also for lossguide, monotone constraints and multi:softprob', async () => {
    const lossguide: GbdtParams = { grow_policy: 'lossguide', max_leaves: 20, max_depth: 0, monotone_constraints: { x0: 1 } };
    expect(await model(2, lossguide)).toBe(await model(1, lossguide));
    const multi: GbdtParams = { objective: 'multi:softprob', num_class: 3, n_estimators: 4 };
    expect(await model(2, multi, classes)).toBe(await model(1, multi, classes));
  });
});
