/**
 * Dense (PyTorch's Linear): y = x W^T + b over the last axis, W stored [out, in]. Any leading axes are
 * flattened into rows.
 */
import type { Rng } from '../../core/rng.js';
import { initUniform, type Ctx, type Param, type Params } from '../module.js';

export class Dense {
  readonly weight: Param;
  readonly bias: Param | null;
  private x: Float32Array = new Float32Array(0);
  private rows = 0;

  constructor(params: Params, name: string, readonly inF: number, readonly outF: number, rng: Rng, bias = true) {
    this.weight = params.add(`${name}.weight`, [outF, inF]);
    this.bias = bias ? params.add(`${name}.bias`, [outF], false) : null;
    const bound = 1 / Math.sqrt(inF);
    initUniform(this.weight.value, bound, rng);
    if (this.bias) initUniform(this.bias.value, bound, rng);
  }

  /** x: [rows, inF] -> [rows, outF]. */
  forward(ctx: Ctx, x: Float32Array, rows: number): Float32Array {
    const { inF, outF } = this;
    const y = ctx.arena.f32u(rows * outF);
    if (this.bias) {
      const b = this.bias.value;
      ctx.k.fillRows(rows, outF, b, y, outF);
      ctx.k.gemm(false, true, rows, outF, inF, x, inF, this.weight.value, inF, 1, y, outF);
    } else {
      ctx.k.gemm(false, true, rows, outF, inF, x, inF, this.weight.value, inF, 0, y, outF);
    }
    this.x = x;
    this.rows = rows;
    return y;
  }

  /** dy: [rows, outF] -> dx [rows, inF]; W.grad += dy^T x, b.grad += column sums of dy. */
  backward(ctx: Ctx, dy: Float32Array): Float32Array {
    const { inF, outF, rows } = this;
    ctx.k.gemm(true, false, outF, inF, rows, dy, outF, this.x, inF, 1, this.weight.grad, inF);
    if (this.bias) ctx.k.sumRows(rows, outF, dy, outF, this.bias.grad);
    const dx = ctx.arena.f32u(rows * inF);
    ctx.k.gemm(false, false, rows, inF, outF, dy, outF, this.weight.value, inF, 0, dx, inF);
    return dx;
  }
}
