import { describe, expect, it } from 'vitest';
import { Rng, cumulative } from '../../src/core/rng.js';

describe('Rng', () => {
  it('is reproducible per (seed, stream) and differs across streams and seeds', () => {
    const draw = (seed: number, stream: number): number[] => { const r = new Rng(seed, stream); return Array.from({ length: 5 }, () => r.nextU32()); };
    expect(draw(42, 7)).toEqual(draw(42, 7));
    expect(draw(42, 7)).not.toEqual(draw(42, 8));
    expect(draw(42, 7)).not.toEqual(draw(43, 7));
  });

  it('has the moments it should', () => {
    const r = new Rng(1);
    const n = 200_000;
    let su = 0, sn = 0, sn2 = 0, sp = 0;
    for (let i = 0; i < n; i++) { su += r.uniform(); const z = r.normal(); sn += z; sn2 += z * z; sp += r.poisson(3.5); }
    expect(su / n).toBeCloseTo(0.5, 2);
    expect(sn / n).toBeCloseTo(0, 1);
    expect(sn2 / n).toBeCloseTo(1, 1);
    expect(sp / n).toBeCloseTo(3.5, 1);
  });

  it('draws categories in proportion to their weights', () => {
    const r = new Rng(9);
    const cum = cumulative([1, 3, 6]);
    const counts = [0, 0, 0];
    for (let i = 0; i < 100_000; i++) counts[r.categorical(cum)]!++;
    expect(counts[0]! / 1e5).toBeCloseTo(0.1, 1);
    expect(counts[2]! / 1e5).toBeCloseTo(0.6, 1);
  });
});
