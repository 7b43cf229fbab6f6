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
 *
 * Two exact algorithms give the same values (to float64 rounding): per-leaf tables (shap-table.ts,
 * O(L·D) per tree and row, built on the first explain and cached per booster) for every tree they cover,
 * and the recursion (shap-recursion.ts, O(L·D²)) for the rest and when asked for.
 */
import { KilnError } from '../core/errors.js';
import type { Booster, PredictInput } from './booster.js';
import { ensureInv, prepareTree, treeShap, type ShapTree } from './shap-recursion.js';
import { buildTables, tableShap, type ShapTables, type TablePlan } from './shap-table.js';

export interface ExplainOptions {
  /** Boosting rounds to explain (default: as in predict, best_iteration + 1 after early stopping, else all). */
  iterations?: number;
  /** For column arrays: the caller's names, checked against the model's. */
  featureNames?: readonly string[];
  /** Called after every block of rows (and once at the end) with rows done and the total, for progress output. */
  onProgress?: (rowsDone: number, rowsTotal: number) => void;
  /** 'auto' (default): leaf tables where a tree allows, else the recursion; 'recursion': the recursion for every tree (the reference). */
  algorithm?: 'auto' | 'recursion';
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
  /** Leaf tables, built on the first explain that uses them. */
  tables: ShapTables | null;
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
    path: new Float64Array(size * 4), bias: new Map(), tables: null,
  };
  contexts.set(booster, c);
  return c;
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

function tablesOf(c: ShapContext): ShapTables {
  return (c.tables ??= buildTables(c.trees, c.nFeatures));
}

/** The tables to use, or null for the recursion everywhere. */
function tablesFor(c: ShapContext, algorithm: ExplainOptions['algorithm']): ShapTables | null {
  if (algorithm === undefined || algorithm === 'auto') return tablesOf(c);
  if (algorithm === 'recursion') return null;
  throw new KilnError('INVALID_ARGUMENT', `algorithm = ${JSON.stringify(algorithm)} is not one of 'auto', 'recursion'`, { path: ['algorithm'] });
}

/** Contributions of one row (values in model order) into out[o..o + K * (F + 1)), bias included; tables null: recursion only. */
function explainInto(c: ShapContext, tables: ShapTables | null, x: ArrayLike<number>, nTrees: number, bias: Float64Array, out: Float64Array, o: number): void {
  const S = c.nFeatures + 1;
  for (let k = 0; k < c.nOutputs; k++) {
    out.fill(0, o + k * S, o + k * S + c.nFeatures);
    out[o + k * S + c.nFeatures] = bias[k]!;
  }
  if (tables) {
    const xf = tables.xf;
    for (let j = 0; j < c.nFeatures; j++) xf[j] = x[j]!;
  }
  for (let t = 0; t < nTrees; t++) {
    const fast = tables ? tables.trees[t] : null;
    if (fast) tableShap(fast, tables!.table, tables!.masks, tables!.sums, x, tables!.xf, out, o + c.group[t]! * S);
    else {
      const tree = c.trees[t]!;
      if (tree.feature.length > 1) treeShap(c.path, tree, x, out, o + c.group[t]! * S, 0, 0, 0, 1, 1, -1);
    }
  }
}

/**
 * Builds (once) and describes the leaf tables of a booster: how many trees use them, their bytes and
 * build time. Serving may call it at load so the first request does not pay for the build.
 */
export function explainPlan(booster: Booster): TablePlan {
  return tablesOf(contextOf(booster)).plan;
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
  const tables = tablesFor(c, opts?.algorithm);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < F; j++) row[j] = cols[j]![i]!;
    explainInto(c, tables, row, nTrees, bias, out, i * stride);
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
export function explainRow(booster: Booster, values: ArrayLike<number>, out?: Float64Array, opts?: Pick<ExplainOptions, 'iterations' | 'algorithm'>): Float64Array {
  const c = contextOf(booster);
  const F = c.nFeatures;
  if (values === null || typeof values !== 'object' || values.length !== F) {
    throw new KilnError('GBDT_DATA_INVALID', `row has ${values?.length ?? 'no'} values but the model has ${F} features (${booster.featureNames.slice(0, 10).join(', ')}${F > 10 ? ', ...' : ''})`, { path: ['values'] });
  }
  const size = c.nOutputs * (F + 1);
  const dst = out ?? new Float64Array(size);
  if (dst.length < size) throw new KilnError('INVALID_ARGUMENT', `out has room for ${dst.length} values; the model writes ${size} (${c.nOutputs} x (${F} features + bias))`, { path: ['out'] });
  const nTrees = roundsToTrees(booster, opts?.iterations);
  explainInto(c, tablesFor(c, opts?.algorithm), values, nTrees, expected(c, nTrees), dst, 0);
  return dst;
}

/**
 * Rows begin..end of column-major inputs into `out` (row i at i * stride): the unit of work of
 * threaded explain (shap-threads.ts), on this thread's context of the booster.
 */
export function explainRange(booster: Booster, cols: ArrayLike<number>[], begin: number, end: number, nTrees: number, algorithm: ExplainOptions['algorithm'], out: Float64Array): void {
  const c = contextOf(booster);
  const tables = tablesFor(c, algorithm);
  const bias = expected(c, nTrees);
  const F = c.nFeatures;
  const stride = c.nOutputs * (F + 1);
  const row = new Float64Array(F);
  for (let i = begin; i < end; i++) {
    for (let j = 0; j < F; j++) row[j] = cols[j]![i]!;
    explainInto(c, tables, row, nTrees, bias, out, i * stride);
  }
}

/** The trees `iterations` rounds cover, and their expected margins (the bias column): what an Explanation carries. */
export function explainBasics(booster: Booster, iterations: number | undefined): { nTrees: number; bias: Float64Array } {
  const c = contextOf(booster);
  const nTrees = roundsToTrees(booster, iterations);
  return { nTrees, bias: expected(c, nTrees) };
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
