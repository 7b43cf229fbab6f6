/**
 * Inverted dropout (PyTorch's nn.Dropout): in training each value is kept with probability 1 - p and
 * scaled by 1 / (1 - p), so inference is the identity with no rescaling. The mask is drawn from
 * `ctx.rng` in index order by geometric skips: the number of kept values before the next dropped one is
 * floor(ln U / ln(1 - p)) with U = 1 - rng.uniform() in (0, 1], which makes every value dropped
 * independently with probability p (as one Bernoulli draw per value would) for about p * n draws instead
 * of n: the draws dominated a training step's non-GEMM time. Same seed, same masks.
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
  const end = from + n;
  mask.fill(1 / (1 - p), from, end);
  if (p <= 0) return;
  const inv = 1 / Math.log1p(-p);
  let i = from + Math.floor(Math.log(1 - rng.uniform()) * inv);
  while (i < end) {
    mask[i] = 0;
    i += 1 + Math.floor(Math.log(1 - rng.uniform()) * inv);
  }
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
    const mask = ctx.arena.f32u(n);
    drawMask(ctx.rng, this.p, mask);
    const y = ctx.arena.f32u(n);
    ctx.k.mul(n, x, 0, mask, 0, y, 0);
    this.mask = mask;
    return y;
  }

  backward(ctx: Ctx, dy: Float32Array): Float32Array {
    const mask = this.mask;
    if (!mask) return dy;
    const n = dy.length;
    const dx = ctx.arena.f32u(n);
    ctx.k.mul(n, dy, 0, mask, 0, dx, 0);
    return dx;
  }
}
