import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { MultiheadAttention, Params, type Ctx } from '../../src/nn/index.js';
import { checkAttentionGradients, ctxFor, randomArray } from './gradcheck.js';
import { expectClose, expectGrads, fixture, loadParams } from './torch-fixture.js';

const { dim, heads, batch, time, lengths } = fixture.config;

function build(ctx: Ctx, d = dim, h = heads, dropout = 0, seed = 2): { params: Params; attn: MultiheadAttention } {
  const params = new Params(ctx.arena);
  return { params, attn: new MultiheadAttention(params, 'attn', d, h, new Rng(seed), dropout) };
}

describe('MultiheadAttention', () => {
  it('has PyTorch parameter names and init (xavier in_proj, zero biases)', () => {
    const { params } = build(ctxFor());
    expect(params.list.map((p) => `${p.name}:${p.shape.join('x')}`)).toEqual([
      'attn.in_proj_weight:24x8', 'attn.in_proj_bias:24', 'attn.out_proj.weight:8x8', 'attn.out_proj.bias:8',
    ]);
    const w = params.get('attn.in_proj_weight').value;
    expect(Math.max(...w.map(Math.abs))).toBeLessThanOrEqual(Math.sqrt(6 / 32));
    expect(params.get('attn.in_proj_bias').value.every((v) => v === 0)).toBe(true);
  });

  it('matches PyTorch forward and backward with a key padding mask (padded queries included)', () => {
    const c = fixture.attention;
    const ctx = ctxFor();
    const { params, attn } = build(ctx);
    loadParams(params, c, 'attn.');
    const y = attn.forward(ctx, Float32Array.from(c.x), batch, time, lengths);
    expectClose(y, c.y, 'y');
    const dx = attn.backward(ctx, Float32Array.from(c.w));
    expectClose(dx, c.dx, 'dx');
    expectGrads(params, c, 'attn.');
  });

  for (const dropout of [0, 0.2]) {
    it(`has gradients that match finite differences (dropout ${dropout}, lengths 4, 2, 0)`, () => {
      const arenaCtx = ctxFor();
      const { params, attn } = build(arenaCtx, 6, 3, dropout, 5);
      checkAttentionGradients(arenaCtx, params, attn, 6, 3, 4, [4, 2, 0]);
    });
  }

  it("gives a padded sequence's valid steps the outputs of the sequence run alone, and finite padded outputs", () => {
    const ctx = ctxFor(1, false);
    const { attn } = build(ctx);
    const rng = new Rng(21);
    const T = 6;
    const x = randomArray(2 * T * dim, rng);
    for (let i = 3 * dim; i < T * dim; i++) x[i] = 1e3 * (i % 7);
    const both = attn.forward(ctx, x, 2, T, [3, 0]).slice();
    const alone = attn.forward(ctx, x.slice(0, 3 * dim), 1, 3, null);
    expectClose(both.subarray(0, 3 * dim), alone, 'valid steps', 1e-6, 1e-6);
    expect(both.every(Number.isFinite)).toBe(true);
    const bias = attn.outProj.bias!.value;
    for (let t = 0; t < T; t++) expectClose(both.subarray((T + t) * dim, (T + t + 1) * dim), bias, 'empty sequence', 0, 0);
  });

  it('draws attention dropout from ctx.rng: same seed, same bytes; another seed, another output', () => {
    const rng = new Rng(8);
    const x = randomArray(batch * time * dim, rng);
    const run = (seed: number): Float32Array => {
      const ctx = ctxFor(seed, true);
      const { attn } = build(ctx, dim, heads, 0.3);
      return attn.forward(ctx, x, batch, time, lengths).slice();
    };
    const a = run(1);
    expect(Buffer.from(run(1).buffer).equals(Buffer.from(a.buffer))).toBe(true);
    expect(Buffer.from(run(2).buffer).equals(Buffer.from(a.buffer))).toBe(false);
    const ctx = ctxFor(1, false);
    const { attn } = build(ctx, dim, heads, 0.3);
    const off = attn.forward(ctx, x, batch, time, lengths).slice();
    const ctx0 = ctxFor(1, true);
    const plain = build(ctx0, dim, heads, 0).attn.forward(ctx0, x, batch, time, lengths);
    expect([...off]).toEqual([...plain]);
  });

  it('rejects bad lengths and head counts', () => {
    const ctx = ctxFor();
    expect(() => build(ctx, 8, 3)).toThrow(/divisible/);
    const { attn } = build(ctx);
    expect(() => attn.forward(ctx, new Float32Array(2 * 3 * dim), 2, 3, [3, 4])).toThrow(/length 4/);
    expect(() => attn.forward(ctx, new Float32Array(2 * 3 * dim), 2, 3, [3])).toThrow(/1 lengths/);
  });
});
