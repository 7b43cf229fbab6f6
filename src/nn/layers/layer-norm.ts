/**
 * LayerNorm (PyTorch's nn.LayerNorm over the last axis): for each row x of `dim` values,
 *
 *   mean = sum(x) / dim,  var = sum((x - mean)^2) / dim (biased),  rstd = 1 / sqrt(var + eps)
 *   xhat = (x - mean) * rstd,  y = xhat * weight + bias
 *
 * Backward, per row, with g = dy * weight:
 *   dx = rstd * (g - mean(g) - xhat * mean(g * xhat)),  weight.grad += dy * xhat,  bias.grad += dy.
 * Statistics are accumulated in float64 (JavaScript numbers) and stored per row for the backward.
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
    const y = ctx.arena.f32(rows * dim);
    const xhat = ctx.arena.f32(rows * dim);
    const rstd = ctx.arena.f32(rows);
    for (let r = 0; r < rows; r++) {
      const o = r * dim;
      let s = 0;
      for (let j = 0; j < dim; j++) s += x[o + j]!;
      const mean = s / dim;
      let v = 0;
      for (let j = 0; j < dim; j++) {
        const c = x[o + j]! - mean;
        v += c * c;
      }
      const rs = 1 / Math.sqrt(v / dim + eps);
      rstd[r] = rs;
      for (let j = 0; j < dim; j++) {
        const h = (x[o + j]! - mean) * rs;
        xhat[o + j] = h;
        y[o + j] = h * w[j]! + b[j]!;
      }
    }
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
    const dx = ctx.arena.f32(rows * dim);
    for (let r = 0; r < rows; r++) {
      const o = r * dim;
      let sg = 0;
      let sgh = 0;
      for (let j = 0; j < dim; j++) {
        const d = dy[o + j]!;
        const h = xhat[o + j]!;
        const g = d * w[j]!;
        sg += g;
        sgh += g * h;
        gw[j] = gw[j]! + d * h;
        gb[j] = gb[j]! + d;
      }
      const mg = sg / dim;
      const mgh = sgh / dim;
      const rs = rstd[r]!;
      for (let j = 0; j < dim; j++) dx[o + j] = rs * (dy[o + j]! * w[j]! - mg - xhat[o + j]! * mgh);
    }
    return dx;
  }
}
