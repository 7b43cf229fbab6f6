/**
 * Fast exact path-dependent TreeSHAP with per-leaf tables (the idea of Fast TreeSHAP v2, Yang 2021).
 *
 * For a leaf l with value v let U be the unique features on its root path, in order of first use (a
 * repeated feature is merged: its zero fraction z_k is the product of the cover shares the path takes at
 * its uses; the row "agrees" with k iff it goes the path's way at every use), and A ⊆ U the features the
 * row agrees with. TreeSHAP gives feature i ∈ U
 *   phi_i = (o_i - z_i) · v · Σ_{S ⊆ A\{i}} w(|S|) · Π_{k ∈ U\{i}\S} z_k,   w(s) = s!(|U|-s-1)!/|U|!
 * With Q(A) = v · Σ_{S ⊆ A} w(|S|) · Π_{k ∈ U\S} z_k (a table of 2^|U| values per leaf, built once by a
 * subset-sum over the |U| bits): phi_k = -Q(A) for k ∉ A (z_k cancels) and
 * phi_k = (1 - z_k)/z_k · Q(A\{k}) for k ∈ A.
 *
 * Per row and tree: one pass over the internal nodes (parents before children) routes the row at each
 * node as prediction does and hands each child the mask A of its path (the hot child sets the node's
 * feature bit when the feature is new on the path; the cold child clears it), then each leaf adds its
 * |U| contributions from its table: O(L·D) instead of the recursion's O(L·D²). Trees whose paths have
 * more than TABLE_MAX_FEATURES unique features, that have a child with no cover (z = 0), or that do not
 * fit the model's TABLE_MAX_BYTES stay with the recursion (shap-recursion.ts).
 */
import { hasCode, type ShapTree } from './shap-recursion.js';

/** Most unique features on one root-to-leaf path for a tree to get tables (2^12 values per leaf). */
export const TABLE_MAX_FEATURES = 12;
/** Most bytes of tables per model; trees past it (in order) use the recursion. */
export const TABLE_MAX_BYTES = 64 * 2 ** 20;

/** One tree in table form: internal nodes renumbered in preorder; child slots < nInternal are internal nodes, the rest leaves. */
export interface TableTree {
  feature: Int32Array;
  threshold: Float32Array;
  defaultLeft: Uint8Array;
  /** Category codes that go right, for categorical nodes (isCat = 1). */
  cats: (Int32Array | null)[];
  isCat: Uint8Array;
  /** Child slots. */
  lo: Int32Array;
  hi: Int32Array;
  /** The hot child's mask is mask | setBit (the feature's bit when first used on the path), the cold child's mask & keep. */
  setBit: Int32Array;
  keep: Int32Array;
  /** Leaf j's features are leafFeat[leafOff[j]..leafOff[j+1]) (bit b = position b), with (1 - z)/z in leafCoef. */
  leafFeat: Int32Array;
  leafCoef: Float64Array;
  leafOff: Int32Array;
  /** Leaf j's table starts at tabOff[j] in ShapTables.table (2^|U| values). */
  tabOff: Int32Array;
}

export interface TablePlan {
  /** Trees explained with tables. */
  tableTrees: number;
  /** Trees left to the recursion (single leaves, which contribute nothing, are in neither count). */
  recursionTrees: number;
  /** Bytes of the tables. */
  tableBytes: number;
  /** Milliseconds spent building them. */
  buildMs: number;
}

export interface ShapTables {
  /** Per tree: its tables, or null for the recursion. */
  trees: (TableTree | null)[];
  table: Float64Array;
  /** Per-slot scratch for one tree: masks, then subtree sums of Q(A). */
  masks: Int32Array;
  sums: Float64Array;
  /** The row in float32, scratch. */
  xf: Float32Array;
  plan: TablePlan;
}

/** W[m][s] = s!(m-s-1)!/m! (Shapley weight of a coalition of s of the other m - 1 players), 0 for s = m. */
const W: Float64Array[] = Array.from({ length: TABLE_MAX_FEATURES + 1 }, (_, m) => {
  const w = new Float64Array(m + 1);
  for (let s = 0; s < m; s++) {
    // s!(m-s-1)!/m! = 1 / (m · C(m-1, s))
    let c = 1;
    for (let k = 1; k <= s; k++) c = (c * (m - s - 1 + k)) / k;
    w[s] = 1 / (m * c);
  }
  return w;
});

interface Draft {
  tree: TableTree;
  /** Zero fractions per leaf feature (turned into (1 - z)/z once the table is built). */
  zero: Float64Array;
  leafValue: Float64Array;
  size: number;
}

