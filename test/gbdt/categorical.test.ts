import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { Booster, train } from '../../src/gbdt/index.js';
import { auc } from '../../src/gbdt/metrics.js';

/** 30 categories whose effect on the label has no order in the codes. */
function catData(n: number, seed: number): { cat: Float32Array; other: Float32Array; label: Float32Array } {
  const rng = new Rng(seed, 9);
  const effect = Array.from({ length: 30 }, (_, c) => ((c * 7919) % 13) / 6 - 1); // scrambled in the codes
  const cat = Float32Array.from({ length: n }, () => (rng.uniform() < 0.03 ? NaN : rng.int(30)));
  const other = Float32Array.from({ length: n }, () => rng.normal());
  const label = Float32Array.from(cat, (c, i) => {
    const z = 2.5 * (c === c ? effect[c]! : 0) + 0.5 * other[i]!;
    return rng.uniform() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
  });
  return { cat, other, label };
}

describe('categorical features', () => {
  it('partition splits beat the same codes treated as ordinal numbers', async () => {
    const tr = catData(6000, 1);
    const te = catData(4000, 2);
    const params = { objective: 'binary:logistic', n_estimators: 8, max_depth: 2, learning_rate: 0.3, nthread: 1 } as const;
    const asCat = await train({ features: [tr.cat, tr.other], label: tr.label, featureNames: ['cat', 'other'], categorical: ['cat'], params });
    const asNum = await train({ features: [tr.cat, tr.other], label: tr.label, featureNames: ['cat', 'other'], params });
    const score = (b: Booster): number => auc({ pred: b.predict([te.cat, te.other]), label: te.label, weight: null, nOutputs: 1, groupPtr: null });
    const aCat = score(asCat);
    const aNum = score(asNum);
    expect(aCat).toBeGreaterThan(aNum + 0.02);
    const root = asCat.toJSON().trees[0]!;
    expect(root.split_type[0]).toBe(1);
    expect(root.categories_nodes[0]).toBe(0);
    expect(root.categories_sizes[0]).toBeGreaterThan(1); // a partition, not one-vs-rest
    expect(root.categories_sizes[0]).toBeLessThan(30);
  });

  it('routes categories in the node set right, others (unseen, negative, missing by default) consistently', async () => {
    const tr = catData(3000, 3);
    const b = await train({ features: [tr.cat, tr.other], label: tr.label, featureNames: ['cat', 'other'], categorical: [0], params: { objective: 'binary:logistic', n_estimators: 1, max_depth: 1, nthread: 1 } });
    const t = b.trees[0]!;
    const right = new Set(t.catCodes);
    const rightLeaf = b.predictRow([[...right][0]!, 0]);
    const leftCode = [...Array(30).keys()].find((c) => !right.has(c))!;
    const leftLeaf = b.predictRow([leftCode, 0]);
    expect(rightLeaf).not.toBe(leftLeaf);
    for (const unseen of [1000, -3, 2 ** 30]) expect(b.predictRow([unseen, 0])).toBe(leftLeaf);
    expect(b.predictRow([NaN, 0])).toBe(t.defaultLeft[0] ? leftLeaf : rightLeaf);
    expect(b.predictRow([[...right][0]! + 0.4, 0])).toBe(rightLeaf); // codes truncate, as XGBoost casts to int
    const copy = Booster.fromJSON(JSON.stringify(b));
    expect(copy.predictRow([leftCode, 0])).toBe(leftLeaf);
    expect(copy.toJSON().features[0]).toEqual({ name: 'cat', type: 'categorical' });
  });

  it('uses one-vs-rest splits below max_cat_to_onehot categories', async () => {
    const rng = new Rng(12);
    const cat = Float32Array.from({ length: 2000 }, () => rng.int(3));
    const y = Float32Array.from(cat, (c) => (c === 1 ? 1 : 0));
    const b = await train({ features: [cat], label: y, featureNames: ['c'], categorical: ['c'], params: { objective: 'binary:logistic', n_estimators: 1, max_depth: 1, nthread: 1 } });
    expect(Array.from(b.trees[0]!.catCodes)).toEqual([1]);
  });
});
