import { describe, expect, it } from 'vitest';
import { KilnError } from '../../src/core/errors.js';
import { Rng } from '../../src/core/rng.js';
import { alsLoss, buildCsr, choleskySolve, gaussSolve, trainMf, type Interactions } from '../../src/embeddings/index.js';

const GROUPS = 8;
const PER_GROUP_ITEMS = 25;
const USERS = 400;
const ITEMS = GROUPS * PER_GROUP_ITEMS;

/** Planted blocks: user u is in group u % 8 and consumes 10 distinct items of its group (plus 1 stray item
 * in 1 of 4 users), and one more in-group item held out for evaluation. */
function planted(seed: number): { train: Interactions; heldOut: Int32Array; group: (id: number) => number } {
  const rng = new Rng(seed, 9);
  const users: number[] = [];
  const items: number[] = [];
  const heldOut = new Int32Array(USERS);
  for (let u = 0; u < USERS; u++) {
    const g = u % GROUPS;
    const pool = Array.from({ length: PER_GROUP_ITEMS }, (_, t) => g * PER_GROUP_ITEMS + t);
    for (let t = 0; t < 11; t++) {
      const s = t + rng.int(PER_GROUP_ITEMS - t);
      const tmp = pool[t]!; pool[t] = pool[s]!; pool[s] = tmp;
    }
    for (let t = 0; t < 10; t++) { users.push(u); items.push(pool[t]!); }
    heldOut[u] = pool[10]!;
    if (rng.bernoulli(0.25)) {
      let j = rng.int(ITEMS);
      while (Math.floor(j / PER_GROUP_ITEMS) === g) j = rng.int(ITEMS);
      users.push(u); items.push(j);
    }
  }
  return {
    train: { users: Int32Array.from(users), items: Int32Array.from(items), nUsers: USERS, nItems: ITEMS },
    heldOut,
    group: (id) => Math.floor(id / PER_GROUP_ITEMS),
  };
}

const seenSet = (d: Interactions): Set<number> => new Set(Array.from(d.users, (u, k) => u * ITEMS + d.items[k]!));

const bytes = (a: Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe('CSR', () => {
  it('sorts each row and sums duplicate pairs', () => {
    const m = buildCsr(Int32Array.from([1, 0, 1, 1]), Int32Array.from([2, 1, 0, 2]), Float32Array.from([1, 2, 3, 4]), 3, 3);
    expect(Array.from(m.indptr)).toEqual([0, 1, 3, 3]);
    expect(Array.from(m.indices)).toEqual([1, 0, 2]);
    expect(Array.from(m.data)).toEqual([2, 3, 5]);
  });
  it('rejects ids out of range with a KilnError', () => {
    expect(() => buildCsr(Int32Array.from([3]), Int32Array.from([0]), Float32Array.from([1]), 3, 3)).toThrow(KilnError);
  });
});

describe('Cholesky', () => {
  it('matches Gaussian elimination on a small SPD system', () => {
    const rng = new Rng(5);
    const n = 7;
    const m = new Float64Array(n * n);
    for (let k = 0; k < m.length; k++) m[k] = rng.normal();
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
      let s = i === j ? 0.5 : 0;
      for (let k = 0; k < n; k++) s += m[i * n + k]! * m[j * n + k]!;
      a[i * n + j] = s;
    }
    const b = Float64Array.from({ length: n }, () => rng.normal());
    const direct = gaussSolve(a, b, n);
    const x = Float64Array.from(b);
    choleskySolve(Float64Array.from(a), x, n);
    for (let i = 0; i < n; i++) expect(x[i]).toBeCloseTo(direct[i]!, 9);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += a[i * n + j]! * x[j]!;
      expect(s).toBeCloseTo(b[i]!, 9);
    }
    expect(() => choleskySolve(Float64Array.from([1, 2, 2, 1]), Float64Array.from([1, 1]), 2)).toThrow(KilnError);
  });
});

