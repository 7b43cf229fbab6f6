/**
 * Finite-difference gradient checks for layers. `loss` runs a full forward from the current values and
 * returns sum(y * w) for a fixed random w; `analytic` runs forward + backward with dL/dy = w and returns
 * the gradients it computed. Central differences in float32 need a coarse step: eps 1e-2 on values of
 * order 1, compared with a tolerance relative to the larger magnitude.
 */
import { expect } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { Arena, jsKernels, type Ctx, type MultiheadAttention, type Params } from '../../src/nn/index.js';

export function ctxFor(seed = 1, training = true, arena = new Arena(1 << 22, false)): Ctx {
  return { arena, k: jsKernels, training, rng: new Rng(seed) };
}

export function randomArray(n: number, rng: Rng, scale = 1): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = (rng.uniform() * 2 - 1) * scale;
  return x;
}

/** Dot product in float64. */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/**
 * Checks `analytic[i]` against (f(x + eps e_i) - f(x - eps e_i)) / 2eps for up to `samples` indices of
 * each target array (all when small). `targets` are arrays the loss reads (inputs or parameter values);
 * `analytic` the gradients for them, same order.
 */
export function checkGradients(
  f: () => number, targets: Float32Array[], analytic: Float32Array[],
  { eps = 1e-2, rtol = 2e-2, atol = 2e-3, samples = 40, seed = 7 } = {},
): void {
  const rng = new Rng(seed);
  targets.forEach((x, t) => {
    const g = analytic[t]!;
    expect(g.length).toBe(x.length);
    const idx = x.length <= samples ? [...x.keys()] : Array.from({ length: samples }, () => rng.int(x.length));
    for (const i of idx) {
      const old = x[i]!;
      x[i] = old + eps;
      const up = f();
      x[i] = old - eps;
      const down = f();
      x[i] = old;
      const num = (up - down) / (2 * eps);
      const err = Math.abs(num - g[i]!);
      if (err > atol + rtol * Math.max(Math.abs(num), Math.abs(g[i]!))) {
        throw new Error(`gradient of target ${t} at ${i}: analytic ${g[i]} vs numeric ${num}`);
      }
    }
  });
}

/** A layer over [B, T, dim] inputs with per-row lengths: forward, then backward from dL/dy. */
export interface SequenceLayer {
  forward(ctx: Ctx, x: Float32Array, B: number, T: number, lens: readonly number[]): Float32Array;
  backward(ctx: Ctx, dy: Float32Array): Float32Array;
}

/**
 * The finite-difference check of a sequence layer: loss = sum(layer(x) * w), dropout masks drawn from
 * Rng(dropoutSeed) on every pass (so they repeat), against the gradients of one forward + backward.
 */
export function checkLayerGradients(
  base: Ctx, params: Params, layer: SequenceLayer, x: Float32Array, w: Float32Array, B: number, T: number, lens: readonly number[],
  dropoutSeed: number, opts?: Parameters<typeof checkGradients>[3],
): void {
  const fresh = (): Ctx => ({ ...base, rng: new Rng(dropoutSeed) });
  const loss = (): number => {
    const ctx = fresh();
    const m = ctx.arena.mark();
    const v = dot(layer.forward(ctx, x, B, T, lens), w);
    ctx.arena.release(m);
    return v;
  };
  params.zeroGrad();
  const ctx = fresh();
  const m = ctx.arena.mark();
  layer.forward(ctx, x, B, T, lens);
  const dx = layer.backward(ctx, w).slice();
  ctx.arena.release(m);
  checkGradients(loss, [x, ...params.list.map((p) => p.value)], [dx, ...params.list.map((p) => p.grad)], opts);
}

/**
 * The finite-difference check of an attention layer over [B, T, dim] inputs with the given lengths: its
 * parameters and inputs drawn from Rng(9), dropout masks from Rng(11) on every pass (so they repeat).
 */
export function checkAttentionGradients(base: Ctx, params: Params, attn: MultiheadAttention, dim: number, B: number, T: number, lens: readonly number[]): void {
  const rng = new Rng(9);
  for (const p of params.list) p.value.set(randomArray(p.value.length, rng, 0.6));
  const x = randomArray(B * T * dim, rng);
  const w = randomArray(B * T * dim, rng);
  checkLayerGradients(base, params, attn, x, w, B, T, lens, 11);
}
