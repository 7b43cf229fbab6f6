/** Batch TreeSHAP on the booster's threads equals the one-thread explanation to the bit (binary and multi-class, leaf tables and recursion, iterations). */
import { afterEach, describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { train, type Booster } from '../../src/gbdt/index.js';

function data(n: number, F: number, K: number, seed: number): { cols: Float64Array[]; label: Float32Array } {
  const rng = new Rng(seed, 1);
  const cols = Array.from({ length: F }, () => Float64Array.from({ length: n }, () => (rng.uniform() < 0.05 ? NaN : rng.normal())));
  const label = Float32Array.from({ length: n }, (_, i) => {
    const z = (Number.isNaN(cols[0]![i]!) ? 0 : cols[0]![i]!) + 0.5 * (Number.isNaN(cols[1]![i]!) ? 0 : cols[1]![i]!) + 0.3 * rng.normal();
    return K === 1 ? (z > 0.4 ? 1 : 0) : Math.min(K - 1, Math.max(0, Math.floor(z + K / 2)));
  });
  return { cols, label };
}

const boosters: Booster[] = [];
afterEach(async () => { for (const b of boosters.splice(0)) await b.close(); });

describe('explain on threads', () => {
  it.each([
    ['binary, depth 6 (leaf tables)', 1, { max_depth: 6 }],
    ['binary, lossguide 63 leaves (recursion for deep trees)', 1, { max_depth: 0, grow_policy: 'lossguide', max_leaves: 63 }],
    ['3 classes, depth 4', 3, { max_depth: 4 }],
  ] as const)('%s: the same contributions to the bit, and small batches on the calling thread', async (_name, K, grow) => {
    const d = data(3000, 12, K, 5);
    const b = await train({ features: d.cols, label: d.label, featureNames: d.cols.map((_, j) => `f${j}`), params: { objective: K === 1 ? 'binary:logistic' : 'multi:softprob', ...(K > 1 ? { num_class: K } : {}), n_estimators: 30, learning_rate: 0.2, seed: 3, ...grow } as never });
    boosters.push(b);
    const rows = d.cols.map((c) => c.subarray(0, 1500));
    const one = b.explain(rows);
    const rec = b.explain(rows, { algorithm: 'recursion', iterations: 20 });
    await b.startThreads(2);
    const progress: number[] = [];
    const two = b.explain(rows, { onProgress: (done) => progress.push(done) });
    expect(two.numRows).toBe(1500);
    expect(two.expectedValues).toEqual(one.expectedValues);
    expect(Buffer.from(two.contributions.buffer).equals(Buffer.from(one.contributions.buffer))).toBe(true);
    expect(progress.at(-1)).toBe(1500);
    const rec2 = b.explain(rows, { algorithm: 'recursion', iterations: 20 });
    expect(Buffer.from(rec2.contributions.buffer).equals(Buffer.from(rec.contributions.buffer))).toBe(true);
    // Below the threshold the calling thread explains alone: still the same values.
    const few = b.explain(d.cols.map((c) => c.subarray(0, 10)));
    expect(Array.from(few.contributions)).toEqual(Array.from(one.contributions.subarray(0, few.contributions.length)));
    expect(() => b.explain(rows, { algorithm: 'fast' as never })).toThrow(/algorithm = "fast"/);
  }, 60_000);
});
