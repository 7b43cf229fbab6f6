import { describe, expect, it } from 'vitest';
import { Booster, train } from '../../src/gbdt/index.js';
import { logisticGrad32 } from '../../src/gbdt/objectives.js';

const x = Float32Array.of(1, 2, 3, 4);
const y = Float32Array.of(0, 0, 1, 1);
const base = { objective: 'reg:squarederror', base_score: 0, n_estimators: 1, max_depth: 1, learning_rate: 0.3, lambda: 1, nthread: 1 } as const;

function stump(params: Record<string, unknown>): Promise<Booster> {
  return train({ features: [x], label: y, featureNames: ['x'], params: { ...base, ...params } });
}

describe('exact values on hand-checkable data', () => {
  // Squared error from margin 0: g = -y, h = 1; G = -2, H = 4. Best split x < 2.5: left (G 0, H 2), right (G -2, H 2).
  it('one split: gain G^2/(H+lambda) terms, leaves -G/(H+lambda) * eta, threshold between the bins', async () => {
    const b = await stump({});
    const t = b.trees[0]!;
    expect(Array.from(t.feature)).toEqual([0, -1, -1]);
    expect(t.threshold[0]).toBe(2.5);
    expect(t.gain[0]).toBeCloseTo(0 / 3 + 4 / 3 - 4 / 5, 6);
    expect(t.leafValue[1]).toBe(0);
    expect(t.leafValue[2]).toBe(Math.fround((2 / 3) * 0.3));
    expect(t.baseWeight[0]).toBeCloseTo(2 / 5, 6);
    expect(Array.from(t.cover)).toEqual([4, 2, 2]);
    expect(t.defaultLeft[0]).toBe(0); // no missing values in training: missing goes right, as in XGBoost
    expect(Array.from(b.predict([x]))).toEqual([0, 0, Math.fround(0.2), Math.fround(0.2)]);
    // float32 routing: exactly at the threshold goes right; missing follows default_left
    expect(b.predictRow([2.4999998])).toBe(0);
    expect(b.predictRow([2.5])).toBe(Math.fround(0.2));
    expect(b.predictRow([NaN])).toBe(Math.fround(0.2));
  });

  it('alpha soft-thresholds G in both gain and leaf', async () => {
    const b = await stump({ alpha: 0.5 });
    const t = b.trees[0]!;
    // T(G) = sign(G) max(|G| - alpha, 0): parent T(-2) = -1.5 -> 2.25/5; right T(-2) = -1.5 -> 2.25/3; left 0.
    expect(t.threshold[0]).toBe(2.5);
    expect(t.gain[0]).toBeCloseTo(2.25 / 3 - 2.25 / 5, 6);
    expect(t.leafValue[2]).toBe(Math.fround((1.5 / 3) * 0.3));
  });

  it('gamma and min_child_weight block the split; the root leaf is -G/(H+lambda) * eta', async () => {
    for (const params of [{ gamma: 0.6 }, { min_child_weight: 2.5 }]) {
      const t = (await stump(params)).trees[0]!;
      expect(Array.from(t.feature)).toEqual([-1]);
      expect(t.leafValue[0]).toBe(Math.fround((2 / 5) * 0.3));
    }
    const kept = (await stump({ gamma: 0.5 })).trees[0]!; // gain 0.533 >= gamma
    expect(kept.feature[0]).toBe(0);
  });

  it('binary:logistic: two rounds match the Newton steps computed by hand', async () => {
    const b = await train({ features: [x], label: y, featureNames: ['x'], params: { objective: 'binary:logistic', n_estimators: 2, max_depth: 1, learning_rate: 0.3, min_child_weight: 0, nthread: 1 } });
    const sig = (m: number): number => 1 / (1 + Math.exp(-m));
    let m = [0, 0, 0, 0];
    for (let round = 0; round < 2; round++) {
      // gradients in float32 arithmetic, as kiln (and XGBoost) compute them: logisticGrad32
      const g = new Float32Array(4), h = new Float32Array(4);
      m.forEach((mi, i) => logisticGrad32(mi, y[i]!, 1, g, h, i));
      m.forEach((mi, i) => {
        expect(Math.abs(g[i]! - (sig(mi) - y[i]!))).toBeLessThan(1e-7);
        expect(Math.abs(h[i]! - sig(mi) * (1 - sig(mi)))).toBeLessThan(1e-7);
      });
      const leaf = (a: number, c: number): number => Math.fround((-(g[a]! + g[c]!) / (h[a]! + h[c]! + 1)) * 0.3);
      const l = leaf(0, 1);
      const r = leaf(2, 3);
      m = m.map((mi, i) => Math.fround(mi + (i < 2 ? l : r)));
    }
    const p = b.predict([x]);
    m.forEach((mi, i) => expect(p[i]).toBeCloseTo(sig(mi), 6));
    expect(b.predictRaw([x])[3]).toBe(m[3]);
  });

  it('sample weights scale g and h; scale_pos_weight scales positive rows', async () => {
    const w = await train({ features: [x], label: y, weight: [1, 2, 1, 3], featureNames: ['x'], params: { ...base } });
    const t = w.trees[0]!;
    // g = -y w = [0, 0, -1, -3], h = w: parent (G -4, H 7) -> 16/8; left (0, 3); right (-4, 4) -> 16/5.
    expect(t.gain[0]).toBeCloseTo(16 / 5 - 16 / 8, 6);
    expect(t.leafValue[2]).toBe(Math.fround((4 / 5) * 0.3));
    const s = await train({ features: [x], label: y, featureNames: ['x'], params: { objective: 'binary:logistic', n_estimators: 1, max_depth: 1, learning_rate: 0.3, min_child_weight: 0, scale_pos_weight: 3, nthread: 1 } });
    // positives: g = (0.5 - 1) * 3, h = 0.25 * 3; right leaf = 3 / (1.5 + 1) * 0.3, left = -1 / (0.5 + 1) * 0.3
    expect(s.trees[0]!.leafValue[2]).toBe(Math.fround((3 / 2.5) * 0.3));
    expect(s.trees[0]!.leafValue[1]).toBe(Math.fround((-1 / 1.5) * 0.3));
  });

  it('round-trips through kiln.gbdt@1 JSON with XGBoost tree fields', async () => {
    const b = await stump({});
    const json = b.toJSON();
    expect(json.format).toBe('kiln.gbdt@1');
    const t = json.trees[0]!;
    expect(t.left_children).toEqual([1, -1, -1]);
    expect(t.right_children).toEqual([2, -1, -1]);
    expect(t.parents).toEqual([2147483647, 0, 0]);
    expect(t.split_indices).toEqual([0, 0, 0]);
    expect(t.split_conditions).toEqual([2.5, 0, 0.2]);
    expect(t.split_type).toEqual([0, 0, 0]);
    const text = JSON.stringify(b);
    const back = Booster.fromJSON(text);
    expect(JSON.stringify(back)).toBe(text);
    expect(Array.from(back.predict([x]))).toEqual(Array.from(b.predict([x])));
  });
});
