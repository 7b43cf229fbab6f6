import { describe, expect, it } from 'vitest';
import { KilnError } from '../../src/core/errors.js';
import { Rng } from '../../src/core/rng.js';
import { EmptyEmbedding, Params, SequencePool, type PoolKind } from '../../src/nn/index.js';
import { expectClose, gruFixture } from './fixture.js';
import { checkGradients, ctxFor, dot, randomArray } from './gradcheck.js';

const F = gruFixture.pooling;
const KINDS: PoolKind[] = ['last', 'mean', 'attention'];

describe('SequencePool', () => {
  for (const kind of KINDS) {
    it(`${kind}: matches PyTorch forward and backward (lengths ${F.lengths})`, () => {
      const ctx = ctxFor();
      const params = new Params(ctx.arena);
      const pool = new SequencePool(params, 'pool', kind, F.dim, new Rng(1));
      if (pool.query) pool.query.value.set(F.query);
      const y = pool.forward(ctx, Float32Array.from(F.x), F.batch, F.steps, Int32Array.from(F.lengths));
      expectClose(y, F[kind].y, 1e-5, 'y');
      const dx = pool.backward(ctx, Float32Array.from(F.w));
      expectClose(dx, F[kind].dx, 1e-5, 'dx');
      if (pool.query) expectClose(pool.query.grad, F[kind].dquery, 1e-5, 'dquery');
    });

    it(`${kind}: has gradients that match finite differences`, () => {
      const ctx = ctxFor();
      const rng = new Rng(11);
      const params = new Params(ctx.arena);
      const pool = new SequencePool(params, 'pool', kind, 4, rng);
      const B = 3;
      const T = 5;
      const lengths = Int32Array.from([5, 2, 0]);
      const x = randomArray(B * T * 4, rng);
      const w = randomArray(B * 4, rng);
      const loss = (): number => {
        const m = ctx.arena.mark();
        const v = dot(pool.forward(ctx, x, B, T, lengths), w);
        ctx.arena.release(m);
        return v;
      };
      pool.forward(ctx, x, B, T, lengths);
      const dx = pool.backward(ctx, w);
      const targets = [x, ...params.list.map((p) => p.value)];
      checkGradients(loss, targets, [dx, ...params.list.map((p) => p.grad)], { samples: 80 });
    });

    it(`${kind}: a padded sequence pools as it does alone, and padding is never read`, () => {
      const ctx = ctxFor();
      const rng = new Rng(12);
      const params = new Params(ctx.arena);
      const pool = new SequencePool(params, 'pool', kind, 3, rng);
      const x = randomArray(2 * 6 * 3, rng);
      const lengths = Int32Array.from([6, 3]);
      const both = pool.forward(ctx, x, 2, 6, lengths).slice();
      const alone = pool.forward(ctx, x.slice(18, 27), 1, 3, Int32Array.from([3]));
      expect([...alone]).toEqual([...both.subarray(3)]);
      const noisy = x.slice();
      noisy.fill(1e3, 27);
      expect([...pool.forward(ctx, noisy, 2, 6, lengths)]).toEqual([...both]);
      const dx = pool.backward(ctx, Float32Array.from([1, 1, 1, 1, 1, 1]));
      expect([...dx.subarray(27)].every((v) => v === 0)).toBe(true);
    });
  }

  it('registers the attention query only for attention, and rejects bad lengths', () => {
    const ctx = ctxFor();
    const params = new Params(ctx.arena);
    new SequencePool(params, 'mean', 'mean', 4, new Rng(1));
    const att = new SequencePool(params, 'att', 'attention', 4, new Rng(1));
    expect(params.list.map((p) => [p.name, p.shape])).toEqual([['att.query', [4]]]);
    expect(() => att.forward(ctx, new Float32Array(8), 1, 2, Int32Array.from([3]))).toThrow(KilnError);
    expect(() => att.forward(ctx, new Float32Array(16), 2, 2, Int32Array.from([1]))).toThrow(/lengths/);
  });
});

describe('EmptyEmbedding', () => {
  it('stands in for sequences of length 0 and takes their gradient', () => {
    const ctx = ctxFor();
    const rng = new Rng(3);
    const params = new Params(ctx.arena);
    const empty = new EmptyEmbedding(params, 'seq', 2, rng);
    expect(params.list.map((p) => [p.name, p.shape])).toEqual([['seq.empty', [2]]]);
    empty.empty.value.set([7, 8]);
    const lengths = Int32Array.from([3, 0, 1]);
    const pooled = Float32Array.from([1, 2, 0, 0, 5, 6]);
    expect([...empty.forward(ctx, pooled, lengths)]).toEqual([1, 2, 7, 8, 5, 6]);
    const d = empty.backward(ctx, Float32Array.from([1, -1, 2, 3, 4, 5]));
    expect([...d]).toEqual([1, -1, 0, 0, 4, 5]);
    expect([...empty.empty.grad]).toEqual([2, 3]);
    const w = randomArray(6, rng);
    const loss = (): number => {
      const m = ctx.arena.mark();
      const v = dot(empty.forward(ctx, pooled, lengths), w);
      ctx.arena.release(m);
      return v;
    };
    params.zeroGrad();
    empty.forward(ctx, pooled, lengths);
    const dp = empty.backward(ctx, w).slice();
    checkGradients(loss, [pooled, empty.empty.value], [dp, empty.empty.grad]);
  });
});
