import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { KilnError } from '../../src/core/errors.js';
import {
  evaluateTopK, fitGenerator, fitPopularity, GENERATOR_KINDS, indexInteractions, stratifiedSplit, syntheticMarketplace, topN, tuneGenerator,
  type GeneratorSpec,
} from '../../src/recs/index.js';

describe('topN', () => {
  it('matches a full sort (ties to the lower id), skipping seen ids', () => {
    const rng = new Rng(5);
    const scores = Float32Array.from({ length: 300 }, () => Math.round(rng.normal() * 4) / 4);
    scores[17] = NaN;
    const seen = Int32Array.from([3, 9, 40, 41, 299]);
    const ids = Array.from({ length: 300 }, (_, i) => i).filter((i) => !seen.includes(i));
    const key = (i: number): number => (Number.isNaN(scores[i]!) ? -Infinity : scores[i]!);
    ids.sort((a, b) => key(b) - key(a) || a - b);
    for (const n of [0, 1, 10, 295, 400]) expect(Array.from(topN(scores, n, seen).items)).toEqual(ids.slice(0, n));
    expect(topN(scores, 400, seen).items).toHaveLength(295);
  });
});

describe('candidate generators', () => {
  const m = syntheticMarketplace({ users: 200, items: 120, perUser: 14, seed: 3 });
  const { train, test } = stratifiedSplit(m.table, { seed: 5 });
  const ctx = { userAttributes: m.userAttributes, itemAttributes: m.itemAttributes };
  const specs: GeneratorSpec[] = [
    { kind: 'ease', lambda: 30 },
    { kind: 'als', factors: 8, iterations: 6, regularization: 1, alpha: 2 },
    { kind: 'bpr', factors: 8, epochs: 30 },
    { kind: 'item2vec', dim: 16, epochs: 3, window: 5 },
    { kind: 'item2vec', name: 'i2i', mode: 'item-to-item', dim: 16, epochs: 3, neighbours: 20 },
    { kind: 'two-tower', dim: 8, hidden: 16, epochs: 3, batchSize: 64, features: true },
    { kind: 'cooccurrence', window: 3 },
    { kind: 'sequence', dim: 16, maxLen: 10, epochs: 10, batch: 32, lr: 0.01 },
  ];

  it('covers every kind in the registry', () => {
    expect(new Set([...specs.map((s) => s.kind), 'popularity'])).toEqual(new Set(GENERATOR_KINDS));
  });

  it('each returns unseen items best first, and beats chance on held-out items', async () => {
    const chance = evaluateTopK({ train, test, recommend: (u, k) => { const r = new Rng(u); const out = new Set<number>(); const seen = fitPopularity(train).seenItems(u); while (out.size < k) { const i = r.int(train.nItems); if (!seen.includes(i)) out.add(i); } return [...out]; } });
    for (const spec of specs) {
      const g = await fitGenerator(spec, train, ctx);
      expect(g.name).toBe(spec.name ?? spec.kind);
      const c = g.candidates(4, 30);
      const seen = g.seenItems(4);
      expect(c.items).toHaveLength(30);
      for (let r = 0; r < 30; r++) {
        expect(seen.includes(c.items[r]!)).toBe(false);
        if (r > 0) expect(c.scores[r]!).toBeLessThanOrEqual(c.scores[r - 1]!);
      }
      const all = new Float32Array(train.nItems);
      g.scoreAll(4, all);
      expect(all[c.items[0]!]).toBe(c.scores[0]);
      const e = evaluateTopK({ train, test, recommend: (u, k) => g.candidates(u, k).items });
      expect(e.ndcg, spec.name ?? spec.kind).toBeGreaterThan(chance.ndcg * 2);
    }
  }, 30_000);

  it('is seeded: the same spec gives the same scores', async () => {
    for (const spec of [specs[2]!, specs[3]!]) {
      const a = new Float32Array(train.nItems);
      const b = new Float32Array(train.nItems);
      (await fitGenerator(spec, train)).scoreAll(7, a);
      (await fitGenerator(spec, train)).scoreAll(7, b);
      expect(Buffer.from(a.buffer)).toEqual(Buffer.from(b.buffer));
    }
  });

  it('cooccurrence counts pairs within the window in time order, decayed per step', async () => {
    // user 0 in time order: 2, 0, 1, 3 (rows given out of order); user 1: 0, 1
    const t = { nUsers: 2, nItems: 4, users: Int32Array.from([0, 0, 0, 0, 1, 1]), items: Int32Array.from([1, 2, 3, 0, 0, 1]), times: Float64Array.from([30, 10, 40, 20, 1, 2]) };
    const co = await fitGenerator({ kind: 'cooccurrence', window: 2, decay: 0.5, popularityExponent: 0 }, t);
    const out = new Float32Array(4);
    // user 1 has items 0 and 1: T[0] = {2: 1, 1: 1 + 1, 3: 0.5}, T[1] = {2: 0.5, 0: 2, 3: 1}
    co.scoreAll(1, out);
    expect(Array.from(out)).toEqual([2, 2, 1.5, 1.5]);
    expect(Array.from(co.candidates(1, 4).items)).toEqual([2, 3]);
    const pop = await fitGenerator({ kind: 'cooccurrence', window: 2, decay: 0.5, popularityExponent: 1 }, t);
    pop.scoreAll(1, out);
    expect(out[2]).toBeCloseTo(1.5, 6);
    expect(out[0]).toBeCloseTo(1, 6);
    await expect(fitGenerator({ kind: 'cooccurrence', window: 0 }, t)).rejects.toThrow(/window: must be an integer >= 1/);
  });

  it('names unknown kinds and bad options', async () => {
    const err = await fitGenerator({ kind: 'eas' } as unknown as GeneratorSpec, train).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KilnError);
    expect((err as KilnError).code).toBe('RECS_PARAM_INVALID');
    expect((err as KilnError).message).toMatch(/'eas' is unknown \(did you mean 'ease'\?\); use one of: popularity, ease, als, bpr, item2vec, two-tower, cooccurrence/);
    await expect(fitGenerator({ kind: 'item2vec', mode: 'nearest' as 'user-mean' }, train)).rejects.toThrow(/mode: must be 'user-mean' or 'item-to-item'/);
    await expect(fitGenerator({ kind: 'ease', name: '9x' }, train)).rejects.toThrow(/name: '9x' must start with a letter/);
    const pop = fitPopularity(train);
    expect(() => pop.candidates(train.nUsers, 3)).toThrow(/user 200 is outside 0\.\.199/);
  });

  it('chooses hyper-parameters on a validation split carved from train', async () => {
    const seen: number[] = [];
    const r = await tuneGenerator(train, [{ kind: 'ease', lambda: 1e5 }, { kind: 'ease', lambda: 30 }], { onResult: (x) => seen.push(x.ndcg) });
    expect(r.best).toEqual({ kind: 'ease', lambda: 30 });
    expect(seen).toHaveLength(2);
    expect(r.results[1]!.ndcg).toBeGreaterThan(r.results[0]!.ndcg);
  });
});

