/**
 * The density-ratio (shift-aware) estimate in seeded synthetic worlds: y ~ Bernoulli(sigmoid(f(x))).
 * Covariate shift (x moves, f stays): the reweighted reference lands near the current realised AUC and
 * bad rate. No shift: the classifier cannot tell the samples apart and the weights stay near 1. Concept
 * shift (f changes, x stays): both label-free estimates miss, and the classifier sees nothing.
 */
import { describe, expect, it } from 'vitest';
import { isKilnError } from '../../src/core/errors.js';
import { Rng } from '../../src/core/rng.js';
import { auc } from '../../src/eval/index.js';
import { cbpe, densityRatioWeights, shiftAwareEstimate } from '../../src/monitor/performance/index.js';

const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));
/** The model's calibrated pd: the true f of the reference world. */
const f = (x1: number, x2: number): number => -2 + x1 + 0.8 * x2;
/** After a concept shift: x1 matters less, x2 the other way round. */
const g = (x1: number, x2: number): number => -2 + 0.2 * x1 - 0.8 * x2;

interface World { cols: Float64Array[]; y: Float64Array; pd: Float64Array }
function world(seed: number, n: number, kind: 'reference' | 'covariate' | 'concept'): World {
  const r = new Rng(seed);
  const x1 = new Float64Array(n), x2 = new Float64Array(n), y = new Float64Array(n), pd = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    x1[i] = kind === 'covariate' ? 0.8 + 1.6 * r.normal() : r.normal();
    x2[i] = r.normal();
    pd[i] = sigmoid(f(x1[i]!, x2[i]!));
    y[i] = r.uniform() < (kind === 'concept' ? sigmoid(g(x1[i]!, x2[i]!)) : pd[i]!) ? 1 : 0;
  }
  return { cols: [x1, x2], y, pd };
}
const mean = (a: ArrayLike<number>): number => { let s = 0; for (let i = 0; i < a.length; i++) s += a[i]!; return s / a.length; };

const ref = world(1, 3000, 'reference');
const OPTS = { seed: 11, trees: 30 };

