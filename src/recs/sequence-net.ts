/**
 * The next-item network of the `sequence` generator (GRU4Rec / SASRec style), built from kiln's nn
 * layers (no tape: each layer's forward and backward, src/nn):
 *
 *   x_t  = sqrt(d) * E[item_t]                      (item table E [items + 1, d], row `items` the padding)
 *   GRU:          h_t = GRU(dropout(x_t))
 *   transformer:  h_t = causal pre-norm encoder(dropout(x_t + position_t)), final LayerNorm
 *   logits_t = h_t W^T + b                          (W = E's item rows when tied, else its own [items, d])
 *
 * Training reads right-padded windows of a user's items with the next item as the target at every
 * position (shifted targets); the loss is the mean softmax cross-entropy over the valid positions, over
 * all items (`negatives` 0) or kiln's sampled softmax with `negatives` uniform draws per batch. A user's
 * state is h at the last position of their most recent window: score(item) = h . W_item + b_item.
 * E starts N(0, 1/d) so logits start near 0 whether tied or not.
 */
import { Rng } from '../core/rng.js';
import {
  ClassSampler, Dropout, Embedding, GRU, initNormal, kernelsFor, LearnedPositions, Params, SampledLogits, sampledSoftmax, sampleNegatives, TransformerEncoder,
  type Arena, type Ctx, type Kernels, type Param,
} from '../nn/index.js';

export interface NextItemNetSpec {
  items: number;
  cell: 'gru' | 'transformer';
  dim: number;
  maxLen: number;
  /** Transformer only. */
  layers: number;
  heads: number;
  dropout: number;
  tied: boolean;
  /** 0: full softmax over the items; else sampled softmax with this many negatives per batch. */
  negatives: number;
  seed: number;
}

export class NextItemNet {
  readonly params: Params;
  readonly kernels: Kernels;
  private readonly table: Embedding;
  private readonly drop: Dropout;
  private readonly gru: GRU | null = null;
  private readonly positions: LearnedPositions | null = null;
  private readonly encoder: TransformerEncoder | null = null;
  /** [items (+ padding when tied), d]: the output rows are its first `items`. */
  readonly outWeight: Param;
  readonly outBias: Param;
  private readonly sampler: ClassSampler | null;
  private readonly sampled: SampledLogits | null;
  private readonly scale: number;

  constructor(readonly spec: NextItemNetSpec, arena: Arena) {
    this.params = new Params(arena);
    this.kernels = kernelsFor(arena);
    const P = this.params;
    const rng = new Rng(spec.seed, 0x5e9e);
    const { items: N, dim: d } = spec;
    this.scale = Math.sqrt(d);
    this.table = new Embedding(P, 'items', N + 1, d, rng, N);
    initNormal(this.table.weight.value.subarray(0, N * d), 1 / Math.sqrt(d), rng);
    this.drop = new Dropout(spec.dropout);
    if (spec.cell === 'gru') {
      this.gru = new GRU(P, 'gru', d, d, rng);
    } else {
      this.positions = new LearnedPositions(P, 'positions', spec.maxLen, d, rng, 0.02);
      this.encoder = new TransformerEncoder(P, 'encoder', spec.layers, { dim: d, heads: spec.heads, ff: 4 * d, dropout: spec.dropout, normFirst: true, causal: true }, rng, true);
    }
    if (spec.tied) {
      this.outWeight = this.table.weight;
    } else {
      this.outWeight = P.add('out.weight', [N, d]);
      initNormal(this.outWeight.value, 1 / Math.sqrt(d), rng);
    }
    this.outBias = P.add('out.bias', [N], false);
    this.sampler = spec.negatives > 0 ? new ClassSampler(new Float64Array(N).fill(1)) : null;
    this.sampled = spec.negatives > 0 ? new SampledLogits(this.outWeight, this.outBias) : null;
  }

  /** ids [B, T] (padding = items), lengths [B] -> h [B, T, d] (rows past a length are not read). */
  encode(ctx: Ctx, ids: Int32Array, lengths: Int32Array, batch: number, steps: number): Float32Array {
    const x = this.table.forward(ctx, ids);
    const s = this.scale;
    for (let i = 0; i < x.length; i++) x[i] = x[i]! * s;
    if (this.gru) return this.gru.forward(ctx, this.drop.forward(ctx, x), batch, steps, lengths).y;
    const xp = this.positions!.forward(ctx, x, batch, steps);
    return this.encoder!.forward(ctx, this.drop.forward(ctx, xp), batch, steps, lengths);
  }

