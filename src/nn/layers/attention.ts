/**
 * Multi-head self-attention with PyTorch's nn.MultiheadAttention semantics and parameter layout
 * (batch_first, query = key = value = x):
 *
 *   [Q K V] = x in_proj_weight^T + in_proj_bias            one gemm over all B*T rows, [B*T, 3d]
 *   per (batch b, head h), Qh = Q[:, h*hd:(h+1)*hd] (hd = d / heads), same for K, V:
 *     S = Qh Kh^T / sqrt(hd)  over the L = lengths[b] valid keys (right padding: keys t >= L masked)
 *     P = softmax(S) along keys, Pd = dropout(P)  (attention dropout, training only)
 *     Oh = Pd Vh                                    written into columns h*hd.. of O [B*T, d]
 *   y = O out_proj.weight^T + out_proj.bias
 *
 * Padded queries (t >= L) attend to the valid keys like any other query, so their outputs are finite
 * (and ignored downstream). A sequence of length 0 attends to nothing: its O rows are 0.
 *
 * Backward (per b, h; dO from out_proj): dPd = dOh Vh^T, dVh = Pd^T dOh, and the softmax backward folded
 * with dropout (P dP = Pd dPd since dP = dPd * mask and Pd = P * mask):
 *   dS = (Pd * dPd - P * rowsum(Pd * dPd)) / sqrt(hd),  dQh = dS Kh,  dKh = dS^T Qh;
 * then in_proj's gradients from d[Q K V] and x. Every matrix product goes through ctx.k.gemm.
 */
import { KilnError } from '../../core/errors.js';
import type { Rng } from '../../core/rng.js';
import { initXavier, type Ctx, type Param, type Params } from '../module.js';
import { Dense } from './dense.js';
import { checkDropout, drawMask } from './dropout.js';

export class MultiheadAttention {
  readonly inWeight: Param;
  readonly inBias: Param;
  readonly outProj: Dense;
  readonly headDim: number;
  private x: Float32Array = new Float32Array(0);
  private qkv: Float32Array = new Float32Array(0);
  private p: Float32Array = new Float32Array(0);
  private pd: Float32Array = new Float32Array(0);
  private lengths: ArrayLike<number> | null = null;
  private batch = 0;
  private time = 0;

  constructor(params: Params, name: string, readonly dim: number, readonly heads: number, rng: Rng, readonly dropout = 0) {
    if (!(heads >= 1 && dim % heads === 0)) throw new KilnError('INVALID_ARGUMENT', `attention: dim ${dim} is not divisible by heads ${heads}`);
    checkDropout(dropout);
    this.headDim = dim / heads;
    this.inWeight = params.add(`${name}.in_proj_weight`, [3 * dim, dim]);
    this.inBias = params.add(`${name}.in_proj_bias`, [3 * dim], false);
    initXavier(this.inWeight.value, dim, 3 * dim, rng);
    this.outProj = new Dense(params, `${name}.out_proj`, dim, dim, rng);
    this.outProj.bias!.value.fill(0);
  }

  /**
   * x: [batch, time, dim] -> [batch, time, dim]. `lengths[b]` valid steps of sequence b (right padding);
   * null: all `time` steps valid. The lengths array is kept for the backward: do not change it between.
   */
  forward(ctx: Ctx, x: Float32Array, batch: number, time: number, lengths: ArrayLike<number> | null = null): Float32Array {
    const { dim: d, heads: H, headDim: hd } = this;
    const d3 = 3 * d;
    const T = time;
    const rows = batch * T;
    if (lengths) {
      if (lengths.length !== batch) throw new KilnError('INVALID_ARGUMENT', `attention: ${lengths.length} lengths for a batch of ${batch}`);
      for (let b = 0; b < batch; b++) {
        const L = lengths[b]!;
        if (!(Number.isInteger(L) && L >= 0 && L <= T)) throw new KilnError('INVALID_ARGUMENT', `attention: length ${L} of sequence ${b} is not in [0, ${T}]`);
      }
    }
    const qkv = ctx.arena.f32(rows * d3);
    const bias = this.inBias.value;
    for (let r = 0; r < rows; r++) qkv.set(bias, r * d3);
    ctx.k.gemm(false, true, rows, d3, d, x, d, this.inWeight.value, d, 1, qkv, d3);

    const drop = ctx.training && this.dropout > 0;
    const tt = T * T;
    const p = ctx.arena.f32(batch * H * tt);
    const pd = drop ? ctx.arena.f32(batch * H * tt) : p;
    const o = ctx.arena.f32(rows * d);
    const scale = 1 / Math.sqrt(hd);
    for (let b = 0; b < batch; b++) {
      const L = lengths ? lengths[b]! : T;
      if (L === 0) continue;
      const base = b * T;
      for (let h = 0; h < H; h++) {
        const at = (b * H + h) * tt;
        const s = p.subarray(at);
        const q = qkv.subarray(base * d3 + h * hd);
        const k = qkv.subarray(base * d3 + d + h * hd);
        const v = qkv.subarray(base * d3 + 2 * d + h * hd);
        ctx.k.gemm(false, true, T, L, hd, q, d3, k, d3, 0, s, T);
        softmaxRows(s, T, L, T, scale);
        if (drop) {
          for (let i = 0; i < T; i++) {
            const r0 = at + i * T;
            drawMask(ctx.rng, this.dropout, pd, r0, L);
            for (let j = r0; j < r0 + L; j++) pd[j] = pd[j]! * p[j]!;
          }
        }
        ctx.k.gemm(false, false, T, hd, L, pd.subarray(at), T, v, d3, 0, o.subarray(base * d + h * hd), d);
      }
    }
    this.x = x;
    this.qkv = qkv;
    this.p = p;
    this.pd = pd;
    this.lengths = lengths;
    this.batch = batch;
    this.time = T;
    return this.outProj.forward(ctx, o, rows);
  }

