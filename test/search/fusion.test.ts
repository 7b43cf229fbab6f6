import { describe, expect, it } from 'vitest';
import { isKilnError } from '../../src/core/errors.js';
import { Rng } from '../../src/core/rng.js';
import {
  crossValidate, fitBlendWeights, linearBlend, minMaxNormalise, ndcgAtK, queryFolds, reciprocalRankFusion, simplexGrid,
  type BlendExample, type SearchHits, type SearchId,
} from '../../src/search/index.js';

const hits = (ids: SearchId[], scores: number[]): SearchHits => ({ ids, scores: Float64Array.from(scores) });

describe('reciprocal rank fusion', () => {
  it('sums 1 / (60 + rank) over the lists', () => {
    const f = reciprocalRankFusion([hits(['x', 'y', 'z'], [9, 5, 1]), hits(['y', 'w'], [0.9, 0.1])]);
    expect(f.ids).toEqual(['y', 'x', 'w', 'z']);
    expect(Array.from(f.scores)).toEqual([1 / 62 + 1 / 61, 1 / 61, 1 / 62, 1 / 63].map((v) => expect.closeTo(v, 15)));
    expect(reciprocalRankFusion([hits(['a'], [1]), hits(['b'], [1])], { k: 0 }).ids).toEqual(['a', 'b']);
    expect(reciprocalRankFusion([hits(['a', 'b', 'c'], [3, 2, 1])], { limit: 2 }).ids).toEqual(['a', 'b']);
  });

  it('needs a list and a k >= 0', () => {
    expect(() => reciprocalRankFusion([])).toThrow(/at least one ranked list/);
    expect(() => reciprocalRankFusion([hits([], [])], { k: -1 })).toThrow(/k must be a number >= 0/);
  });
});

describe('linear blend', () => {
  it('blends min-max normalised scores, 0 where a list lacks the document', () => {
    expect(Array.from(minMaxNormalise(Float64Array.from([3, 2, 1])))).toEqual([1, 0.5, 0]);
    expect(Array.from(minMaxNormalise(Float64Array.from([4, 4])))).toEqual([1, 1]);
    const b = linearBlend([hits(['a', 'b', 'c'], [3, 2, 1]), hits(['c', 'a'], [0.9, 0.5])], [0.5, 0.5]);
    expect(b.ids).toEqual(['a', 'c', 'b']);
    expect(Array.from(b.scores)).toEqual([0.5, 0.5, 0.25]);
    expect(linearBlend([hits(['a', 'b', 'c'], [3, 2, 1]), hits(['c', 'a'], [0.9, 0.5])], [0, 1]).ids.slice(0, 2)).toEqual(['c', 'a']);
  });

  it('walks the simplex', () => {
    expect(simplexGrid(3, 0.5)).toEqual([[0, 0, 1], [0, 0.5, 0.5], [0, 1, 0], [0.5, 0, 0.5], [0.5, 0.5, 0], [1, 0, 0]]);
    expect(simplexGrid(2, 0.05).length).toBe(21);
  });

  it('fits the weights with the best training nDCG@10 (checked against every grid point)', () => {
    const rng = new Rng(5);
    const examples: BlendExample[] = Array.from({ length: 30 }, () => {
      const docs = Array.from({ length: 40 }, (_, i) => i);
      const gain = docs.map(() => (rng.bernoulli(0.15) ? 1 + rng.int(3) : 0));
      // list 0 sees the gains through heavy noise, list 1 through light noise
      const list = (noise: number): SearchHits => {
        const s = docs.map((d) => gain[d]! + noise * rng.normal());
        const order = [...docs].sort((a, b) => s[b]! - s[a]!);
        return hits(order, order.map((d) => s[d]!));
      };
      return { lists: [list(3), list(1)], judged: new Map(docs.map((d) => [d, gain[d]!])) };
    });
    const fit = fitBlendWeights(examples, { step: 0.1 });
    const meanAt = (w: number[]): number => examples.reduce((s, e) => s + ndcgAtK(linearBlend(e.lists, w).ids, e.judged, 10), 0) / examples.length;
    const best = Math.max(...simplexGrid(2, 0.1).map(meanAt));
    expect(fit.ndcg).toBeCloseTo(best, 12);
    expect(meanAt(fit.weights)).toBeCloseTo(best, 12);
    expect(fit.weights[1]).toBeGreaterThan(fit.weights[0]!);
  });

  it('checks its input', () => {
    expect(() => linearBlend([hits(['a'], [1])], [1, 2])).toThrow(/1 weights|2 weights/);
    try {
      fitBlendWeights([{ lists: [hits(['a'], [1])], judged: new Map([['a', 0]]) }]);
      expect.unreachable();
    } catch (e) {
      expect(isKilnError(e, 'SEARCH_DATA_INVALID')).toBe(true);
    }
    expect(() => fitBlendWeights([], { step: 0.3 })).toThrow(/step must divide 1/);
  });
});

describe('query folds and cross-validation', () => {
  it('deals a seeded shuffle into folds of near-equal size', () => {
    const f = queryFolds(23, 5, 7);
    const sizes = [0, 0, 0, 0, 0];
    for (const g of f) sizes[g]!++;
    expect(sizes.sort()).toEqual([4, 4, 5, 5, 5]);
    expect(Array.from(queryFolds(23, 5, 7))).toEqual(Array.from(f));
    expect(Array.from(queryFolds(23, 5, 8))).not.toEqual(Array.from(f));
    expect(() => queryFolds(3, 4, 1)).toThrow(/folds must be an integer in \[2, 3\]/);
  });

  it('never applies a model to a query it was fitted on, and covers every query once', async () => {
    const fold = queryFolds(17, 4, 1);
    const seenBy = new Array<number[]>(17);
    const out = await crossValidate(fold, (train) => new Set(train), (trained, test) => test.map((q) => {
      expect(trained.has(q)).toBe(false);
      seenBy[q] = [...trained];
      return q * 10;
    }));
    expect(out).toEqual(Array.from({ length: 17 }, (_, q) => q * 10));
    for (let q = 0; q < 17; q++) expect(seenBy[q]!.length).toBeGreaterThanOrEqual(12);
  });
});
