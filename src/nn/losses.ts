/**
 * Classification losses over logits. Each returns the mean loss as a float64 number and dL/dlogits in
 * a new arena array of the logits' shape (the start of a backward pass). Sums run in float64; every
 * exp is taken of a non-positive number, so no logit overflows.
 *
 * - Binary cross-entropy with logits (PyTorch's BCEWithLogitsLoss, mean): for logit x, label y in
 *   [0, 1] and weight w, l = w * (max(x, 0) - x y + log(1 + exp(-|x|))), dl/dx = w (sigmoid(x) - y),
 *   averaged over all elements. Weights are per row: weight r covers the n / weights.length
 *   consecutive logits of row r (PyTorch's weight of shape [rows, 1]).
 * - Softmax cross-entropy over C classes (PyTorch's CrossEntropyLoss, mean): l = logsumexp(z) - z_t,
 *   dl/dz = softmax(z) - onehot(t), averaged over the rows whose target is not `ignoreIndex` (-100 as
 *   PyTorch). Where every row is ignored PyTorch answers NaN (0/0); here the loss is 0 with a zero
 *   gradient, so a batch with nothing to learn from leaves the model as it is.
 */
import { KilnError } from '../core/errors.js';
import type { Ctx } from './module.js';

export interface LossResult {
  /** The mean loss. */
  readonly loss: number;
  /** dLoss/dlogits, shaped as the logits, allocated from the arena. */
  readonly grad: Float32Array;
}

/** PyTorch's default ignore_index. */
export const IGNORE_INDEX = -100;

/** log(1 + exp(-|x|)) + max(x, 0): softplus(x), stable for any x. */
export function softplus(x: number): number {
  return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
}

/** 1 / (1 + exp(-x)), stable for any x. */
export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/** Mean binary cross-entropy of `logits` against `targets` (same length), optionally weighted per row. */
export function bceWithLogits(
  ctx: Ctx, logits: Float32Array, targets: ArrayLike<number>, weights?: ArrayLike<number>,
): LossResult {
  const n = logits.length;
  if (targets.length !== n) throw new KilnError('INVALID_ARGUMENT', `binary cross-entropy: ${targets.length} labels for ${n} logits`);
  let per = 1;
  if (weights) {
    if (weights.length === 0 || n % weights.length !== 0) {
      throw new KilnError('INVALID_ARGUMENT', `binary cross-entropy: ${weights.length} row weights do not divide ${n} logits`);
    }
    per = n / weights.length;
  }
  const grad = ctx.arena.f32(n);
  if (n === 0) return { loss: 0, grad };
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const x = logits[i]!;
    const y = targets[i]!;
    if (!(y >= 0 && y <= 1)) throw new KilnError('INVALID_ARGUMENT', `binary cross-entropy: label ${y} at ${i} is outside [0, 1]`);
    const w = weights ? weights[(i / per) | 0]! : 1;
    sum += w * (softplus(x) - x * y);
    grad[i] = (w * (sigmoid(x) - y)) / n;
  }
  return { loss: sum / n, grad };
}

/**
 * Mean softmax cross-entropy. logits [rows, classes] row-major, targets [rows] class ids in
 * [0, classes) or `ignoreIndex`.
 */
export function softmaxCrossEntropy(
  ctx: Ctx, logits: Float32Array, targets: ArrayLike<number>, classes: number, ignoreIndex = IGNORE_INDEX,
): LossResult {
  const rows = targets.length;
  if (logits.length !== rows * classes) {
    throw new KilnError('INVALID_ARGUMENT', `cross-entropy: ${logits.length} logits are not ${rows} rows of ${classes} classes`);
  }
  const grad = ctx.arena.f32(rows * classes);
  let count = 0;
  for (let r = 0; r < rows; r++) {
    const t = targets[r]!;
    if (t === ignoreIndex) continue;
    if (!Number.isInteger(t) || t < 0 || t >= classes) {
      throw new KilnError('INVALID_ARGUMENT', `cross-entropy: target ${t} of row ${r} is not a class in [0, ${classes}) nor the ignore index ${ignoreIndex}`);
    }
    count++;
  }
  if (count === 0) return { loss: 0, grad };
  let sum = 0;
  for (let r = 0; r < rows; r++) {
    const t = targets[r]!;
    if (t === ignoreIndex) continue;
    sum += softmaxRow(logits, r * classes, classes, t, grad, 1 / count);
  }
  return { loss: sum / count, grad };
}

/**
 * One row of softmax cross-entropy: returns logsumexp(z) - z_t over z = logits[o .. o + c) and writes
 * scale * (softmax(z) - onehot(t)) to grad[o ..].
 */
function softmaxRow(logits: Float32Array, o: number, c: number, t: number, grad: Float32Array, scale: number): number {
  let max = -Infinity;
  for (let j = 0; j < c; j++) if (logits[o + j]! > max) max = logits[o + j]!;
  let s = 0;
  for (let j = 0; j < c; j++) s += Math.exp(logits[o + j]! - max);
  const lse = max + Math.log(s);
  for (let j = 0; j < c; j++) {
    const p = Math.exp(logits[o + j]! - lse);
    grad[o + j] = (p - (j === t ? 1 : 0)) * scale;
  }
  return lse - logits[o + t]!;
}
