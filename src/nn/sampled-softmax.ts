/**
 * Sampled softmax: softmax cross-entropy over a large vocabulary (merchants, next event categories)
 * approximated with the true class and k negatives drawn from a proposal Q, as TensorFlow's
 * sampled_softmax_loss (Jean et al. 2015). The k negatives n_1..n_k are drawn once per batch, with
 * replacement, from Q (`ClassSampler`, from `ctx.rng`) and shared by every row.
 *
 * For a row with target t and logits z (z_c = h . W_c + b_c, `SampledLogits` computes them for the
 * sampled classes only), the corrected logits are
 *
 *   z'_0 = z_t - log Q(t),   z'_j = z_{n_j} - log Q(n_j)   (j = 1..k),
 *   z'_j = -inf where n_j = t (an "accidental hit", when `removeAccidentalHits`),
 *   loss = logsumexp(z'_0, z'_1, ..., z'_k) - z'_0,   dloss/dz_j = softmax(z')_j - [j = 0].
 *
 * (TensorFlow subtracts log(k Q): the constant log k cancels in the softmax.) Dividing by Q makes
 * sum_j exp(z_{n_j}) / Q(n_j) an unbiased estimate of k * sum_c exp(z_c); as k grows the loss (hits
 * kept) tends to the full cross-entropy plus log(k Q(t)). With every class once as a negative and hits removed it IS
 * the full cross-entropy of z - log Q (of z itself when Q is uniform). The loss is the mean over rows
 * whose target is not the ignore index.
 */
import { KilnError } from '../core/errors.js';
import type { Rng } from '../core/rng.js';
import { IGNORE_INDEX, type LossResult } from './losses.js';
import type { Ctx, Param } from './module.js';

/** Draws classes from fixed non-negative weights (normalised here) by binary search over the cumulative sums. */
export class ClassSampler {
  readonly classes: number;
  /** log Q(c); -Infinity for a class of weight 0 (never drawn, and refused as a target). */
  readonly logQ: Float64Array;
  private readonly cum: Float64Array;

  constructor(weights: ArrayLike<number>) {
    const n = weights.length;
    if (n === 0) throw new KilnError('INVALID_ARGUMENT', 'a class sampler needs at least one class');
    this.classes = n;
    this.cum = new Float64Array(n);
    this.logQ = new Float64Array(n);
    let s = 0;
    for (let c = 0; c < n; c++) {
      const w = weights[c]!;
      if (!(w >= 0 && w < Infinity)) throw new KilnError('INVALID_ARGUMENT', `class sampler: weight ${w} of class ${c} is not a finite non-negative number`);
      s += w;
      this.cum[c] = s;
    }
    if (!(s > 0)) throw new KilnError('INVALID_ARGUMENT', 'class sampler: the weights sum to 0');
    for (let c = 0; c < n; c++) this.logQ[c] = Math.log(weights[c]! / s);
  }

  /** Fills `out` with classes drawn independently from Q (one uniform from `rng` each). */
  sample(rng: Rng, out: Int32Array): Int32Array {
    const cum = this.cum;
    const total = cum[cum.length - 1]!;
    for (let i = 0; i < out.length; i++) {
      const x = rng.uniform() * total;
      let lo = 0;
      let hi = cum.length - 1;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (x < cum[mid]!) hi = mid;
        else lo = mid + 1;
      }
      out[i] = lo;
    }
    return out;
  }
}

/** k negatives for a batch, drawn from `sampler` with `ctx.rng` into an arena array. */
export function sampleNegatives(ctx: Ctx, sampler: ClassSampler, k: number): Int32Array {
  return sampler.sample(ctx.rng, ctx.arena.i32(k));
}

export interface SampledSoftmaxOptions {
  /** Mask negatives equal to the row's target (default true). */
  removeAccidentalHits?: boolean;
  ignoreIndex?: number;
}

/**
 * The sampled softmax loss. logits [rows, 1 + k]: column 0 the target's logit, column j the logit of
 * class negatives[j - 1]; logQ is log Q per class (`ClassSampler.logQ`).
 */
