/**
 * Bayesian Personalised Ranking (Rendle et al. 2009) by stochastic gradient ascent. Each step draws an
 * observed interaction (u, i) uniformly from all nnz interactions (so active users are drawn more, as in
 * the paper's bootstrap sampling), and a negative item j uniformly from the catalogue, redrawn while u has
 * seen j (binary search in u's sorted CSR row; after 50 misses the step is skipped, for users who saw
 * nearly everything). With x_uij = x_u . (y_i - y_j) and g = sigmoid(-x_uij), the updates on
 *   ln sigmoid(x_uij) - reg (|x_u|^2 + |y_i|^2 + |y_j|^2)
 * are x_u += lr (g (y_i - y_j) - reg x_u), y_i += lr (g x_u - reg y_i), y_j += lr (-g x_u - reg y_j)
 * (all from the values before the step). An epoch is nnz steps; the learning rate decays linearly to
 * 10% of its start over the epochs. Factors are Float32 (row-major, n x factors), initialised
 * normal(0, 0.1) from Rng(seed), and every draw comes from that Rng: same seed, same bytes.
 */
import { KilnError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { csrHas, type Csr } from './csr.js';

export interface BprOptions {
  factors?: number;
  epochs?: number;
  learningRate?: number;
  regularization?: number;
  seed?: number;
  /** Called after each epoch with the mean ln sigmoid(x_uij) over its steps. */
  onEpoch?: (epoch: number, meanLogLik: number) => void;
}

export interface BprResult {
  userFactors: Float32Array;
  itemFactors: Float32Array;
  /** Mean ln sigmoid(x_uij) over each epoch's steps (rises as training ranks positives higher). */
  logLik: number[];
}

export function trainBpr(byUser: Csr, opts: BprOptions = {}): BprResult {
  const f = opts.factors ?? 32;
  const epochs = opts.epochs ?? 20;
  const lr0 = opts.learningRate ?? 0.05;
  const reg = opts.regularization ?? 0.01;
  const seed = opts.seed ?? 1;
  if (!Number.isInteger(f) || f < 1) throw new KilnError('INVALID_ARGUMENT', `BPR factors must be a positive integer, got ${f}`);
  if (!Number.isInteger(epochs) || epochs < 1) throw new KilnError('INVALID_ARGUMENT', `BPR epochs must be a positive integer, got ${epochs}`);
  if (!(lr0 > 0)) throw new KilnError('INVALID_ARGUMENT', `BPR learning rate must be > 0, got ${lr0}`);
  if (!(reg >= 0)) throw new KilnError('INVALID_ARGUMENT', `BPR regularization must be >= 0, got ${reg}`);
  const nU = byUser.nRows;
  const nI = byUser.nCols;
  const nnz = byUser.indices.length;
  if (nnz === 0) throw new KilnError('INVALID_ARGUMENT', 'BPR needs at least one interaction');
  const rowOf = new Int32Array(nnz);
  for (let u = 0; u < nU; u++) for (let p = byUser.indptr[u]!; p < byUser.indptr[u + 1]!; p++) rowOf[p] = u;
  const rng = new Rng(seed, 0x42);
  const x = new Float32Array(nU * f);
  const y = new Float32Array(nI * f);
  for (let k = 0; k < x.length; k++) x[k] = 0.1 * rng.normal();
  for (let k = 0; k < y.length; k++) y[k] = 0.1 * rng.normal();
  const logLik: number[] = [];
  for (let e = 0; e < epochs; e++) {
    const lr = lr0 * (1 - (0.9 * e) / Math.max(1, epochs - 1));
    let ll = 0;
    let steps = 0;
    for (let s = 0; s < nnz; s++) {
      const p = rng.int(nnz);
      const u = rowOf[p]!;
      const i = byUser.indices[p]!;
      let j = rng.int(nI);
      let tries = 0;
      while (csrHas(byUser, u, j) && tries < 50) { j = rng.int(nI); tries++; }
      if (tries === 50) continue;
      const ou = u * f;
      const oi = i * f;
      const oj = j * f;
      let z = 0;
      for (let a = 0; a < f; a++) z += x[ou + a]! * (y[oi + a]! - y[oj + a]!);
      const g = 1 / (1 + Math.exp(z));
      ll += z >= 0 ? -Math.log1p(Math.exp(-z)) : z - Math.log1p(Math.exp(z));
      steps++;
      for (let a = 0; a < f; a++) {
        const xu = x[ou + a]!;
        const yi = y[oi + a]!;
        const yj = y[oj + a]!;
        x[ou + a] = xu + lr * (g * (yi - yj) - reg * xu);
        y[oi + a] = yi + lr * (g * xu - reg * yi);
        y[oj + a] = yj + lr * (-g * xu - reg * yj);
      }
    }
    const mean = steps > 0 ? ll / steps : 0;
    logLik.push(mean);
    opts.onEpoch?.(e, mean);
  }
  return { userFactors: x, itemFactors: y, logLik };
}
