import { describe, expect, it } from 'vitest';
import { KilnError } from '../../src/core/errors.js';
import { evaluateTopK, rankingScores, roundHalfEven, stratifiedFolds, stratifiedSplit, syntheticMarketplace, type InteractionTable } from '../../src/recs/index.js';

const table = (nUsers: number, nItems: number, pairs: [number, number][]): InteractionTable => ({
  nUsers, nItems, users: Int32Array.from(pairs, (p) => p[0]), items: Int32Array.from(pairs, (p) => p[1]),
});

describe('rankingScores (binary nDCG@k, Recall@k, Precision@k)', () => {
  it('matches a hand-worked example', () => {
    // relevant {2, 5, 7}; ranked 5, 1, 7, 9, 3 at k = 5: hits at ranks 1 and 3.
    // DCG = 1/log2(2) + 1/log2(4) = 1 + 0.5 = 1.5; IDCG = 1 + 1/log2(3) + 1/log2(4) = 2.1309297536
    // nDCG = 0.7039180890; Recall = 2/3; Precision = 2/5.
    const s = rankingScores([5, 1, 7, 9, 3], Int32Array.from([2, 5, 7]), 5);
    expect(s.hits).toBe(2);
    expect(s.ndcg).toBeCloseTo(1.5 / (1 + 1 / Math.log2(3) + 0.5), 12);
    expect(s.ndcg).toBeCloseTo(0.703918089, 8);
    expect(s.recall).toBeCloseTo(2 / 3, 12);
    expect(s.precision).toBeCloseTo(0.4, 12);
  });

  it('takes IDCG over min(k, |relevant|) and recall over all relevant items', () => {
    // 12 relevant, k = 10, all ten recommended are relevant: nDCG 1, recall 10/12.
    const rel = Int32Array.from({ length: 12 }, (_, i) => i);
    const s = rankingScores(Array.from({ length: 10 }, (_, i) => 11 - i), rel, 10);
    expect(s.ndcg).toBeCloseTo(1, 12);
    expect(s.recall).toBeCloseTo(10 / 12, 12);
    // a hit at rank 2 only, one relevant item: 1/log2(3)
    expect(rankingScores([9, 4], Int32Array.from([4]), 10).ndcg).toBeCloseTo(1 / Math.log2(3), 12);
    // fewer than k recommended: precision still divides by k
    expect(rankingScores([4], Int32Array.from([4]), 10).precision).toBeCloseTo(0.1, 12);
  });
});

describe('evaluateTopK', () => {
  const train = table(3, 6, [[0, 0], [0, 1], [1, 2], [2, 0]]);
  const test = table(3, 6, [[0, 2], [0, 3], [1, 4], [2, 0]]);

  it('averages over users with an unseen test item', () => {
    // user 0: relevant {2, 3}, gets [3, 5]: DCG 1, IDCG 1 + 1/log2 3; user 1: relevant {4}, gets [5, 4]: 1/log2 3.
    // user 2's only test item is in its train: skipped.
    const lists: Record<number, number[]> = { 0: [3, 5], 1: [5, 4], 2: [1, 2] };
    const r = evaluateTopK({ train, test, k: 2, recommend: (u) => lists[u]! });
    expect(r.users).toBe(2);
    expect(r.ndcg).toBeCloseTo((1 / (1 + 1 / Math.log2(3)) + 1 / Math.log2(3)) / 2, 12);
    expect(r.recall).toBeCloseTo((1 / 2 + 1) / 2, 12);
    expect(r.precision).toBeCloseTo((1 / 2 + 1 / 2) / 2, 12);
  });

  it('rejects a list holding a seen item, or an item twice', () => {
    expect(() => evaluateTopK({ train, test, k: 2, recommend: () => [1, 2] })).toThrow(/has in train; recommenders must exclude seen items/);
    expect(() => evaluateTopK({ train, test, k: 2, recommend: () => [3, 3] })).toThrow(/twice/);
    const e = (() => { try { evaluateTopK({ train, test: table(2, 6, []), recommend: () => [] }); } catch (x) { return x; } })();
    expect(e).toBeInstanceOf(KilnError);
    expect((e as KilnError).code).toBe('RECS_DATA_INVALID');
  });
});

describe('stratifiedSplit', () => {
  const m = syntheticMarketplace({ users: 120, items: 80, perUser: 12, seed: 4 });

  it('puts round-half-even(0.75 n) of every user in train, and is seeded', () => {
    const { train, test } = stratifiedSplit(m.table, { ratio: 0.75, seed: 42 });
    expect(train.users.length + test.users.length).toBe(m.table.users.length);
    const count = (t: InteractionTable): Int32Array => { const c = new Int32Array(t.nUsers); for (const u of t.users) c[u]!++; return c; };
    const all = count(m.table);
    const tr = count(train);
    for (let u = 0; u < all.length; u++) expect(tr[u]).toBe(all[u] === 1 ? 1 : roundHalfEven(0.75 * all[u]!));
    const rows = new Set(Array.from(m.table.users, (u, k) => `${u}:${m.table.items[k]}:${m.table.times![k]}`));
    for (const t of [train, test]) for (let k = 0; k < t.users.length; k++) expect(rows.has(`${t.users[k]}:${t.items[k]}:${t.times![k]}`)).toBe(true);
    const again = stratifiedSplit(m.table, { ratio: 0.75, seed: 42 });
    expect(Buffer.from(again.test.items.buffer)).toEqual(Buffer.from(test.items.buffer));
    const other = stratifiedSplit(m.table, { ratio: 0.75, seed: 43 });
    expect(Buffer.from(other.test.items.buffer)).not.toEqual(Buffer.from(test.items.buffer));
  });

  it('deals each user\'s rows into folds of nearly equal size', () => {
    const fold = stratifiedFolds(m.table, 4, 9);
    const per = new Map<number, number[]>();
    fold.forEach((f, r) => {
      const c = per.get(m.table.users[r]!) ?? [0, 0, 0, 0];
      c[f]!++;
      per.set(m.table.users[r]!, c);
    });
    for (const c of per.values()) expect(Math.max(...c) - Math.min(...c)).toBeLessThanOrEqual(1);
    expect(Array.from(stratifiedFolds(m.table, 4, 9))).toEqual(Array.from(fold));
    expect(() => stratifiedFolds(m.table, 1)).toThrow(/folds: must be an integer >= 2/);
  });

  it('rounds half to even, as Python', () => {
    expect([0.5, 1.5, 2.5, 16.5, 17.5, 2.4, 2.6].map(roundHalfEven)).toEqual([0, 2, 2, 16, 18, 2, 3]);
  });

  it('names bad options and data', () => {
    expect(() => stratifiedSplit(m.table, { ratio: 1 })).toThrow(/ratio: must be in \(0, 1\)/);
    const bad = { ...m.table, items: Int32Array.from(m.table.items, (i, k) => (k === 3 ? 999 : i)) };
    expect(() => stratifiedSplit(bad)).toThrow(/interactions\.items\.3: id 999 is outside 0\.\.79/);
  });
});
