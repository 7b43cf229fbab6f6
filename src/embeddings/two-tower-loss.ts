/**
 * The in-batch sampled softmax of two-tower retrieval (Yi et al. 2019, "Sampling-bias-corrected neural
 * modeling"): for a batch of n positive pairs with unit vectors u_i (user side) and v_j (item side),
 * every other item of the batch is a negative for row i. With temperature tau and, under log-q
 * correction, q_j the probability that item j is drawn into a batch (its share of the training pairs),
 *
 *   z_ij = u_i . v_j / tau - log q_j                  (log q_j = 0 without correction)
 *   z_ij = -inf where j != i and item_j = item_i      (the row's own item again: not a negative)
 *   loss = sum_i w_i (logsumexp_j z_ij - z_ii) / sum_i w_i
 *
 * Backward: dloss/dz_ij = c_i (P_ij - [j = i]) with c_i = w_i / W and P = softmax over each row, so
 * dloss/du_i = c_i / tau (sum_j P_ij v_j - v_i) and dloss/dv_j = sum_i P_ij c_i u_i / tau - c_j u_j / tau.
 *
 * All O(n^2) work is in the arena's kernels: one gemm of [u / tau ; 1] by [v ; -log q] gives z (the
 * log-q term rides in an extra column), the row softmax runs in place (float32; SIMD exp), and two
 * gemms with P give the gradients. The rest is O(n dim) in JS, plus the repeats of an item, which are
 * few. A row whose positive gets P_ii < 1e-30 (float32 would round its loss to infinity) has its loss
 * recomputed in float64 from the vectors.
 */
import type { Arena, Kernels } from '../nn/index.js';

export interface InBatchInput {
  /** [n, dim] user-side vectors, arena-allocated. */
  u: Float32Array;
  /** [n, dim] item-side vectors, arena-allocated. */
  v: Float32Array;
  n: number;
  dim: number;
  temperature: number;
  /** Item id of each row: a repeat of row i's item elsewhere in the batch is masked out of row i. */
  items: Int32Array;
  /** log q of each row's item (log-q correction), or null. */
  logQ: Float32Array | null;
  /** Weight of each row's pair, or null (all 1). */
  weights: Float32Array | null;
}

/** The batch loss; writes dloss/du into `gu` and dloss/dv into `gv` ([n, dim] each, arena-allocated). */
export function inBatchSoftmax(k: Kernels, arena: Arena, x: InBatchInput, gu: Float32Array, gv: Float32Array): number {
  const { u, v, n, dim, temperature: tau, items, logQ, weights } = x;
  const mark = arena.mark();
  const K = dim + 1;
  const inv = 1 / tau;
  const ua = arena.f32u(n * K);
  const va = arena.f32u(n * K);
  for (let r = 0; r < n; r++) {
    for (let d = 0; d < dim; d++) {
      ua[r * K + d] = u[r * dim + d]! * inv;
      va[r * K + d] = v[r * dim + d]!;
    }
    ua[r * K + dim] = 1;
    va[r * K + dim] = logQ ? -logQ[r]! : 0;
  }
  const p = arena.f32u(n * n);
  k.gemm(false, true, n, n, K, ua, K, va, K, 0, p, n);
  const masked = repeats(items, n);
  for (let t = 0; t < masked.length; t += 2) p[masked[t]! * n + masked[t + 1]!] = -Infinity;
  k.softmax(n, n, p, 0, n, 1);

  let W = 0;
  for (let i = 0; i < n; i++) W += weights ? weights[i]! : 1;
  const c = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    c[i] = W > 0 ? (weights ? weights[i]! : 1) / W : 0;
    if (c[i] === 0) continue;
    const pii = p[i * n + i]!;
    total += c[i]! * (pii >= 1e-30 ? -Math.log(pii) : exactRowLoss(ua, va, K, n, i, items));
  }
  k.gemm(false, false, n, dim, n, p, n, v, dim, 0, gu, dim);
  const wu = arena.f32u(n * dim);
  for (let i = 0; i < n; i++) {
    const ci = c[i]! * inv;
    for (let d = 0; d < dim; d++) {
      gu[i * dim + d] = ci * (gu[i * dim + d]! - v[i * dim + d]!);
      wu[i * dim + d] = ci * u[i * dim + d]!;
    }
  }
  k.gemm(true, false, n, dim, n, p, n, wu, dim, 0, gv, dim);
  for (let j = 0; j < n * dim; j++) gv[j] = gv[j]! - wu[j]!;
  arena.release(mark);
  return total;
}

/** The (row, column) pairs, flattened, of rows whose item repeats in another row of the batch. */
function repeats(items: Int32Array, n: number): number[] {
  const order = Array.from({ length: n }, (_, r) => r).sort((a, b) => items[a]! - items[b]! || a - b);
  const out: number[] = [];
  for (let lo = 0; lo < n;) {
    let hi = lo + 1;
    while (hi < n && items[order[hi]!] === items[order[lo]!]) hi++;
    for (let a = lo; a < hi; a++) for (let b = lo; b < hi; b++) if (a !== b) out.push(order[a]!, order[b]!);
    lo = hi;
  }
  return out;
}

/** Row i's loss logsumexp_j z_ij - z_ii in float64 from the augmented vectors (repeats masked). */
function exactRowLoss(ua: Float32Array, va: Float32Array, K: number, n: number, i: number, items: Int32Array): number {
  const z = new Float64Array(n);
  let max = -Infinity;
  for (let j = 0; j < n; j++) {
    if (j !== i && items[j] === items[i]) { z[j] = -Infinity; continue; }
    let s = 0;
    for (let d = 0; d < K; d++) s += ua[i * K + d]! * va[j * K + d]!;
    z[j] = s;
    if (s > max) max = s;
  }
  let sum = 0;
  for (let j = 0; j < n; j++) sum += Math.exp(z[j]! - max);
  return max + Math.log(sum) - z[i]!;
}
