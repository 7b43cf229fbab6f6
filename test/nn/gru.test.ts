import { describe, expect, it } from 'vitest';
import { KilnError } from '../../src/core/errors.js';
import { Rng } from '../../src/core/rng.js';
import { GRU, Params, type Ctx } from '../../src/nn/index.js';
import { expectClose, gruFixture } from './fixture.js';
import { checkGradients, ctxFor, dot, randomArray } from './gradcheck.js';

const F = gruFixture.gru;

function build(ctx: Ctx, inF: number, hidden: number, seed = 1): { params: Params; gru: GRU } {
  const params = new Params(ctx.arena);
  return { params, gru: new GRU(params, 'gru', inF, hidden, new Rng(seed)) };
}

describe('GRU', () => {
  it('registers PyTorch state_dict names and shapes', () => {
    const { params } = build(ctxFor(), 5, 6);
    expect(params.list.map((p) => [p.name, p.shape])).toEqual([
      ['gru.weight_ih_l0', [18, 5]], ['gru.weight_hh_l0', [18, 6]], ['gru.bias_ih_l0', [18]], ['gru.bias_hh_l0', [18]],
    ]);
    expect(params.list.every((p) => p.value.every((v) => Math.abs(v) <= 1 / Math.sqrt(6)))).toBe(true);
  });

  for (const [i, c] of (F.cases as any[]).entries()) {
    it(`matches PyTorch forward and backward (case ${i}: lengths ${c.lengths}${c.h0 ? ', given h0' : ''})`, () => {
      const ctx = ctxFor();
      const { params, gru } = build(ctx, F.in, F.hidden);
      for (const [name, v] of Object.entries(F.weights as Record<string, number[]>)) params.get(`gru.${name}`).value.set(v);
      const out = gru.forward(ctx, Float32Array.from(c.x), F.batch, F.steps, Int32Array.from(c.lengths), c.h0 ? Float32Array.from(c.h0) : null);
      expectClose(out.y, c.y, 1e-5, 'y');
      expectClose(out.h, c.h, 1e-5, 'h');
      const g = gru.backward(ctx, Float32Array.from(c.wy), Float32Array.from(c.wh));
      expectClose(g.dx, c.dx, 1e-5, 'dx');
      if (c.dh0) expectClose(g.dh0, c.dh0, 1e-5, 'dh0');
      for (const [name, v] of Object.entries(c.grads as Record<string, number[]>)) expectClose(params.get(`gru.${name}`).grad, v, 1e-5, name);
    });
  }

  it('has gradients that match finite differences (lengths, h0, all weights)', () => {
    const ctx = ctxFor();
    const rng = new Rng(5);
    const { params, gru } = build(ctx, 4, 5, 2);
    const B = 3;
    const T = 6;
    const lengths = Int32Array.from([6, 3, 0]);
    const x = randomArray(B * T * 4, rng);
    const h0 = randomArray(B * 5, rng, 0.5);
    const wy = randomArray(B * T * 5, rng);
    const wh = randomArray(B * 5, rng);
    const loss = (): number => {
      const m = ctx.arena.mark();
      const { y, h } = gru.forward(ctx, x, B, T, lengths, h0);
      const v = dot(y, wy) + dot(h, wh);
      ctx.arena.release(m);
      return v;
    };
    params.zeroGrad();
    const m = ctx.arena.mark();
    gru.forward(ctx, x, B, T, lengths, h0);
    const { dx, dh0 } = gru.backward(ctx, wy, wh);
    const got = [dx.slice(), dh0.slice()];
    ctx.arena.release(m);
    const ps = params.list;
    checkGradients(loss, [x, h0, ...ps.map((p) => p.value)], [...got, ...ps.map((p) => p.grad)], { samples: 60 });
  });

  it('gives each sequence of a padded batch the result of running it alone', () => {
    const ctx = ctxFor();
    const rng = new Rng(9);
    const { params, gru } = build(ctx, 3, 4, 3);
    const B = 3;
    const T = 5;
    const lengths = Int32Array.from([5, 2, 4]);
    const x = randomArray(B * T * 3, rng);
    const wy = randomArray(B * T * 4, rng);
    const wh = randomArray(B * 4, rng);
    const batch = gru.forward(ctx, x, B, T, lengths);
    const y = batch.y.slice();
    const h = batch.h.slice();
    const dx = gru.backward(ctx, wy, wh).dx.slice();
    const batchGrads = params.list.map((p) => p.grad.slice());
    const sumGrads = params.list.map((p) => new Float64Array(p.value.length));
    for (let b = 0; b < B; b++) {
      const L = lengths[b]!;
      params.zeroGrad();
      const one = gru.forward(ctx, x.slice(b * T * 3, (b * T + L) * 3), 1, L);
      expectClose(one.y, y.subarray(b * T * 4, (b * T + L) * 4), 1e-6, `y ${b}`);
      expectClose(one.h, h.subarray(b * 4, (b + 1) * 4), 1e-6, `h ${b}`);
      expect([...y.subarray((b * T + L) * 4, (b + 1) * T * 4)].every((v) => v === 0)).toBe(true);
      const g = gru.backward(ctx, wy.slice(b * T * 4, (b * T + L) * 4), wh.slice(b * 4, (b + 1) * 4));
      expectClose(g.dx, dx.subarray(b * T * 3, (b * T + L) * 3), 1e-6, `dx ${b}`);
      expect([...dx.subarray((b * T + L) * 3, (b + 1) * T * 3)].every((v) => v === 0)).toBe(true);
      params.list.forEach((p, i) => { const s = sumGrads[i]!; p.grad.forEach((v, j) => { s[j] = s[j]! + v; }); });
    }
    batchGrads.forEach((g, i) => expectClose(g, sumGrads[i]!, 1e-5, params.list[i]!.name));
  });

  it('ignores whatever the input holds past a sequence length', () => {
    const ctx = ctxFor();
    const rng = new Rng(4);
    const { gru } = build(ctx, 3, 4);
    const lengths = Int32Array.from([2, 4]);
    const x = randomArray(2 * 4 * 3, rng);
    const a = gru.forward(ctx, x, 2, 4, lengths);
    const noisy = x.slice();
    for (let i = 2 * 3; i < 4 * 3; i++) noisy[i] = 100 * (i % 3 - 1);
    const b = gru.forward(ctx, noisy, 2, 4, lengths);
    expect(b.y).toEqual(a.y);
    expect(b.h).toEqual(a.h);
  });

  it('keeps h0 for a sequence of length 0 and passes its gradient straight back', () => {
    const ctx = ctxFor();
    const { gru } = build(ctx, 2, 3);
    const h0 = Float32Array.from([0.1, -0.2, 0.3, 0.4, 0.5, -0.6]);
    const out = gru.forward(ctx, new Float32Array(2 * 3 * 2).fill(0.5), 2, 3, Int32Array.from([0, 3]), h0);
    expect([...out.h.subarray(0, 3)]).toEqual([...h0.subarray(0, 3)]);
    expect([...out.y.subarray(0, 9)].every((v) => v === 0)).toBe(true);
    const dh = Float32Array.from([1, 2, 3, 0, 0, 0]);
    const { dh0 } = gru.backward(ctx, null, dh);
    expect([...dh0.subarray(0, 3)]).toEqual([1, 2, 3]);
    expect([...dh0.subarray(3)].every((v) => v === 0)).toBe(true);
  });

  it('rejects inputs of the wrong size and lengths out of range', () => {
    const ctx = ctxFor();
    const { gru } = build(ctx, 2, 3);
    expect(() => gru.forward(ctx, new Float32Array(5), 1, 3)).toThrow(KilnError);
    expect(() => gru.forward(ctx, new Float32Array(6), 1, 3, Int32Array.from([4]))).toThrow(/length 4/);
    expect(() => gru.forward(ctx, new Float32Array(6), 1, 3, null, new Float32Array(2))).toThrow(/h0/);
  });
});
