import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { Dense, Params } from '../../src/nn/index.js';
import { checkGradients, ctxFor, dot, randomArray } from './gradcheck.js';

describe('Dense', () => {
  it('computes x W^T + b', () => {
    const ctx = ctxFor();
    const params = new Params(ctx.arena);
    const d = new Dense(params, 'fc', 2, 3, new Rng(1));
    d.weight.value.set([1, 2, 3, 4, 5, 6]);
    d.bias!.value.set([0.5, -1, 0]);
    const y = d.forward(ctx, new Float32Array([1, 1, 2, -1]), 2);
    expect([...y]).toEqual([3.5, 6, 11, 0.5, 1, 4]);
  });

  it('has gradients that match finite differences', () => {
    const ctx = ctxFor();
    const rng = new Rng(3);
    const params = new Params(ctx.arena);
    const d = new Dense(params, 'fc', 5, 4, rng);
    const rows = 3;
    const x = randomArray(rows * 5, rng);
    const w = randomArray(rows * 4, rng);
    const loss = (): number => {
      const m = ctx.arena.mark();
      const v = dot(d.forward(ctx, x, rows), w);
      ctx.arena.release(m);
      return v;
    };
    params.zeroGrad();
    const m = ctx.arena.mark();
    d.forward(ctx, x, rows);
    const dx = d.backward(ctx, w).slice();
    ctx.arena.release(m);
    checkGradients(loss, [x, d.weight.value, d.bias!.value], [dx, d.weight.grad, d.bias!.grad]);
  });
});
