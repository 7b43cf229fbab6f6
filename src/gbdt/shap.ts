/**
 * Exact path-dependent TreeSHAP (Lundberg et al. 2018, "Consistent individualized feature attribution
 * for tree ensembles", Algorithm 2; the recursion of XGBoost's `RegTree::TreeShap`). Each feature's
 * contribution is its Shapley value for the tree's conditional expectation E[f(x) | x_S], where a
 * feature outside S is integrated out by following both children, weighted by the share of training
 * cover (hessian sum) each child received. Rows route as in prediction: missing values follow the
 * default child, numeric nodes go left when fround(x) < threshold, categorical nodes go right when
 * trunc(x) is in the node's set.
 *
 * Everything is computed in float64 in margin space. A child's weight is cover(child) / (cover(left) +
 * cover(right)), which equals XGBoost's cover(child) / cover(node) whenever a node's cover is the sum of
 * its children's (as for trees kiln and XGBoost grow); with this choice every row's contributions plus
 * the expected value sum exactly (to float64 rounding) to the float64 sum of its leaf values.
 */
import { KilnError } from '../core/errors.js';
import type { Booster, PredictInput } from './booster.js';
import { nodeCategories, type Tree } from './tree.js';

export interface ExplainOptions {
  /** Boosting rounds to explain (default: as in predict, best_iteration + 1 after early stopping, else all). */
  iterations?: number;
  /** For column arrays: the caller's names, checked against the model's. */
  featureNames?: readonly string[];
  /** Called after every block of rows (and once at the end) with rows done and the total, for progress output. */
  onProgress?: (rowsDone: number, rowsTotal: number) => void;
}

/** Rows between `onProgress` calls. */
export const EXPLAIN_PROGRESS_ROWS = 64;

export interface Explanation {
  /**
   * n x numOutputs x (F + 1), row-major: for row i and output k, F feature contributions then the bias
   * (the expected margin) at [(i * numOutputs + k) * (F + 1) + F]. Margin space: log-odds for
   * binary:logistic, per-class scores before softmax for multi:softprob.
   */
  contributions: Float64Array;
  featureNames: readonly string[];
  /** Expected margin of output 0 (the only output unless multi:softprob): base margin plus each tree's cover-weighted mean leaf. */
  expectedValue: number;
  /** Expected margin of every output. */
  expectedValues: Float64Array;
  numRows: number;
  numOutputs: number;
}

