import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { LayerNorm, Params } from '../../src/nn/index.js';
import { checkGradients, ctxFor, dot, randomArray } from './gradcheck.js';
import { expectClose, expectGrads, fixture, loadParams } from './torch-fixture.js';

describe('LayerNorm', () => {
  it('matches PyTorch forward and backward', () => {
    const c = fixture.layerNorm;
    const ctx = ctxFor();
    const params = new Params(ctx.arena);
    const ln = new LayerNorm(params, 'norm', c.dim);
    loadParams(params, c, 'norm.');
    const y = ln.forward(ctx, Float32Array.from(c.x), c.rows);
    expectClose(y, c.y, 'y');
    const dx = ln.backward(ctx, Float32Array.from(c.w));
    expectClose(dx, c.dx, 'dx');
    expectGrads(params, c, 'norm.');
  });

  it('normalises each row to mean 0 and variance 1 at unit weight', () => {
    const ctx = ctxFor();
    const ln = new LayerNorm(new Params(ctx.arena), 'n', 4);
    const y = ln.forward(ctx, new Float32Array([1, 2, 3, 4, 10, 10, 10, 14]), 2);
    for (let r = 0; r < 2; r++) {
      const row = [...y.subarray(r * 4, r * 4 + 4)];
      expect(row.reduce((a, b) => a + b) / 4).toBeCloseTo(0, 6);
      expect(row.reduce((a, b) => a + b * b, 0) / 4).toBeCloseTo(1, 4);
    }
  });

  it('has gradients that match finite differences', () => {
    const ctx = ctxFor();
    const rng = new Rng(4);
    const params = new Params(ctx.arena);
    const ln = new LayerNorm(params, 'n', 6);
    ln.weight.value.set(randomArray(6, rng, 0.5).map((v) => 1 + v));
    ln.bias.value.set(randomArray(6, rng, 0.5));
    const rows = 3;
    const x = randomArray(rows * 6, rng, 2);
    const w = randomArray(rows * 6, rng);
    const loss = (): number => {
      const m = ctx.arena.mark();
      const v = dot(ln.forward(ctx, x, rows), w);
      ctx.arena.release(m);
      return v;
    };
    params.zeroGrad();
    const m = ctx.arena.mark();
    ln.forward(ctx, x, rows);
    const dx = ln.backward(ctx, w).slice();
    ctx.arena.release(m);
    checkGradients(loss, [x, ln.weight.value, ln.bias.value], [dx, ln.weight.grad, ln.bias.grad]);
  });
});
