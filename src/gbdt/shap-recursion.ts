/**
 * Exact path-dependent TreeSHAP by recursion (Lundberg et al. 2018, Algorithm 2; XGBoost's
 * `RegTree::TreeShap`): walk the tree keeping the unique path of (feature, zero fraction, one fraction,
 * permutation weight); at each leaf, unwind each feature to get its share of the leaf value. O(L·D²)
 * per tree and row. shap.ts uses it for the trees the leaf-mask tables (shap-table.ts) do not cover,
 * and as the reference they are tested against (`algorithm: 'recursion'`).
 *
 * A child's weight is cover(child) / (cover(left) + cover(right)) (0.5 each when both are 0).
 */
import { nodeCategories, type Tree } from './tree.js';

/** One tree prepared for explanation. */
export interface ShapTree {
  left: Int32Array;
  right: Int32Array;
  feature: Int32Array;
  threshold: Float32Array;
  defaultLeft: Uint8Array;
  /** Category codes (ascending) that go right, per categorical node. */
  cats: (Int32Array | null)[];
  /** Share of the node's cover that went left. */
  leftShare: Float64Array;
  leaf: Float64Array;
  /** Cover-weighted mean leaf value (the tree's expected output). */
  mean: number;
  depth: number;
}

export function prepareTree(t: Tree): ShapTree {
  const n = t.feature.length;
  const leftShare = new Float64Array(n);
  const leaf = Float64Array.from(t.leafValue);
  const cats: (Int32Array | null)[] = new Array<Int32Array | null>(n).fill(null);
  const mean = new Float64Array(n);
  const depthOf = new Int32Array(n);
  let depth = 0;
  for (let i = 0; i < n; i++) {
    if (t.feature[i]! < 0) continue;
    const cl = t.cover[t.left[i]!]!;
    const cr = t.cover[t.right[i]!]!;
    leftShare[i] = cl + cr > 0 ? cl / (cl + cr) : 0.5;
    if (t.categorical[i]) cats[i] = nodeCategories(t, i);
    depthOf[t.left[i]!] = depthOf[t.right[i]!] = depthOf[i]! + 1;
    depth = Math.max(depth, depthOf[i]! + 1);
  }
  // Children have larger ids than their parent (kiln's layout), so a reverse sweep sees children first.
  for (let i = n - 1; i >= 0; i--) {
    mean[i] = t.feature[i]! < 0 ? leaf[i]! : leftShare[i]! * mean[t.left[i]!]! + (1 - leftShare[i]!) * mean[t.right[i]!]!;
  }
  return { left: t.left, right: t.right, feature: t.feature, threshold: t.threshold, defaultLeft: t.defaultLeft, cats, leftShare, leaf, mean: n > 0 ? mean[0]! : 0, depth };
}