describe('densityRatioWeights and shiftAwareEstimate', () => {
  it('covariate shift: the reweighted reference is closer to the current realised AUC and bad rate', async () => {
    const cur = world(2, 3000, 'covariate'), truth = world(3, 50_000, 'covariate'); // truth: a large current sample with labels
    const dr = await densityRatioWeights(ref.cols, cur.cols, OPTS);
    expect(dr.classifierAuc).toBeGreaterThan(0.6);
    expect(mean(dr.weights)).toBeCloseTo(1, 12);
    expect(dr.effectiveSampleSize).toBeLessThan(0.7 * 3000);
    const est = shiftAwareEstimate({ label: ref.y, pd: ref.pd }, dr.weights);
    const realAuc = auc(truth.y, truth.pd), realBad = mean(truth.y);
    const refAuc = auc(ref.y, ref.pd), refBad = mean(ref.y);
    // The shift moved both (bad rate 0.18 -> 0.31, AUC 0.80 -> 0.85); reweighting closes over half of each gap.
    expect(Math.abs(realBad - refBad)).toBeGreaterThan(0.1);
    expect(Math.abs(est.badRate - realBad)).toBeLessThan(0.5 * Math.abs(refBad - realBad));
    expect(Math.abs(est.auc - realAuc)).toBeLessThan(0.5 * Math.abs(refAuc - realAuc));
    expect(Math.abs(est.expectedBadRate - realBad)).toBeLessThan(0.5 * Math.abs(refBad - realBad));
    expect(Math.abs(est.expected.auc - realAuc)).toBeLessThan(0.5 * Math.abs(cbpe(ref.pd).auc - realAuc));
    expect(est.effectiveSampleSize).toBeCloseTo(dr.effectiveSampleSize, 6);
  });

  it('no shift: classifier AUC ≈ 0.5 and weights ≈ 1', async () => {
    const cur = world(4, 3000, 'reference');
    const dr = await densityRatioWeights(ref.cols, cur.cols, OPTS);
    expect(Math.abs(dr.classifierAuc - 0.5)).toBeLessThan(0.04);
    expect(dr.effectiveSampleSize).toBeGreaterThan(0.9 * 3000);
    const dev = Array.from(dr.weights, (w) => Math.abs(w - 1)).sort((a, b) => a - b);
    expect(dev[1500]!).toBeLessThan(0.15);
    const est = shiftAwareEstimate({ label: ref.y, pd: ref.pd }, dr.weights);
    expect(Math.abs(est.auc - auc(ref.y, ref.pd))).toBeLessThan(0.01);
  });

  it('concept shift: neither CBPE nor the shift-aware estimate can see it (documented in docs/monitoring.md)', async () => {
    const cur = world(5, 3000, 'concept'), truth = world(6, 50_000, 'concept');
    const dr = await densityRatioWeights(ref.cols, cur.cols, OPTS);
    expect(Math.abs(dr.classifierAuc - 0.5)).toBeLessThan(0.04); // the inputs did not move
    const realAuc = auc(truth.y, truth.pd); // ≈ 0.42: the model now ranks backwards
    const shiftAware = shiftAwareEstimate({ label: ref.y, pd: ref.pd }, dr.weights).auc;
    const confidence = cbpe(cur.pd).auc;
    expect(shiftAware - realAuc).toBeGreaterThan(0.25);
    expect(confidence - realAuc).toBeGreaterThan(0.25);
  });

  it('is deterministic for a seed', async () => {
    const cur = world(7, 600, 'covariate'), small = world(8, 600, 'reference');
    const a = await densityRatioWeights(small.cols, cur.cols, { seed: 3, trees: 10 });
    const b = await densityRatioWeights(small.cols, cur.cols, { seed: 3, trees: 10 });
    const c = await densityRatioWeights(small.cols, cur.cols, { seed: 4, trees: 10 });
    expect(Buffer.from(b.weights.buffer)).toEqual(Buffer.from(a.weights.buffer));
    expect(b.classifierAuc).toBe(a.classifierAuc);
    expect(Buffer.from(c.weights.buffer)).not.toEqual(Buffer.from(a.weights.buffer)); // other folds
  });

  it('clips the weights before scaling them to mean 1', async () => {
    const cur = world(9, 600, 'covariate'), small = world(10, 600, 'reference');
    const dr = await densityRatioWeights(small.cols, cur.cols, { seed: 1, trees: 10, clip: [0.5, 2] });
    const ratio = Math.max(...dr.weights) / Math.min(...dr.weights);
    expect(ratio).toBeLessThanOrEqual(4 + 1e-9);
  });

  it('refuses unusable input and options, naming them', async () => {
    const err = async (f: () => Promise<unknown> | unknown): Promise<string> => {
      try { await f(); return ''; } catch (e) { return isKilnError(e) ? `${e.code}: ${e.message}` : String(e); }
    };
    const a = [new Float64Array([1, 2, 3, 4, 5])], b = [new Float64Array([1, 2, 3, 4, 5]), new Float64Array(5)];
    expect(await err(() => densityRatioWeights(a, b))).toBe('EVAL_INPUT_INVALID: densityRatioWeights: current has 2 feature columns but reference has 1; pass the same features in the same order');
    expect(await err(() => densityRatioWeights([new Float64Array([1, Infinity])], a))).toContain('reference[0][1] is Infinity');
    expect(await err(() => densityRatioWeights([a[0]!, new Float64Array(3)], b))).toContain('reference[1] has 3 rows but reference[0] has 5');
    expect(await err(() => densityRatioWeights(a, a, { folds: 1 }))).toBe('INVALID_ARGUMENT: densityRatioWeights: folds is 1; expected an integer in [2, 20]');
    expect(await err(() => densityRatioWeights(a, a, { clip: [0, 10] }))).toContain('clip is [0, 10]');
    expect(await err(() => densityRatioWeights(a, a, { folds: 6 }))).toContain('5 rows cannot fill 6 folds');
    expect(await err(() => shiftAwareEstimate({ label: [0, 1], pd: [0.1, 0.2] }, [1]))).toContain('shiftAwareEstimate: weights has 1 values but there are 2 rows');
    expect(await err(() => shiftAwareEstimate({ label: [0, 2], pd: [0.1, 0.2] }, [1, 1]))).toContain('ref.label[1] is 2; labels must be 0 or 1');
    expect(await err(() => shiftAwareEstimate({ label: [0, 1], pd: [0.1] }, [1, 1]))).toContain('ref.pd has 1 values but 2 were expected');
  });
});
