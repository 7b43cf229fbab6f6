/**
 * A 2-D picture of an embedding version: a seeded sample of its vectors (at most 2,000, the same rows on
 * every call) projected on their first two principal components. The components come from power
 * iteration on the centred sample, matrix-free (v <- X^T X v, never forming the covariance), the second
 * kept orthogonal to the first; each is signed so its largest coordinate is positive, so the picture is
 * the same on every call and every machine. Iterations are capped by a work budget (wide text vectors:
 * about half a second).
 */
import { Rng } from '../../../../core/rng.js';

export interface Projection {
  /** Row numbers of the sampled vectors in the version, ascending. */
  readonly rows: number[];
  /** Coordinates on the first and second components, per sampled row. */
  readonly x: Float64Array;
  readonly y: Float64Array;
  /** Variance along each component, and its share of the sample's total variance. */
  readonly variance: [number, number];
  readonly explained: [number, number];
  /** The two components (unit vectors of the space's dimension). */
  readonly components: [Float64Array, Float64Array];
  /** The sample's size and the version's. */
  readonly sampled: number;
  readonly size: number;
  /**
   * Whether both components settled within the iterations allowed. Not settling means the leading
   * eigenvalues are close: any direction in their span explains about as much, so the picture holds.
   */
  readonly converged: boolean;
}

/** Work allowed per component (multiply-adds): keeps the projection near half a second for wide vectors. */
const WORK = 1.5e8;

export const PROJECTION_SAMPLE = 2000;

/** `m` distinct rows of `n`, seeded (a partial Fisher-Yates shuffle), ascending; all rows when m >= n. */
export function sampleRows(n: number, m: number, seed: number): number[] {
  if (m >= n) return Array.from({ length: n }, (_, i) => i);
  const rng = new Rng(seed);
  const idx = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < m; i++) {
    const j = i + Math.floor(rng.uniform() * (n - i));
    const t = idx[i]!; idx[i] = idx[j]!; idx[j] = t;
  }
  return Array.from(idx.subarray(0, m)).sort((a, b) => a - b);
}

/** The leading eigenvector of X^T X (X: n x d centred, row-major) orthogonal to `against`, by power iteration; whether it settled within `maxIter`. */
function leading(X: Float64Array, n: number, d: number, against: Float64Array | null, rng: Rng, maxIter: number, tol: number): { v: Float64Array; converged: boolean } {
  let v = Float64Array.from({ length: d }, () => rng.uniform() - 0.5);
  const orth = (u: Float64Array): void => {
    if (!against) return;
    let dot = 0;
    for (let k = 0; k < d; k++) dot += u[k]! * against[k]!;
    for (let k = 0; k < d; k++) u[k]! -= dot * against[k]!;
  };
  const normalise = (u: Float64Array): number => {
    let s = 0;
    for (let k = 0; k < d; k++) s += u[k]! * u[k]!;
    const norm = Math.sqrt(s);
    if (norm > 0) for (let k = 0; k < d; k++) u[k]! /= norm;
    return norm;
  };
  orth(v);
  normalise(v);
  const xv = new Float64Array(n);
  let converged = false;
  for (let it = 0; it < maxIter; it++) {
    for (let i = 0; i < n; i++) {
      let s = 0;
      const o = i * d;
      for (let k = 0; k < d; k++) s += X[o + k]! * v[k]!;
      xv[i] = s;
    }
    const next = new Float64Array(d);
    for (let i = 0; i < n; i++) {
      const o = i * d, a = xv[i]!;
      if (a !== 0) for (let k = 0; k < d; k++) next[k]! += a * X[o + k]!;
    }
    orth(next);
    if (normalise(next) === 0) return { v, converged: true }; // no variance left in this direction
    let change = 0;
    for (let k = 0; k < d; k++) change = Math.max(change, Math.abs(next[k]! - v[k]!));
    v = next;
    if (change < tol) { converged = true; break; }
  }
  let big = 0;
  for (let k = 0; k < d; k++) if (Math.abs(v[k]!) > Math.abs(v[big]!)) big = k;
  if (v[big]! < 0) for (let k = 0; k < d; k++) v[k] = -v[k]!;
  return { v, converged };
}

/**
 * The first two principal components of a seeded sample of `vectors` (size x dim, row-major) and the
 * sample's coordinates on them.
 */
export function projectSample(vectors: Float32Array, dim: number, opts: { sample?: number; seed?: number; maxIter?: number; tol?: number } = {}): Projection {
  const size = dim > 0 ? Math.floor(vectors.length / dim) : 0;
  const rows = sampleRows(size, opts.sample ?? PROJECTION_SAMPLE, opts.seed ?? 7);
  const n = rows.length;
  const X = new Float64Array(n * dim);
  const mean = new Float64Array(dim);
  rows.forEach((r, i) => { for (let k = 0; k < dim; k++) { const v = vectors[r * dim + k]!; X[i * dim + k] = v; mean[k]! += v / n; } });
  let total = 0;
  for (let i = 0; i < n; i++) for (let k = 0; k < dim; k++) { const c = X[i * dim + k]! - mean[k]!; X[i * dim + k] = c; total += c * c; }
  const rng = new Rng(opts.seed ?? 7, 1);
  const maxIter = opts.maxIter ?? Math.min(300, Math.max(30, Math.floor(WORK / Math.max(1, 2 * n * dim)))), tol = opts.tol ?? 1e-8;
  const first = leading(X, n, dim, null, rng, maxIter, tol);
  const second = dim > 1 ? leading(X, n, dim, first.v, rng, maxIter, tol) : { v: new Float64Array(dim), converged: true };
  const c1 = first.v, c2 = second.v;
  const x = new Float64Array(n), y = new Float64Array(n);
  let v1 = 0, v2 = 0;
  for (let i = 0; i < n; i++) {
    let a = 0, b = 0;
    for (let k = 0; k < dim; k++) { a += X[i * dim + k]! * c1[k]!; b += X[i * dim + k]! * c2[k]!; }
    x[i] = a; y[i] = b; v1 += a * a; v2 += b * b;
  }
  const denom = Math.max(1, n);
  return {
    rows, x, y, sampled: n, size, components: [c1, c2], converged: first.converged && second.converged,
    variance: [v1 / denom, v2 / denom],
    explained: total > 0 ? [v1 / total, v2 / total] : [0, 0],
  };
}
