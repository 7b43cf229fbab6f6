import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { Dropout, Params, drawMask, TransformerEncoder, TransformerEncoderLayer, type EncoderLayerOptions } from '../../src/nn/index.js';
import { checkLayerGradients, ctxFor, randomArray } from './gradcheck.js';
import { expectClose, expectGrads, fixture, loadParams } from './torch-fixture.js';

const { dim, heads, ff, layers, batch, time, lengths } = fixture.config;

function same(a: Float32Array, b: Float32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

describe('TransformerEncoder against PyTorch', () => {
  for (const c of [fixture.encoderPost, fixture.encoderPre]) {
    it(`matches forward and backward (norm_first ${c.normFirst}, ${c.activation}${c.finalNorm ? ', final norm' : ''})`, () => {
      const ctx = ctxFor();
      const params = new Params(ctx.arena);
      const opts: EncoderLayerOptions = { dim, heads, ff, dropout: 0, activation: c.activation, normFirst: c.normFirst };
      const enc = new TransformerEncoder(params, '', layers, opts, new Rng(1), c.finalNorm);
      loadParams(params, c);
      expect(params.list.map((p) => p.name)).toEqual(Object.keys(c.params));
      const y = enc.forward(ctx, Float32Array.from(c.x), batch, time, lengths);
      expectClose(y, c.y, 'y');
      const dx = enc.backward(ctx, Float32Array.from(c.w));
      expectClose(dx, c.dx, 'dx');
      expectGrads(params, c);
    });
  }
});

describe('TransformerEncoderLayer', () => {
  const variants: Array<Partial<EncoderLayerOptions>> = [
    { normFirst: false, activation: 'relu' }, { normFirst: true, activation: 'gelu' },
    { normFirst: false, activation: 'gelu' }, { normFirst: true, activation: 'relu' },
  ];
  for (const v of variants) {
    it(`has gradients that match finite differences (norm_first ${v.normFirst}, ${v.activation}, dropout 0.1)`, () => {
      const base = ctxFor();
      const params = new Params(base.arena);
      const rng = new Rng(6);
      const d = 6;
      const layer = new TransformerEncoderLayer(params, 'enc', { dim: d, heads: 2, ff: 10, dropout: 0.1, ...v }, rng);
      for (const p of params.list) if (p.name.endsWith('bias')) p.value.set(randomArray(p.value.length, rng, 0.2));
      const B = 2;
      const T = 4;
      const lens = [4, 3];
      const x = randomArray(B * T * d, rng);
      const w = randomArray(B * T * d, rng);
      for (let t = 3; t < T; t++) w.fill(0, (T + t) * d, (T + t + 1) * d);
      // eps 1e-3, not 1e-2: a step of 1e-2 crosses ReLU's kink at some pre-activation (0.003 for one here);
      // float32 round-off in the loss (~1e-6) stays far below the tolerance at this step.
      checkLayerGradients(base, params, layer, x, w, B, T, lens, 13, { samples: 30, eps: 1e-3 });
    });
  }

  it("gives a padded sequence's valid outputs (and gradients) those of the sequence run alone", () => {
    const ctx = ctxFor(1, false);
    const params = new Params(ctx.arena);
    const enc = new TransformerEncoder(params, 'enc', 2, { dim, heads, ff, normFirst: true }, new Rng(3), true);
    const rng = new Rng(4);
    const T = 7;
    const L = 4;
    const x = randomArray(2 * T * dim, rng);
    for (let i = L * dim; i < T * dim; i++) x[i] = 50 * Math.sin(i);
    const w = randomArray(T * dim, rng);
    const padded = enc.forward(ctx, x, 2, T, [L, T]).slice();
    expect(padded.every(Number.isFinite)).toBe(true);
    const dyPadded = new Float32Array(2 * T * dim);
    dyPadded.set(w.subarray(0, L * dim));
    const dxPadded = enc.backward(ctx, dyPadded).slice();
    const gPadded = params.list.map((p) => p.grad.slice());
    params.zeroGrad();
    const alone = enc.forward(ctx, x.slice(0, L * dim), 1, L, null).slice();
    const dxAlone = enc.backward(ctx, w.slice(0, L * dim));
    expectClose(padded.subarray(0, L * dim), alone, 'outputs', 1e-6, 1e-6);
    expectClose(dxPadded.subarray(0, L * dim), dxAlone, 'dx', 1e-6, 1e-6);
    expect(dxPadded.subarray(L * dim, T * dim).every((v) => v === 0)).toBe(true);
    params.list.forEach((p, i) => expectClose(gPadded[i]!, p.grad, p.name, 1e-6, 1e-5));
  });

  it('is deterministic for a seed with dropout on, and the identity dropout off in inference', () => {
    const rng = new Rng(5);
    const x = randomArray(batch * time * dim, rng);
    const w = randomArray(batch * time * dim, rng);
    const run = (seed: number, training: boolean, p: number): Float32Array[] => {
      const ctx = ctxFor(seed, training);
      const params = new Params(ctx.arena);
      const enc = new TransformerEncoder(params, '', 2, { dim, heads, ff, dropout: p }, new Rng(1));
      const y = enc.forward(ctx, x, batch, time, lengths).slice();
      const dx = enc.backward(ctx, w).slice();
      return [y, dx, ...params.list.map((q) => q.grad.slice())];
    };
    const a = run(7, true, 0.25);
    const b = run(7, true, 0.25);
    expect(a.every((t, i) => same(t, b[i]!))).toBe(true);
    expect(same(run(8, true, 0.25)[0]!, a[0]!)).toBe(false);
    const off = run(7, false, 0.25);
    const zero = run(7, true, 0);
    expect(off.every((t, i) => same(t, zero[i]!))).toBe(true);
  });
});

describe('Dropout', () => {
  it('drops about p of the values, scales the rest by 1 / (1 - p), and masks the backward the same way', () => {
    const ctx = ctxFor(3, true);
    const drop = new Dropout(0.25);
    const x = new Float32Array(20000).fill(2);
    const y = drop.forward(ctx, x);
    const kept = y.filter((v) => v !== 0);
    expect(Math.abs(1 - kept.length / x.length - 0.25)).toBeLessThan(0.015);
    expect(kept.every((v) => Math.abs(v - 2 / 0.75) < 1e-6)).toBe(true);
    const dx = drop.backward(ctx, new Float32Array(x.length).fill(1));
    for (let i = 0; i < x.length; i++) expect(dx[i]! * 2).toBeCloseTo(y[i]!, 6);
  });

  it('drops values independently with probability p (drawMask)', () => {
    for (const p of [0.05, 0.5, 0.9]) {
      const mask = new Float32Array(40000);
      drawMask(new Rng(17), p, mask, 100, 39800);
      expect(mask.subarray(0, 100).every((v) => v === 0) && mask.subarray(39900).every((v) => v === 0)).toBe(true);
      const part = mask.subarray(100, 39900);
      const n = part.length;
      let dropped = 0;
      let pairs = 0;
      for (let i = 0; i < n; i++) {
        if (part[i] === 0) dropped++;
        if (i > 0 && part[i] === 0 && part[i - 1] === 0) pairs++;
        if (part[i] !== 0) expect(part[i]).toBe(Math.fround(1 / (1 - p)));
      }
      const sd = Math.sqrt((p * (1 - p)) / n);
      expect(Math.abs(dropped / n - p)).toBeLessThan(5 * sd);
      expect(Math.abs(pairs / (n - 1) - p * p)).toBeLessThan(5 * Math.sqrt((p * p * (1 - p * p)) / n) * 2);
    }
  });

  it('is the identity when not training or p = 0, deterministic for a seed, and rejects p outside [0, 1)', () => {
    const x = randomArray(500, new Rng(1));
    const infer = ctxFor(3, false);
    expect(new Dropout(0.5).forward(infer, x)).toBe(x);
    expect(new Dropout(0).forward(ctxFor(3, true), x)).toBe(x);
    const a = new Dropout(0.5).forward(ctxFor(9, true), x).slice();
    expect(same(new Dropout(0.5).forward(ctxFor(9, true), x), a)).toBe(true);
    expect(same(new Dropout(0.5).forward(ctxFor(10, true), x), a)).toBe(false);
    expect(() => new Dropout(1)).toThrow(/\[0, 1\)/);
    expect(() => new Dropout(-0.1)).toThrow(/\[0, 1\)/);
  });
});
