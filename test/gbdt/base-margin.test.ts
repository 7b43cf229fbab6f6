import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { train, type IterationInfo } from '../../src/gbdt/index.js';

/** Features, a label and a prior margin, all multiples of 1/8 (exact in float32). */
function data(n: number, seed: number): { x: Float32Array[]; y: Float32Array; b: Float64Array } {
  const rng = new Rng(seed, 3);
  const x = [new Float32Array(n), new Float32Array(n)];
  const y = new Float32Array(n);
  const b = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    x[0]![i] = Math.round(rng.normal() * 8) / 8;
    x[1]![i] = Math.round(rng.normal() * 8) / 8;
    b[i] = Math.round(x[0]![i]! * 3 * 8) / 8;
    y[i] = b[i]! + (x[1]![i]! > 0 ? 1 : -1) + Math.round(rng.normal() * 2) / 8;
  }
  return { x, y, b };
}

describe('baseMargin (per-row initial margins)', () => {
  it('boosts from the given margins: squared error on y from b grows the trees of y - b from 0', async () => {
    const { x, y, b } = data(2000, 1);
    const params = { objective: 'reg:squarederror', n_estimators: 20, max_depth: 3, base_score: 0, nthread: 1 } as const;
    const withBase = await train({ features: x, label: y, baseMargin: b, featureNames: ['x0', 'x1'], params });
    const residual = await train({ features: x, label: Float32Array.from(y, (v, i) => v - b[i]!), featureNames: ['x0', 'x1'], params });
    expect(Array.from(withBase.predictRaw(x))).toEqual(Array.from(residual.predictRaw(x)));
    const plain = await train({ features: x, label: y, featureNames: ['x0', 'x1'], params: { ...params, n_estimators: 2 } });
    const short = await train({ features: x, label: y, baseMargin: b, featureNames: ['x0', 'x1'], params: { ...params, n_estimators: 2 } });
    const mse = (p: ArrayLike<number>, add: Float64Array | null): number => Array.from(y).reduce((s, v, i) => s + (v - p[i]! - (add ? add[i]! : 0)) ** 2, 0) / y.length;
    expect(mse(short.predictRaw(x), b)).toBeLessThan(mse(plain.predictRaw(x), null) / 2);
  });

  it('starts the valid margins from valid.baseMargin too', async () => {
    const { x, y, b } = data(1000, 2);
    const log: IterationInfo[] = [];
    await train({
      features: x, label: y, baseMargin: b, featureNames: ['x0', 'x1'], params: { objective: 'reg:squarederror', n_estimators: 3, base_score: 0, nthread: 1 },
      valid: { features: x, label: y, baseMargin: b }, onIteration: (i) => log.push(i),
    });
    expect(log[0]!.valid!.rmse).toBeCloseTo(log[0]!.train.rmse!, 12);
  });

  it('is checked: length, finiteness, and given for both or neither of train and valid', async () => {
    const { x, y, b } = data(50, 3);
    const base = { features: x, label: y, featureNames: ['x0', 'x1'], params: { objective: 'reg:squarederror' as const, n_estimators: 1, nthread: 1 } };
    await expect(train({ ...base, baseMargin: b.subarray(1) })).rejects.toThrow(/baseMargin has 49 values but the features have 50 rows/);
    await expect(train({ ...base, baseMargin: Float64Array.from(b, (v, i) => (i === 4 ? NaN : v)) })).rejects.toThrow(/baseMargin\[4\] = NaN; margins must be finite/);
    await expect(train({ ...base, baseMargin: b, valid: { features: x, label: y } })).rejects.toThrow(/baseMargin is given for one of training and valid but not the other/);
  });
});
