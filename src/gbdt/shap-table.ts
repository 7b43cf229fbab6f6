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
 * |U| contributions from its table: O(L·D) instead of the recursion's O(L·D²). A leaf whose path has
 * more than TABLE_MAX_FEATURES unique features (deep lossguide trees) gets no table: it is a "long" leaf,
 * explained from its mask by elementary symmetric polynomials of its z (O(|U|²), longLeafShap), so its
 * tree still takes one pass. Trees with a path of more than LONG_MAX_FEATURES unique features, a child
 * with no cover (z = 0), or past the model's TABLE_MAX_BYTES stay with the recursion (shap-recursion.ts).
 */
import { hasCode, type ShapTree } from './shap-recursion.js';
import { LONG_MAX_FEATURES, longLeafShap, W } from './shap-long.js';

/** Most unique features on a leaf's path for it to get a table (2^8 values; measured: 8 beat 10 and 12 on 255-leaf trees, bench/shap.ts). */
export const TABLE_MAX_FEATURES = 8;
export { LONG_MAX_FEATURES } from './shap-long.js';
/** Int32 words per internal node in TableTree.node. */
const NODE = 6;
/** Most bytes of tables per model; trees past it (in order) use the recursion. */
export const TABLE_MAX_BYTES = 64 * 2 ** 20;

/**
 * One tree in table form: internal nodes renumbered in preorder; child slots < nInternal are internal
 * nodes, the rest leaves. Leaves are explained in units: a pair (the two leaf children of one node,
 * whose feature p is at bit p) shares one table; any other leaf has its own.
 */
