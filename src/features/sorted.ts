/**
 * Kernels over ascending number lists, for the exact percentile state: search, in-place merge, and
 * quantile_cont over the merge of two lists without building it.
 */

/** The first index whose value is >= v. */
export function lowerBound(a: readonly number[], v: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (a[mid]! < v) lo = mid + 1; else hi = mid; }
  return lo;
}

/** Merges ascending `b` into ascending `a` in place, from the back (a is owned; b is only read). */
export function mergeSorted(a: number[], b: number[]): number[] {
  let i = a.length - 1;
  let j = b.length - 1;
  let k = a.length + b.length - 1;
  for (let t = 0; t < b.length; t++) a.push(0);
  while (j >= 0) a[k--] = i >= 0 && a[i]! > b[j]! ? a[i--]! : b[j--]!;
  return a;
}

/** The element at rank r of the ascending merge of a and b (r < a.length + b.length). */
function rankOf(a: readonly number[], b: readonly number[], r: number): number {
  if (b.length === 0) return a[r]!;
  if (a.length === 0) return b[r]!;
  // Binary search on how many come from a: i from a and r + 1 - i from b make the first r + 1.
  let lo = Math.max(0, r + 1 - b.length);
  let hi = Math.min(r + 1, a.length);
  while (lo < hi) {
    const i = (lo + hi) >> 1;
    if (a[i]! < b[r - i]!) lo = i + 1; else hi = i;
  }
  const i = lo;
  const j = r + 1 - i;
  const fromA = i > 0 ? a[i - 1]! : -Infinity;
  const fromB = j > 0 ? b[j - 1]! : -Infinity;
  return Math.max(fromA, fromB);
}

/** quantile_cont over the ascending merge of a and b, without building it. */
export function quantile(a: readonly number[], b: readonly number[], p: number): number | null {
  const n = a.length + b.length;
  if (n === 0) return null;
  const pos = p * (n - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const x = rankOf(a, b, lo);
  if (lo === hi) return x;
  return x + (pos - lo) * (rankOf(a, b, hi) - x);
}
