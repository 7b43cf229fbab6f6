/**
 * A seeded randomized truncated SVD of a sparse matrix (Halko, Martinsson and Tropp's range finder):
 * Y = X Omega for a Gaussian Omega [m, k + p]; q power iterations Q = orth(X X^T Q) sharpen
 * the range; B = Q^T X is small, and the eigenvectors W of B B^T (cyclic Jacobi) give the right
 * singular vectors V = B^T W / s = X^T (Q W / s), largest first. Each column of V is signed so that
 * its largest entry is positive, so the same seed gives the same bytes. Columns past the matrix's rank
 * are zeros.
 *
 * Kernels: CSR x dense and CSR^T x dense over row-major Float64Array, modified Gram-Schmidt run twice
 * over column-major copies, and Jacobi rotations on the small symmetric matrix.
 */
import { Rng } from '../../core/rng.js';
import type { Csr } from '../csr.js';

/** Y [nRows, l] = X Z, Z [nCols, l] row-major. */
export function csrTimesDense(x: Csr, z: Float64Array, l: number, y: Float64Array = new Float64Array(x.nRows * l)): Float64Array {
  y.fill(0);
  for (let i = 0; i < x.nRows; i++) {
    const yo = i * l;
    for (let p = x.indptr[i]!; p < x.indptr[i + 1]!; p++) {
      const v = x.data[p]!;
      const zo = x.indices[p]! * l;
      for (let c = 0; c < l; c++) y[yo + c]! += v * z[zo + c]!;
    }
  }
  return y;
}

/** Z [nCols, l] = X^T Y, Y [nRows, l] row-major. */
export function csrTransposeTimesDense(x: Csr, y: Float64Array, l: number, z: Float64Array = new Float64Array(x.nCols * l)): Float64Array {
  z.fill(0);
  for (let i = 0; i < x.nRows; i++) {
    const yo = i * l;
    for (let p = x.indptr[i]!; p < x.indptr[i + 1]!; p++) {
      const v = x.data[p]!;
      const zo = x.indices[p]! * l;
      for (let c = 0; c < l; c++) z[zo + c]! += v * y[yo + c]!;
    }
  }
  return z;
}

/**
 * Orthonormalises the columns of a row-major [n, l] matrix in place (two passes of modified
 * Gram-Schmidt); a column that is (numerically) in the span of the ones before it becomes zero.
 */
export function orthonormalizeColumns(a: Float64Array, n: number, l: number): void {
  const cols = new Float64Array(n * l);
  for (let r = 0; r < n; r++) for (let c = 0; c < l; c++) cols[c * n + r] = a[r * l + c]!;
  for (let j = 0; j < l; j++) {
    const cj = j * n;
    const before = norm(cols, cj, n);
    for (let pass = 0; pass < 2; pass++) {
      for (let i = 0; i < j; i++) {
        const ci = i * n;
        let dot = 0;
        for (let r = 0; r < n; r++) dot += cols[ci + r]! * cols[cj + r]!;
        if (dot === 0) continue;
        for (let r = 0; r < n; r++) cols[cj + r]! -= dot * cols[ci + r]!;
      }
    }
    const after = norm(cols, cj, n);
    const scale = after > 1e-10 * before && after > 0 ? 1 / after : 0;
    for (let r = 0; r < n; r++) cols[cj + r]! *= scale;
  }
  for (let r = 0; r < n; r++) for (let c = 0; c < l; c++) a[r * l + c] = cols[c * n + r]!;
}

function norm(a: Float64Array, off: number, n: number): number {
  let s = 0;
  for (let r = 0; r < n; r++) s += a[off + r]! * a[off + r]!;
  return Math.sqrt(s);
}

/**
 * Eigen-decomposition of a symmetric [l, l] matrix by cyclic Jacobi rotations: eigenvalues descending,
 * and the eigenvectors as the columns of a row-major [l, l] matrix in the same order.
 */
