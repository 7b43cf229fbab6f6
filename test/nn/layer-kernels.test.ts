/**
 * The layers on the WebAssembly kernels (the other layer tests run the JS references): the PyTorch
 * fixtures of the GRU and the transformer encoder to the same 1e-5, with every input in the arena so
 * no kernel falls back to JS; and a training pass with dropout and padding that agrees with the JS
 * kernels' (the same masks from the same seed) to float32 rounding.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { Arena, GRU, jsKernels, kernelsFor, Params, TransformerEncoder, TransformerEncoderLayer, type Ctx, type EncoderLayerOptions } from '../../src/nn/index.js';
import { expectClose as close, gruFixture } from './fixture.js';
import { expectClose, expectGrads, fixture, loadParams } from './torch-fixture.js';

function wasmCtx(training = true, seed = 1): Ctx {
  const arena = new Arena(1 << 22);
  const k = kernelsFor(arena);
  expect(k.name).toBe('wasm-simd');
  return { arena, k, training, rng: new Rng(seed) };
}

/** A copy of `v` in the arena. */
const inArena = (ctx: Ctx, v: ArrayLike<number>): Float32Array => {
  const out = ctx.arena.f32(v.length);
  out.set(v);
  return out;
};

describe('layers on the WebAssembly kernels', () => {
  const G = gruFixture.gru;
  for (const [i, c] of (G.cases as any[]).entries()) {
    it(`GRU matches PyTorch forward and backward (case ${i})`, () => {
      const ctx = wasmCtx();
      const params = new Params(ctx.arena);
      const gru = new GRU(params, 'gru', G.in, G.hidden, new Rng(1));
      for (const [name, v] of Object.entries(G.weights as Record<string, number[]>)) params.get(`gru.${name}`).value.set(v);
      const out = gru.forward(ctx, inArena(ctx, c.x), G.batch, G.steps, Int32Array.from(c.lengths), c.h0 ? inArena(ctx, c.h0) : null);
      close(out.y, c.y, 1e-5, 'y');
      close(out.h, c.h, 1e-5, 'h');
      const g = gru.backward(ctx, inArena(ctx, c.wy), inArena(ctx, c.wh));
      close(g.dx, c.dx, 1e-5, 'dx');
      if (c.dh0) close(g.dh0, c.dh0, 1e-5, 'dh0');
      for (const [name, v] of Object.entries(c.grads as Record<string, number[]>)) close(params.get(`gru.${name}`).grad, v, 1e-5, name);
    });
  }

  const { dim, heads, ff, layers, batch, time, lengths } = fixture.config;
  for (const c of [fixture.encoderPost, fixture.encoderPre]) {
    it(`transformer encoder matches PyTorch (norm_first ${c.normFirst}, ${c.activation})`, () => {
      const ctx = wasmCtx();
      const params = new Params(ctx.arena);
      const enc = new TransformerEncoder(params, '', layers, { dim, heads, ff, dropout: 0, activation: c.activation, normFirst: c.normFirst }, new Rng(1), c.finalNorm);
      loadParams(params, c);
      expectClose(enc.forward(ctx, inArena(ctx, c.x), batch, time, lengths), c.y, 'y');
      expectClose(enc.backward(ctx, inArena(ctx, c.w)), c.dx, 'dx');
      expectGrads(params, c);
    });
  }

  it('a training pass with dropout and padding agrees with the JS kernels', () => {
    const run = (wasm: boolean): { y: Float32Array; dx: Float32Array; grads: Float32Array[] } => {
      const ctx: Ctx = wasm ? wasmCtx(true, 9) : { arena: new Arena(1 << 22, false), k: jsKernels, training: true, rng: new Rng(9) };
      const params = new Params(ctx.arena);
      const opts: EncoderLayerOptions = { dim: 12, heads: 3, ff: 20, dropout: 0.2, activation: 'relu' };
      const layer = new TransformerEncoderLayer(params, 'l', opts, new Rng(4));
      const rng = new Rng(5);
      const x = ctx.arena.f32(3 * 7 * 12);
      const w = ctx.arena.f32(x.length);
      for (let i = 0; i < x.length; i++) {
        x[i] = rng.normal();
        w[i] = rng.normal();
      }
      const y = layer.forward(ctx, x, 3, 7, [7, 4, 0]).slice();
      const dx = layer.backward(ctx, w).slice();
      return { y, dx, grads: params.list.map((p) => p.grad.slice()) };
    };
    const a = run(true);
    const b = run(false);
    expectClose(a.y, b.y, 'y', 1e-5, 1e-5);
    expectClose(a.dx, b.dx, 'dx', 1e-5, 1e-5);
    a.grads.forEach((g, i) => expectClose(g, b.grads[i]!, `grad ${i}`, 1e-5, 1e-5));
    expect(a.y.every(Number.isFinite) && a.dx.every(Number.isFinite)).toBe(true);
  });
});
