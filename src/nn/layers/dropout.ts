/**
 * Inverted dropout (PyTorch's nn.Dropout): in training each value is kept with probability 1 - p and
 * scaled by 1 / (1 - p), so inference is the identity with no rescaling. The mask draws one
 * `ctx.rng.uniform()` per value, in index order (dropped when u < p): same seed, same masks.
 *
 * When `!ctx.training` or p = 0 the layer is the identity and returns its input array itself (and the
 * backward returns dy itself): no copy. Callers treat what a layer returns as read-only, as layers
 * treat their inputs.
 */
import { KilnError } from '../../core/errors.js';
import type { Rng } from '../../core/rng.js';
import type { Ctx } from '../module.js';

/** Throws unless 0 <= p < 1. */
export function checkDropout(p: number): void {
  if (!(p >= 0 && p < 1)) throw new KilnError('INVALID_ARGUMENT', `dropout probability must be in [0, 1), got ${p}`);
}

/** mask[i] = 0 (probability p) or 1 / (1 - p), for i in [from, from + n), drawn in index order. */
export function drawMask(rng: Rng, p: number, mask: Float32Array, from = 0, n = mask.length - from): void {
  const keep = 1 / (1 - p);
  for (let i = from, end = from + n; i < end; i++) mask[i] = rng.uniform() < p ? 0 : keep;
}

export class Dropout {
  private mask: Float32Array | null = null;

  constructor(readonly p: number) {
    checkDropout(p);
  }

  /** Whether this pass drops anything. */
  active(ctx: Ctx): boolean {
    return ctx.training && this.p > 0;
  }

  forward(ctx: Ctx, x: Float32Array): Float32Array {
    if (!this.active(ctx)) {
      this.mask = null;
      return x;
    }
    const n = x.length;
    const mask = ctx.arena.f32(n);
    drawMask(ctx.rng, this.p, mask);
    const y = ctx.arena.f32(n);
    for (let i = 0; i < n; i++) y[i] = x[i]! * mask[i]!;
    this.mask = mask;
    return y;
  }

  backward(ctx: Ctx, dy: Float32Array): Float32Array {
    const mask = this.mask;
    if (!mask) return dy;
    const n = dy.length;
    const dx = ctx.arena.f32(n);
    for (let i = 0; i < n; i++) dx[i] = dy[i]! * mask[i]!;
    return dx;
  }
}
