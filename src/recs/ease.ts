/**
 * EASE^R (Steck 2019): a closed-form item-item model. With X the binary user x item matrix and
 * G = X^T X, the weights minimising |X - X B|^2 + lambda |B|^2 subject to diag(B) = 0 are
 *   P = (G + lambda I)^-1,   B_ij = -P_ij / P_jj (i != j),   B_jj = 0,
 * and a user's score for item j is sum_{i in the user's items} B_ij.
 *
 * `spdInverse` inverts the symmetric positive-definite G + lambda I through its Cholesky factor
 * A = L L^T: L row by row (each entry a dot product of two contiguous rows), then the columns of
 * L^-1 by forward substitution (column j stored as row j of N = L^-T), then A^-1 = N N^T, entry (i, j)
 * a dot product of rows i and j of N. Each stage is n^3 / 6 multiply-adds over contiguous memory.
 * The item-item matrices are n^2 Float64 (two) and Float32 (B), so `maxItems` (default 8192) bounds them.
 */
import { KilnError } from '../core/errors.js';
import { ScoredGenerator, type CandidateGenerator } from './generator.js';
import { throwIssues, userItems, type InteractionTable } from './table.js';

export interface EaseOptions {
  /** L2 regularisation of B (default 300); choose it on a validation split (`tuneGenerator`). */
  lambda?: number;
  /** Refuse catalogues larger than this (the model is items^2 floats; default 8192). */
  maxItems?: number;
}

/** Inverts the SPD row-major n x n matrix `a` in place (full symmetric storage in and out). */
export function spdInverse(a: Float64Array, n: number): void {
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    for (let j = 0; j <= i; j++) {
      const rj = j * n;
      let s = a[ri + j]!;
      for (let k = 0; k < j; k++) s -= a[ri + k]! * a[rj + k]!;
      if (i === j) {
        if (!(s > 0)) throw new KilnError('RECS_PARAM_INVALID', `matrix is not positive definite at pivot ${i} (${s}); raise lambda`, { path: ['lambda'] });
        a[ri + i] = Math.sqrt(s);
      } else {
        a[ri + j] = s / a[rj + j]!;
      }
    }
  }
  const nt = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    const rj = j * n;
    nt[rj + j] = 1 / a[rj + j]!;
    for (let i = j + 1; i < n; i++) {
      const ri = i * n;
      let s = 0;
      for (let k = j; k < i; k++) s += a[ri + k]! * nt[rj + k]!;
      nt[rj + i] = -s / a[ri + i]!;
    }
  }
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    for (let j = i; j < n; j++) {
      const rj = j * n;
      let s = 0;
      for (let k = j; k < n; k++) s += nt[ri + k]! * nt[rj + k]!;
      a[ri + j] = s;
      a[rj + i] = s;
    }
  }
}

/** G = X^T X of the binary user x item matrix (distinct pairs), row-major nItems x nItems. */
export function itemGram(train: InteractionTable): Float64Array {
  const n = train.nItems;
  const g = new Float64Array(n * n);
  const seen = userItems(train);
  for (let u = 0; u < train.nUsers; u++) {
    const a = seen.offsets[u]!;
    const b = seen.offsets[u + 1]!;
    for (let p = a; p < b; p++) {
      const ri = seen.items[p]! * n;
      for (let q = a; q < b; q++) g[ri + seen.items[q]!]!++;
    }
  }
  return g;
}

/** The EASE^R weights B (row-major Float32, zero diagonal) from a Gram matrix; `gram` is left untouched. */
export function easeWeights(gram: Float64Array, n: number, lambda: number): Float32Array {
  const p = Float64Array.from(gram);
  for (let i = 0; i < n; i++) p[i * n + i]! += lambda;
  spdInverse(p, n);
  const b = new Float32Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) b[i * n + j] = i === j ? 0 : -p[i * n + j]! / p[j * n + j]!;
  }
  return b;
}

export function easeOptions(opts: EaseOptions, nItems: number): Required<EaseOptions> {
  const lambda = opts.lambda ?? 300;
  const maxItems = opts.maxItems ?? 8192;
  throwIssues('RECS_PARAM_INVALID', 'EASE options', [
    ...(Number.isFinite(lambda) && lambda > 0 ? [] : [{ path: ['lambda'], message: `must be a finite number > 0, got ${lambda}` }]),
    ...(Number.isInteger(maxItems) && maxItems > 0 ? [] : [{ path: ['maxItems'], message: `must be a positive integer, got ${maxItems}` }]),
    ...(nItems <= maxItems ? [] : [{ path: ['maxItems'], message: `the catalogue has ${nItems} items, above maxItems ${maxItems} (EASE holds items^2 floats); raise maxItems or use als/item2vec` }]),
  ]);
  return { lambda, maxItems };
}

/**
 * Fits EASE^R on the training interactions (binary: a row counts once whatever its weight).
 * @example
 * const ease = fitEase(train, { lambda: 300 });
 * const top = ease.candidates(7, 10);
 */
export function fitEase(train: InteractionTable, opts: EaseOptions = {}, name = 'ease'): CandidateGenerator {
  const { lambda } = easeOptions(opts, train.nItems);
  const n = train.nItems;
  const b = easeWeights(itemGram(train), n, lambda);
  return new ScoredGenerator(name, 'ease', train, { scorer: 'item-item', n, weights: b });
}
