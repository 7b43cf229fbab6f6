import { describe, expect, it } from 'vitest';
import { MIN_ENTRIES_FOR_THREADS, train } from '../../src/gbdt/index.js';
import { binaryData } from './data.js';

describe('determinism', () => {
  // 40k rows x 8 features is above the threshold for worker threads, and root nodes span two row blocks.
  const d = binaryData(40_000, 8, 71, 0.05);
  const params = { objective: 'binary:logistic', n_estimators: 12, max_depth: 6, subsample: 0.8, colsample_bytree: 0.75, seed: 5 } as const;
  const model = async (nthread: number, seed = 5, extra: Record<string, unknown> = {}): Promise<string> =>
    JSON.stringify(await train({ features: d.features, label: d.label, featureNames: d.names, categorical: ['x7'], params: { ...params, seed, nthread, ...extra } }));

  it('the data is large enough to start worker threads', () => {
    expect(40_000 * 8).toBeGreaterThanOrEqual(MIN_ENTRIES_FOR_THREADS);
  });

  it('same seed gives the same model bytes for nthread 1, 2 and 4', async () => {
    // x7 as categorical: integer codes 0..9 from the normal values
    for (let i = 0; i < d.features[7]!.length; i++) {
      const v = d.features[7]![i]!;
      if (v === v) d.features[7]![i] = Math.min(9, Math.floor(Math.abs(v) * 4));
    }
    const one = await model(1);
    expect(await model(2)).toBe(one);
    expect(await model(4)).toBe(one);
    expect(await model(1)).toBe(one);
    expect(await model(2, 6)).not.toBe(one);
    const lossguide = { grow_policy: 'lossguide', max_leaves: 20, max_depth: 0 };
    expect(await model(2, 5, lossguide)).toBe(await model(1, 5, lossguide));
  });
});
