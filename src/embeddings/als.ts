/**
 * Implicit-feedback ALS (Hu, Koren & Volinsky 2008). Every (user, item) cell has a preference p_ui
 * (1 when the user interacted, else 0) and a confidence c_ui = 1 + alpha * r_ui (r = the interaction
 * weight; 1 for unobserved cells). The loss is
 *   L = sum_{u,i} c_ui (p_ui - x_u . y_i)^2 + reg (sum_u |x_u|^2 + sum_i |y_i|^2).
 * With the item factors Y fixed, each user's optimum is x_u = (Y^T C_u Y + reg I)^-1 Y^T C_u p_u, and
 * Y^T C_u Y = Y^T Y + Y^T (C_u - I) Y: Y^T Y is computed once per sweep (f x f), the correction only
 * touches the user's own n_u items, so a sweep is O(f^2 nnz + f^3 (users + items)) instead of
 * O(f^2 users items). solver 'cholesky' (the default) solves each f x f system exactly (linalg.ts), so
 * every half-sweep minimises L over one block and L never increases; sweeps alternate users then items.
 * solver 'cg' (Takacs, Pilaszy & Tikk 2011) instead runs `cgSteps` conjugate-gradient steps from the
 * row's current factor, never forming the matrix: A p = Y^T Y p + reg p + sum_i (c_ui - 1)(y_i . p) y_i,
 * O(f^2 + n_u f) per step. CG on a quadratic only moves downhill from its start, so L still never increases.
 * The loss is computed without visiting every cell: sum_u x_u^T (Y^T Y) x_u covers all cells as if
 * unobserved, then each observed cell adds c (1 - s)^2 - s^2 with s = x_u . y_i.
 * Factors are held in Float64 while training and returned as Float32 (row-major, n x factors).
 * Initial factors are normal(0, 0.01) from Rng(seed): same seed, same bytes.
 */
