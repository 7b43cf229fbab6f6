/**
 * The histogram split search against a naive exact search (every threshold between distinct values,
 * missing values sent either way; every subset of categories) on small data where binning is exact.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { train } from '../../src/gbdt/index.js';

const LAMBDA = 1;
const ALPHA = 0.3;
const MCW = 3;

function score(G: number, H: number, lambda: number, alpha: number): number {
  const t = G > alpha ? G - alpha : G < -alpha ? G + alpha : 0;
  return (t * t) / (H + lambda);
}

interface Ref { gain: number; feature: number; goesLeft: (x: number[]) => boolean }

/** Squared error from margin 0: g = -y, h = 1 per row. */
function naiveNumeric(cols: Float32Array[], y: Float32Array): Ref {
  const n = y.length;
  const G = -y.reduce((a, b) => a + b, 0);
  const parent = score(G, n, LAMBDA, ALPHA);
  let best: Ref = { gain: -Infinity, feature: -1, goesLeft: () => true };
  cols.forEach((col, f) => {
    const values = [...new Set(Array.from(col).filter((v) => v === v))].sort((a, b) => a - b);
    const cands: { thr: number; missLeft: boolean }[] = [];
    for (let i = 0; i < values.length; i++) {
      for (const missLeft of [false, true]) cands.push({ thr: i + 1 < values.length ? (values[i]! + values[i + 1]!) / 2 : Infinity, missLeft });
    }
    for (const missLeft of [true]) cands.push({ thr: -Infinity, missLeft });
    for (const c of cands) {
      let gl = 0, hl = 0;
      for (let r = 0; r < n; r++) {
        const v = col[r]!;
        if (v !== v ? c.missLeft : v < c.thr) { gl -= y[r]!; hl += 1; }
      }
      const hr = n - hl;
      if (hl < MCW || hr < MCW) continue;
      const gain = score(gl, hl, LAMBDA, ALPHA) + score(G - gl, hr, LAMBDA, ALPHA) - parent;
      if (gain > best.gain + 1e-12) best = { gain, feature: f, goesLeft: (x) => (x[f]! !== x[f]! ? c.missLeft : x[f]! < c.thr) };
    }
  });
  return best;
}

describe('histogram split search agrees with exact brute force', () => {
  for (const [seed, maxBin] of [[1, 256], [2, 256], [3, 256], [4, 256], [5, 256], [6, 1000]] as const) {
    it(`numeric features with missing values (seed ${seed}, max_bin ${maxBin}: ${maxBin > 256 ? 'uint16' : 'uint8'} bins)`, async () => {
      const rng = new Rng(seed, 3);
      const n = 400;
      const cols = Array.from({ length: 4 }, (_, f) => Float32Array.from({ length: n }, () => (rng.uniform() < 0.1 * f ? NaN : Math.round(rng.normal() * 8) / 4)));
      const y = Float32Array.from({ length: n }, (_, i) => {
        const a = cols[seed % 4]![i]!;
        const b = cols[(seed + 1) % 4]![i]!;
        return (a !== a ? 1.5 : Math.sin(a)) + 0.3 * (b === b ? b : -1) + rng.normal() * 0.5;
      });
      const ref = naiveNumeric(cols, y);
      const booster = await train({
        features: cols, label: y, featureNames: ['a', 'b', 'c', 'd'],
        params: { objective: 'reg:squarederror', base_score: 0, n_estimators: 1, max_depth: 1, lambda: LAMBDA, alpha: ALPHA, min_child_weight: MCW, learning_rate: 1, max_bin: maxBin, nthread: 1 },
      });
      const t = booster.trees[0]!;
      expect(t.feature[0]).toBe(ref.feature);
      expect(t.gain[0]).toBeCloseTo(ref.gain, 3);
      expect(Math.abs(t.gain[0]! - ref.gain) / ref.gain).toBeLessThan(1e-5);
      // Same partition of the rows: rows the reference sends left get the left leaf.
      const pred = booster.predict(cols);
      for (let r = 0; r < n; r++) {
        const x = cols.map((c) => c[r]!);
        expect(pred[r]).toBe(ref.goesLeft(x) ? t.leafValue[1] : t.leafValue[2]);
      }
    });
  }

  it('categorical partition equals the best of all 2^k category subsets (squared error, lambda 0)', async () => {
    const rng = new Rng(7, 3);
    const n = 600;
    const k = 7;
    const effect = [0.3, -1.2, 2.0, 0.1, -0.4, 1.1, -2.2];
    const cat = Float32Array.from({ length: n }, () => (rng.uniform() < 0.08 ? NaN : rng.int(k)));
    const y = Float32Array.from(cat, (c) => (c === c ? effect[c]! : 0.5) + rng.normal());
    const G = -y.reduce((a, b) => a + b, 0);
    const parent = score(G, n, 0, 0);
    let best = -Infinity;
    for (let mask = 1; mask < (1 << k) - 1; mask++) {
      for (const missLeft of [false, true]) {
        let gl = 0, hl = 0;
        for (let r = 0; r < n; r++) {
          const c = cat[r]!;
          const right = c !== c ? !missLeft : ((mask >> c) & 1) === 1;
          if (!right) { gl -= y[r]!; hl += 1; }
        }
        best = Math.max(best, score(gl, hl, 0, 0) + score(G - gl, n - hl, 0, 0) - parent);
      }
    }
    const booster = await train({
      features: [cat], label: y, featureNames: ['c'], categorical: ['c'],
      params: { objective: 'reg:squarederror', base_score: 0, n_estimators: 1, max_depth: 1, lambda: 0, min_child_weight: 1, max_cat_to_onehot: 1, nthread: 1 },
    });
    const t = booster.trees[0]!;
    expect(t.categorical[0]).toBe(1);
    expect(Math.abs(t.gain[0]! - best) / best).toBeLessThan(1e-5);
    // The right branch's categories are those with the larger mean effect side of the split.
    const right = new Set(t.catCodes);
    const pred = booster.predict([cat]);
    for (let r = 0; r < n; r++) {
      const c = cat[r]!;
      const goesRight = c !== c ? t.defaultLeft[0] === 0 : right.has(c);
      expect(pred[r]).toBe(goesRight ? t.leafValue[2] : t.leafValue[1]);
    }
  });
});
