/**
 * bench/evidence-stats.ts: AUC on a subgroup of rows (null where the subgroup lacks a class) and the
 * spread of a figure across seeds.
 */
import { describe, expect, it } from 'vitest';
import { formatSpread, spread, subgroupAuc } from '../../bench/evidence-stats.js';
import { auc } from '../../src/eval/index.js';

describe('subgroupAuc', () => {
  it('is the AUC of the masked rows alone', () => {
    const y = [0, 1, 0, 1, 1, 0, 0, 1];
    const s = [0.9, 0.1, 0.2, 0.8, 0.7, 0.3, 0.95, 0.05];
    const m = [false, false, true, true, true, true, false, false];
    expect(subgroupAuc(y, s, m)).toEqual({ auc: 1, rows: 4, positives: 2 });
    // Outside the subgroup the same score ranks backwards: the whole set's AUC is lower.
    expect(auc(y, s)).toBeLessThan(0.5);
    expect(subgroupAuc(y, s, m.map((x) => !x))).toEqual({ auc: 0, rows: 4, positives: 2 });
    expect(subgroupAuc(y, s, y.map(() => true)).auc).toBeCloseTo(auc(y, s), 12);
  });

  it('gives null where the subgroup holds one class or no rows, and refuses arrays of different lengths', () => {
    expect(subgroupAuc([1, 1, 0], [0.2, 0.3, 0.4], [true, true, false])).toEqual({ auc: null, rows: 2, positives: 2 });
    expect(subgroupAuc([1, 0], [0.2, 0.3], [false, false])).toEqual({ auc: null, rows: 0, positives: 0 });
    expect(() => subgroupAuc([1, 0], [0.2], [true, true])).toThrow(/differ in length/);
  });
});

describe('spread', () => {
  it('gives mean, sample standard deviation, min and max, leaving nulls out', () => {
    const s = spread([0.7, null, 0.8, 0.9]);
    expect(s.n).toBe(3);
    expect(s.missing).toBe(1);
    expect(s.mean).toBeCloseTo(0.8, 12);
    expect(s.std).toBeCloseTo(0.1, 12);
    expect([s.min, s.max]).toEqual([0.7, 0.9]);
    expect(formatSpread(s)).toBe('0.8000 ± 0.1000 (0.700–0.900) [3 of 4]');
    expect(spread([0.61]).std).toBe(0);
    expect(formatSpread(spread([null, null]))).toBe('-');
  });
});
