/**
 * Prediction over a flattened forest. Routing is XGBoost's: missing (NaN) goes to the default child, a
 * numeric node goes left when fround(x) < threshold, a categorical node goes right when trunc(x) is in
 * its category set and left otherwise (unseen and negative codes included). Margins are accumulated in
 * float32, tree by tree from the base margin, the order XGBoost's CPU predictor uses.
 *
 * Speed: where WebAssembly is available (predict-wasm.ts) the walk compares float32 values without
 * branches and four rows (or, for one row, four trees) walk in lockstep so their loads overlap. The
 * JavaScript walk here is the reference and the fallback, with identical margins: each row is first
 * mapped, per numeric feature, to its rank among that feature's thresholds in the forest (exact:
 * fround(x) < t_i exactly when rank(x) <= i), so a numeric node picks its child with integer arithmetic,
 * child = left + 1 + ((rank - (i + 1)) >> 31) - (missing & defaultLeft). In both, leaves point to
 * themselves through a constant column, so every walk takes the tree's depth in steps.
 */
import { KilnError } from '../core/errors.js';
import { bitsIsNaN, bitsKey, floatKey, rankOf, rankTable, type RankTable } from './float-key.js';
import { WasmForest } from './predict-wasm.js';
import type { Tree } from './tree.js';

/** Rank written for a missing numeric value; `rank >> 16` is its missing flag. */
const MISSING_RANK = 65536;
const CAT_MISSING = -2;
const CAT_INVALID = -1;
/** Node words: [feature, threshold rank or category slot, left child (right = left + 1), flags]. */
const W4 = 4;
const FLAG_DEFAULT_LEFT = 1;
const FLAG_CATEGORICAL = 2;

export interface Forest {
  nFeatures: number;
  /** Outputs per row (num_class for multi:softprob, else 1). */
  nOutputs: number;
  baseMargin: number;
  nodes: Int32Array;
  leaf: Float32Array;
  /** Sorted distinct thresholds of each numeric feature. */
  thresholds: Float32Array[];
  /** The same as float keys with a bucket table, for ranking values. */
  rankTables: RankTable[];
  categoricalFeature: Uint8Array;
  /** Category slots: first word in `bits` and the bit count (max code + 1). */
  catWord: Int32Array;
  catBitCount: Int32Array;
  bits: Uint32Array;
  roots: Int32Array;
  depth: Int32Array;
  /** Output (class) each tree adds to. */
  group: Int32Array;
  hasCategorical: boolean;
  /** The WebAssembly copy of the walk (null: the JavaScript walk below). */
  wasm: WasmForest | null;
  /** Scratch for one encoded row (JavaScript walk). */
  rowEnc: Int32Array;
  /** Features some split reads. */
  usedFeature: Uint8Array;
}