describe('implicit ALS', () => {
  const data = planted(3);
  const model = trainMf(data.train, { method: 'als', factors: 16, iterations: 8, regularization: 0.1, alpha: 10, seed: 7 });

  it('never increases the loss and ends far below where it starts', () => {
    const l = model.trace;
    for (let t = 1; t < l.length; t++) expect(l[t]!).toBeLessThanOrEqual(l[t - 1]! * (1 + 1e-9));
    const byUser = buildCsr(data.train.users, data.train.items, new Float32Array(data.train.users.length).fill(1), USERS, ITEMS);
    const zero = alsLoss(byUser, new Float32Array(USERS * 16), new Float32Array(ITEMS * 16), 16, 0.1, 10);
    expect(l[l.length - 1]!).toBeLessThan(0.5 * zero);
  });

  it('conjugate gradient also never increases the loss and lands near the Cholesky optimum', () => {
    const cg = trainMf(data.train, { method: 'als', factors: 16, iterations: 8, regularization: 0.1, alpha: 10, seed: 7, solver: 'cg', cgSteps: 3 });
    const l = cg.trace;
    for (let t = 1; t < l.length; t++) expect(l[t]!).toBeLessThanOrEqual(l[t - 1]! * (1 + 1e-9));
    expect(l[l.length - 1]!).toBeLessThan(1.1 * model.trace[model.trace.length - 1]!);
    let hits = 0;
    for (let u = 0; u < USERS; u++) for (const r of cg.recommend(u, 10, true)) if (data.group(r.id) === u % GROUPS) hits++;
    expect(hits / (USERS * 10)).toBeGreaterThanOrEqual(0.8);
  });

  it('recommends the planted group: precision@10 >= 0.8 against 1/8 at random', () => {
    const seen = seenSet(data.train);
    let hits = 0;
    let randomHits = 0;
    const rng = new Rng(11);
    for (let u = 0; u < USERS; u++) {
      const recs = model.recommend(u, 10, true);
      expect(recs).toHaveLength(10);
      for (const r of recs) {
        expect(seen.has(u * ITEMS + r.id)).toBe(false);
        if (data.group(r.id) === u % GROUPS) hits++;
        if (data.group(rng.int(ITEMS)) === u % GROUPS) randomHits++;
      }
    }
    const p = hits / (USERS * 10);
    expect(p).toBeGreaterThanOrEqual(0.8);
    expect(randomHits / (USERS * 10)).toBeLessThan(0.2);
  });

  it('finds similar items inside the same group, excluding the item itself', () => {
    let same = 0;
    for (let i = 0; i < ITEMS; i++) {
      const sim = model.similarItems(i, 10);
      expect(sim.some((s) => s.id === i)).toBe(false);
      for (let t = 1; t < sim.length; t++) expect(sim[t]!.score).toBeLessThanOrEqual(sim[t - 1]!.score);
      for (const s of sim) if (data.group(s.id) === data.group(i)) same++;
    }
    expect(same / (ITEMS * 10)).toBeGreaterThan(0.8);
  });

  it('is deterministic: same seed same bytes, another seed other bytes', () => {
    const again = trainMf(data.train, { method: 'als', factors: 16, iterations: 8, regularization: 0.1, alpha: 10, seed: 7 });
    expect(bytes(again.userFactors).equals(bytes(model.userFactors))).toBe(true);
    expect(bytes(again.itemFactors).equals(bytes(model.itemFactors))).toBe(true);
    const other = trainMf(data.train, { method: 'als', factors: 16, iterations: 2, regularization: 0.1, alpha: 10, seed: 8 });
    const same = trainMf(data.train, { method: 'als', factors: 16, iterations: 2, regularization: 0.1, alpha: 10, seed: 7 });
    expect(bytes(other.itemFactors).equals(bytes(same.itemFactors))).toBe(false);
  });
});

describe('BPR', () => {
  const data = planted(4);
  const spec = { method: 'bpr' as const, factors: 16, epochs: 30, learningRate: 0.05, regularization: 0.01, seed: 3 };
  const model = trainMf(data.train, spec);

  it('ranks held-out interactions above unseen items: AUC >= 0.85', () => {
    const seen = seenSet(data.train);
    let good = 0;
    let total = 0;
    for (let u = 0; u < USERS; u++) {
      const pos = model.score(u, data.heldOut[u]!);
      for (let j = 0; j < ITEMS; j++) {
        if (j === data.heldOut[u]) continue;
        if (seen.has(u * ITEMS + j)) continue;
        const neg = model.score(u, j);
        good += pos > neg ? 1 : pos === neg ? 0.5 : 0;
        total++;
      }
    }
    expect(good / total).toBeGreaterThanOrEqual(0.85);
    expect(model.trace[model.trace.length - 1]!).toBeGreaterThan(model.trace[0]!);
  });

  it('is deterministic: same seed same bytes', () => {
    const again = trainMf(data.train, spec);
    expect(bytes(again.userFactors).equals(bytes(model.userFactors))).toBe(true);
    expect(bytes(again.itemFactors).equals(bytes(model.itemFactors))).toBe(true);
    const other = trainMf(data.train, { ...spec, seed: 4, epochs: 1 });
    const one = trainMf(data.train, { ...spec, epochs: 1 });
    expect(bytes(other.itemFactors).equals(bytes(one.itemFactors))).toBe(false);
  });

  it('rejects bad arguments with KilnErrors', () => {
    expect(() => trainMf(data.train, { ...spec, epochs: 0 })).toThrow(KilnError);
    expect(() => model.recommend(USERS, 5)).toThrow(KilnError);
    expect(() => model.similarItems(-1, 5)).toThrow(KilnError);
  });
});