/** One tree prepared for explanation. */
interface ShapTree {
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

interface ShapContext {
  trees: ShapTree[];
  group: Int32Array;
  nFeatures: number;
  nOutputs: number;
  baseMargin: number;
  /** Path scratch (XGBoost's unique_path_data), 4 words per element. */
  path: Float64Array;
  /** Expected margins by tree count, computed once. */
  bias: Map<number, Float64Array>;
}

function prepareTree(t: Tree): ShapTree {
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

const contexts = new WeakMap<Booster, ShapContext>();

function contextOf(booster: Booster): ShapContext {
  let c = contexts.get(booster);
  if (c) return c;
  const trees = booster.trees.map(prepareTree);
  const maxd = trees.reduce((m, t) => Math.max(m, t.depth), 0) + 2;
  const size = (maxd * (maxd + 1)) / 2;
  ensureInv(maxd + 2);
  c = {
    trees, group: Int32Array.from(booster.treeGroup), nFeatures: booster.featureNames.length, nOutputs: booster.numOutputs, baseMargin: booster.baseMargin,
    path: new Float64Array(size * 4), bias: new Map(),
  };
  contexts.set(booster, c);
  return c;
}

function hasCode(codes: Int32Array, c: number): boolean {
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
function hotChild(t: Pick<ShapTree, 'left' | 'right' | 'feature' | 'threshold' | 'defaultLeft' | 'cats'>, i: number, x: ArrayLike<number>): number {
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

function ensureInv(n: number): void {
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

function treeShap(P: Float64Array, t: ShapTree, x: ArrayLike<number>, phi: Float64Array, o: number, node: number, d: number, parent: number, zero: number, one: number, feature: number): void {
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

function roundsToTrees(booster: Booster, iterations: number | undefined): number {
  const rounds = iterations ?? (booster.bestIteration !== undefined ? booster.bestIteration + 1 : booster.numRounds);
  if (!Number.isInteger(rounds) || rounds < 0 || rounds > booster.numRounds) {
    throw new KilnError('INVALID_ARGUMENT', `iterations = ${rounds} is out of range: this model has ${booster.numRounds} rounds (use 0..${booster.numRounds})`, { path: ['iterations'] });
  }
  return rounds * booster.numOutputs;
}

/** Expected margins (one per output) of the first nTrees trees. */
function expected(c: ShapContext, nTrees: number): Float64Array {
  let e = c.bias.get(nTrees);
  if (e) return e;
  e = new Float64Array(c.nOutputs).fill(c.baseMargin);
  for (let t = 0; t < nTrees; t++) e[c.group[t]!]! += c.trees[t]!.mean;
  c.bias.set(nTrees, e);
  return e;
}

/** Contributions of one row (values in model order) into out[o..o + K * (F + 1)), bias included. */
function explainInto(c: ShapContext, x: ArrayLike<number>, nTrees: number, bias: Float64Array, out: Float64Array, o: number): void {
  const S = c.nFeatures + 1;
  for (let k = 0; k < c.nOutputs; k++) {
    out.fill(0, o + k * S, o + k * S + c.nFeatures);
    out[o + k * S + c.nFeatures] = bias[k]!;
  }
  for (let t = 0; t < nTrees; t++) {
    const tree = c.trees[t]!;
    if (tree.feature.length > 1) treeShap(c.path, tree, x, out, o + c.group[t]! * S, 0, 0, 0, 1, 1, -1);
  }
}

function columnsOf(booster: Booster, input: PredictInput, opts: ExplainOptions | undefined): { cols: ArrayLike<number>[]; n: number } {
  return booster.inputColumns(input, opts, 'explain()');
}

/**
 * SHAP contributions of every row (column-major features, NaN = missing), in margin space: for each row
 * and output, the contributions plus the bias column sum to the row's margin (predictRaw, up to its
 * float32 accumulation).
 * @example
 * const { contributions, expectedValue } = explain(booster, [age, income]);
 * const ageEffect = contributions[i * 3 + 0]; // row i: [age, income, bias]
 */
export function explain(booster: Booster, features: PredictInput, opts?: ExplainOptions): Explanation {
  const c = contextOf(booster);
  const { cols, n } = columnsOf(booster, features, opts);
  const nTrees = roundsToTrees(booster, opts?.iterations);
  const bias = expected(c, nTrees);
  const F = c.nFeatures;
  const stride = c.nOutputs * (F + 1);
  const out = new Float64Array(n * stride);
  const row = new Float64Array(F);
  const onProgress = opts?.onProgress;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < F; j++) row[j] = cols[j]![i]!;
    explainInto(c, row, nTrees, bias, out, i * stride);
    if (onProgress && (i + 1) % EXPLAIN_PROGRESS_ROWS === 0 && i + 1 < n) onProgress(i + 1, n);
  }
  onProgress?.(n, n);
  return { contributions: out, featureNames: booster.featureNames, expectedValue: bias[0]!, expectedValues: Float64Array.from(bias), numRows: n, numOutputs: c.nOutputs };
}

/**
 * One row's contributions (values in model order, NaN = missing) for serving: numOutputs x (F + 1),
 * bias last. Writes into `out` when given (allocating nothing after the first call on a booster).
 * @example
 * const phi = explainRow(booster, [41, 52000]); // [age, income, bias]
 */
export function explainRow(booster: Booster, values: ArrayLike<number>, out?: Float64Array, opts?: Pick<ExplainOptions, 'iterations'>): Float64Array {
  const c = contextOf(booster);
  const F = c.nFeatures;
  if (values === null || typeof values !== 'object' || values.length !== F) {
    throw new KilnError('GBDT_DATA_INVALID', `row has ${values?.length ?? 'no'} values but the model has ${F} features (${booster.featureNames.slice(0, 10).join(', ')}${F > 10 ? ', ...' : ''})`, { path: ['values'] });
  }
  const size = c.nOutputs * (F + 1);
  const dst = out ?? new Float64Array(size);
  if (dst.length < size) throw new KilnError('INVALID_ARGUMENT', `out has room for ${dst.length} values; the model writes ${size} (${c.nOutputs} x (${F} features + bias))`, { path: ['out'] });
  const nTrees = roundsToTrees(booster, opts?.iterations);
  explainInto(c, values, nTrees, expected(c, nTrees), dst, 0);
  return dst;
}

/** Mean |contribution| per feature (over rows and outputs): a global importance from an explanation. */
export function meanAbsContributions(e: Explanation): Record<string, number> {
  const F = e.featureNames.length;
  const sums = new Float64Array(F);
  for (let r = 0; r < e.numRows * e.numOutputs; r++) {
    for (let j = 0; j < F; j++) sums[j]! += Math.abs(e.contributions[r * (F + 1) + j]!);
  }
  const m = Math.max(1, e.numRows);
  return Object.fromEntries(e.featureNames.map((nm, j) => [nm, sums[j]! / m]));
}
