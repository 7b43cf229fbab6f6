/**
 * GRU with PyTorch's exact semantics (torch.nn.GRU, one layer, one direction, batch_first) and its
 * state_dict names and layout: `weight_ih_l0` [3H, in], `weight_hh_l0` [3H, H], `bias_ih_l0` [3H],
 * `bias_hh_l0` [3H], gate blocks in the order r, z, n:
 *
 *   r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
 *   z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
 *   n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
 *   h' = (1 - z) * n + z * h
 *
 * Batches are right-padded, with a length per sequence (as a packed sequence): a step past a sequence's
 * length keeps its state unchanged and outputs zeros, so the final state is each sequence's last valid
 * state. The initial state is zero unless h0 is given.
 *
 * Forward: the input projection of every step is ONE gemm ([B*T, in] x W_ih^T, bias folded in); each
 * step then runs one gemm for W_hh over the previous state. The gate values r, z, n are kept (written
 * over the input projection, which is not needed again), with W_hn h + b_hn and every state.
 * Backward through time walks the steps in reverse, one gemm per step for dh W_hh; dW_hh is one gemm
 * over all steps' gate gradients and stored states, dW_ih one gemm over all steps, dx one gemm.
 * Every buffer comes from the arena; nothing is allocated per step.
 */
import { KilnError } from '../../core/errors.js';
import type { Rng } from '../../core/rng.js';
import { initUniform, type Ctx, type Param, type Params } from '../module.js';

export interface GruOutput {
  /** Every step's hidden state [B, T, H]; zeros past a sequence's length. */
  readonly y: Float32Array;
  /** Each sequence's last valid state [B, H] (h0 for a sequence of length 0). */
  readonly h: Float32Array;
}

export interface GruGrads {
  /** dL/dx [B, T, in]; zeros past a sequence's length. */
  readonly dx: Float32Array;
  /** dL/dh0 [B, H] (whether or not h0 was given). */
  readonly dh0: Float32Array;
}

export class GRU {
  readonly weightIh: Param;
  readonly weightHh: Param;
  readonly biasIh: Param;
  readonly biasHh: Param;
  private x: Float32Array = new Float32Array(0);
  private lengths: Int32Array | null = null;
  private batch = 0;
  private steps = 0;
  /** [B, T, 3H]: r, z, n of every step. */
  private gates: Float32Array = new Float32Array(0);
  /** [T, B, H]: W_hn h + b_hn of every step. */
  private hn: Float32Array = new Float32Array(0);
  /** [T + 1, B, H]: the state before each step, then the final state. */
  private hs: Float32Array = new Float32Array(0);

  constructor(params: Params, name: string, readonly inF: number, readonly hidden: number, rng: Rng) {
    const h3 = 3 * hidden;
    this.weightIh = params.add(`${name}.weight_ih_l0`, [h3, inF]);
    this.weightHh = params.add(`${name}.weight_hh_l0`, [h3, hidden]);
    this.biasIh = params.add(`${name}.bias_ih_l0`, [h3], false);
    this.biasHh = params.add(`${name}.bias_hh_l0`, [h3], false);
    const bound = 1 / Math.sqrt(hidden);
    for (const p of [this.weightIh, this.weightHh, this.biasIh, this.biasHh]) initUniform(p.value, bound, rng);
  }

  /**
   * x: [B, T, in]. lengths: B values in [0, T] (null: every sequence is T long). h0: [B, H] or null (zeros).
   */
  forward(ctx: Ctx, x: Float32Array, batch: number, steps: number, lengths: Int32Array | null = null, h0: Float32Array | null = null): GruOutput {
    const { inF, hidden: H } = this;
    const H3 = 3 * H;
    const B = batch;
    const T = steps;
    if (x.length !== B * T * inF) throw new KilnError('INVALID_ARGUMENT', `GRU input has ${x.length} values, expected ${B}x${T}x${inF}`);
    if (h0 && h0.length !== B * H) throw new KilnError('INVALID_ARGUMENT', `GRU h0 has ${h0.length} values, expected ${B}x${H}`);
    if (lengths) {
      if (lengths.length !== B) throw new KilnError('INVALID_ARGUMENT', `GRU got ${lengths.length} lengths for a batch of ${B}`);
      for (let b = 0; b < B; b++) {
        const L = lengths[b]!;
        if (!(L >= 0 && L <= T)) throw new KilnError('INVALID_ARGUMENT', `GRU sequence ${b} has length ${L}, outside [0, ${T}]`);
      }
    }
    const arena = ctx.arena;
    const gates = arena.f32(B * T * H3);
    const bih = this.biasIh.value;
    for (let r = 0; r < B * T; r++) gates.set(bih, r * H3);
    ctx.k.gemm(false, true, B * T, H3, inF, x, inF, this.weightIh.value, inF, 1, gates, H3);

    const hs = arena.f32((T + 1) * B * H);
    if (h0) hs.set(h0);
    const hn = arena.f32(T * B * H);
    const gh = arena.f32(B * H3);
    const y = arena.f32(B * T * H);
    const whh = this.weightHh.value;
    const bhh = this.biasHh.value;
    for (let t = 0; t < T; t++) {
      const prev = hs.subarray(t * B * H, (t + 1) * B * H);
      for (let b = 0; b < B; b++) gh.set(bhh, b * H3);
      ctx.k.gemm(false, true, B, H3, H, prev, H, whh, H, 1, gh, H3);
      const next = (t + 1) * B * H;
      for (let b = 0; b < B; b++) {
        const p = b * H;
        const o = next + p;
        if (lengths && t >= lengths[b]!) {
          for (let j = 0; j < H; j++) hs[o + j] = prev[p + j]!;
          continue;
        }
        const g = (b * T + t) * H3;
        const q = b * H3;
        const hnAt = t * B * H + p;
        const yAt = (b * T + t) * H;
        for (let j = 0; j < H; j++) {
          const r = 1 / (1 + Math.exp(-(gates[g + j]! + gh[q + j]!)));
          const z = 1 / (1 + Math.exp(-(gates[g + H + j]! + gh[q + H + j]!)));
          const hnj = gh[q + 2 * H + j]!;
          const n = Math.tanh(gates[g + 2 * H + j]! + r * hnj);
          const h = (1 - z) * n + z * prev[p + j]!;
          gates[g + j] = r;
          gates[g + H + j] = z;
          gates[g + 2 * H + j] = n;
          hn[hnAt + j] = hnj;
          hs[o + j] = h;
          y[yAt + j] = h;
        }
      }
    }
    const h = arena.f32(B * H);
    h.set(hs.subarray(T * B * H));
    this.x = x;
    this.lengths = lengths;
    this.batch = B;
    this.steps = T;
    this.gates = gates;
    this.hn = hn;
    this.hs = hs;
    return { y, h };
  }

