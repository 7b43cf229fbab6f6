import { describe, expect, it } from 'vitest';
import { MIN_ENTRIES_FOR_THREADS, threadsFor, train, type GbdtParams } from '../../src/gbdt/index.js';
import { binaryData } from './data.js';

describe('determinism', () => {
  // 40k rows x 8 features: root nodes span two row blocks; worker threads are forced (minEntriesForThreads).
  const d = binaryData(40_000, 8, 71, 0.05);
  // x7 becomes categorical: integer codes 0..9.
  d.features[7] = d.features[7]!.map((v) => (v === v ? Math.min(9, Math.floor(Math.abs(v) * 4)) : v));
  const classes = d.label.map((y, i) => (y === 1 ? 2 : d.features[2]![i]! > 0 ? 1 : 0));
  const base: GbdtParams = { objective: 'binary:logistic', n_estimators: 12, max_depth: 6, subsample: 0.8, colsample_bytree: 0.75, seed: 5 };
  const model = async (nthread: number, params: GbdtParams = {}, label = d.label): Promise<string> =>
    JSON.stringify(await train({ features: d.features, label, featureNames: d.names, categorical: ['x7'], params: { ...base, ...params, nthread }, minEntriesForThreads: 0 }));

  it('threadsFor: one thread below MIN_ENTRIES_FOR_THREADS rows x features, then a thread per half of it; minEntriesForThreads replaces the rule; a bad one is an error', async () => {
    expect(40_000 * 8).toBeLessThan(MIN_ENTRIES_FOR_THREADS);
    // narrow rows need 1.5M entries, rows of 24+ features 1M, then a thread per half that; minEntriesForThreads overrides the rule
    expect([threadsFor(120_000, 10, 2), threadsFor(160_000, 10, 2), threadsFor(20_000, 25, 2), threadsFor(25_000, 50, 4)]).toEqual([1, 2, 1, 2]);
    expect([threadsFor(200_000, 10, 16), threadsFor(200_000, 50, 16), threadsFor(1_000_000, 50, 16), threadsFor(10, 1, 2, 0), threadsFor(10, 1, 2, 11)]).toEqual([2, 16, 16, 2, 1]);
    await expect(train({ features: d.features, label: d.label, featureNames: d.names, params: { ...base, nthread: 2 }, minEntriesForThreads: -1 }))
      .rejects.toMatchObject({ code: 'INVALID_ARGUMENT', path: ['minEntriesForThreads'] });
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