/** Builds one tree's structure, or null when it needs the recursion (too many unique features on a path, a zero share). */
function draftTree(t: ShapTree): Draft | null {
  const n = t.feature.length;
  let nI = 0;
  for (let i = 0; i < n; i++) if (t.feature[i]! >= 0) nI++;
  const feature = new Int32Array(nI);
  const threshold = new Float32Array(nI);
  const defaultLeft = new Uint8Array(nI);
  const cats: (Int32Array | null)[] = new Array<Int32Array | null>(nI).fill(null);
  const isCat = new Uint8Array(nI);
  const lo = new Int32Array(nI);
  const hi = new Int32Array(nI);
  const setBit = new Int32Array(nI);
  const keep = new Int32Array(nI);
  const leafFeat: number[] = [];
  const zero: number[] = [];
  const leafOff: number[] = [0];
  const leafValue: number[] = [];
  const pathFeat = new Int32Array(TABLE_MAX_FEATURES + 1);
  const pathZero = new Float64Array(TABLE_MAX_FEATURES + 1);
  let internal = 0;
  let size = 0;
  // Depth-first from the root, internal nodes numbered in preorder; returns the node's slot (leaf slots are offset by nI at the end).
  const visit = (node: number, u: number): number => {
    const f = t.feature[node]!;
    if (f < 0) {
      for (let k = 0; k < u; k++) {
        leafFeat.push(pathFeat[k]!);
        zero.push(pathZero[k]!);
      }
      leafOff.push(leafFeat.length);
      leafValue.push(t.leaf[node]!);
      size += 1 << u;
      return -leafValue.length;
    }
    const share = t.leftShare[node]!;
    if (!(share > 0 && 1 - share > 0)) return NaN;
    const id = internal++;
    feature[id] = f;
    threshold[id] = t.threshold[node]!;
    defaultLeft[id] = t.defaultLeft[node]!;
    const codes = t.cats[node] ?? null;
    cats[id] = codes;
    isCat[id] = codes ? 1 : 0;
    let p = 0;
    while (p < u && pathFeat[p] !== f) p++;
    if (p === TABLE_MAX_FEATURES) return NaN;
    const bit = 1 << p;
    setBit[id] = p === u ? bit : 0;
    keep[id] = ~bit;
    const before = p < u ? pathZero[p]! : 1;
    const next = p < u ? u : u + 1;
    pathFeat[p] = f;
    pathZero[p] = share * before;
    const l = visit(t.left[node]!, next);
    pathZero[p] = (1 - share) * before;
    const r = visit(t.right[node]!, next);
    pathZero[p] = before;
    if (Number.isNaN(l) || Number.isNaN(r)) return NaN;
    lo[id] = l;
    hi[id] = r;
    return id;
  };
  if (Number.isNaN(visit(0, 0))) return null;
  // Leaf slots were returned as -(j + 1); they become nI + j.
  for (let i = 0; i < nI; i++) {
    if (lo[i]! < 0) lo[i] = nI - lo[i]! - 1;
    if (hi[i]! < 0) hi[i] = nI - hi[i]! - 1;
  }
  const tree: TableTree = {
    feature, threshold, defaultLeft, cats, isCat, lo, hi, setBit, keep,
    leafFeat: Int32Array.from(leafFeat), leafCoef: new Float64Array(leafFeat.length), leafOff: Int32Array.from(leafOff), tabOff: new Int32Array(leafValue.length),
  };
  return { tree, zero: Float64Array.from(zero), leafValue: Float64Array.from(leafValue), size };
}