function upperBound(a: Float32Array, x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function buildForest(trees: readonly Tree[], treeGroup: readonly number[], nOutputs: number, nFeatures: number, baseMargin: number, useWasm = true): Forest {
  const thrSets = Array.from({ length: nFeatures }, () => new Set<number>());
  const categoricalFeature = new Uint8Array(nFeatures);
  let total = 0;
  let catNodes = 0;
  for (const t of trees) {
    total += t.feature.length;
    for (let i = 0; i < t.feature.length; i++) {
      if (t.feature[i]! < 0) continue;
      if (t.categorical[i]) { categoricalFeature[t.feature[i]!] = 1; catNodes++; } else thrSets[t.feature[i]!]!.add(t.threshold[i]!);
    }
  }
  const thresholds = thrSets.map((s) => Float32Array.from(s).sort());
  if (thresholds.some((t) => t.length >= MISSING_RANK)) throw new KilnError('MODEL_FORMAT_INVALID', `a feature has ${MISSING_RANK} or more distinct split thresholds; kiln predicts with at most ${MISSING_RANK - 1} per feature`);
  const rankTables = thresholds.map((t) => rankTable(Int32Array.from(t, floatKey)));
  const F: Forest = {
    nFeatures, nOutputs, baseMargin: Math.fround(baseMargin), nodes: new Int32Array(total * W4), leaf: new Float32Array(total), thresholds, rankTables, categoricalFeature,
    catWord: new Int32Array(catNodes), catBitCount: new Int32Array(catNodes), bits: new Uint32Array(0),
    roots: new Int32Array(trees.length), depth: new Int32Array(trees.length), group: Int32Array.from(treeGroup), hasCategorical: catNodes > 0,
    wasm: null, rowEnc: new Int32Array(nFeatures + 1), usedFeature: Uint8Array.from(thresholds, (t, j) => (t.length > 0 || categoricalFeature[j] ? 1 : 0)),
  };
  const words: number[] = [];
  let off = 0;
  let cat = 0;
  trees.forEach((t, ti) => {
    // Breadth-first renumbering keeps each pair of children adjacent whatever the source numbering.
    const order = [0];
    const depthOf = [0];
    const newId = new Int32Array(t.feature.length);
    let maxDepth = 0;
    for (let q = 0; q < order.length; q++) {
      const o = order[q]!;
      if (t.feature[o]! < 0) continue;
      newId[t.left[o]!] = order.length; order.push(t.left[o]!); depthOf.push(depthOf[q]! + 1);
      newId[t.right[o]!] = order.length; order.push(t.right[o]!); depthOf.push(depthOf[q]! + 1);
      maxDepth = Math.max(maxDepth, depthOf[q]! + 1);
    }
    F.roots[ti] = off;
    F.depth[ti] = maxDepth;
    const segOf = new Map<number, number>();
    t.catNodes.forEach((node, k) => segOf.set(node, k));
    order.forEach((o, q) => {
      const g = off + q;
      const k = g * W4;
      const f = t.feature[o]!;
      if (f < 0) {
        F.nodes[k] = nFeatures; // the constant-zero column: rank 0 - 0 keeps the walk on this leaf
        F.nodes[k + 2] = g - 1;
        F.leaf[g] = t.leafValue[o]!;
        return;
      }
      F.nodes[k] = f;
      F.nodes[k + 2] = off + newId[t.left[o]!]!;
      let flags = t.defaultLeft[o] ? FLAG_DEFAULT_LEFT : 0;
      if (t.categorical[o]) {
        const catSeg = segOf.get(o) ?? -1;
        const codes = t.catCodes.subarray(t.catSegments[catSeg]!, t.catSegments[catSeg]! + t.catSizes[catSeg]!);
        const maxCode = codes.length ? Math.max(...codes) : -1;
        const w0 = words.length;
        for (let w = 0; w < (maxCode + 32) >>> 5; w++) words.push(0);
        for (const c of codes) words[w0 + (c >>> 5)]! |= 1 << (c & 31);
        F.catWord[cat] = w0;
        F.catBitCount[cat] = maxCode + 1;
        F.nodes[k + 1] = cat++;
        flags |= FLAG_CATEGORICAL;
      } else {
        F.nodes[k + 1] = upperBound(thresholds[f]!, t.threshold[o]!); // rank of t_i is i + 1
      }
      F.nodes[k + 3] = flags;
    });
    off += order.length;
  });
  F.bits = Uint32Array.from(words, (w) => w >>> 0);
  if (useWasm) F.wasm = WasmForest.create(F, nOutputs, BLOCK_ROWS);
  return F;
}

/** Writes a row's ranks (numeric) or codes (categorical) to out[o..o + nFeatures], then the constant 0. */
export function encodeRow(F: Forest, x: ArrayLike<number>, out: Int32Array, o: number): void {
  const nF = F.nFeatures;
  for (let j = 0; j < nF; j++) out[o + j] = encodeValue(F, j, x[j]!);
  out[o + nF] = 0;
}

function encodeValue(F: Forest, j: number, x: number): number {
  const v = Math.fround(x);
  if (F.categoricalFeature[j]) {
    if (v !== v) return CAT_MISSING;
    // Any negative value is an unseen category (as XGBoost routes it), even one that truncates to 0.
    if (v < 0) return CAT_INVALID;
    const c = Math.trunc(v);
    return c >= 0 && c < 2 ** 30 ? c : CAT_INVALID;
  }
  return v !== v ? MISSING_RANK : rankOf(F.rankTables[j]!, floatKey(v));
}

/** Next node from node index k * W4 for encoded value x. */
function step(F: Forest, k: number, x: number): number {
  const N = F.nodes;
  const flags = N[k + 3]!;
  if (flags < FLAG_CATEGORICAL) return N[k + 2]! + 1 + ((x - N[k + 1]!) >> 31) - ((x >> 16) & flags);
  if (x === CAT_MISSING) return N[k + 2]! + 1 - (flags & FLAG_DEFAULT_LEFT);
  const s = N[k + 1]!;
  const inSet = x >= 0 && x < F.catBitCount[s]! && (F.bits[F.catWord[s]! + (x >>> 5)]! & (1 << (x & 31))) !== 0;
  return N[k + 2]! + (inSet ? 1 : 0);
}

const BLOCK_ROWS = 64;

/**
 * Adds trees [t0, t1) to float32 accumulators acc[i * K + group] for `m` encoded rows (stride nF + 1).
 * Four rows walk in lockstep.
 */
function addTrees(F: Forest, enc: Int32Array, m: number, t0: number, t1: number, acc: Float32Array | Float64Array): void {
  const S = F.nFeatures + 1;
  const K = F.nOutputs;
  const N = F.nodes;
  const leaf = F.leaf;
  for (let t = t0; t < t1; t++) {
    const root = F.roots[t]!;
    const D = F.depth[t]!;
    const g = F.group[t]!;
    let i = 0;
    for (; i + 4 <= m; i += 4) {
      let a = root, b = root, c = root, d = root;
      const o = i * S;
      for (let lv = 0; lv < D; lv++) {
        let k = a * W4;
        let x = enc[o + N[k]!]!;
        let fl = N[k + 3]!;
        a = fl < FLAG_CATEGORICAL ? N[k + 2]! + 1 + ((x - N[k + 1]!) >> 31) - ((x >> 16) & fl) : step(F, k, x);
        k = b * W4;
        x = enc[o + S + N[k]!]!;
        fl = N[k + 3]!;
        b = fl < FLAG_CATEGORICAL ? N[k + 2]! + 1 + ((x - N[k + 1]!) >> 31) - ((x >> 16) & fl) : step(F, k, x);
        k = c * W4;
        x = enc[o + 2 * S + N[k]!]!;
        fl = N[k + 3]!;
        c = fl < FLAG_CATEGORICAL ? N[k + 2]! + 1 + ((x - N[k + 1]!) >> 31) - ((x >> 16) & fl) : step(F, k, x);
        k = d * W4;
        x = enc[o + 3 * S + N[k]!]!;
        fl = N[k + 3]!;
        d = fl < FLAG_CATEGORICAL ? N[k + 2]! + 1 + ((x - N[k + 1]!) >> 31) - ((x >> 16) & fl) : step(F, k, x);
      }
      acc[i * K + g]! += leaf[a]!;
      acc[(i + 1) * K + g]! += leaf[b]!;
      acc[(i + 2) * K + g]! += leaf[c]!;
      acc[(i + 3) * K + g]! += leaf[d]!;
    }
    for (; i < m; i++) {
      let a = root;
      const o = i * S;
      for (let lv = 0; lv < D; lv++) a = step(F, a * W4, enc[o + N[a * W4]!]!);
      acc[i * K + g]! += leaf[a]!;
    }
  }
}

/** Encodes rows r0..r0+m of column-major input into enc (float32 rounding through a Float32Array). */
function encodeBlock(F: Forest, columns: readonly ArrayLike<number>[], r0: number, m: number, enc: Int32Array, f32: Float32Array): void {
  const S = F.nFeatures + 1;
  const bits = new Int32Array(f32.buffer, f32.byteOffset, f32.length);
  for (let j = 0; j < F.nFeatures; j++) {
    const col = columns[j]!;
    if (F.categoricalFeature[j]) {
      for (let i = 0, p = j; i < m; i++, p += S) enc[p] = encodeValue(F, j, col[r0 + i]!);
      continue;
    }
    const table = F.rankTables[j]!;
    if (table.keys.length === 0) {
      for (let i = 0, p = j; i < m; i++, p += S) enc[p] = 0;
      continue;
    }
    for (let i = 0; i < m; i++) f32[i] = col[r0 + i]! + 0;
    for (let i = 0, p = j; i < m; i++, p += S) {
      const b = bits[i]!;
      enc[p] = bitsIsNaN(b) ? MISSING_RANK : rankOf(table, bitsKey(b));
    }
  }
  for (let i = 0, p = F.nFeatures; i < m; i++, p += S) enc[p] = 0;
}

/**
 * Loads rows r0..r0+m into the WebAssembly block buffer as float32 (feature-major), skipping features no
 * split reads. With `oneRow`, `input` is one row's values in feature order instead of columns.
 */
function loadBlockWasm(F: Forest, W: WasmForest, input: readonly ArrayLike<number>[] | ArrayLike<number>, r0: number, m: number, oneRow = false): void {
  const vals = W.vals;
  for (let j = 0; j < F.nFeatures; j++) {
    if (!F.usedFeature[j]) continue;
    if (oneRow) {
      vals[j * BLOCK_ROWS] = (input as ArrayLike<number>)[j]!;
    } else {
      const col = (input as readonly ArrayLike<number>[])[j]!;
      for (let i = 0, o = j * BLOCK_ROWS; i < m; i++) vals[o + i] = col[r0 + i]!;
    }
    // The kernel truncates a category code, so -0.5 would read as 0; any negative value is unseen (as
    // XGBoost routes it): map it to -1, which no category set holds.
    if (F.categoricalFeature[j]) for (let i = 0, o = j * BLOCK_ROWS, e = oneRow ? 1 : m; i < e; i++) if (vals[o + i]! < 0) vals[o + i] = -1;
  }
}

/** Margins of rows [begin, end) of column-major input into out (n x nOutputs, row-major), from the first nTrees trees. */
export function batchMargins(F: Forest, columns: readonly ArrayLike<number>[], begin: number, end: number, nTrees: number, out: Float64Array): void {
  const K = F.nOutputs;
  const W = F.wasm;
  const enc = new Int32Array(W ? 0 : BLOCK_ROWS * (F.nFeatures + 1));
  const acc = W ? W.acc : new Float32Array(BLOCK_ROWS * K);
  const f32 = new Float32Array(BLOCK_ROWS);
  for (let r0 = begin; r0 < end; r0 += BLOCK_ROWS) {
    const m = Math.min(BLOCK_ROWS, end - r0);
    if (W) loadBlockWasm(F, W, columns, r0, m);
    else encodeBlock(F, columns, r0, m, enc, f32);
    acc.fill(F.baseMargin, 0, m * K);
    if (W) W.rows(m, 0, nTrees);
    else addTrees(F, enc, m, 0, nTrees, acc);
    for (let i = 0; i < m * K; i++) out[r0 * K + i] = acc[i]!;
  }
}

/**
 * Adds one tree's leaf values to float64 margins[i * K + k] by walking raw values (no encoding, so a
 * validation set costs one walk per row per round).
 */
export function addTreeMargins(t: Tree, columns: readonly ArrayLike<number>[], nRows: number, margins: Float64Array, K: number, k: number): void {
  const cats = new Map<number, Set<number>>();
  for (let c = 0; c < t.catNodes.length; c++) cats.set(t.catNodes[c]!, new Set(t.catCodes.subarray(t.catSegments[c]!, t.catSegments[c]! + t.catSizes[c]!)));
  const { feature, threshold, left, right, defaultLeft, leafValue } = t;
  for (let i = 0; i < nRows; i++) {
    let n = 0;
    for (let f = feature[0]!; f >= 0; f = feature[n]!) {
      const v = columns[f]![i]!;
      if (v !== v) n = defaultLeft[n] ? left[n]! : right[n]!;
      else if (t.categorical[n]) n = v >= 0 && cats.get(n)!.has(Math.trunc(Math.fround(v))) ? right[n]! : left[n]!;
      else n = Math.fround(v) < threshold[n]! ? left[n]! : right[n]!;
    }
    margins[i * K + k]! += leafValue[n]!;
  }
}

/**
 * Margins of one row (feature values in model order) into out[outOffset..+nOutputs) from the first
 * nTrees trees: four trees walk in lockstep, leaves are added in tree order in float32. Allocates nothing.
 */
export function rowMargins(F: Forest, x: ArrayLike<number>, nTrees: number, out: Float64Array, outOffset: number): void {
  const K = F.nOutputs;
  const W = F.wasm;
  if (W) {
    loadBlockWasm(F, W, x, 0, 1, true);
    W.acc.fill(F.baseMargin, 0, K);
    W.trees(0, nTrees);
    for (let k = 0; k < K; k++) out[outOffset + k] = W.acc[k]!;
    return;
  }
  const enc = F.rowEnc;
  encodeRow(F, x, enc, 0);
  const N = F.nodes;
  const leaf = F.leaf;
  for (let k = 0; k < K; k++) out[outOffset + k] = F.baseMargin;
  let t = 0;
  if (K === 1) {
    let acc = F.baseMargin;
    for (; t + 4 <= nTrees; t += 4) {
      let a = F.roots[t]!, b = F.roots[t + 1]!, c = F.roots[t + 2]!, d = F.roots[t + 3]!;
      const D = Math.max(F.depth[t]!, F.depth[t + 1]!, F.depth[t + 2]!, F.depth[t + 3]!);
      for (let lv = 0; lv < D; lv++) {
        a = step(F, a * W4, enc[N[a * W4]!]!);
        b = step(F, b * W4, enc[N[b * W4]!]!);
        c = step(F, c * W4, enc[N[c * W4]!]!);
        d = step(F, d * W4, enc[N[d * W4]!]!);
      }
      acc = Math.fround(Math.fround(Math.fround(Math.fround(acc + leaf[a]!) + leaf[b]!) + leaf[c]!) + leaf[d]!);
    }
    out[outOffset] = acc;
  }
  for (; t < nTrees; t++) {
    let a = F.roots[t]!;
    for (let lv = 0, D = F.depth[t]!; lv < D; lv++) a = step(F, a * W4, enc[N[a * W4]!]!);
    const o = outOffset + F.group[t]!;
    out[o] = Math.fround(out[o]! + leaf[a]!);
  }
}
