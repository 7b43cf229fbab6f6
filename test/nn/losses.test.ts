/**
 * The losses against PyTorch 1.13 (fixtures/optim.json, made by scripts/nn-fixtures/optim.py) to 1e-5,
 * their gradients against finite differences, and the sampled softmax against the full softmax it
 * approximates.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import {
  ClassSampler, Params, SampledLogits, bceWithLogits, ntXent, sampleNegatives, sampledSoftmax, softmaxCrossEntropy,
  type Ctx, type LossResult,
} from '../../src/nn/index.js';
import { checkGradients, ctxFor, randomArray } from './gradcheck.js';

interface LossCase { loss: number; grad: number[] }
const fx = JSON.parse(readFileSync(new URL('./fixtures/optim.json', import.meta.url), 'utf8')) as {
  bce: (LossCase & { logits: number[]; targets: number[]; weights: number[] | null })[];
  ce: (LossCase & { classes: number; logits: number[]; targets: number[] })[];
  nt_xent: (LossCase & { rows: number; dim: number; tau: number; z: number[] })[];
  sampled: LossCase & { q: number[]; targets: number[]; negatives: number[]; logits: number[] };
};

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-5): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!;
    if (Math.abs(actual[i]! - e) > tol * Math.max(1, Math.abs(e))) throw new Error(`at ${i}: ${actual[i]} vs ${e}`);
  }
}

function expectMatches(r: LossResult, c: LossCase): void {
  expectClose([r.loss], [c.loss]);
  expectClose(r.grad, c.grad);
}

/** The loss alone, for finite differences (its arena use released). */
function lossOnly(ctx: Ctx, f: () => LossResult): () => number {
  return () => {
    const m = ctx.arena.mark();
    const v = f().loss;
    ctx.arena.release(m);
    return v;
  };
}

const FD = { eps: 1e-3, rtol: 2e-3, atol: 1e-5 };

describe('binary cross-entropy with logits', () => {
  it('matches PyTorch, weighted and not, with logits of +-120', () => {
    const ctx = ctxFor();
    for (const c of fx.bce) {
      const r = bceWithLogits(ctx, Float32Array.from(c.logits), c.targets, c.weights ?? undefined);
      expectMatches(r, c);
      expect(Number.isFinite(r.loss)).toBe(true);
    }
  });

  it('has gradients that match finite differences', () => {
    const ctx = ctxFor();
    const rng = new Rng(5);
    const x = randomArray(12, rng, 3);
    const y = Array.from({ length: 12 }, (_, i) => (i % 3) / 2);
    const w = [0.5, 2, 1, 0];
    const g = bceWithLogits(ctx, x, y, w).grad.slice();
    checkGradients(lossOnly(ctx, () => bceWithLogits(ctx, x, y, w)), [x], [g], FD);
  });

  it('refuses labels outside [0, 1] and weights that do not divide the logits', () => {
    const ctx = ctxFor();
    expect(() => bceWithLogits(ctx, new Float32Array(2), [0, 1.5])).toThrow(/outside \[0, 1\]/);
    expect(() => bceWithLogits(ctx, new Float32Array(4), [0, 1, 0, 1], [1, 1, 1])).toThrow(/do not divide/);
  });
});

describe('softmax cross-entropy', () => {
  it('matches PyTorch with ignore_index -100 and logits near 1000', () => {
    const ctx = ctxFor();
    for (const c of fx.ce) expectMatches(softmaxCrossEntropy(ctx, Float32Array.from(c.logits), c.targets, c.classes), c);
  });

  it('has gradients that match finite differences, none on ignored rows', () => {
    const ctx = ctxFor();
    const x = randomArray(4 * 6, new Rng(8), 2);
    const t = [3, -100, 0, 5];
    const g = softmaxCrossEntropy(ctx, x, t, 6).grad.slice();
    expect([...g.subarray(6, 12)]).toEqual([0, 0, 0, 0, 0, 0]);
    checkGradients(lossOnly(ctx, () => softmaxCrossEntropy(ctx, x, t, 6)), [x], [g], FD);
  });

  it('gives 0 with a zero gradient when every row is ignored; refuses a class out of range', () => {
    const ctx = ctxFor();
    const r = softmaxCrossEntropy(ctx, Float32Array.from([1, 2, 3, 4]), [-100, -100], 2);
    expect(r.loss).toBe(0);
    expect([...r.grad]).toEqual([0, 0, 0, 0]);
    expect(() => softmaxCrossEntropy(ctx, new Float32Array(4), [0, 2], 2)).toThrow(/not a class/);
  });
});

describe('NT-Xent contrastive loss', () => {
  it('matches NT-Xent defined in PyTorch, loss and gradient', () => {
    const ctx = ctxFor();
    for (const c of fx.nt_xent) expectMatches(ntXent(ctx, Float32Array.from(c.z), c.rows, c.dim, c.tau), c);
  });

  it('has gradients that match finite differences', () => {
    const ctx = ctxFor();
    const z = randomArray(6 * 4, new Rng(11));
    const g = ntXent(ctx, z, 6, 4, 0.5).grad.slice();
    checkGradients(lossOnly(ctx, () => ntXent(ctx, z, 6, 4, 0.5)), [z], [g], { eps: 3e-3, rtol: 5e-3, atol: 1e-4 });
  });

  it('is lower when the paired views agree, and refuses an odd batch', () => {
    const ctx = ctxFor();
    const a = randomArray(4 * 8, new Rng(2));
    const paired = new Float32Array(8 * 8);
    paired.set(a);
    paired.set(a, 4 * 8);
    const unpaired = randomArray(8 * 8, new Rng(3));
    expect(ntXent(ctx, paired, 8, 8, 0.2).loss).toBeLessThan(ntXent(ctx, unpaired, 8, 8, 0.2).loss);
    expect(() => ntXent(ctx, new Float32Array(12), 3, 4, 0.5)).toThrow(/pairs of views/);
  });
});

