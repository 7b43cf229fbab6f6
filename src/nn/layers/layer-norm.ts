/**
 * LayerNorm (PyTorch's nn.LayerNorm over the last axis): for each row x of `dim` values,
 *
 *   mean = sum(x) / dim,  var = sum((x - mean)^2) / dim (biased),  rstd = 1 / sqrt(var + eps)
 *   xhat = (x - mean) * rstd,  y = xhat * weight + bias
 *
 * Backward, per row, with g = dy * weight:
 *   dx = rstd * (g - mean(g) - xhat * mean(g * xhat)),  weight.grad += dy * xhat,  bias.grad += dy.
 * The arithmetic is ctx.k's layerNorm / layerNormBackward (the JS reference accumulates statistics in
 * float64, the WebAssembly kernel in float32); rstd is stored per row for the backward.
 */
import type { Ctx, Param, Params } from '../module.js';

export class LayerNorm {
  readonly weight: Param;
  readonly bias: Param;
  private xhat: Float32Array = new Float32Array(0);
  private rstd: Float32Array = new Float32Array(0);
  private rows = 0;

  constructor(params: Params, name: string, readonly dim: number, readonly eps = 1e-5) {
    this.weight = params.add(`${name}.weight`, [dim], false);
    this.bias = params.add(`${name}.bias`, [dim], false);
    this.weight.value.fill(1);
  }

  /** x: [rows, dim] -> [rows, dim]. */
  forward(ctx: Ctx, x: Float32Array, rows: number): Float32Array {
    const { dim, eps } = this;
    const w = this.weight.value;
    const b = this.bias.value;
    const y = ctx.arena.f32u(rows * dim);
    const xhat = ctx.arena.f32u(rows * dim);
    const rstd = ctx.arena.f32u(rows);
    ctx.k.layerNorm(rows, dim, x, w, b, eps, y, xhat, rstd);
    this.xhat = xhat;
    this.rstd = rstd;
    this.rows = rows;
    return y;
  }

  /** dy: [rows, dim] -> dx [rows, dim]; adds into weight.grad and bias.grad. */
  backward(ctx: Ctx, dy: Float32Array): Float32Array {
    const { dim, rows, xhat, rstd } = this;
    const w = this.weight.value;
    const gw = this.weight.grad;
    const gb = this.bias.grad;
    const dx = ctx.arena.f32u(rows * dim);
    ctx.k.layerNormBackward(rows, dim, dy, xhat, rstd, w, gw, gb, dx);
    return dx;
  }
}