export interface TableTree {
  /**
   * NODE words per internal node: feature, left and right child slots, setBit, keep, flags (1: missing
   * goes left, 2: categorical). The hot child's mask is mask | setBit (the feature's bit when first used
   * on the path), the cold child's mask & keep.
   */
  node: Int32Array;
  threshold: Float32Array;
  /** Category codes that go right, for categorical nodes. */
  cats: (Int32Array | null)[];
  /** Features of every unit (bit b = position b) and their (1 - z)/z, from the unit's offset on. */
  unitFeat: Int32Array;
  unitCoef: Float64Array;
  /** Single leaves: slot, feature offset, table offset (2^|U| values: Q(A), v included). */
  sSlot: Int32Array;
  sOff: Int32Array;
  sTab: Int32Array;
  /**
   * Pairs: the left leaf's slot (right = + 1), bit and feature of their node, leaf values,
   * alpha = vL·zL + vR·zR, feature offset (U without p; bits above p move down one), table offset
   * (G0(B), G1(B) interleaved over B ⊆ U \ {p}).
   */
  pSlot: Int32Array;
  pBit: Int32Array;
  pFeat: Int32Array;
  pVL: Float64Array;
  pVR: Float64Array;
  pAlpha: Float64Array;
  pOff: Int32Array;
  pTab: Int32Array;
  /** Long leaves (more than TABLE_MAX_FEATURES unique features on the path): slot, |U|, value, offset into lFeat / lZero. */
  lSlot: Int32Array;
  lM: Int32Array;
  lValue: Float64Array;
  lOff: Int32Array;
  lFeat: Int32Array;
  lZero: Float64Array;
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


interface Draft {
  tree: TableTree;
  /** Zero fractions per unit feature (turned into (1 - z)/z once the tables are built). */
  zero: Float64Array;
  /** Single leaves' values; pairs' zero fractions of p (left, right) and |U|. */
  sValue: Float64Array;
  pZL: Float64Array;
  pZR: Float64Array;
  pM: Int32Array;
  /** Single leaves' |U|. */
  sM: Int32Array;
  /** Leaf slots. */
  leaves: number;
  size: number;
}

/** Builds one tree's structure, or null when it needs the recursion (too many unique features on a path, a zero share). */
function draftTree(t: ShapTree): Draft | null {
  const n = t.feature.length;
  let nI = 0;
  for (let i = 0; i < n; i++) if (t.feature[i]! >= 0) nI++;
  const N = new Int32Array(nI * NODE);
  const threshold = new Float32Array(nI);
  const cats: (Int32Array | null)[] = new Array<Int32Array | null>(nI).fill(null);
  const feat: number[] = [];
  const zero: number[] = [];
  const s = { slot: [] as number[], off: [] as number[], value: [] as number[], m: [] as number[] };
  const p = { slot: [] as number[], bit: [] as number[], feat: [] as number[], vl: [] as number[], vr: [] as number[], zl: [] as number[], zr: [] as number[], m: [] as number[], off: [] as number[] };
  const pathFeat = new Int32Array(LONG_MAX_FEATURES + 1);
  const pathZero = new Float64Array(LONG_MAX_FEATURES + 1);
  const lg = { slot: [] as number[], m: [] as number[], value: [] as number[], off: [] as number[], feat: [] as number[], zero: [] as number[] };
  let internal = 0;
  let leaves = 0;
  let size = 0;
  /** Unit features: the first u path features except position `skip`. */
  const pushUnit = (u: number, skip: number): number => {
    const off = feat.length;
    for (let k = 0; k < u; k++) {
      if (k === skip) continue;
      feat.push(pathFeat[k]!);
      zero.push(pathZero[k]!);
    }
    size += 1 << u; // a leaf's 2^|U| values, or a pair's 2 x 2^(|U| - 1)
    return off;
  };
  // Depth-first from the root, internal nodes numbered in preorder; returns the node's slot (leaf j as -(j + 1), made nI + j at the end).
  const visit = (node: number, u: number): number => {
    const f = t.feature[node]!;
    if (f < 0 && u > TABLE_MAX_FEATURES) {
      lg.off.push(lg.feat.length);
      for (let k = 0; k < u; k++) { lg.feat.push(pathFeat[k]!); lg.zero.push(pathZero[k]!); }
      lg.slot.push(leaves);
      lg.m.push(u);
      lg.value.push(t.leaf[node]!);
      return -++leaves;
    }
    if (f < 0) {
      s.off.push(pushUnit(u, -1));
      s.slot.push(leaves);
      s.value.push(t.leaf[node]!);
      s.m.push(u);
      return -++leaves;
    }
    const share = t.leftShare[node]!;
    if (!(share > 0 && 1 - share > 0)) return NaN;
    const id = internal++;
    const q = id * NODE;
    N[q] = f;
    threshold[id] = t.threshold[node]!;
    const codes = t.cats[node] ?? null;
    cats[id] = codes;
    N[q + 5] = (t.defaultLeft[node] ? 1 : 0) | (codes ? 2 : 0);
    let b = 0;
    while (b < u && pathFeat[b] !== f) b++;
    if (b === LONG_MAX_FEATURES) return NaN;
    N[q + 3] = b === u ? 1 << b : 0;
    N[q + 4] = ~(1 << b);
    const before = b < u ? pathZero[b]! : 1;
    const next = b < u ? u : u + 1;
    pathFeat[b] = f;
    const left = t.left[node]!;
    const right = t.right[node]!;
    if (t.feature[left]! < 0 && t.feature[right]! < 0 && next <= TABLE_MAX_FEATURES) {
      p.off.push(pushUnit(next, b));
      p.slot.push(leaves);
      p.bit.push(b);
      p.feat.push(f);
      p.vl.push(t.leaf[left]!);
      p.vr.push(t.leaf[right]!);
      p.zl.push(share * before);
      p.zr.push((1 - share) * before);
      p.m.push(next);
      leaves += 2;
      N[q + 1] = -(leaves - 1);
      N[q + 2] = -leaves;
      return id;
    }
    pathZero[b] = share * before;
    const l = visit(left, next);
    pathZero[b] = (1 - share) * before;
    const r = visit(right, next);
    pathZero[b] = before;
    if (Number.isNaN(l) || Number.isNaN(r)) return NaN;
    N[q + 1] = l;
    N[q + 2] = r;
    return id;
  };
  if (Number.isNaN(visit(0, 0))) return null;
  for (let i = 0; i < nI; i++) {
    for (let c = i * NODE + 1; c <= i * NODE + 2; c++) if (N[c]! < 0) N[c] = nI - N[c]! - 1;
  }
  const tree: TableTree = {
    node: N, threshold, cats, unitFeat: Int32Array.from(feat), unitCoef: new Float64Array(feat.length),
    sSlot: Int32Array.from(s.slot, (j) => nI + j), sOff: Int32Array.from(s.off), sTab: new Int32Array(s.slot.length),
    pSlot: Int32Array.from(p.slot, (j) => nI + j), pBit: Int32Array.from(p.bit), pFeat: Int32Array.from(p.feat), pVL: Float64Array.from(p.vl), pVR: Float64Array.from(p.vr),
    pAlpha: Float64Array.from(p.vl, (v, k) => v * p.zl[k]! + p.vr[k]! * p.zr[k]!), pOff: Int32Array.from(p.off), pTab: new Int32Array(p.slot.length),
    lSlot: Int32Array.from(lg.slot, (j) => nI + j), lM: Int32Array.from(lg.m), lValue: Float64Array.from(lg.value), lOff: Int32Array.from(lg.off), lFeat: Int32Array.from(lg.feat), lZero: Float64Array.from(lg.zero),
  };
  return { tree, zero: Float64Array.from(zero), sValue: Float64Array.from(s.value), pZL: Float64Array.from(p.zl), pZR: Float64Array.from(p.zr), pM: Int32Array.from(p.m), sM: Int32Array.from(s.m), leaves, size };
}

function popcount(x: number): number {
  let c = x - ((x >> 1) & 0x55555555);
  c = (c & 0x33333333) + ((c >> 2) & 0x33333333);
  return (((c + (c >> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/** prod[C] = product of zero[a + k] over the bits k of C (C < 2^m); returns the full product. */
function products(zero: Float64Array, a: number, m: number, prod: Float64Array): number {
  prod[0] = 1;
  for (let C = 1; C < 1 << m; C++) {
    const low = C & -C;
    prod[C] = prod[C ^ low]! * zero[a + 31 - Math.clz32(low)]!;
  }
  return prod[(1 << m) - 1]!;
}

/** Subset sums in place over m bits of `stride` interleaved tables: T[S] = sum over S' ⊆ S. */
function subsetSums(table: Float64Array, at: number, m: number, stride: number): void {
  for (let b = 1; b < 1 << m; b <<= 1) {
    for (let S = 0; S < 1 << m; S++) {
      if (!(S & b)) continue;
      for (let k = 0; k < stride; k++) table[at + S * stride + k]! += table[at + (S ^ b) * stride + k]!;
    }
  }
}

/** Fills every unit's table of a draft from `at` in `table`; false when a zero-fraction product underflows. */
function fillTables(d: Draft, table: Float64Array, at: number, prod: Float64Array): boolean {
  const { tree, zero } = d;
  // Single leaf: Q(A) = v · sum over S ⊆ A of w(|S|) · prod of z over U \ S.
  for (let j = 0; j < tree.sSlot.length; j++) {
    const a = tree.sOff[j]!;
    const m = d.sM[j]!;
    const full = (1 << m) - 1;
    const w = W[m]!;
    tree.sTab[j] = at;
    if (!(products(zero, a, m, prod) > 1e-280)) return false;
    for (let S = 0; S <= full; S++) table[at + S] = w[popcount(S)]! * prod[full ^ S]!;
    subsetSums(table, at, m, 1);
    const v = d.sValue[j]!;
    for (let S = 0; S <= full; S++) table[at + S]! *= v;
    at += 1 << m;
  }
  // Pair (U' = U without p, |U| = m): G0(B) = sum over S ⊆ B of w(|S|) · prod of z over U' \ S; G1 the same with w(|S| + 1).
  for (let j = 0; j < tree.pSlot.length; j++) {
    const a = tree.pOff[j]!;
    const m = d.pM[j]!;
    const full = (1 << (m - 1)) - 1;
    const w = W[m]!;
    tree.pTab[j] = at;
    if (!(products(zero, a, m - 1, prod) * Math.min(d.pZL[j]!, d.pZR[j]!) > 1e-280)) return false;
    for (let S = 0; S <= full; S++) {
      const c = popcount(S);
      table[at + 2 * S] = w[c]! * prod[full ^ S]!;
      table[at + 2 * S + 1] = w[c + 1]! * prod[full ^ S]!;
    }
    subsetSums(table, at, m - 1, 2);
    at += 2 << (m - 1);
  }
  for (let k = 0; k < zero.length; k++) tree.unitCoef[k] = (1 - zero[k]!) / zero[k]!;
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
      slots = Math.max(slots, d.tree.threshold.length + d.leaves);
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
 * compares fround(x) < threshold; categorical nodes also look at x's sign); M and Q are per-slot scratch
 * (masks, then sums of Q(A) per subtree). A leaf adds Q(A) + (1 - z_k)/z_k · Q(A\{k}) to each feature k
 * of A; every feature of U then loses Q(A), which is added up the tree and taken once per feature at the
 * node that first uses it. A pair of leaves whose node splits on p (mask B on U without p, p in A for the
 * hot leaf alone or for neither) sums to the one unit Q(B) = alpha·G0(B) + beta·G1(B), with beta the hot
 * leaf's value when p is in its A, else 0; p gets beta·(G0(B) + G1(B)).
 */
export function tableShap(t: TableTree, table: Float64Array, M: Int32Array, Q: Float64Array, x: ArrayLike<number>, xf: Float32Array, phi: Float64Array, o: number): void {
  const { node: N, threshold } = t;
  const nI = threshold.length;
  M[0] = 0;
  for (let i = 0, q = 0; i < nI; i++, q += NODE) {
    const m = M[i]!;
    const v = xf[N[q]!]!;
    const flags = N[q + 5]!;
    let left: number;
    if (v !== v) left = flags & 1;
    else if (flags & 2) left = x[N[q]!]! >= 0 && hasCode(t.cats[i]!, Math.trunc(v)) ? 0 : 1;
    else left = +(v < threshold[i]!);
    const hot = m | N[q + 3]!;
    const cold = m & N[q + 4]!;
    const d = (hot ^ cold) & -left;
    M[N[q + 1]!] = cold ^ d;
    M[N[q + 2]!] = hot ^ d;
  }
  const { unitFeat, unitCoef } = t;
  const { sSlot, sOff, sTab } = t;
  for (let j = 0, nS = sSlot.length; j < nS; j++) {
    const slot = sSlot[j]!;
    const A = M[slot]!;
    const base = sTab[j]!;
    const q = table[base + A]!;
    Q[slot] = q;
    const off = sOff[j]!;
    for (let B = A; B !== 0; B &= B - 1) {
      const bit = B & -B;
      const k = off + 31 - Math.clz32(bit);
      phi[o + unitFeat[k]!]! += q + unitCoef[k]! * table[base + (A ^ bit)]!;
    }
  }
  const { pSlot, pBit, pFeat, pVL, pVR, pAlpha, pOff, pTab } = t;
  for (let j = 0, nP = pSlot.length; j < nP; j++) {
    const slot = pSlot[j]!;
    const ml = M[slot]!;
    const p = pBit[j]!;
    const beta = ((ml >> p) & 1) * pVL[j]! + ((M[slot + 1]! >> p) & 1) * pVR[j]!;
    const below = (1 << p) - 1;
    const B = (ml & below) | ((ml >>> 1) & ~below);
    const base = pTab[j]!;
    const alpha = pAlpha[j]!;
    const g0 = table[base + 2 * B]!;
    const g1 = table[base + 2 * B + 1]!;
    const q = alpha * g0 + beta * g1;
    Q[slot] = q;
    Q[slot + 1] = 0;
    phi[o + pFeat[j]!]! += beta * (g0 + g1);
    const off = pOff[j]!;
    for (let R = B; R !== 0; R &= R - 1) {
      const bit = R & -R;
      const k = off + 31 - Math.clz32(bit);
      const h = base + 2 * (B ^ bit);
      phi[o + unitFeat[k]!]! += q + unitCoef[k]! * (alpha * table[h]! + beta * table[h + 1]!);
    }
  }
  const { lSlot } = t;
  for (let j = 0, nL = lSlot.length; j < nL; j++) {
    Q[lSlot[j]!] = 0; // explained whole here: nothing for the features' -Q(A) above
    longLeafShap(t.lM[j]!, t.lOff[j]!, t.lValue[j]!, t.lZero, t.lFeat, M[lSlot[j]!]!, phi, o);
  }
  for (let i = nI - 1, q = i * NODE; i >= 0; i--, q -= NODE) {
    const s = Q[N[q + 1]!]! + Q[N[q + 2]!]!;
    Q[i] = s;
    if (N[q + 3] !== 0) phi[o + N[q]!]! -= s;
  }
}
