import { describe, expect, it } from 'vitest';
import { approvalCurve, liftTable, scoreDistribution } from '../../src/eval/index.js';
import { expectClose, naiveLiftGroups, randomData } from './helpers.js';

describe('liftTable', () => {
  it('hand-checked quintiles', () => {
    const s = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05];
    const y = [1, 1, 0, 1, 0, 0, 0, 1, 0, 0];
    const t = liftTable(y, s, { groups: 5 });
    expect(t.map((r) => [r.group, r.count, r.positives, r.minScore, r.maxScore])).toEqual([
      [1, 2, 2, 0.8, 0.9], [2, 2, 1, 0.6, 0.7], [3, 2, 0, 0.4, 0.5], [4, 2, 1, 0.2, 0.3], [5, 2, 0, 0.05, 0.1],
    ]);
    expect(t.map((r) => r.rate)).toEqual([1, 0.5, 0, 0.5, 0]);
    expect(t.map((r) => r.lift)).toEqual([2.5, 1.25, 0, 1.25, 0]);
    expect(t.map((r) => r.captureRate)).toEqual([0.5, 0.75, 0.75, 1, 1]);
    expect(t.map((r) => r.cumulativeShare)).toEqual([0.2, 0.4, 0.6, 0.8, 1]);
    expect(t.map((r) => r.cumulativeLift)).toEqual([2.5, 1.875, 1.25, 1.25, 1]);
  });

  it("'together' keeps tied scores in one group (some groups can be empty); 'by-index' splits them by row index", () => {
    const s = [0.5, 0.5, 0.5, 0.5, 0.1, 0.1, 0.1, 0.1];
    const y = [1, 0, 0, 0, 0, 0, 1, 1];
    const t = liftTable(y, s, { groups: 4 });
    expect(t.map((r) => r.count)).toEqual([0, 4, 0, 4]);
    expect(t[0]!.rate).toBeNull();
    expect(t[0]!.cumulativeLift).toBeNull();
    const b = liftTable(y, s, { groups: 4, ties: 'by-index' });
    expect(b.map((r) => r.count)).toEqual([2, 2, 2, 2]);
    expect(b.map((r) => r.positives)).toEqual([1, 0, 0, 2]); // rows 0,1 | 2,3 | 4,5 | 6,7
  });

  it('matches a naive sort-everything reference, weighted and not, both tie modes', () => {
    for (const [seed, decimals] of [[1, undefined], [2, 2], [3, 1]] as const) {
      const d = randomData(seed, 997, decimals);
      for (const weight of [undefined, d.weight]) {
        for (const ties of ['together', 'by-index'] as const) {
          const G = 10;
          const t = liftTable(d.y, d.score, { groups: G, weight, ties });
          const g = naiveLiftGroups(d.score, weight, G, ties === 'together');
          for (let k = 0; k < G; k++) {
            let count = 0, w = 0, pos = 0;
            g.forEach((gi, i) => { if (gi === k) { count++; w += weight ? weight[i]! : 1; if (d.y[i] === 1) pos += weight ? weight[i]! : 1; } });
            expect(t[k]!.count).toBe(count);
            expectClose(t[k]!.weight, w, 1e-12);
            expectClose(t[k]!.positives, pos, 1e-12);
          }
          expectClose(t.at(-1)!.captureRate, 1);
          expectClose(t.at(-1)!.cumulativeLift, 1);
        }
      }
    }
  });

  it('gives ten equal deciles when 10 divides n and scores are distinct', () => {
    const d = randomData(4, 1000);
    expect(liftTable(d.y, d.score).map((r) => r.count)).toEqual(new Array(10).fill(100));
  });
});

describe('approvalCurve', () => {
  it('hand-checked: approve when score < cutoff', () => {
    const c = approvalCurve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], { points: 3 });
    expect(c).toEqual([
      { cutoff: 0.1, approvalRate: 0, badRate: null, approved: 0, bads: 0 },
      { cutoff: 0.4, approvalRate: 0.5, badRate: 0.5, approved: 2, bads: 1 },
      { cutoff: Infinity, approvalRate: 1, badRate: 0.5, approved: 4, bads: 2 },
    ]);
  });

  it('every cutoff (points: Infinity) equals a naive scan; 101 points reach each percent', () => {
    const d = randomData(7, 600, 2);
    const all = approvalCurve(d.y, d.score, { points: Infinity, weight: d.weight });
    const cutoffs = [...new Set(Array.from(d.score))].sort((a, b) => a - b).concat([Infinity]);
    expect(all.map((p) => p.cutoff)).toEqual(cutoffs);
    let W = 0;
    d.weight.forEach((w) => { W += w; });
    for (const p of all) {
      let a = 0, bad = 0, cnt = 0;
      d.score.forEach((s, i) => { if (s < p.cutoff) { a += d.weight[i]!; bad += d.weight[i]! * d.y[i]!; cnt++; } });
      expectClose(p.approvalRate, a / W);
      expect(p.approved).toBe(cnt);
      if (a > 0) expectClose(p.badRate, bad / a); else expect(p.badRate).toBeNull();
    }
    const pts = approvalCurve(d.y, d.score, { weight: d.weight });
    expect(pts.length).toBeLessThanOrEqual(101);
    for (let t = 0; t <= 100; t++) {
      // the first point at or above t% is the smallest cutoff that approves t%
      const first = all.find((p) => p.approvalRate >= t / 100)!;
      expect(pts.some((p) => p.cutoff === first.cutoff)).toBe(true);
    }
    for (let i = 1; i < pts.length; i++) expect(pts[i]!.cutoff).toBeGreaterThan(pts[i - 1]!.cutoff);
  });
});

describe('scoreDistribution', () => {
  it('bins defaults and non-defaults on common edges; [0, 1] for probabilities, else the data range', () => {
    const d = scoreDistribution([0, 0, 1, 1, 1], [0, 0.26, 0.5, 0.99, 1], { bins: 4 });
    expect(d.edges).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(d.negative).toEqual([1, 1, 0, 0]);
    expect(d.positive).toEqual([0, 0, 1, 2]);
    expect(d.positiveShare).toEqual([0, 0, 1 / 3, 2 / 3]);
    const m = scoreDistribution([0, 1], [-2, 6], { bins: 2 });
    expect(m.edges).toEqual([-2, 2, 6]);
    const r = scoreDistribution([0, 1, 1], [0.1, 0.5, 0.9], { bins: 2, range: [0, 0.6] });
    expect(r.outOfRange).toBe(1);
    expect(r.positive).toEqual([0, 1]);
  });
});
