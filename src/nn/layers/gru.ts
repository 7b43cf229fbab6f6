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
 * The gate math of each step is ctx.k's gruForward / gruBackward over each run of consecutive sequences
 * still active (all B in a batch of equal lengths). Every buffer comes from the arena; nothing is
 * allocated per step.
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
    const k = ctx.k;
    const BH = B * H;
    const gates = arena.f32u(B * T * H3);
    const bih = this.biasIh.value;
    k.fillRows(B * T, H3, bih, gates, H3);
    k.gemm(false, true, B * T, H3, inF, x, inF, this.weightIh.value, inF, 1, gates, H3);

    const hs = arena.f32u((T + 1) * BH);
    if (h0) hs.set(h0);
    else hs.fill(0, 0, BH);
    const hn = arena.f32u(T * BH);
    const gh = arena.f32u(B * H3);
    const ghBias = arena.f32u(B * H3);
    k.fillRows(B, H3, this.biasHh.value, ghBias, H3);
    // Rows past a sequence's length must read 0; when every sequence is T long each row is written.
    const full = allFull(lengths, T);
    const y = full ? arena.f32u(B * T * H) : arena.f32(B * T * H);
    const whh = this.weightHh.value;
    for (let t = 0; t < T; t++) {
      const prev = t * BH;
      const next = prev + BH;
      gh.set(ghBias);
      k.gemmAt(false, true, B, H3, H, hs, prev, H, whh, 0, H, 1, gh, 0, H3);
      // Runs of consecutive sequences still active at step t go to the kernel at once; the others keep their state.
      let b = 0;
      while (b < B) {
        if (lengths && t >= lengths[b]!) {
          hs.copyWithin(next + b * H, prev + b * H, prev + (b + 1) * H);
          b++;
          continue;
        }
        let e = b + 1;
        while (e < B && !(lengths && t >= lengths[e]!)) e++;
        k.gruForward(e - b, H, gates, (b * T + t) * H3, T * H3, gh, b * H3, hs, prev + b * H, hn, prev + b * H, hs, next + b * H, y, (b * T + t) * H, T * H);
        b = e;
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
    const k = ctx.k;
    const BH = B * H;
    const full = allFull(lengths, T);
    const dgi = full ? arena.f32u(B * T * H3) : arena.f32(B * T * H3);
    const dgh = full ? arena.f32u(T * B * H3) : arena.f32(T * B * H3);
    let cur = arena.f32(BH);
    let prevGrad = arena.f32u(BH);
    if (dh) cur.set(dh);
    const whh = this.weightHh.value;
    for (let t = T - 1; t >= 0; t--) {
      const prev = t * BH;
      let b = 0;
      while (b < B) {
        if (lengths && t >= lengths[b]!) {
          for (let j = b * H; j < (b + 1) * H; j++) prevGrad[j] = cur[j]!;
          b++;
          continue;
        }
        let e = b + 1;
        while (e < B && !(lengths && t >= lengths[e]!)) e++;
        k.gruBackward(e - b, H, cur, b * H, dy, (b * T + t) * H, T * H, gates, (b * T + t) * H3, T * H3, hs, prev + b * H, hn, prev + b * H, dgi, (b * T + t) * H3, dgh, (t * B + b) * H3, prevGrad, b * H);
        b = e;
      }
      // prevGrad now holds the direct path d * z; the gemm through W_hh is added for the active rows.
      k.gemmAt(false, false, B, H, H3, dgh, t * B * H3, H3, whh, 0, H, 1, prevGrad, 0, H);
      const swap = cur;
      cur = prevGrad;
      prevGrad = swap;
    }
    ctx.k.gemm(true, false, H3, H, T * B, dgh, H3, hs, H, 1, this.weightHh.grad, H);
    ctx.k.gemm(true, false, H3, inF, B * T, dgi, H3, this.x, inF, 1, this.weightIh.grad, inF);
    k.sumRows(B * T, H3, dgi, H3, this.biasIh.grad);
    k.sumRows(T * B, H3, dgh, H3, this.biasHh.grad);
    const dx = arena.f32u(B * T * inF);
    ctx.k.gemm(false, false, B * T, inF, H3, dgi, H3, this.weightIh.value, inF, 0, dx, inF);
    return { dx, dh0: cur };
  }
}

/** Whether every sequence runs all T steps (no lengths: yes). */
function allFull(lengths: Int32Array | null, T: number): boolean {
  if (!lengths) return true;
  for (let b = 0; b < lengths.length; b++) if (lengths[b] !== T) return false;
  return true;
}