describe('sampled softmax', () => {
  it('matches its formula written in PyTorch (log-Q correction, accidental hits masked)', () => {
    const ctx = ctxFor();
    const c = fx.sampled;
    const q = new ClassSampler(c.q);
    expectMatches(sampledSoftmax(ctx, Float32Array.from(c.logits), c.targets, c.negatives, q.logQ), c);
  });

  it('with every class once as a negative is the full cross-entropy of z - log Q (of z when Q is uniform)', () => {
    const ctx = ctxFor();
    const rows = 5;
    const classes = 7;
    const rng = new Rng(4);
    const z = randomArray(rows * classes, rng, 3);
    const targets = [0, 6, 3, 3, 1];
    const all = Array.from({ length: classes }, (_, c) => c);
    const gather = (): Float32Array => {
      const out = new Float32Array(rows * (classes + 1));
      for (let r = 0; r < rows; r++) {
        out[r * (classes + 1)] = z[r * classes + targets[r]!]!;
        out.set(z.subarray(r * classes, (r + 1) * classes), r * (classes + 1) + 1);
      }
      return out;
    };
    const uniform = new ClassSampler(new Array<number>(classes).fill(1));
    const full = softmaxCrossEntropy(ctx, z, targets, classes);
    const sampled = sampledSoftmax(ctx, gather(), targets, all, uniform.logQ);
    expect(sampled.loss).toBeCloseTo(full.loss, 6);
    const skewed = new ClassSampler([1, 2, 3, 4, 5, 6, 7]);
    const shifted = Float32Array.from(z, (v, i) => v - skewed.logQ[i % classes]!);
    expect(sampledSoftmax(ctx, gather(), targets, all, skewed.logQ).loss).toBeCloseTo(softmaxCrossEntropy(ctx, shifted, targets, classes).loss, 5);
  });

  it('tends to the full cross-entropy + log(k Q(t)) with many negatives; the class gradients to the full softmax', () => {
    const ctx = ctxFor(9);
    const classes = 6;
    const k = 40_000;
    const z = Float32Array.from([1.5, -0.5, 0.3, 2, -1, 0]);
    const sampler = new ClassSampler([3, 1, 1, 2, 0.5, 2.5]);
    const neg = sampleNegatives(ctx, sampler, k);
    const t = 3;
    const logits = new Float32Array(k + 1);
    logits[0] = z[t]!;
    for (let j = 0; j < k; j++) logits[j + 1] = z[neg[j]!]!;
    const r = sampledSoftmax(ctx, logits, [t], neg, sampler.logQ, { removeAccidentalHits: false });
    const full = softmaxCrossEntropy(ctx, z, [t], classes);
    expect(Math.abs(r.loss - Math.log(k) - sampler.logQ[t]! - full.loss)).toBeLessThan(0.02);
    const perClass = new Float64Array(classes);
    perClass[t] = r.grad[0]!;
    for (let j = 0; j < k; j++) perClass[neg[j]!] = perClass[neg[j]!]! + r.grad[j + 1]!;
    expectClose(perClass, full.grad, 0.01);
  });

  it('draws negatives in proportion to Q, the same for the same seed', () => {
    const sampler = new ClassSampler([1, 0, 3]);
    const draw = (): Int32Array => sampler.sample(new Rng(21), new Int32Array(20_000));
    const a = draw();
    expect(a).toEqual(draw());
    const counts = [0, 0, 0];
    for (const c of a) counts[c]!++;
    expect(counts[1]).toBe(0);
    expect(counts[2]! / a.length).toBeCloseTo(0.75, 1);
    expect(() => sampledSoftmax(ctxFor(), new Float32Array(2), [1], [0], sampler.logQ)).toThrow(/sampler can draw/);
  });

  it('SampledLogits + loss: gradients for h, W and b match finite differences', () => {
    const ctx = ctxFor();
    const rng = new Rng(6);
    const params = new Params(ctx.arena);
    const W = params.add('out.weight', [9, 4]);
    const b = params.add('out.bias', [9], false);
    W.value.set(randomArray(36, rng));
    b.value.set(randomArray(9, rng));
    const head = new SampledLogits(W, b);
    const rows = 3;
    const h = randomArray(rows * 4, rng);
    const targets = [2, -100, 5];
    const negatives = [1, 5, 8, 1];
    const logQ = new ClassSampler([1, 2, 3, 4, 5, 6, 7, 8, 9]).logQ;
    const loss = (): number => {
      const m = ctx.arena.mark();
      const v = sampledSoftmax(ctx, head.forward(ctx, h, rows, targets, negatives), targets, negatives, logQ).loss;
      ctx.arena.release(m);
      return v;
    };
    params.zeroGrad();
    const m = ctx.arena.mark();
    const logits = head.forward(ctx, h, rows, targets, negatives);
    const dh = head.backward(ctx, sampledSoftmax(ctx, logits, targets, negatives, logQ).grad).slice();
    ctx.arena.release(m);
    expect([...dh.subarray(4, 8)]).toEqual([0, 0, 0, 0]);
    checkGradients(loss, [h, W.value, b.value], [dh, W.grad, b.grad], FD);
  });
});
