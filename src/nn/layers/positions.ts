/**
 * Positional inputs, added to the token (event) inputs x: [batch, time, dim].
 *
 * LearnedPositions (PyTorch: x + nn.Embedding(maxLen, dim).weight[:time]): y[b, t] = x[b, t] + P[t],
 * P stored as `{name}.weight` [maxLen, dim], N(0, std^2) at init (std 1 as nn.Embedding).
 * Backward: dx = dy, P.grad[t] += sum over b of dy[b, t].
 *
 * TimeGapEncoding (time-aware positions): for each event, gap g >= 0 seconds since the previous one
 * (0 for the first; negative or NaN read as 0), u = log1p(g), and the features
 *
 *   phi(u) = [u, sin(w_1 u), cos(w_1 u), ..., sin(w_K u), cos(w_K u)],  w_k = FREQUENCIES[k] (fixed)
 *
 * (K = 4 by default: w = 1/4, 1/2, 1, 2 radians per unit of log1p-seconds, periods from about 25 down to
 * 3 in u, i.e. from the whole range of gaps, a second to years, down to a factor of e^3 in the gap).
 * y[b, t] = x[b, t] + phi(u[b, t]) W^T + bias, with a learned Dense W `{name}.weight` [dim, 1 + 2K] and
 * `{name}.bias` [dim]. Gaps are data: no gradient flows to them. Backward: dx = dy, W.grad += dy^T phi,
 * bias.grad += column sums of dy.
 */
import { KilnError } from '../../core/errors.js';
import type { Rng } from '../../core/rng.js';
import { initNormal, initUniform, type Ctx, type Param, type Params } from '../module.js';

export const TIME_FREQUENCIES: readonly number[] = [0.25, 0.5, 1, 2];

export class LearnedPositions {
  readonly weight: Param;
  private batch = 0;
  private time = 0;

  constructor(params: Params, name: string, readonly maxLen: number, readonly dim: number, rng: Rng, std = 1) {
    this.weight = params.add(`${name}.weight`, [maxLen, dim], false);
    initNormal(this.weight.value, std, rng);
  }

  forward(ctx: Ctx, x: Float32Array, batch: number, time: number): Float32Array {
    if (time > this.maxLen) throw new KilnError('INVALID_ARGUMENT', `positions: sequences of ${time} steps exceed the ${this.maxLen} learned positions`);
    const n = time * this.dim;
    const pos = this.weight.value;
    const y = ctx.arena.f32(batch * n);
    for (let b = 0; b < batch; b++) {
      const o = b * n;
      for (let i = 0; i < n; i++) y[o + i] = x[o + i]! + pos[i]!;
    }
    this.batch = batch;
    this.time = time;
    return y;
  }

  backward(ctx: Ctx, dy: Float32Array): Float32Array {
    const n = this.time * this.dim;
    const g = this.weight.grad;
    for (let b = 0; b < this.batch; b++) {
      const o = b * n;
      for (let i = 0; i < n; i++) g[i] = g[i]! + dy[o + i]!;
    }
    const dx = ctx.arena.f32(dy.length);
    dx.set(dy);
    return dx;
  }
}

/** phi(log1p(gap)) for every gap into `out` [gaps.length, 1 + 2K] (see the header). */
export function timeFeatures(gaps: ArrayLike<number>, freqs: readonly number[], out: Float32Array, n = gaps.length): void {
  const f = 1 + 2 * freqs.length;
  for (let r = 0; r < n; r++) {
    const g = gaps[r]!;
    const u = g > 0 ? Math.log1p(g) : 0;
    const o = r * f;
    out[o] = u;
    for (let k = 0; k < freqs.length; k++) {
      const a = freqs[k]! * u;
      out[o + 1 + 2 * k] = Math.sin(a);
      out[o + 2 + 2 * k] = Math.cos(a);
    }
  }
}

export class TimeGapEncoding {
  readonly weight: Param;
  readonly bias: Param;
  readonly features: number;
  private phi: Float32Array = new Float32Array(0);
  private rows = 0;

  constructor(params: Params, name: string, readonly dim: number, rng: Rng, readonly freqs: readonly number[] = TIME_FREQUENCIES) {
    this.features = 1 + 2 * freqs.length;
    this.weight = params.add(`${name}.weight`, [dim, this.features]);
    this.bias = params.add(`${name}.bias`, [dim], false);
    const bound = 1 / Math.sqrt(this.features);
    initUniform(this.weight.value, bound, rng);
    initUniform(this.bias.value, bound, rng);
  }

  /** x: [batch, time, dim], gaps: [batch, time] seconds -> [batch, time, dim]. */
  forward(ctx: Ctx, x: Float32Array, gaps: ArrayLike<number>, batch: number, time: number): Float32Array {
    const { dim, features: f } = this;
    const rows = batch * time;
    if (gaps.length < rows) throw new KilnError('INVALID_ARGUMENT', `time gaps: ${gaps.length} values for ${batch} x ${time} steps`);
    const phi = ctx.arena.f32(rows * f);
    timeFeatures(gaps, this.freqs, phi, rows);
    const y = ctx.arena.f32(rows * dim);
    const b = this.bias.value;
    for (let r = 0; r < rows; r++) {
      const o = r * dim;
      for (let j = 0; j < dim; j++) y[o + j] = x[o + j]! + b[j]!;
    }
    ctx.k.gemm(false, true, rows, dim, f, phi, f, this.weight.value, f, 1, y, dim);
    this.phi = phi;
    this.rows = rows;
    return y;
  }

  backward(ctx: Ctx, dy: Float32Array): Float32Array {
    const { dim, features: f, rows } = this;
    ctx.k.gemm(true, false, dim, f, rows, dy, dim, this.phi, f, 1, this.weight.grad, f);
    const gb = this.bias.grad;
    for (let r = 0; r < rows; r++) {
      const o = r * dim;
      for (let j = 0; j < dim; j++) gb[j] = gb[j]! + dy[o + j]!;
    }
    const dx = ctx.arena.f32(dy.length);
    dx.set(dy);
    return dx;
  }
}