export function hasCode(codes: Int32Array, c: number): boolean {
  let lo = 0;
  let hi = codes.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = codes[mid]!;
    if (v === c) return true;
    if (v < c) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

/** The child a row takes at internal node i (prediction's routing). */
export function hotChild(t: Pick<ShapTree, 'left' | 'right' | 'feature' | 'threshold' | 'defaultLeft' | 'cats'>, i: number, x: ArrayLike<number>): number {
  const v = x[t.feature[i]!]!;
  if (v !== v) return t.defaultLeft[i] ? t.left[i]! : t.right[i]!;
  const codes = t.cats[i];
  if (codes) return v >= 0 && hasCode(codes, Math.trunc(Math.fround(v))) ? t.right[i]! : t.left[i]!;
  return Math.fround(v) < t.threshold[i]! ? t.left[i]! : t.right[i]!;
}

// The path is one Float64Array of 4-word elements: feature, zero fraction, one fraction, permutation
// weight (XGBoost's PathElement). Element e of the path starting at element `up` is at (up + e) * 4.
const FEAT = 0;
const ZERO = 1;
const ONE = 2;
const PW = 3;

/** INV[k] = 1 / k: the recursion multiplies by these instead of dividing (grown to the deepest tree). */
let INV = new Float64Array(64).map((_, k) => (k === 0 ? 0 : 1 / k));

export function ensureInv(n: number): void {
  if (INV.length < n) INV = new Float64Array(n).map((_, k) => (k === 0 ? 0 : 1 / k));
}

/** Adds one more feature to the path at `up` (d elements already there), updating permutation weights. */
function extendPath(P: Float64Array, up: number, d: number, zero: number, one: number, feature: number): void {
  const o = (up + d) * 4;
  P[o + FEAT] = feature;
  P[o + ZERO] = zero;
  P[o + ONE] = one;
  P[o + PW] = d === 0 ? 1 : 0;
  const r = INV[d + 1]!;
  for (let i = d - 1, q = (up + i) * 4; i >= 0; i--, q -= 4) {
    const w = P[q + PW]! * r;
    P[q + 4 + PW]! += one * w * (i + 1);
    P[q + PW] = zero * w * (d - i);
  }
}

/** Removes element k from the path (the inverse of extendPath). */
function unwindPath(P: Float64Array, up: number, d: number, k: number): void {
  const one = P[(up + k) * 4 + ONE]!;
  const zero = P[(up + k) * 4 + ZERO]!;
  let next = P[(up + d) * 4 + PW]!;
  const r = INV[d + 1]!;
  for (let i = d - 1, q = (up + i) * 4; i >= 0; i--, q -= 4) {
    if (one !== 0) {
      const tmp = P[q + PW]!;
      const w = ((next * (d + 1)) / one) * INV[i + 1]!;
      P[q + PW] = w;
      next = tmp - w * zero * (d - i) * r;
    } else {
      P[q + PW] = ((P[q + PW]! * (d + 1)) / zero) * INV[d - i]!;
    }
  }
  for (let q = (up + k) * 4, end = (up + d) * 4; q < end; q += 4) {
    P[q + FEAT] = P[q + 4 + FEAT]!;
    P[q + ZERO] = P[q + 4 + ZERO]!;
    P[q + ONE] = P[q + 4 + ONE]!;
  }
}

/** Total permutation weight the path would have with element k unwound. */
function unwoundSum(P: Float64Array, up: number, d: number, k: number): number {
  const one = P[(up + k) * 4 + ONE]!;
  const zero = P[(up + k) * 4 + ZERO]!;
  let total = 0;
  if (one !== 0) {
    let next = P[(up + d) * 4 + PW]!;
    const a = (d + 1) / one;
    const c = zero * INV[d + 1]!;
    for (let i = d - 1, q = (up + i) * 4; i >= 0; i--, q -= 4) {
      const tmp = next * a * INV[i + 1]!;
      total += tmp;
      next = P[q + PW]! - tmp * c * (d - i);
    }
  } else if (zero !== 0) {
    const a = (d + 1) / zero;
    for (let i = d - 1, q = (up + i) * 4; i >= 0; i--, q -= 4) total += P[q + PW]! * a * INV[d - i]!;
  }
  return total;
}

export function treeShap(P: Float64Array, t: ShapTree, x: ArrayLike<number>, phi: Float64Array, o: number, node: number, d: number, parent: number, zero: number, one: number, feature: number): void {
  const up = parent + d + 1;
  P.copyWithin(up * 4, parent * 4, (parent + d + 1) * 4);
  extendPath(P, up, d, zero, one, feature);
  const f = t.feature[node]!;
  if (f < 0) {
    const v = t.leaf[node]!;
    const c = INV[d + 1]!;
    for (let k = 1; k <= d; k++) {
      const qk = (up + k) * 4;
      const one = P[qk + ONE]!;
      const zero = P[qk + ZERO]!;
      // unwoundSum(P, up, d, k), inlined: the leaves are where TreeSHAP spends its time.
      let total = 0;
      if (one !== 0) {
        let next = P[(up + d) * 4 + PW]!;
        const a = (d + 1) / one;
        const zc = zero * c;
        for (let i = d - 1, q = (up + i) * 4; i >= 0; i--, q -= 4) {
          const tmp = next * a * INV[i + 1]!;
          total += tmp;
          next = P[q + PW]! - tmp * zc * (d - i);
        }
      } else if (zero !== 0) {
        total = unwoundSum(P, up, d, k);
      }
      phi[o + P[qk + FEAT]!]! += total * (one - zero) * v;
    }
    return;
  }
  const left = t.left[node]!;
  const hot = hotChild(t, node, x);
  const share = t.leftShare[node]!;
  const hotZero = hot === left ? share : 1 - share;
  let inZero = 1;
  let inOne = 1;
  let k = 0;
  while (k <= d && P[(up + k) * 4 + FEAT] !== f) k++;
  if (k <= d) {
    // Split on this feature before: undo that split and redo it here.
    inZero = P[(up + k) * 4 + ZERO]!;
    inOne = P[(up + k) * 4 + ONE]!;
    unwindPath(P, up, d, k);
    d--;
  }
  if (hotZero * inZero !== 0 || inOne !== 0) treeShap(P, t, x, phi, o, hot, d + 1, up, hotZero * inZero, inOne, f);
  // A cold branch with no cover contributes nothing (every permutation weight below it is zero).
  if ((1 - hotZero) * inZero !== 0) treeShap(P, t, x, phi, o, hot === left ? t.right[node]! : left, d + 1, up, (1 - hotZero) * inZero, 0, f);
}