export function symmetricEigen(m: Float64Array, l: number): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(m);
  const v = new Float64Array(l * l);
  for (let i = 0; i < l; i++) v[i * l + i] = 1;
  let total = 0;
  for (let i = 0; i < l * l; i++) total += a[i]! * a[i]!;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < l; p++) for (let q = p + 1; q < l; q++) off += a[p * l + q]! * a[p * l + q]!;
    if (off <= 1e-30 * total || off === 0) break;
    for (let p = 0; p < l; p++) {
      for (let q = p + 1; q < l; q++) {
        const apq = a[p * l + q]!;
        if (apq === 0) continue;
        const theta = (a[q * l + q]! - a[p * l + p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < l; k++) {
          const akp = a[k * l + p]!;
          const akq = a[k * l + q]!;
          a[k * l + p] = c * akp - s * akq;
          a[k * l + q] = s * akp + c * akq;
        }
        for (let k = 0; k < l; k++) {
          const apk = a[p * l + k]!;
          const aqk = a[q * l + k]!;
          a[p * l + k] = c * apk - s * aqk;
          a[q * l + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < l; k++) {
          const vkp = v[k * l + p]!;
          const vkq = v[k * l + q]!;
          v[k * l + p] = c * vkp - s * vkq;
          v[k * l + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: l }, (_, i) => i).sort((i, j) => a[j * l + j]! - a[i * l + i]! || i - j);
  const values = new Float64Array(l);
  const vectors = new Float64Array(l * l);
  order.forEach((src, dst) => {
    values[dst] = a[src * l + src]!;
    for (let k = 0; k < l; k++) vectors[k * l + dst] = v[k * l + src]!;
  });
  return { values, vectors };
}

export interface RandomizedSvdOptions {
  seed: number;
  /** Extra sketch columns beyond k (default 10). */
  oversample?: number;
  /** Power iterations (default 2). */
  powerIterations?: number;
}

/** The top-k right singular vectors V [nCols, k] (row-major) and singular values of a sparse matrix. */
export function randomizedSvd(x: Csr, k: number, o: RandomizedSvdOptions): { v: Float64Array; s: Float64Array } {
  const l = k + (o.oversample ?? 10);
  const rng = new Rng(o.seed, 0);
  const omega = new Float64Array(x.nCols * l);
  for (let i = 0; i < omega.length; i++) omega[i] = rng.normal();
  const y = csrTimesDense(x, omega, l);
  orthonormalizeColumns(y, x.nRows, l);
  const z: Float64Array = omega;
  for (let it = 0; it < (o.powerIterations ?? 2); it++) {
    // Z = X^T Q is not orthonormalised: Q is, so Z's columns are bounded by s_1, and the one
    // orthonormalisation of X Z per iteration absorbs the (s_1 / s_l)^2 spread this lets through.
    csrTransposeTimesDense(x, y, l, z);
    csrTimesDense(x, z, l, y);
    orthonormalizeColumns(y, x.nRows, l);
  }
  // B^T = X^T Q [nCols, l]; B B^T = (B^T)^T B^T [l, l].
  const bt = csrTransposeTimesDense(x, y, l, z);
  const g = new Float64Array(l * l);
  for (let r = 0; r < x.nCols; r++) {
    const ro = r * l;
    for (let a = 0; a < l; a++) {
      const va = bt[ro + a]!;
      if (va === 0) continue;
      for (let b = a; b < l; b++) g[a * l + b]! += va * bt[ro + b]!;
    }
  }
  for (let a = 0; a < l; a++) for (let b = 0; b < a; b++) g[a * l + b] = g[b * l + a]!;
  const { values, vectors: w } = symmetricEigen(g, l);
  const s = new Float64Array(k);
  // V = B^T W_k S^-1 = X^T (Q W_k S^-1): the small product first, then one sparse pass.
  const top = Math.sqrt(Math.max(values[0] ?? 0, 0));
  const ws = new Float64Array(l * k);
  for (let j = 0; j < k; j++) {
    const sj = Math.sqrt(Math.max(values[j] ?? 0, 0));
    if (!(sj > 1e-9 * top)) continue;
    s[j] = sj;
    for (let a = 0; a < l; a++) ws[a * k + j] = w[a * l + j]! / sj;
  }
  const u = new Float64Array(x.nRows * k);
  for (let r = 0; r < x.nRows; r++) {
    for (let a = 0; a < l; a++) {
      const q = y[r * l + a]!;
      if (q === 0) continue;
      for (let j = 0; j < k; j++) u[r * k + j]! += q * ws[a * k + j]!;
    }
  }
  const v = csrTransposeTimesDense(x, u, k);
  // Sign: the largest entry of each column (the first, on ties) is positive.
  const big = new Float64Array(k);
  for (let r = 0; r < x.nCols; r++) for (let j = 0; j < k; j++) if (Math.abs(v[r * k + j]!) > Math.abs(big[j]!)) big[j] = v[r * k + j]!;
  for (let r = 0; r < x.nCols; r++) for (let j = 0; j < k; j++) if (big[j]! < 0) v[r * k + j] = -v[r * k + j]!;
  return { v, s };
}
