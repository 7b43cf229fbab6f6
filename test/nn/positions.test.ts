import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { LearnedPositions, Params, TIME_FREQUENCIES, TimeGapEncoding, timeFeatures } from '../../src/nn/index.js';
import { checkGradients, ctxFor, dot, randomArray } from './gradcheck.js';
import { expectClose, expectGrads, fixture, loadParams } from './torch-fixture.js';

const { dim, batch, time } = fixture.config;

describe('positional inputs against PyTorch', () => {
  it('match forward and backward (learned positions plus the time-gap projection)', () => {
    const c = fixture.positions;
    expect(c.freqs).toEqual([...TIME_FREQUENCIES]);
    const ctx = ctxFor();
    const params = new Params(ctx.arena);
    const pos = new LearnedPositions(params, 'pos', c.maxLen, dim, new Rng(1));
    const tg = new TimeGapEncoding(params, 'time', dim, new Rng(2));
    loadParams(params, c);
    const gaps = Float32Array.from(c.gaps);
    const y = tg.forward(ctx, pos.forward(ctx, Float32Array.from(c.x), batch, time), gaps, batch, time);
    expectClose(y, c.y, 'y');
    const dx = pos.backward(ctx, tg.backward(ctx, Float32Array.from(c.w)));
    expectClose(dx, c.dx, 'dx');
    expectGrads(params, c);
  });
});

describe('TimeGapEncoding', () => {
  it('computes [u, sin(w u), cos(w u)...] of u = log1p(gap), reading negative and NaN gaps as 0', () => {
    const out = new Float32Array(3 * 9);
    timeFeatures([86400, -5, NaN], TIME_FREQUENCIES, out);
    const u = Math.log1p(86400);
    expect(out[0]).toBeCloseTo(u, 5);
    TIME_FREQUENCIES.forEach((w, k) => {
      expect(out[1 + 2 * k]).toBeCloseTo(Math.sin(w * u), 6);
      expect(out[2 + 2 * k]).toBeCloseTo(Math.cos(w * u), 6);
    });
    expect([...out.subarray(9)]).toEqual([0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 0, 1, 0, 1, 0, 1, 0, 1]);
  });

  it('has gradients that match finite differences', () => {
    const ctx = ctxFor();
    const rng = new Rng(12);
    const params = new Params(ctx.arena);
    const tg = new TimeGapEncoding(params, 'time', 5, rng);
    const B = 2;
    const T = 3;
    const x = randomArray(B * T * 5, rng);
    const gaps = Float32Array.from({ length: B * T }, () => Math.exp(rng.uniform() * 15));
    const w = randomArray(B * T * 5, rng);
    const loss = (): number => {
      const m = ctx.arena.mark();
      const v = dot(tg.forward(ctx, x, gaps, B, T), w);
      ctx.arena.release(m);
      return v;
    };
    params.zeroGrad();
    const m = ctx.arena.mark();
    tg.forward(ctx, x, gaps, B, T);
    const dx = tg.backward(ctx, w).slice();
    ctx.arena.release(m);
    checkGradients(loss, [x, tg.weight.value, tg.bias.value], [dx, tg.weight.grad, tg.bias.grad]);
  });
});

describe('LearnedPositions', () => {
  it('adds row t of the table at step t, has gradients that match finite differences, and rejects long sequences', () => {
    const ctx = ctxFor();
    const rng = new Rng(13);
    const params = new Params(ctx.arena);
    const pos = new LearnedPositions(params, 'pos', 5, 4, rng);
    expect(params.list[0]!.shape).toEqual([5, 4]);
    const B = 2;
    const T = 3;
    const x = randomArray(B * T * 4, rng);
    const y = pos.forward(ctx, x, B, T);
    expect(y[T * 4 + 6]).toBeCloseTo(x[T * 4 + 6]! + pos.weight.value[6]!, 6);
    const w = randomArray(B * T * 4, rng);
    const loss = (): number => {
      const m = ctx.arena.mark();
      const v = dot(pos.forward(ctx, x, B, T), w);
      ctx.arena.release(m);
      return v;
    };
    params.zeroGrad();
    const m = ctx.arena.mark();
    pos.forward(ctx, x, B, T);
    const dx = pos.backward(ctx, w).slice();
    ctx.arena.release(m);
    checkGradients(loss, [x, pos.weight.value], [dx, pos.weight.grad]);
    expect(pos.weight.grad.subarray(T * 4).every((v) => v === 0)).toBe(true);
    expect(() => pos.forward(ctx, new Float32Array(6 * 4), 1, 6)).toThrow(/exceed the 5/);
  });
});
