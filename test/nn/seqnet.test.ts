import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { Arena, jsKernels, SeqNet, type Batch, type Ctx, type SeqNetSpec } from '../../src/nn/index.js';
import { checkGradients } from './gradcheck.js';

const T = 5;
function spec(encoder: SeqNetSpec['encoder'], extra: Partial<SeqNetSpec> = {}): SeqNetSpec {
  return {
    kind: 'seq', seed: 3, steps: T, numeric: 3, categorical: [{ name: 'kind', vocab: 6, dim: 2 }], encoder, pooling: 'mean', tabular: 2, trunk: 4,
    heads: [{ name: 'default', type: 'binary', weight: 1 }, { name: 'next', type: 'softmax', classes: 3, weight: 0.5 }], ...extra,
  };
}

function batch(arena: Arena, n: number, seed: number): Batch {
  const rng = new Rng(seed);
  const num = arena.f32(n * T * 3).map(() => rng.normal());
  const ids = arena.i32(n * T).map(() => 1 + rng.int(5));
  const len = arena.i32(n).map((_, i) => [T, 3, 0, 1][i % 4]!);
  const gap = arena.f32(n * T).map(() => rng.uniform() * 1000);
  const tab = arena.f32(n * 2).map(() => rng.normal());
  const y = arena.f32(n).map((_, i) => (i === 1 ? NaN : rng.uniform() < 0.5 ? 1 : 0));
  const next = arena.i32(n).map((_, i) => (i === 2 ? -1 : rng.int(3)));
  return { n, f32: { num, gap, tab, 'y.default': y }, i32: { 'c.kind': ids, len, 'y.next': next } };
}

const ENCODERS: [string, SeqNetSpec['encoder'], SeqNetSpec['pooling']][] = [
  ['GRU, last', { type: 'gru', hidden: 4 }, 'last'],
  ['GRU, attention', { type: 'gru', hidden: 4 }, 'attention'],
  ['transformer, time positions, mean', { type: 'transformer', dim: 4, layers: 2, heads: 2, ff: 8, dropout: 0, positions: 'time' }, 'mean'],
  ['transformer, learned positions, last', { type: 'transformer', dim: 4, layers: 1, heads: 2, ff: 8, dropout: 0, positions: 'learned' }, 'last'],
];

describe('SeqNet', () => {
  for (const [name, encoder, pooling] of ENCODERS) {
    it(`${name}: gradients of the multi-task loss match finite differences`, () => {
      const arena = new Arena(1 << 22, false);
      const net = new SeqNet(spec(encoder, { pooling }), arena);
      const ctx: Ctx = { arena, k: jsKernels, training: true, rng: new Rng(1) };
      const b = batch(arena, 4, 9);
      const loss = (): number => {
        const m = arena.mark();
        net.params.zeroGrad();
        const v = net.lossAndGrad(ctx, b, 0.25);
        arena.release(m);
        return v;
      };
      loss();
      const grads = net.params.list.map((p) => p.grad.slice());
      checkGradients(loss, net.params.list.map((p) => p.value), grads, { eps: 3e-3, samples: 6, atol: 1e-3, rtol: 3e-2 });
    });
  }

  it('predicts the heads then the embedding, the same for a row alone as in a batch', () => {
    const arena = new Arena(1 << 22, false);
    const net = new SeqNet(spec({ type: 'gru', hidden: 4 }), arena);
    const ctx: Ctx = { arena, k: jsKernels, training: false, rng: new Rng(1) };
    const b = batch(arena, 4, 2);
    expect(net.outputs).toBe(1 + 3 + 4);
    const all = net.predict(ctx, b).slice();
    const one: Batch = { n: 1, f32: Object.fromEntries(Object.entries(b.f32).map(([k, v]) => [k, v.subarray(0, v.length / 4)])), i32: Object.fromEntries(Object.entries(b.i32).map(([k, v]) => [k, v.subarray(0, v.length / 4)])) };
    const single = net.predict(ctx, one);
    for (let j = 0; j < net.outputs; j++) expect(single[j]).toBeCloseTo(all[j]!, 5);
  });
});