  /** dy: [batch, time, dim] -> dx; adds into in_proj and out_proj gradients. */
  backward(ctx: Ctx, dy: Float32Array): Float32Array {
    const { dim: d, heads: H, headDim: hd, batch, time: T, qkv, p, pd, lengths } = this;
    const d3 = 3 * d;
    const rows = batch * T;
    const tt = T * T;
    const scale = 1 / Math.sqrt(hd);
    const dout = this.outProj.backward(ctx, dy);
    const dqkv = ctx.arena.f32(rows * d3);
    const ds = ctx.arena.f32(tt);
    for (let b = 0; b < batch; b++) {
      const L = lengths ? lengths[b]! : T;
      if (L === 0) continue;
      const base = b * T;
      for (let h = 0; h < H; h++) {
        const at = (b * H + h) * tt;
        const off = base * d3 + h * hd;
        const q = qkv.subarray(off);
        const k = qkv.subarray(off + d);
        const v = qkv.subarray(off + 2 * d);
        const dO = dout.subarray(base * d + h * hd);
        const pdh = pd.subarray(at);
        ctx.k.gemm(false, true, T, L, hd, dO, d, v, d3, 0, ds, T);
        ctx.k.gemm(true, false, L, hd, T, pdh, T, dO, d, 0, dqkv.subarray(off + 2 * d), d3);
        for (let i = 0; i < T; i++) {
          const r = i * T;
          const pr = at + r;
          let sum = 0;
          for (let j = 0; j < L; j++) sum += pd[pr + j]! * ds[r + j]!;
          for (let j = 0; j < L; j++) ds[r + j] = (pd[pr + j]! * ds[r + j]! - p[pr + j]! * sum) * scale;
        }
        ctx.k.gemm(false, false, T, hd, L, ds, T, k, d3, 0, dqkv.subarray(off), d3);
        ctx.k.gemm(true, false, L, hd, T, ds, T, q, d3, 0, dqkv.subarray(off + d), d3);
      }
    }
    ctx.k.gemm(true, false, d3, d, rows, dqkv, d3, this.x, d, 1, this.inWeight.grad, d);
    const gb = this.inBias.grad;
    for (let r = 0; r < rows; r++) {
      const o = r * d3;
      for (let j = 0; j < d3; j++) gb[j] = gb[j]! + dqkv[o + j]!;
    }
    const dx = ctx.arena.f32(rows * d);
    ctx.k.gemm(false, false, rows, d, d3, dqkv, d3, this.inWeight.value, d, 0, dx, d);
    return dx;
  }
}

/** Row-wise softmax of scale * s over the first `cols` entries of each of `rows` rows (stride ld), in place. */
export function softmaxRows(s: Float32Array, rows: number, cols: number, ld: number, scale: number): void {
  for (let i = 0; i < rows; i++) {
    const o = i * ld;
    let m = -Infinity;
    for (let j = 0; j < cols; j++) {
      const z = s[o + j]! * scale;
      if (z > m) m = z;
    }
    let sum = 0;
    for (let j = 0; j < cols; j++) {
      const e = Math.exp(s[o + j]! * scale - m);
      s[o + j] = e;
      sum += e;
    }
    const inv = 1 / sum;
    for (let j = 0; j < cols; j++) s[o + j] = s[o + j]! * inv;
  }
}
