import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { calibrationTable, calibratorFromJson, expectedCalibrationError, fitIsotonic, fitPlatt } from '../../src/eval/index.js';
import { pav } from '../../src/eval/calibrators.js';
import { expectAllClose, expectClose, expectKilnError, randomData } from './helpers.js';

/** Isotonic fit by repeatedly pooling the first violating pair of blocks: O(n²), obviously right. */
function naiveIsotonic(v: number[], w: number[]): number[] {
  let blocks = v.map((x, i) => ({ mean: x, w: w[i]!, size: 1 }));
  for (let changed = true; changed;) {
    changed = false;
    for (let i = 0; i + 1 < blocks.length; i++) {
      const a = blocks[i]!, b = blocks[i + 1]!;
      if (a.mean >= b.mean) {
        const ww = a.w + b.w;
        blocks = [...blocks.slice(0, i), { mean: (a.mean * a.w + b.mean * b.w) / ww, w: ww, size: a.size + b.size }, ...blocks.slice(i + 2)];
        changed = true;
        break;
      }
    }
  }
  return blocks.flatMap((b) => new Array<number>(b.size).fill(b.mean));
}

describe('calibrationTable', () => {
  it('weighted bins equal a naive per-bin loop (uniform edges as numpy.linspace)', () => {
    const d = randomData(5, 2000);
    const t = calibrationTable(d.y, d.score, { bins: 10, weight: d.weight });
    expect(t.edges).toHaveLength(11);
    expect(t.edges[3]).toBe(3 * 0.1); // 0.30000000000000004, as numpy
    for (const [k, b] of t.bins.entries()) {
      let c = 0, w = 0, sp = 0, sy = 0;
      d.score.forEach((s, i) => {
        const inBin = (k === 0 ? s >= t.edges[0]! : s > t.edges[k]!) && s <= t.edges[k + 1]!;
        if (!inBin) return;
        c++; w += d.weight[i]!; sp += d.weight[i]! * s; sy += d.weight[i]! * d.y[i]!;
      });
      expect(b.count).toBe(c);
      expectClose(b.weight, w);
      if (w > 0) { expectClose(b.meanPredicted, sp / w); expectClose(b.observedRate, sy / w); } else expect(b.meanPredicted).toBeNull();
    }
  });

  it('keeps empty bins (count 0, null means) so the x-axis is stable; quantile ties leave bins empty', () => {
    const t = calibrationTable([0, 1, 0, 1], [0.05, 0.05, 0.05, 0.95], { bins: 4, strategy: 'quantile' });
    expect(t.bins).toHaveLength(4);
    expect(t.bins.map((b) => b.count)).toEqual([3, 0, 0, 1]);
    expect(t.bins[1]!.observedRate).toBeNull();
    const u = calibrationTable([0, 1], [0.05, 0.95], { bins: 10 });
    expect(u.bins.filter((b) => b.count === 0)).toHaveLength(8);
  });

  it('expectedCalibrationError is the weight-averaged |observed − predicted| of the table', () => {
    expectClose(expectedCalibrationError([0, 1], [0.2, 0.7]), 0.25);
    const d = randomData(6, 3000);
    const t = calibrationTable(d.y, d.score, { bins: 15, strategy: 'quantile', weight: d.weight });
    let e = 0, w = 0;
    for (const b of t.bins) if (b.weight > 0) { e += b.weight * Math.abs(b.observedRate! - b.meanPredicted!); w += b.weight; }
    expectClose(expectedCalibrationError(d.y, d.score, { bins: 15, strategy: 'quantile', weight: d.weight }), e / w);
    // perfectly calibrated by construction: y is the bin's rate
    expectClose(expectedCalibrationError([0, 0, 0, 1, 1, 1, 1, 0], [0.25, 0.25, 0.25, 0.25, 0.75, 0.75, 0.75, 0.75]), 0, 1e-15);
  });
});