describe('indexInteractions', () => {
  it('maps raw keys of any table to dense ids', () => {
    const { table, userKeys, itemKeys } = indexInteractions(['ann', 'bob', 'ann'], ['m1', 'm2', 'm2'], { times: [3, 1, 2] });
    expect(userKeys).toEqual(['ann', 'bob']);
    expect(itemKeys).toEqual(['m1', 'm2']);
    expect(Array.from(table.users)).toEqual([0, 1, 0]);
    expect(Array.from(table.items)).toEqual([0, 1, 1]);
    expect(Array.from(table.times!)).toEqual([3, 1, 2]);
    expect(() => indexInteractions(['a'], ['x', 'y'])).toThrow(/user column has 1 rows but item column has 2/);
    expect(() => indexInteractions(['a'], ['x'], { weights: [-1] })).toThrow(/weights\.0: is -1/);
  });
});

describe('candidates from an HNSW index (ann)', () => {
  const m = syntheticMarketplace({ users: 300, items: 400, perUser: 15, seed: 8 });
  const { train } = stratifiedSplit(m.table, { seed: 2 });

  it('retrieves nearly what exact scoring does (an item counts when it scores at least the exact 20th; ties), scores each exactly, never a seen item', async () => {
    for (const spec of [{ kind: 'als', factors: 16, iterations: 6 }, { kind: 'item2vec', dim: 16, epochs: 3 }] as GeneratorSpec[]) {
      const exact = await fitGenerator(spec, train);
      const ann = await fitGenerator({ ...spec, ann: { overFetch: 2 } }, train);
      expect(ann.ann, spec.kind).toEqual({ overFetch: 2 });
      let overlap = 0;
      let total = 0;
      const all = new Float32Array(train.nItems);
      for (let u = 0; u < 100; u++) {
        const a = ann.candidates(u, 20);
        const ex = exact.candidates(u, 20);
        const cut = ex.scores[ex.scores.length - 1]!;
        const seen = new Set(ann.seenItems(u));
        expect(a.items.length).toBe(20);
        ann.scoreAll(u, all);
        a.items.forEach((i, r) => {
          expect(seen.has(i)).toBe(false);
          expect(a.scores[r]).toBe(all[i]);
          if (a.scores[r]! >= cut) overlap++;
        });
        total += 20;
      }
      expect(overlap / total, spec.kind).toBeGreaterThan(0.9);
    }
    await expect(fitGenerator({ kind: 'ease', lambda: 30, ann: true }, train)).rejects.toThrow(/ann needs item vectors/);
  });
});
