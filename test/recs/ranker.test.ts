import { describe, expect, it } from 'vitest';
import { KilnError } from '../../src/core/errors.js';
import { evaluateTopK, fitGenerator, fitRetrieveThenRank, smoothedBest, stratifiedSplit, syntheticMarketplace, type RetrieveThenRankOptions } from '../../src/recs/index.js';

const m = syntheticMarketplace({ users: 300, items: 150, perUser: 16, seed: 11 });
const { train, test } = stratifiedSplit(m.table, { seed: 42 });
const data = { train, userAttributes: m.userAttributes, itemAttributes: m.itemAttributes };
const quick: RetrieveThenRankOptions = {
  generators: [{ kind: 'ease', lambda: 30 }, { kind: 'popularity' }],
  candidates: 60,
  ranker: { n_estimators: 60, learning_rate: 0.1, max_depth: 4, nthread: 1 },
};

describe('retrieve-then-rank', () => {
  it('learns from attributes and times what the generators miss, on train only', async () => {
    const model = await fitRetrieveThenRank(data, quick);
    expect(model.report.labelledUsers).toBeGreaterThan(200);
    expect(model.report.candidateRecall).toBeGreaterThan(0.5);
    expect(model.featureNames).toEqual(expect.arrayContaining(['ease.rank', 'ease.z', 'ease.rel', 'popularity.z', 'item.price', 'item.category', 'user.thrift', 'pair.price', 'pair.category.share', 'pair.nearUser', 'pair.afterUser']));
    const r = evaluateTopK({ train, test, recommend: (u, k) => model.recommend(u, k).items });
    const ease = await fitGenerator({ kind: 'ease', lambda: 30 }, train);
    const e = evaluateTopK({ train, test, recommend: (u, k) => ease.candidates(u, k).items });
    expect(r.ndcg).toBeGreaterThan(e.ndcg + 0.01);
  }, 90_000);

  it('ranks the candidates it generates, excludes seen items, and is seeded', async () => {
    const a = await fitRetrieveThenRank(data, quick);
    const b = await fitRetrieveThenRank(data, quick);
    const cands = a.candidates(3);
    expect(cands.length).toBe(60);
    const seen = a.generators[0]!.seenItems(3);
    for (const i of cands) expect(seen.includes(i)).toBe(false);
    const ranked = a.rerank(3, Int32Array.from([...cands.slice(0, 10), seen[0]!]));
    expect(ranked.items).toHaveLength(10);
    for (let r = 1; r < 10; r++) expect(ranked.scores[r]!).toBeLessThanOrEqual(ranked.scores[r - 1]!);
    expect(Array.from(a.recommend(3, 10).items)).toEqual(Array.from(b.recommend(3, 10).items));
    expect(Array.from(a.recommend(3, 10).items)).toEqual(Array.from(a.rerank(3, cands).items.slice(0, 10)));
  }, 90_000);

  it('labels every fold in turn with validation.folds, and refits on all groups after early stopping', async () => {
    const one = await fitRetrieveThenRank(data, quick);
    const three = await fitRetrieveThenRank(data, { ...quick, validation: { folds: 2 } });
    expect(three.report.labelledUsers).toBe(one.report.labelledUsers);
    expect(three.report.groups).toBeGreaterThan(1.6 * one.report.labelledUsers);
    expect(three.report.refit).toBe(true);
    expect(three.booster.numRounds).toBe(three.report.rounds);
    const plain = await fitRetrieveThenRank(data, { ...quick, refit: false });
    expect(plain.report.refit).toBe(false);
    expect(plain.booster.bestIteration! + 1).toBe(plain.report.rounds);
  }, 90_000);

  it('picks the round with the best neighbourhood, not a lone spike', () => {
    const curve = [0.1, 0.2, 0.5, 0.2, 0.2, 0.3, 0.31, 0.32, 0.31, 0.3, 0.1];
    expect(smoothedBest(curve, 0)).toBe(2);
    expect(smoothedBest(curve, 2)).toBe(7);
    expect(smoothedBest([0.3, 0.3], 5)).toBe(0);
  });

  it('keeps at most maxPerCategory items of a category', async () => {
    const model = await fitRetrieveThenRank(data, { ...quick, diversity: { column: 'category', maxPerCategory: 2 } });
    const cat = m.itemAttributes.categorical!.category!;
    for (const u of [0, 1, 2, 50]) {
      const top = model.recommend(u, 10).items;
      expect(top.length).toBe(10);
      const per = new Map<number, number>();
      for (const i of top) per.set(cat[i]!, (per.get(cat[i]!) ?? 0) + 1);
      expect(Math.max(...per.values())).toBeLessThanOrEqual(2);
    }
  }, 90_000);

  it('reports every bad option at once', async () => {
    const err = await fitRetrieveThenRank(data, {
      generators: [{ kind: 'ease' }, { kind: 'ease' }], candidates: 0, validation: { ratio: 1.5 },
      diversity: { column: 'colour', maxPerCategory: 1 }, base: { generator: 'als' },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KilnError);
    const msg = (err as KilnError).message;
    expect((err as KilnError).code).toBe('RECS_PARAM_INVALID');
    for (const part of ['candidates: must be a positive integer', 'validation.ratio: must be in (0, 1)', "diversity.column: 'colour' is not a categorical item attribute (have: category)", "base.generator: 'als' is not one of the generators"]) {
      expect(msg).toContain(part);
    }
    await expect(fitRetrieveThenRank(data, { generators: [{ kind: 'ease' }, { kind: 'ease' }] })).rejects.toThrow(/'ease' names two generators/);
    await expect(fitRetrieveThenRank({ ...data, itemAttributes: { numeric: { price: new Float32Array(3) } } }, quick)).rejects.toThrow(/itemAttributes\.numeric\.price: has 3 values; expected 150/);
  });
});
