/**
 * Row partitioning: after a node splits, its rows idx[begin..end) are reordered stably so the left
 * child's rows come first. Stable order keeps each node's rows ascending, so histogram building walks
 * the bin matrix forwards.
 */

/** Split rule in bin space, as the partition kernel reads it. */
export interface BinSplit {
  feature: number;
  /** Numeric: bins 0..bin go left. */
  bin: number;
  defaultLeft: boolean;
  /** The feature's missing bin (nBins). */
  missingBin: number;
  /** Categorical: catMask[catOffset + b] = 1 when bin b goes right; null for numeric splits. */
  categorical: boolean;
  catOffset: number;
}

/** Whether a row in bin `b` goes left. */
export function goesLeft(b: number, s: BinSplit, catMask: Uint8Array): boolean {
  if (b === s.missingBin) return s.defaultLeft;
  return s.categorical ? catMask[s.catOffset + b] === 0 : b <= s.bin;
}

/** Stable partition of idx[begin..end) using tmp as scratch; returns the left count. `column` holds the split feature's bins. */
export function partitionRows(
  idx: Uint32Array, tmp: Uint32Array, begin: number, end: number,
  column: Uint8Array | Uint16Array,
  bin: number, defaultLeft: boolean, missingBin: number, categorical: boolean, catMask: Uint8Array, catOffset: number,
): number {
  let l = begin;
  let r = begin;
  if (!categorical) {
    const missLeft = defaultLeft;
    for (let i = begin; i < end; i++) {
      const row = idx[i]!;
      const b = column[row]!;
      if (b === missingBin ? missLeft : b <= bin) idx[l++] = row;
      else tmp[r++] = row;
    }
  } else {
    for (let i = begin; i < end; i++) {
      const row = idx[i]!;
      const b = column[row]!;
      if (b === missingBin ? defaultLeft : catMask[catOffset + b] === 0) idx[l++] = row;
      else tmp[r++] = row;
    }
  }
  idx.set(tmp.subarray(begin, r), l);
  return l - begin;
}
