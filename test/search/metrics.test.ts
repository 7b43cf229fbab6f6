import { describe, expect, it } from 'vitest';
import { isKilnError } from '../../src/core/errors.js';
import { averagePrecision, evaluateRuns, ndcgAtK, recallAtK, type SearchId } from '../../src/search/index.js';

const judged = new Map<SearchId, number>([['a', 3], ['c', 1], ['e', 2], ['b', 0]]);
const ranked = ['a', 'b', 'c', 'd'];

describe('relevance measures (worked by hand)', () => {
  it('nDCG@k: linear and exponential gains, the ideal over every judged document', () => {
    // DCG = 3/log2(2) + 1/log2(4) = 3.5; ideal = 3 + 2/log2(3) + 1/log2(4)
    expect(ndcgAtK(ranked, judged, 3)).toBeCloseTo(3.5 / (3 + 2 / Math.log2(3) + 0.5), 12);
    expect(ndcgAtK(ranked, judged, 3, 'exponential')).toBeCloseTo(7.5 / (7 + 3 / Math.log2(3) + 0.5), 12);
    expect(ndcgAtK(ranked, judged, 1)).toBe(1);
    expect(ndcgAtK(['e', 'a', 'c'], judged, 10)).toBeCloseTo((2 + 3 / Math.log2(3) + 0.5) / (3 + 2 / Math.log2(3) + 0.5), 12);
    expect(ndcgAtK(ranked, new Map([['a', 0]]), 10)).toBeNaN();
    expect(ndcgAtK([], judged, 10)).toBe(0);
  });

  it('average precision divides by every relevant document, found or not', () => {
    expect(averagePrecision(ranked, judged)).toBeCloseTo((1 + 2 / 3) / 3, 12);
    expect(averagePrecision(['e', 'a', 'c'], judged)).toBe(1);
    expect(averagePrecision(['x'], judged)).toBe(0);
  });

  it('recall@k', () => {
    expect(recallAtK(ranked, judged, 2)).toBeCloseTo(1 / 3, 12);
    expect(recallAtK(ranked, judged, 100)).toBeCloseTo(2 / 3, 12);
  });

  it('evaluateRuns averages over queries with a relevant document and counts them', () => {
    const m = evaluateRuns([ranked, ['e'], ['z']], [judged, new Map([['e', 1]]), new Map([['z', 0]])]);
    expect(m.queries).toBe(2);
    expect(m.map).toBeCloseTo(((1 + 2 / 3) / 3 + 1) / 2, 12);
    expect(m.ndcg).toBeCloseTo((ndcgAtK(ranked, judged, 10) + 1) / 2, 12);
    expect(m.recall).toBeCloseTo((2 / 3 + 1) / 2, 12);
    expect(m.perQuery.ap[2]).toBeNaN();
    expect(evaluateRuns([ranked], [judged], { ndcgK: 1, recallK: 2 })).toMatchObject({ ndcg: 1, recall: 1 / 3 });
  });

  it('refuses rankings and judgements of different lengths', () => {
    try {
      evaluateRuns([ranked], []);
      expect.unreachable();
    } catch (e) {
      expect(isKilnError(e, 'SEARCH_DATA_INVALID')).toBe(true);
    }
  });
});