  /**
   * dy: [B, T, H] (dL/d every output state; entries past a sequence's length are ignored), dh: [B, H]
   * (dL/d the last states) or null. Adds the weights' gradients; returns dx and dh0.
   */
  backward(ctx: Ctx, dy: Float32Array | null, dh: Float32Array | null = null): GruGrads {
    const { inF, hidden: H, lengths, gates, hn, hs } = this;
    const H3 = 3 * H;
    const B = this.batch;
    const T = this.steps;
    const arena = ctx.arena;
    const dgi = arena.f32(B * T * H3);
    const dgh = arena.f32(T * B * H3);
    let cur = arena.f32(B * H);
    let prevGrad = arena.f32(B * H);
    if (dh) cur.set(dh);
    const whh = this.weightHh.value;
    for (let t = T - 1; t >= 0; t--) {
      const stepGh = dgh.subarray(t * B * H3, (t + 1) * B * H3);
      const prev = t * B * H;
      for (let b = 0; b < B; b++) {
        const p = b * H;
        if (lengths && t >= lengths[b]!) {
          for (let j = 0; j < H; j++) prevGrad[p + j] = cur[p + j]!;
          continue;
        }
        const g = (b * T + t) * H3;
        const q = t * B * H3 + b * H3;
        const hnAt = t * B * H + p;
        const yAt = (b * T + t) * H;
        for (let j = 0; j < H; j++) {
          const d = cur[p + j]! + (dy ? dy[yAt + j]! : 0);
          const r = gates[g + j]!;
          const z = gates[g + H + j]!;
          const n = gates[g + 2 * H + j]!;
          const dn = d * (1 - z) * (1 - n * n);
          const dz = d * (hs[prev + p + j]! - n) * z * (1 - z);
          const dr = dn * hn[hnAt + j]! * r * (1 - r);
          dgi[g + j] = dr;
          dgi[g + H + j] = dz;
          dgi[g + 2 * H + j] = dn;
          dgh[q + j] = dr;
          dgh[q + H + j] = dz;
          dgh[q + 2 * H + j] = dn * r;
          prevGrad[p + j] = d * z;
        }
      }
      // prevGrad now holds the direct path d * z; the gemm through W_hh is added for the active rows.
      ctx.k.gemm(false, false, B, H, H3, stepGh, H3, whh, H, 1, prevGrad, H);
      const swap = cur;
      cur = prevGrad;
      prevGrad = swap;
    }
    ctx.k.gemm(true, false, H3, H, T * B, dgh, H3, hs, H, 1, this.weightHh.grad, H);
    ctx.k.gemm(true, false, H3, inF, B * T, dgi, H3, this.x, inF, 1, this.weightIh.grad, inF);
    columnSums(dgi, B * T, H3, this.biasIh.grad);
    columnSums(dgh, T * B, H3, this.biasHh.grad);
    const dx = arena.f32(B * T * inF);
    ctx.k.gemm(false, false, B * T, inF, H3, dgi, H3, this.weightIh.value, inF, 0, dx, inF);
    return { dx, dh0: cur };
  }
}

/** out[j] += sum over rows of m[r, j]. */
function columnSums(m: Float32Array, rows: number, cols: number, out: Float32Array): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    for (let j = 0; j < cols; j++) out[j] = out[j]! + m[o + j]!;
  }
}
