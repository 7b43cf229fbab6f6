import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { gaussSolve } from '../../src/embeddings/index.js';
import { easeWeights, evaluateTopK, fitEase, fitPopularity, itemGram, spdInverse, stratifiedSplit, syntheticMarketplace } from '../../src/recs/index.js';

function randomSpd(n: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  const x = Float64Array.from({ length: n * n }, () => rng.normal());
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let k = 0; k < n; k++) s += x[i * n + k]! * x[j * n + k]!;
    a[i * n + j] = s + (i === j ? 0.5 : 0);
  }
  return a;
}

describe('spdInverse', () => {
  it('agrees with Gaussian elimination column by column', () => {
    const n = 23;
    const a = randomSpd(n, 3);
    const inv = Float64Array.from(a);
    spdInverse(inv, n);
    for (const j of [0, 7, 22]) {
      const e = new Float64Array(n);
      e[j] = 1;
      const col = gaussSolve(a, e, n);
      for (let i = 0; i < n; i++) expect(inv[i * n + j]).toBeCloseTo(col[i]!, 8);
    }
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) expect(inv[i * n + j]).toBe(inv[j * n + i]);
  });

  it('fails with RECS_PARAM_INVALID on a matrix that is not positive definite', () => {
    expect(() => spdInverse(Float64Array.from([1, 2, 2, 1]), 2)).toThrow(/not positive definite at pivot 1/);
  });
});

describe('EASE^R', () => {
  const m = syntheticMarketplace({ users: 150, items: 40, perUser: 10, seed: 2 });

  it('is the constrained least-squares optimum: per column, the reduced normal equations', () => {
    const n = m.table.nItems;
    const g = itemGram(m.table);
    const lambda = 7;
    const b = easeWeights(g, n, lambda);
    // naive reference: column j solves (G + lambda I) restricted to i != j against G[., j]
    for (const j of [0, 13, 39]) {
      const idx = Array.from({ length: n }, (_, i) => i).filter((i) => i !== j);
      const a = new Float64Array(idx.length ** 2);
      const rhs = new Float64Array(idx.length);
      idx.forEach((r, p) => {
        idx.forEach((c, q) => { a[p * idx.length + q] = g[r * n + c]! + (r === c ? lambda : 0); });
        rhs[p] = g[r * n + j]!;
      });
      const col = gaussSolve(a, rhs, idx.length);
      expect(b[j * n + j]).toBe(0);
      idx.forEach((r, p) => expect(b[r * n + j]).toBeCloseTo(col[p]!, 4));
    }
  });

  it('counts each (user, item) once in the Gram matrix', () => {
    const t = { nUsers: 2, nItems: 3, users: Int32Array.from([0, 0, 0, 1]), items: Int32Array.from([0, 1, 1, 1]) };
    expect(Array.from(itemGram(t))).toEqual([1, 1, 0, 1, 2, 0, 0, 0, 0]);
  });

  it('ranks held-out items better than popularity and never returns seen items', () => {
    const { train, test } = stratifiedSplit(m.table, { seed: 1 });
    const ease = fitEase(train, { lambda: 20 });
    const pop = fitPopularity(train);
    const e = evaluateTopK({ train, test, recommend: (u, k) => ease.candidates(u, k).items });
    const p = evaluateTopK({ train, test, recommend: (u, k) => pop.candidates(u, k).items });
    expect(e.ndcg).toBeGreaterThan(p.ndcg + 0.03);
    expect(() => fitEase(train, { lambda: -1 })).toThrow(/lambda: must be a finite number > 0/);
    expect(() => fitEase(train, { maxItems: 10 })).toThrow(/catalogue has 40 items, above maxItems 10/);
  });
});
