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

describe('ranker rows from logged impressions', () => {
  // After the interactions, each user is shown slates of 8 random items and takes only those of a
  // category other than its favourite (a preference the interactions do not show): only the impressions
  // can teach it.
  const cat = m.itemAttributes.categorical!.category!;
  const last = m.table.times!.reduce((a, b) => Math.max(a, b), -Infinity);
  const users: number[] = [];
  const items: number[] = [];
  const clicked: number[] = [];
  const times: number[] = [];
  let seed = 1;
  const next = (): number => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
  for (let u = 0; u < m.table.nUsers; u++) {
    for (let s = 0; s < 2; s++) {
      for (let j = 0; j < 8; j++) {
        const i = Math.floor(next() * m.table.nItems);
        users.push(u); items.push(i); times.push(last + 1 + s);
        clicked.push(cat[i] !== m.favourite[u] && next() < 0.5 ? 1 : 0);
      }
    }
  }
  const impressions = { users: Int32Array.from(users), items: Int32Array.from(items), clicked: Float32Array.from(clicked), times: Float64Array.from(times) };

  it('groups each slate, fits the generators on what came before, and learns what only the impressions show', async () => {
    const lines: string[] = [];
    const withImp = await fitRetrieveThenRank({ ...data, impressions }, { ...quick, rankerRows: 'impressions', log: (l) => lines.push(l) });
    expect(withImp.report.impressionGroups).toBeGreaterThan(400);
    expect(lines.some((l) => /fitted on the interactions before the first impression/.test(l))).toBe(true);
    const plain = await fitRetrieveThenRank(data, quick);
    const favouriteShare = (model: typeof plain): number => {
      let fav = 0;
      for (let u = 0; u < 100; u++) fav += model.recommend(u, 5).items.filter((i) => cat[i] === m.favourite[u]).length;
      return fav / 500;
    };
    // interactions alone push the favourite category up; the impressions teach the opposite
    expect(favouriteShare(plain)).toBeGreaterThan(0.4);
    expect(favouriteShare(withImp)).toBeLessThan(favouriteShare(plain) / 2);
    const both = await fitRetrieveThenRank({ ...data, impressions }, quick);
    expect(both.report.groups).toBe(both.report.impressionGroups + plain.report.groups);
  }, 120_000);

  it('names what impressions need', async () => {
    await expect(fitRetrieveThenRank({ ...data, train: { ...train, times: undefined } as never, impressions }, quick)).rejects.toThrow(/impressions need times on the interactions too/);
    await expect(fitRetrieveThenRank(data, { ...quick, rankerRows: 'impressions' })).rejects.toThrow(/rankerRows 'impressions' needs data.impressions/);
    const mixed = { ...impressions, slates: new Int32Array(impressions.users.length) };
    await expect(fitRetrieveThenRank({ ...data, impressions: mixed }, { ...quick, rankerRows: 'impressions' })).rejects.toThrow(/slate '0' holds rows of two users/);
  }, 60_000);
});