import { KilnError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import type { Csr } from './csr.js';
import { choleskySolve } from './linalg.js';

export interface AlsOptions {
  factors?: number;
  iterations?: number;
  regularization?: number;
  alpha?: number;
  seed?: number;
  /** 'cholesky' (exact, default) or 'cg' (conjugate gradient, warm-started, cgSteps steps). */
  solver?: 'cholesky' | 'cg';
  cgSteps?: number;
  /** Called after each sweep with the loss (for progress or tests). */
  onIteration?: (iteration: number, loss: number) => void;
}

export interface AlsResult {
  userFactors: Float32Array;
  itemFactors: Float32Array;
  /** Loss after each full sweep (users then items). */
  losses: number[];
}

function gram(y: Float64Array, n: number, f: number): Float64Array {
  const g = new Float64Array(f * f);
  for (let i = 0; i < n; i++) {
    const o = i * f;
    for (let a = 0; a < f; a++) {
      const ya = y[o + a]!;
      if (ya === 0) continue;
      const ra = a * f;
      for (let b = a; b < f; b++) g[ra + b]! += ya * y[o + b]!;
    }
  }
  for (let a = 0; a < f; a++) for (let b = 0; b < a; b++) g[a * f + b] = g[b * f + a]!;
  return g;
}

/** One half-sweep: solves every row of `x` given the fixed `y` and the rows' CSR. */
function solveSide(m: Csr, x: Float64Array, y: Float64Array, nY: number, f: number, reg: number, alpha: number): void {
  const yty = gram(y, nY, f);
  const a = new Float64Array(f * f);
  const b = new Float64Array(f);
  for (let u = 0; u < m.nRows; u++) {
    a.set(yty);
    b.fill(0);
    for (let d = 0; d < f; d++) a[d * f + d]! += reg;
    for (let p = m.indptr[u]!; p < m.indptr[u + 1]!; p++) {
      const o = m.indices[p]! * f;
      const c = 1 + alpha * m.data[p]!;
      const cm1 = c - 1;
      for (let r = 0; r < f; r++) {
        const yr = y[o + r]!;
        b[r]! += c * yr;
        const w = cm1 * yr;
        if (w === 0) continue;
        const rr = r * f;
        for (let s = 0; s <= r; s++) a[rr + s]! += w * y[o + s]!;
      }
    }
    for (let r = 0; r < f; r++) for (let s = r + 1; s < f; s++) a[r * f + s] = a[s * f + r]!;
    choleskySolve(a, b, f);
    x.set(b, u * f);
  }
}

/** One half-sweep by warm-started conjugate gradient on each row's normal equations. */
function cgSide(m: Csr, x: Float64Array, y: Float64Array, nY: number, f: number, reg: number, alpha: number, steps: number): void {
  const yty = gram(y, nY, f);
  const r = new Float64Array(f);
  const p = new Float64Array(f);
  const ap = new Float64Array(f);
  const times = (v: Float64Array, o: number, out: Float64Array, u: number): void => {
    for (let a = 0; a < f; a++) {
      let t = reg * v[o + a]!;
      const ra = a * f;
      for (let b = 0; b < f; b++) t += yty[ra + b]! * v[o + b]!;
      out[a] = t;
    }
    for (let q = m.indptr[u]!; q < m.indptr[u + 1]!; q++) {
      const oi = m.indices[q]! * f;
      let d = 0;
      for (let a = 0; a < f; a++) d += y[oi + a]! * v[o + a]!;
      d *= alpha * m.data[q]!;
      for (let a = 0; a < f; a++) out[a]! += d * y[oi + a]!;
    }
  };
  for (let u = 0; u < m.nRows; u++) {
    const o = u * f;
    times(x, o, ap, u);
    for (let a = 0; a < f; a++) r[a] = -ap[a]!;
    for (let q = m.indptr[u]!; q < m.indptr[u + 1]!; q++) {
      const oi = m.indices[q]! * f;
      const c = 1 + alpha * m.data[q]!;
      for (let a = 0; a < f; a++) r[a]! += c * y[oi + a]!;
    }
    p.set(r);
    let rs = 0;
    for (let a = 0; a < f; a++) rs += r[a]! * r[a]!;
    for (let it = 0; it < steps && rs > 1e-20; it++) {
      times(p, 0, ap, u);
      let pap = 0;
      for (let a = 0; a < f; a++) pap += p[a]! * ap[a]!;
      const step = rs / pap;
      for (let a = 0; a < f; a++) {
        x[o + a]! += step * p[a]!;
        r[a]! -= step * ap[a]!;
      }
      let rsNew = 0;
      for (let a = 0; a < f; a++) rsNew += r[a]! * r[a]!;
      const beta = rsNew / rs;
      for (let a = 0; a < f; a++) p[a] = r[a]! + beta * p[a]!;
      rs = rsNew;
    }
  }
}

/** The implicit-ALS loss of factors x (users) and y (items) on the user-major CSR. */
export function alsLoss(byUser: Csr, x: ArrayLike<number>, y: ArrayLike<number>, f: number, reg: number, alpha: number): number {
  const nU = byUser.nRows;
  const nI = byUser.nCols;
  const yf = Float64Array.from(y);
  const yty = gram(yf, nI, f);
  let loss = 0;
  for (let u = 0; u < nU; u++) {
    const o = u * f;
    for (let a = 0; a < f; a++) {
      let t = 0;
      for (let b = 0; b < f; b++) t += yty[a * f + b]! * x[o + b]!;
      loss += x[o + a]! * t;
    }
    for (let p = byUser.indptr[u]!; p < byUser.indptr[u + 1]!; p++) {
      const oi = byUser.indices[p]! * f;
      let s = 0;
      for (let a = 0; a < f; a++) s += x[o + a]! * yf[oi + a]!;
      const c = 1 + alpha * byUser.data[p]!;
      loss += c * (1 - s) * (1 - s) - s * s;
    }
  }
  let norm = 0;
  for (let k = 0; k < nU * f; k++) norm += x[k]! * x[k]!;
  for (let k = 0; k < nI * f; k++) norm += yf[k]! * yf[k]!;
  return loss + reg * norm;
}

export function trainAls(byUser: Csr, byItem: Csr, opts: AlsOptions = {}): AlsResult {
  const f = opts.factors ?? 32;
  const iterations = opts.iterations ?? 15;
  const reg = opts.regularization ?? 0.1;
  const alpha = opts.alpha ?? 40;
  const seed = opts.seed ?? 1;
  const solver = opts.solver ?? 'cholesky';
  const cgSteps = opts.cgSteps ?? 3;
  if (solver !== 'cholesky' && solver !== 'cg') throw new KilnError('INVALID_ARGUMENT', `ALS solver must be 'cholesky' or 'cg', got ${String(solver)}`);
  if (!Number.isInteger(cgSteps) || cgSteps < 1) throw new KilnError('INVALID_ARGUMENT', `ALS cgSteps must be a positive integer, got ${cgSteps}`);
  if (!Number.isInteger(f) || f < 1) throw new KilnError('INVALID_ARGUMENT', `ALS factors must be a positive integer, got ${f}`);
  if (!Number.isInteger(iterations) || iterations < 1) throw new KilnError('INVALID_ARGUMENT', `ALS iterations must be a positive integer, got ${iterations}`);
  if (!(reg > 0)) throw new KilnError('INVALID_ARGUMENT', `ALS regularization must be > 0 (it keeps each solve positive definite), got ${reg}`);
  if (!(alpha >= 0)) throw new KilnError('INVALID_ARGUMENT', `ALS alpha must be >= 0, got ${alpha}`);
  const nU = byUser.nRows;
  const nI = byUser.nCols;
  const rng = new Rng(seed, 0x41);
  const x = new Float64Array(nU * f);
  const y = new Float64Array(nI * f);
  for (let k = 0; k < x.length; k++) x[k] = 0.01 * rng.normal();
  for (let k = 0; k < y.length; k++) y[k] = 0.01 * rng.normal();
  const losses: number[] = [];
  for (let it = 0; it < iterations; it++) {
    if (solver === 'cg') {
      cgSide(byUser, x, y, nI, f, reg, alpha, cgSteps);
      cgSide(byItem, y, x, nU, f, reg, alpha, cgSteps);
    } else {
      solveSide(byUser, x, y, nI, f, reg, alpha);
      solveSide(byItem, y, x, nU, f, reg, alpha);
    }
    const loss = alsLoss(byUser, x, y, f, reg, alpha);
    losses.push(loss);
    opts.onIteration?.(it, loss);
  }
  return { userFactors: Float32Array.from(x), itemFactors: Float32Array.from(y), losses };
}