describe('isotonic', () => {
  it('pav equals repeated pooling of violators', () => {
    const r = new Rng(8);
    for (let trial = 0; trial < 30; trial++) {
      const n = 1 + r.int(40);
      const v = Array.from({ length: n }, () => Math.round(r.uniform() * 5) / 5);
      const w = Array.from({ length: n }, () => 0.1 + r.uniform());
      const got = Float64Array.from(v);
      pav(got, Float64Array.from(w));
      expectAllClose(got, naiveIsotonic(v, w), 1e-12);
    }
  });

  it('is non-decreasing, keeps the weighted mean, clips outside the fitted range, and round-trips through JSON', () => {
    const d = randomData(12, 3000, 3);
    const cal = fitIsotonic(d.score, d.y, { weight: d.weight });
    const fitted = cal.apply(d.score);
    let a = 0, b = 0, wsum = 0;
    d.y.forEach((y, i) => { a += d.weight[i]! * y; b += d.weight[i]! * fitted[i]!; wsum += d.weight[i]!; });
    expectClose(b / wsum, a / wsum, 1e-9);
    const grid = Float64Array.from({ length: 101 }, (_, i) => i / 100);
    const g = cal.apply(grid);
    for (let i = 1; i < g.length; i++) expect(g[i]).toBeGreaterThanOrEqual(g[i - 1]!);
    if (cal.kind !== 'isotonic') throw new Error('kind');
    expect(cal.apply([-5])[0]).toBe(cal.params.y[0]);
    expect(cal.apply([5])[0]).toBe(cal.params.y.at(-1));
    const copy = calibratorFromJson(JSON.stringify(cal));
    expect(copy.apply(grid)).toEqual(g);
    expect(JSON.parse(JSON.stringify(cal))).toEqual({ format: 'kiln.calibrator@1', kind: 'isotonic', params: cal.params });
  });
});

describe('platt', () => {
  it('stops at a stationary point of the smoothed-target objective', () => {
    const d = randomData(13, 4000);
    const cal = fitPlatt(d.score, d.y, { weight: d.weight });
    if (cal.kind !== 'platt') throw new Error('kind');
    const { slope, intercept } = cal.params;
    let P = 0, N = 0;
    d.y.forEach((y, i) => { if (y === 1) P += d.weight[i]!; else N += d.weight[i]!; });
    let ga = 0, gb = 0;
    d.score.forEach((s, i) => {
      const z = Math.log(s) - Math.log1p(-s);
      const t = d.y[i] === 1 ? (P + 1) / (P + 2) : 1 / (N + 2);
      const r = d.weight[i]! * (1 / (1 + Math.exp(-(slope * z + intercept))) - t);
      ga += r * z; gb += r;
    });
    expect(Math.max(Math.abs(ga), Math.abs(gb))).toBeLessThan(1e-6 * (P + N));
    const copy = calibratorFromJson(JSON.parse(JSON.stringify(cal)));
    expect(copy.apply([0.01, 0.1, 0.5])).toEqual(cal.apply([0.01, 0.1, 0.5]));
  });

  it('recovers a known miscalibration: p_true = σ(2·logit(score) − 1)', () => {
    const r = new Rng(21);
    const n = 50_000;
    const s = new Float64Array(n), y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const z = r.normal() - 1;
      s[i] = 1 / (1 + Math.exp(-z));
      y[i] = r.uniform() < 1 / (1 + Math.exp(-(2 * z - 1))) ? 1 : 0;
    }
    const cal = fitPlatt(s, y);
    if (cal.kind !== 'platt') throw new Error('kind');
    expect(cal.params.slope).toBeCloseTo(2, 1);
    expect(cal.params.intercept).toBeCloseTo(-1, 1);
  });
});

describe('calibratorFromJson', () => {
  it('rejects other formats, unknown kinds and bad parameters', () => {
    expectKilnError(() => calibratorFromJson('{"format":"kiln.calibrator@2","kind":"platt","params":{}}'), 'this kiln reads kiln.calibrator@1');
    expectKilnError(() => calibratorFromJson({ format: 'kiln.calibrator@1', kind: 'beta', params: {} }), "kind beta is unknown; use one of: platt, isotonic");
    expectKilnError(() => calibratorFromJson({ format: 'kiln.calibrator@1', kind: 'isotonic', params: { x: [0, 0], y: [0, 1] } }), 'strictly increasing');
    expectKilnError(() => calibratorFromJson('{'), 'not valid JSON');
  });
});