export function sampledSoftmax(
  ctx: Ctx, logits: Float32Array, targets: ArrayLike<number>, negatives: ArrayLike<number>, logQ: ArrayLike<number>,
  { removeAccidentalHits = true, ignoreIndex = IGNORE_INDEX }: SampledSoftmaxOptions = {},
): LossResult {
  const rows = targets.length;
  const k = negatives.length;
  const w = k + 1;
  if (logits.length !== rows * w) throw new KilnError('INVALID_ARGUMENT', `sampled softmax: ${logits.length} logits are not ${rows} rows of 1 + ${k}`);
  const negQ = new Float64Array(k);
  for (let j = 0; j < k; j++) {
    const c = negatives[j]!;
    if (!(c >= 0 && c < logQ.length)) throw new KilnError('INVALID_ARGUMENT', `sampled softmax: negative ${c} is not a class in [0, ${logQ.length})`);
    negQ[j] = logQ[c]!;
  }
  let count = 0;
  for (let r = 0; r < rows; r++) {
    const t = targets[r]!;
    if (t === ignoreIndex) continue;
    if (!Number.isInteger(t) || t < 0 || t >= logQ.length || logQ[t] === -Infinity) {
      throw new KilnError('INVALID_ARGUMENT', `sampled softmax: target ${t} of row ${r} is not a class the sampler can draw`);
    }
    count++;
  }
  const grad = ctx.arena.f32(rows * w);
  if (count === 0) return { loss: 0, grad };
  const z = new Float64Array(w);
  let sum = 0;
  for (let r = 0; r < rows; r++) {
    const t = targets[r]!;
    if (t === ignoreIndex) continue;
    const o = r * w;
    z[0] = logits[o]! - logQ[t]!;
    let max = z[0]!;
    for (let j = 1; j < w; j++) {
      z[j] = removeAccidentalHits && negatives[j - 1] === t ? -Infinity : logits[o + j]! - negQ[j - 1]!;
      if (z[j]! > max) max = z[j]!;
    }
    let s = 0;
    for (let j = 0; j < w; j++) s += Math.exp(z[j]! - max);
    const lse = max + Math.log(s);
    sum += lse - z[0]!;
    for (let j = 0; j < w; j++) grad[o + j] = (Math.exp(z[j]! - lse) - (j === 0 ? 1 : 0)) / count;
  }
  return { loss: sum / count, grad };
}

/**
 * The logits of the target and the sampled classes from hidden states h [rows, dim] and an output
 * matrix W [classes, dim] with optional bias [classes] (often tied to an embedding). Follows the layer
 * contract: backward adds into W.grad and b.grad (only the rows drawn) and returns dh.
 */
export class SampledLogits {
  private h: Float32Array = new Float32Array(0);
  private rows = 0;
  private targets: ArrayLike<number> = [];
  private negatives: ArrayLike<number> = [];
  private wNeg: Float32Array = new Float32Array(0);
  readonly dim: number;

  constructor(readonly weight: Param, readonly bias: Param | null = null, readonly ignoreIndex = IGNORE_INDEX) {
    if (weight.shape.length !== 2) throw new KilnError('INVALID_ARGUMENT', `sampled logits: weight ${weight.name} is not [classes, dim]`);
    this.dim = weight.shape[1]!;
  }

  /** h [rows, dim] -> logits [rows, 1 + k]; a row whose target is the ignore index gets 0 in column 0. */
  forward(ctx: Ctx, h: Float32Array, rows: number, targets: ArrayLike<number>, negatives: ArrayLike<number>): Float32Array {
    const d = this.dim;
    const k = negatives.length;
    const w = k + 1;
    const W = this.weight.value;
    const b = this.bias?.value;
    const wNeg = ctx.arena.f32(k * d);
    for (let j = 0; j < k; j++) wNeg.set(W.subarray(negatives[j]! * d, (negatives[j]! + 1) * d), j * d);
    const out = ctx.arena.f32(rows * w);
    if (k > 0) ctx.k.gemm(false, true, rows, k, d, h, d, wNeg, d, 0, out.subarray(1), w);
    for (let r = 0; r < rows; r++) {
      const t = targets[r]!;
      if (b) for (let j = 0; j < k; j++) out[r * w + 1 + j] = out[r * w + 1 + j]! + b[negatives[j]!]!;
      if (t === this.ignoreIndex) continue;
      let s = b ? b[t]! : 0;
      for (let i = 0; i < d; i++) s += h[r * d + i]! * W[t * d + i]!;
      out[r * w] = s;
    }
    this.h = h;
    this.rows = rows;
    this.targets = targets;
    this.negatives = negatives;
    this.wNeg = wNeg;
    return out;
  }

  /** dlogits [rows, 1 + k] -> dh [rows, dim]. */
  backward(ctx: Ctx, dlogits: Float32Array): Float32Array {
    const { dim: d, rows, h, targets, negatives, wNeg } = this;
    const k = negatives.length;
    const w = k + 1;
    const W = this.weight.value;
    const gW = this.weight.grad;
    const gb = this.bias?.grad;
    const dh = ctx.arena.f32(rows * d);
    if (k > 0) {
      ctx.k.gemm(false, false, rows, d, k, dlogits.subarray(1), w, wNeg, d, 0, dh, d);
      const dNeg = ctx.arena.f32(k * d);
      ctx.k.gemm(true, false, k, d, rows, dlogits.subarray(1), w, h, d, 0, dNeg, d);
      for (let j = 0; j < k; j++) {
        const c = negatives[j]!;
        for (let i = 0; i < d; i++) gW[c * d + i] = gW[c * d + i]! + dNeg[j * d + i]!;
        if (gb) {
          let s = 0;
          for (let r = 0; r < rows; r++) s += dlogits[r * w + 1 + j]!;
          gb[c] = gb[c]! + s;
        }
      }
    }
    for (let r = 0; r < rows; r++) {
      const t = targets[r]!;
      if (t === this.ignoreIndex) continue;
      const g = dlogits[r * w]!;
      for (let i = 0; i < d; i++) {
        dh[r * d + i] = dh[r * d + i]! + g * W[t * d + i]!;
        gW[t * d + i] = gW[t * d + i]! + g * h[r * d + i]!;
      }
      if (gb) gb[t] = gb[t]! + g;
    }
    return dh;
  }
}