/** Fills leaf tables Q(A) for every leaf of a draft, starting at `at` in `table`; false when a zero-fraction product underflows. */
function fillTables(d: Draft, table: Float64Array, at: number, prod: Float64Array): boolean {
  const { tree, zero, leafValue } = d;
  for (let j = 0; j < leafValue.length; j++) {
    const a = tree.leafOff[j]!;
    const m = tree.leafOff[j + 1]! - a;
    const full = (1 << m) - 1;
    const w = W[m]!;
    tree.tabOff[j] = at;
    // prod[C] = product of z_k over k in C.
    prod[0] = 1;
    for (let C = 1; C <= full; C++) {
      const low = C & -C;
      prod[C] = prod[C ^ low]! * zero[a + 31 - Math.clz32(low)]!;
    }
    if (!(prod[full]! > 1e-280)) return false;
    for (let S = 0; S <= full; S++) {
      let s = S - ((S >> 1) & 0x55555555);
      s = (s & 0x33333333) + ((s >> 2) & 0x33333333);
      s = (((s + (s >> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
      table[at + S] = w[s]! * prod[full ^ S]!;
    }
    // Subset sums: Q(A) = sum over S ⊆ A.
    for (let b = 1; b <= full; b <<= 1) {
      for (let S = 0; S <= full; S++) if (S & b) table[at + S]! += table[at + (S ^ b)]!;
    }
    const v = leafValue[j]!;
    for (let S = 0; S <= full; S++) table[at + S]! *= v;
    for (let k = 0; k < m; k++) tree.leafCoef[a + k] = (1 - zero[a + k]!) / zero[a + k]!;
    at += 1 << m;
  }
  return true;
}

/** Builds the tables of every tree that qualifies, in tree order, within `maxBytes`. */
export function buildTables(trees: readonly ShapTree[], nFeatures: number, maxBytes = TABLE_MAX_BYTES): ShapTables {
  const t0 = performance.now();
  const drafts: (Draft | null)[] = [];
  let total = 0;
  let slots = 1;
  for (const t of trees) {
    const d = t.feature.length > 1 ? draftTree(t) : null;
    if (d && (total + d.size) * 8 <= maxBytes) {
      drafts.push(d);
      total += d.size;
      slots = Math.max(slots, d.tree.feature.length + d.leafValue.length);
    } else drafts.push(null);
  }
  const table = new Float64Array(total);
  const prod = new Float64Array(1 << TABLE_MAX_FEATURES);
  const out: (TableTree | null)[] = [];
  let at = 0;
  let used = 0;
  for (const d of drafts) {
    if (d && fillTables(d, table, at, prod)) {
      out.push(d.tree);
      used += d.size;
    } else out.push(null);
    if (d) at += d.size;
  }
  const tableTrees = out.filter((t) => t !== null).length;
  const recursionTrees = trees.filter((t, i) => t.feature.length > 1 && out[i] === null).length;
  return { trees: out, table, masks: new Int32Array(slots), sums: new Float64Array(slots), xf: new Float32Array(nFeatures), plan: { tableTrees, recursionTrees, tableBytes: used * 8, buildMs: performance.now() - t0 } };
}

/**
 * Adds one tree's contributions for row x to phi[o + feature]. xf is x rounded to float32 (routing
 * compares fround(x) < threshold; categorical nodes also look at x's sign); M and Q are per-slot scratch (masks, then sums of Q(A) per subtree).
 * A leaf adds Q(A) + (1 - z_k)/z_k · Q(A\{k}) to each feature k of A; every feature of U then loses
 * Q(A), which is added up the tree and taken once per feature at the node that first uses it.
 */
export function tableShap(t: TableTree, table: Float64Array, M: Int32Array, Q: Float64Array, x: ArrayLike<number>, xf: Float32Array, phi: Float64Array, o: number): void {
  const nI = t.feature.length;
  const { threshold, defaultLeft, isCat, lo, hi, setBit, keep, feature } = t;
  M[0] = 0;
  for (let i = 0; i < nI; i++) {
    const m = M[i]!;
    const v = xf[feature[i]!]!;
    let left: boolean;
    if (v !== v) left = defaultLeft[i] === 1;
    else if (isCat[i] === 1) left = !(x[feature[i]!]! >= 0 && hasCode(t.cats[i]!, Math.trunc(v)));
    else left = v < threshold[i]!;
    const hot = m | setBit[i]!;
    const cold = m & keep[i]!;
    M[lo[i]!] = left ? hot : cold;
    M[hi[i]!] = left ? cold : hot;
  }
  const { leafOff, leafFeat, leafCoef, tabOff } = t;
  const nL = tabOff.length;
  for (let j = 0; j < nL; j++) {
    const A = M[nI + j]!;
    const base = tabOff[j]!;
    const q = table[base + A]!;
    Q[nI + j] = q;
    const off = leafOff[j]!;
    for (let B = A; B !== 0; B &= B - 1) {
      const bit = B & -B;
      const k = off + 31 - Math.clz32(bit);
      phi[o + leafFeat[k]!]! += q + leafCoef[k]! * table[base + (A ^ bit)]!;
    }
  }
  for (let i = nI - 1; i >= 0; i--) {
    const s = Q[lo[i]!]! + Q[hi[i]!]!;
    Q[i] = s;
    if (setBit[i] !== 0) phi[o + feature[i]!]! -= s;
  }
}