  private encodeBackward(ctx: Ctx, dh: Float32Array): void {
    let dx: Float32Array;
    if (this.gru) {
      dx = this.drop.backward(ctx, this.gru.backward(ctx, dh, null).dx);
    } else {
      dx = this.positions!.backward(ctx, this.drop.backward(ctx, this.encoder!.backward(ctx, dh)));
    }
    const s = this.scale;
    const out = ctx.arena.f32u(dx.length);
    for (let i = 0; i < dx.length; i++) out[i] = dx[i]! * s;
    this.table.backward(ctx, out);
  }

  /**
   * The mean next-item loss over the valid positions (t < lengths[b]) of a batch of windows, with the
   * gradients added into the parameters. targets [B, T]: the item after each position.
   */
  lossAndGrad(ctx: Ctx, ids: Int32Array, targets: Int32Array, lengths: Int32Array, batch: number, steps: number): number {
    const { items: N, dim: d } = this.spec;
    const k = ctx.k;
    const y = this.encode(ctx, ids, lengths, batch, steps);
    let R = 0;
    for (let b = 0; b < batch; b++) R += lengths[b]!;
    const h = ctx.arena.f32u(R * d);
    const tg = ctx.arena.i32(R);
    let r = 0;
    for (let b = 0; b < batch; b++) {
      for (let t = 0; t < lengths[b]!; t++, r++) {
        h.set(y.subarray((b * steps + t) * d, (b * steps + t + 1) * d), r * d);
        tg[r] = targets[b * steps + t]!;
      }
    }
    let loss: number;
    let dh: Float32Array;
    if (this.sampled) {
      const negs = sampleNegatives(ctx, this.sampler!, this.spec.negatives);
      const z = this.sampled.forward(ctx, h, R, tg, negs);
      const res = sampledSoftmax(ctx, z, tg, negs, this.sampler!.logQ);
      loss = res.loss;
      dh = this.sampled.backward(ctx, res.grad);
    } else {
      const W = this.outWeight.value.subarray(0, N * d);
      const logits = ctx.arena.f32u(R * N);
      k.fillRows(R, N, this.outBias.value, logits, N);
      k.gemm(false, true, R, N, d, h, d, W, d, 1, logits, N);
      const g = fullSoftmaxGrad(k, logits, tg, R, N);
      loss = g.loss;
      dh = ctx.arena.f32u(R * d);
      k.gemm(false, false, R, d, N, logits, N, W, d, 0, dh, d);
      k.gemm(true, false, N, d, R, logits, N, h, d, 1, this.outWeight.grad.subarray(0, N * d), d);
      k.sumRows(R, N, logits, N, this.outBias.grad);
    }
    const dy = ctx.arena.f32(batch * steps * d);
    r = 0;
    for (let b = 0; b < batch; b++) {
      for (let t = 0; t < lengths[b]!; t++, r++) dy.set(dh.subarray(r * d, (r + 1) * d), (b * steps + t) * d);
    }
    this.encodeBackward(ctx, dy);
    return loss;
  }

  /** The state at each window's last valid position, [B, d] (zeros for an empty window). */
  states(ctx: Ctx, ids: Int32Array, lengths: Int32Array, batch: number, steps: number): Float32Array {
    const d = this.spec.dim;
    const y = this.encode(ctx, ids, lengths, batch, steps);
    const out = new Float32Array(batch * d);
    for (let b = 0; b < batch; b++) {
      const L = lengths[b]!;
      if (L > 0) out.set(y.subarray((b * steps + L - 1) * d, (b * steps + L) * d), b * d);
    }
    return out;
  }
}

/**
 * Mean softmax cross-entropy of R rows of N logits against targets, in place: the logits become the
 * gradient (softmax(z) - onehot(t)) / R. The kernels' softmax (SIMD exp in WebAssembly) is the cost of a
 * full softmax over thousands of items, so it runs once per row instead of twice (losses.ts's reference).
 */
export function fullSoftmaxGrad(k: Kernels, logits: Float32Array, targets: Int32Array, rows: number, classes: number): { loss: number } {
  if (rows === 0) return { loss: 0 };
  k.softmax(rows, classes, logits, 0, classes, 1);
  let loss = 0;
  const inv = 1 / rows;
  for (let r = 0; r < rows; r++) {
    const o = r * classes + targets[r]!;
    loss -= Math.log(Math.max(logits[o]!, 1e-30));
    logits[o] = logits[o]! - 1;
  }
  for (let i = 0; i < rows * classes; i++) logits[i] = logits[i]! * inv;
  return { loss: loss * inv };
}
