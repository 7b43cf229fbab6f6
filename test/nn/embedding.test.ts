import { describe, expect, it } from 'vitest';
import { KilnError } from '../../src/core/errors.js';
import { Rng } from '../../src/core/rng.js';
import { Embedding, Params } from '../../src/nn/index.js';
import { expectClose, gruFixture } from './fixture.js';
import { checkGradients, ctxFor, dot, randomArray } from './gradcheck.js';

const F = gruFixture.embedding;

describe('Embedding', () => {
  it('registers `weight`, initialised N(0, 1) with the padding row at zero', () => {
    const ctx = ctxFor();
    const params = new Params(ctx.arena);
    const e = new Embedding(params, 'emb', 50, 8, new Rng(1), 3);
    expect(params.list.map((p) => [p.name, p.shape])).toEqual([['emb.weight', [50, 8]]]);
    const w = e.weight.value;
    expect([...w.subarray(24, 32)].every((v) => v === 0)).toBe(true);
    const mean = w.reduce((s, v) => s + v, 0) / w.length;
    const sd = Math.sqrt(w.reduce((s, v) => s + (v - mean) ** 2, 0) / w.length);
    expect(Math.abs(mean)).toBeLessThan(0.15);
    expect(sd).toBeGreaterThan(0.85);
    expect(sd).toBeLessThan(1.15);
  });

  it('matches PyTorch forward and backward, padding row without gradient', () => {
    const ctx = ctxFor();
    const params = new Params(ctx.arena);
    const e = new Embedding(params, 'emb', F.n, F.dim, new Rng(1), F.padding);
    e.weight.value.set(F.weight);
    const ids = Int32Array.from(F.ids);
    expectClose(e.forward(ctx, ids), F.y, 1e-6, 'y');
    e.backward(ctx, Float32Array.from(F.w));
    expectClose(e.weight.grad, F.grad, 1e-5, 'grad');
    expect([...e.weight.grad.subarray(0, F.dim)].every((v) => v === 0)).toBe(true);
  });

  it('has gradients that match finite differences', () => {
    const ctx = ctxFor();
    const rng = new Rng(2);
    const params = new Params(ctx.arena);
    const e = new Embedding(params, 'emb', 6, 3, rng);
    const ids = Int32Array.from([0, 5, 2, 2, 5, 5, 1]);
    const w = randomArray(ids.length * 3, rng);
    const loss = (): number => {
      const m = ctx.arena.mark();
      const v = dot(e.forward(ctx, ids), w);
      ctx.arena.release(m);
      return v;
    };
    e.forward(ctx, ids);
    e.backward(ctx, w);
    checkGradients(loss, [e.weight.value], [e.weight.grad]);
  });

  it('rejects ids and padding indices out of range', () => {
    const ctx = ctxFor();
    const params = new Params(ctx.arena);
    const e = new Embedding(params, 'emb', 4, 2, new Rng(1));
    expect(() => e.forward(ctx, Int32Array.from([1, 4]))).toThrow(KilnError);
    expect(() => e.forward(ctx, Int32Array.from([-1]))).toThrow(/outside/);
    expect(() => new Embedding(params, 'e2', 4, 2, new Rng(1), 4)).toThrow(KilnError);
  });
});
