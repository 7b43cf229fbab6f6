/**
 * NT-Xent, the InfoNCE-style contrastive loss of SimCLR and CoLES, over a batch of paired embeddings
 * z [2N, D]: rows i and i + N are two views (sub-sequences) of one entity, every other row of the batch
 * is a negative. With u_i = z_i / max(|z_i|, 1e-12) (PyTorch's F.normalize) and temperature tau,
 *
 *   S_ij = u_i . u_j / tau,   loss_i = logsumexp_{j != i} S_ij - S_{i, p(i)},   p(i) = (i + N) mod 2N,
 *   loss = mean_i loss_i.
 *
 * Backward: G_ij = dloss/dS_ij = (softmax_{j != i}(S_i.)_j - [j = p(i)]) / 2N (G_ii = 0);
 * dloss/du = (G + G^T) U / tau; through the normalisation dz_i = (du_i - u_i (u_i . du_i)) / |z_i|
 * (du_i / 1e-12 where |z_i| < 1e-12). The similarity and the two products run on ctx.k.gemm.
 */
import { KilnError } from '../core/errors.js';
import type { LossResult } from './losses.js';
import type { Ctx } from './module.js';

/** F.normalize's floor on the norm. */
const NORM_EPS = 1e-12;

/** Mean NT-Xent over z [rows, dim] (rows = 2N, views i and i + N paired); the gradient is dloss/dz. */
export function ntXent(ctx: Ctx, z: Float32Array, rows: number, dim: number, tau: number): LossResult {
  if (rows < 2 || rows % 2 !== 0) throw new KilnError('INVALID_ARGUMENT', `contrastive loss: ${rows} rows are not pairs of views (2N, N >= 1)`);
  if (z.length !== rows * dim) throw new KilnError('INVALID_ARGUMENT', `contrastive loss: ${z.length} values are not ${rows} rows of ${dim}`);
  if (!(tau > 0)) throw new KilnError('INVALID_ARGUMENT', `contrastive loss: temperature ${tau} must be positive`);
  const n = rows / 2;
  const grad = ctx.arena.f32(rows * dim);
  const after = ctx.arena.mark();
  const u = ctx.arena.f32(rows * dim);
  const norms = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    let s = 0;
    for (let d = 0; d < dim; d++) s += z[i * dim + d]! * z[i * dim + d]!;
    const nrm = Math.max(Math.sqrt(s), NORM_EPS);
    norms[i] = nrm;
    for (let d = 0; d < dim; d++) u[i * dim + d] = z[i * dim + d]! / nrm;
  }
  const sim = ctx.arena.f32(rows * rows);
  ctx.k.gemm(false, true, rows, rows, dim, u, dim, u, dim, 0, sim, rows);
  let sum = 0;
  const scale = 1 / rows;
  for (let i = 0; i < rows; i++) {
    const o = i * rows;
    const p = (i + n) % rows;
    let max = -Infinity;
    for (let j = 0; j < rows; j++) if (j !== i && sim[o + j]! / tau > max) max = sim[o + j]! / tau;
    let s = 0;
    for (let j = 0; j < rows; j++) if (j !== i) s += Math.exp(sim[o + j]! / tau - max);
    const lse = max + Math.log(s);
    sum += lse - sim[o + p]! / tau;
    for (let j = 0; j < rows; j++) {
      sim[o + j] = j === i ? 0 : (Math.exp(sim[o + j]! / tau - lse) - (j === p ? 1 : 0)) * scale;
    }
  }
  for (let i = 0; i < rows; i++) {
    for (let j = i + 1; j < rows; j++) {
      const a = (sim[i * rows + j]! + sim[j * rows + i]!) / tau;
      sim[i * rows + j] = a;
      sim[j * rows + i] = a;
    }
  }
  const du = ctx.arena.f32(rows * dim);
  ctx.k.gemm(false, false, rows, dim, rows, sim, rows, u, dim, 0, du, dim);
  for (let i = 0; i < rows; i++) {
    const o = i * dim;
    const nrm = norms[i]!;
    let proj = 0;
    if (nrm > NORM_EPS) for (let d = 0; d < dim; d++) proj += u[o + d]! * du[o + d]!;
    for (let d = 0; d < dim; d++) grad[o + d] = (du[o + d]! - u[o + d]! * proj) / nrm;
  }
  ctx.arena.release(after);
  return { loss: sum / rows, grad };
}
