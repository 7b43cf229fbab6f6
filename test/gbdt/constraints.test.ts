import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { train } from '../../src/gbdt/index.js';

/** Data where the signal is non-monotone in x0 and x1, so unconstrained trees would break the constraint. */
function wiggly(n: number, seed: number): { features: Float32Array[]; label: Float32Array } {
  const rng = new Rng(seed, 5);
  const features = Array.from({ length: 4 }, () => new Float32Array(n));
  const label = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < 4; j++) features[j]![i] = rng.uniform() < 0.05 ? NaN : rng.normal();
    const v = (j: number): number => (features[j]![i]! === features[j]![i]! ? features[j]![i]! : 0);
    const z = v(0) + 1.5 * Math.sin(3 * v(0)) - v(1) + Math.cos(4 * v(1)) + v(2) * v(3);
    label[i] = rng.uniform() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
  }
  return { features, label };
}

describe('monotone constraints', () => {
  for (const grow_policy of ['depthwise', 'lossguide'] as const) {
    it(`predictions never move the wrong way along constrained features (${grow_policy})`, async () => {
      const { features, label } = wiggly(6000, 1);
      const booster = await train({
        features, label, featureNames: ['up', 'down', 'a', 'b'],
        params: { objective: 'binary:logistic', n_estimators: 60, max_depth: 5, learning_rate: 0.3, monotone_constraints: { up: 1, down: -1 }, grow_policy, max_leaves: grow_policy === 'lossguide' ? 24 : 0, nthread: 1, seed: 3 },
      });
      const rng = new Rng(99);
      const grid = Array.from({ length: 81 }, (_, k) => -4 + k * 0.1);
      let moved = 0;
      for (let trial = 0; trial < 150; trial++) {
        const base = [rng.normal(), rng.normal(), rng.uniform() < 0.2 ? NaN : rng.normal(), rng.normal()];
        for (const [f, sign] of [[0, 1], [1, -1]] as const) {
          let prev = sign > 0 ? -Infinity : Infinity;
          for (const g of grid) {
            const x = base.slice();
            x[f] = g;
            const p = booster.predictRow(x);
            if (sign > 0) expect(p).toBeGreaterThanOrEqual(prev);
            else expect(p).toBeLessThanOrEqual(prev);
            if (p !== prev && Number.isFinite(prev)) moved++;
            prev = p;
          }
        }
      }
      expect(moved).toBeGreaterThan(100); // the constrained features are used, not just left flat
      const gain = booster.featureImportance('total_gain');
      expect(gain.up).toBeGreaterThan(0);
      expect(gain.down).toBeGreaterThan(0);
    });
  }

  it('an unconstrained model on the same data does break monotonicity (so the test can fail)', async () => {
    const { features, label } = wiggly(6000, 1);
    const booster = await train({ features, label, featureNames: ['up', 'down', 'a', 'b'], params: { objective: 'binary:logistic', n_estimators: 60, max_depth: 5, learning_rate: 0.3, nthread: 1 } });
    let violations = 0;
    let prev = -Infinity;
    for (let k = 0; k <= 80; k++) {
      const p = booster.predictRow([-4 + k * 0.1, 0, 0, 0]);
      if (p < prev) violations++;
      prev = p;
    }
    expect(violations).toBeGreaterThan(0);
  });
});

describe('missing values', () => {
  it('uses a feature whose missingness is predictive, sending missing the learned way', async () => {
    const rng = new Rng(4);
    const n = 4000;
    const x = Float32Array.from({ length: n }, () => (rng.uniform() < 0.3 ? NaN : rng.normal()));
    const noise = Float32Array.from({ length: n }, () => rng.normal());
    const y = Float32Array.from(x, (v) => (v !== v ? (rng.uniform() < 0.9 ? 1 : 0) : rng.uniform() < 0.1 ? 1 : 0));
    const b = await train({ features: [noise, x], label: y, featureNames: ['noise', 'x'], params: { objective: 'binary:logistic', n_estimators: 20, max_depth: 2, nthread: 1 } });
    const t = b.trees[0]!;
    expect(t.feature[0]).toBe(1);
    expect(b.predictRow([0, NaN])).toBeGreaterThan(0.8);
    expect(b.predictRow([0, 0.5])).toBeLessThan(0.2);
    expect(b.featureImportance('gain').x!).toBeGreaterThan(b.featureImportance('gain').noise!);
  });

  it('learns the default direction: missing rows behave like large values, so they go right, or left when like small ones', async () => {
    for (const likeLarge of [true, false]) {
      const rng = new Rng(likeLarge ? 5 : 6);
      const n = 3000;
      const x = Float32Array.from({ length: n }, () => (rng.uniform() < 0.2 ? NaN : rng.normal()));
      const y = Float32Array.from(x, (v) => (v !== v ? (likeLarge ? 1 : 0) : v > 0.5 ? 1 : 0));
      const b = await train({ features: [x], label: y, featureNames: ['x'], params: { objective: 'binary:logistic', n_estimators: 5, max_depth: 1, nthread: 1 } });
      const t = b.trees[0]!;
      expect(t.threshold[0]!).toBeGreaterThan(0.3);
      expect(t.threshold[0]!).toBeLessThan(0.7);
      expect(t.defaultLeft[0]).toBe(likeLarge ? 0 : 1);
      expect(b.toJSON().trees[0]!.default_left[0]).toBe(likeLarge ? 0 : 1);
    }
  });

  it('never splits on constant or all-missing columns', async () => {
    const rng = new Rng(8);
    const n = 2000;
    const signal = Float32Array.from({ length: n }, () => rng.normal());
    const constant = new Float32Array(n).fill(3);
    const allMissing = new Float32Array(n).fill(NaN);
    const y = Float32Array.from(signal, (v) => (v > 0 ? 1 : 0));
    const b = await train({ features: [constant, signal, allMissing], label: y, featureNames: ['c', 's', 'm'], params: { objective: 'binary:logistic', n_estimators: 10, nthread: 1 } });
    const split = b.featureImportance('split');
    expect(split.c).toBe(0);
    expect(split.m).toBe(0);
    expect(split.s).toBeGreaterThan(0);
  });
});
