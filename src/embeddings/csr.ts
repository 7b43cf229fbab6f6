/**
 * Compressed sparse rows for interaction matrices. From (row, col, weight) triples (typed arrays of
 * equal length) `buildCsr` makes `indptr` (nRows + 1 offsets), `indices` (columns, sorted ascending in
 * each row) and `data` (weights): a counting pass sizes the rows, a scatter pass fills them, then each
 * row is sorted by column and duplicate (row, col) pairs are merged by summing their weights. The same
 * function builds the item-major copy by swapping rows and cols. Sorted rows let `csrHas` answer
 * "did this user see this item" by binary search, which BPR's negative sampling and `recommend` use.
 */
import { KilnError } from '../core/errors.js';

export interface Csr {
  readonly nRows: number;
  readonly nCols: number;
  readonly indptr: Int32Array;
  readonly indices: Int32Array;
  readonly data: Float32Array;
}

/** Checks the triples: equal lengths, integer ids in range, finite non-negative weights. */
export function checkTriples(rows: Int32Array, cols: Int32Array, weights: Float32Array, nRows: number, nCols: number): void {
  if (rows.length !== cols.length || rows.length !== weights.length) {
    throw new KilnError('INVALID_ARGUMENT', `interaction arrays differ in length (rows ${rows.length}, cols ${cols.length}, weights ${weights.length}); pass one (user, item, weight) per index`);
  }
  for (let k = 0; k < rows.length; k++) {
    const r = rows[k]!;
    const c = cols[k]!;
    const w = weights[k]!;
    if (r < 0 || r >= nRows || c < 0 || c >= nCols) {
      throw new KilnError('INVALID_ARGUMENT', `interaction ${k} is (${r}, ${c}), outside ${nRows} x ${nCols}; ids must be 0-based and below the counts given`);
    }
    if (!(w >= 0) || !Number.isFinite(w)) {
      throw new KilnError('INVALID_ARGUMENT', `interaction ${k} has weight ${w}; implicit feedback weights must be finite and >= 0`);
    }
  }
}

export function buildCsr(rows: Int32Array, cols: Int32Array, weights: Float32Array, nRows: number, nCols: number): Csr {
  checkTriples(rows, cols, weights, nRows, nCols);
  const n = rows.length;
  const counts = new Int32Array(nRows + 1);
  for (let k = 0; k < n; k++) counts[rows[k]! + 1]!++;
  for (let r = 0; r < nRows; r++) counts[r + 1]! += counts[r]!;
  const fill = counts.slice(0, nRows);
  const idx = new Int32Array(n);
  const val = new Float32Array(n);
  for (let k = 0; k < n; k++) {
    const p = fill[rows[k]!]!++;
    idx[p] = cols[k]!;
    val[p] = weights[k]!;
  }
  const indptr = new Int32Array(nRows + 1);
  const outIdx = new Int32Array(n);
  const outVal = new Float32Array(n);
  let w = 0;
  const order: number[] = [];
  for (let r = 0; r < nRows; r++) {
    const s = counts[r]!;
    const e = counts[r + 1]!;
    order.length = 0;
    for (let p = s; p < e; p++) order.push(p);
    order.sort((a, b) => idx[a]! - idx[b]! || a - b);
    for (const p of order) {
      if (w > indptr[r]! && outIdx[w - 1] === idx[p]) {
        outVal[w - 1] = outVal[w - 1]! + val[p]!;
      } else {
        outIdx[w] = idx[p]!;
        outVal[w] = val[p]!;
        w++;
      }
    }
    indptr[r + 1] = w;
  }
  return { nRows, nCols, indptr, indices: outIdx.slice(0, w), data: outVal.slice(0, w) };
}

/** Whether row `r` holds column `c` (binary search in the sorted row). */
export function csrHas(m: Csr, r: number, c: number): boolean {
  let lo = m.indptr[r]!;
  let hi = m.indptr[r + 1]! - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = m.indices[mid]!;
    if (v === c) return true;
    if (v < c) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}
