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
 * `causal` (next-item models, SASRec): query t also masks the keys after it (softmax over keys
 * 0..min(t, L - 1)); the masked P entries are 0, so the backward below needs no change.
 *
 * Backward (per b, h; dO from out_proj): dPd = dOh Vh^T, dVh = Pd^T dOh, and the softmax backward folded
 * with dropout (P dP = Pd dPd since dP = dPd * mask and Pd = P * mask):
 *   dS = (Pd * dPd - P * rowsum(Pd * dPd)) / sqrt(hd),  dQh = dS Kh,  dKh = dS^T Qh;
 * then in_proj's gradients from d[Q K V] and x. Every matrix product goes through ctx.k (gemmAt on
 * offsets into Q K V, P and O: no per-head views), as does the softmax. P (and Pd) are allocated
 * without zeroing: only the first L columns of each row are written and only those are read.
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

  constructor(params: Params, name: string, readonly dim: number, readonly heads: number, rng: Rng, readonly dropout = 0, readonly causal = false) {
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
    const qkv = ctx.arena.f32u(rows * d3);
    const bias = this.inBias.value;
    const k = ctx.k;
    k.fillRows(rows, d3, bias, qkv, d3);
    k.gemm(false, true, rows, d3, d, x, d, this.inWeight.value, d, 1, qkv, d3);

    const drop = ctx.training && this.dropout > 0;
    const tt = T * T;
    const p = ctx.arena.f32u(batch * H * tt);
    const pd = drop ? ctx.arena.f32u(batch * H * tt) : p;
    const o = ctx.arena.f32u(rows * d);
    const scale = 1 / Math.sqrt(hd);
    for (let b = 0; b < batch; b++) {
      const L = lengths ? lengths[b]! : T;
      const base = b * T;
      if (L === 0) {
        o.fill(0, base * d, (base + T) * d);
        continue;
      }
      for (let h = 0; h < H; h++) {
        const at = (b * H + h) * tt;
        const qo = base * d3 + h * hd;
        k.gemmAt(false, true, T, L, hd, qkv, qo, d3, qkv, qo + d, d3, 0, p, at, T);
        if (this.causal) {
          for (let i = 0; i < T; i++) {
            const w = Math.min(L, i + 1);
            k.softmax(1, w, p, at + i * T, T, scale);
            if (w < L) p.fill(0, at + i * T + w, at + i * T + L);
          }
        } else {
          k.softmax(T, L, p, at, T, scale);
        }
        if (drop) {
          for (let i = 0; i < T; i++) drawMask(ctx.rng, this.dropout, pd, at + i * T, L);
          if (L === T) k.mul(tt, pd, at, p, at, pd, at);
          else for (let i = 0; i < T; i++) k.mul(L, pd, at + i * T, p, at + i * T, pd, at + i * T);
        }
        k.gemmAt(false, false, T, hd, L, pd, at, T, qkv, qo + 2 * d, d3, 0, o, base * d + h * hd, d);
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
    const ds = ctx.arena.f32u(tt);
    const k = ctx.k;
    for (let b = 0; b < batch; b++) {
      const L = lengths ? lengths[b]! : T;
      if (L === 0) continue;
      const base = b * T;
      for (let h = 0; h < H; h++) {
        const at = (b * H + h) * tt;
        const off = base * d3 + h * hd;
        const dO = base * d + h * hd;
        k.gemmAt(false, true, T, L, hd, dout, dO, d, qkv, off + 2 * d, d3, 0, ds, 0, T);
        k.gemmAt(true, false, L, hd, T, pd, at, T, dout, dO, d, 0, dqkv, off + 2 * d, d3);
        k.softmaxBackward(T, L, p, pd, at, ds, 0, T, scale);
        k.gemmAt(false, false, T, hd, L, ds, 0, T, qkv, off + d, d3, 0, dqkv, off, d3);
        k.gemmAt(true, false, L, hd, T, ds, 0, T, qkv, off, d3, 0, dqkv, off + d, d3);
      }
    }
    k.gemm(true, false, d3, d, rows, dqkv, d3, this.x, d, 1, this.inWeight.grad, d);
    k.sumRows(rows, d3, dqkv, d3, this.inBias.grad);
    const dx = ctx.arena.f32u(rows * d);
    k.gemm(false, false, rows, d, d3, dqkv, d3, this.inWeight.value, d, 0, dx, d);
    return dx;
  }
}
