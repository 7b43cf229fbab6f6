import { describe, expect, it } from 'vitest';
import { halvingRungs, parseSpace, sampleSpace } from '../../src/tune/index.js';

describe('search spaces', () => {
  const space = parseSpace({ max_depth: [3, 8], learning_rate: { log: [0.01, 0.3] }, subsample: { uniform: [0.5, 1] }, min_child_weight: { choice: [1, 5, 20] } });

  it('draws the same configurations for the same seed, within the ranges', () => {
    const a = sampleSpace(space, 200, 11);
    expect(sampleSpace(space, 200, 11)).toEqual(a);
    expect(sampleSpace(space, 200, 12)).not.toEqual(a);
    for (const p of a) {
      expect(Number.isInteger(p.max_depth) && (p.max_depth as number) >= 3 && (p.max_depth as number) <= 8).toBe(true);
      expect(p.learning_rate as number).toBeGreaterThanOrEqual(0.01);
      expect(p.learning_rate as number).toBeLessThanOrEqual(0.3);
      expect([1, 5, 20]).toContain(p.min_child_weight);
    }
    expect(new Set(a.map((p) => p.max_depth))).toEqual(new Set([3, 4, 5, 6, 7, 8]));
    // log-uniform: about half the draws below the geometric mean
    const below = a.filter((p) => (p.learning_rate as number) < Math.sqrt(0.01 * 0.3)).length;
    expect(below).toBeGreaterThan(70);
    expect(below).toBeLessThan(130);
  });

  it('names what is wrong with a space', () => {
    expect(() => parseSpace({ max_dept: [3, 8] })).toThrow(/max_dept: not a GBDT parameter/);
    expect(() => parseSpace({ max_depth: [8, 3] })).toThrow(/lo <= hi/);
    expect(() => parseSpace({ subsample: [0.5, 1] })).toThrow(/whole numbers: use \{"uniform"/);
    expect(() => parseSpace({ learning_rate: { log: [0, 0.3] } })).toThrow(/above 0/);
    expect(() => parseSpace({})).toThrow(/no parameter/);
    expect(() => sampleSpace(parseSpace({ subsample: { uniform: [0.5, 2] } }), 5, 1)).toThrow(/subsample/);
  });

  it('plans successive halving rungs: 1/eta kept, rounds times eta, up to the full rounds', () => {
    expect(halvingRungs(27, 3, 25, 400)).toEqual([{ configs: 27, rounds: 25 }, { configs: 9, rounds: 75 }, { configs: 3, rounds: 225 }, { configs: 1, rounds: 400 }]);
    expect(halvingRungs(8, 2, 50, 100)).toEqual([{ configs: 8, rounds: 50 }, { configs: 4, rounds: 100 }]);
    expect(halvingRungs(1, 3, 10, 100)).toEqual([{ configs: 1, rounds: 10 }]);
  });
});
