/**
 * The boosting loop: check inputs, bin once, then per round compute gradients, grow one tree per output
 * (row and feature sampling drawn from seeded streams), update margins, evaluate and early-stop.
 */
import { KilnError } from '../core/errors.js';
import { Progress, type ProgressOptions } from '../core/progress.js';
import { Rng } from '../core/rng.js';
import { Arena } from './arena.js';
import { binFeatures, CUT_SAMPLE_ROWS, matrixLayout, type BinAccel, type BinnedMatrix } from './binning.js';
import { BoostSteps } from './boost.js';
import { Booster } from './booster.js';
import { checkBaseMargin, checkFeatures, checkGroups, checkLabels, checkWeights, resolveCategorical, resolveMonotone, type FeatureColumn } from './data.js';
import { TreeGrower } from './grow.js';
import { resolveMetric, type Metric } from './metrics.js';
import { OBJECTIVES, transformAll, type Objective } from './objectives.js';
import { resolveParams, type GbdtParams, type ResolvedParams } from './params.js';
import { TaskPool } from './pool.js';
import { addTreeMargins } from './predict.js';
import type { Tree } from './tree.js';
import { instantiateKernels } from './wasm.js';

/** A validation set, scored every round (and used for early stopping). */
export interface ValidSet {
  features: FeatureColumn[];
  label: ArrayLike<number>;
  weight?: ArrayLike<number>;
  group?: ArrayLike<number>;
  /** Initial margin of each row (n x K, row-major), as baseMargin of TrainInput. */
  baseMargin?: ArrayLike<number>;
}

export interface IterationInfo {
  /** 0-based boosting round. */
  iteration: number;
  /** Metric values on the training rows, by metric name. */
  train: Record<string, number>;
  /** Metric values on `valid`, when given. */
  valid?: Record<string, number>;
}

export interface TrainInput {
  /** Column-major features: one Float32Array or Float64Array per feature, NaN = missing. */
  features: FeatureColumn[];
  label: ArrayLike<number>;
  weight?: ArrayLike<number>;
  featureNames: string[];
  /** Categorical features (names or indices); values are non-negative integer category codes. */
  categorical?: (string | number)[];
  params: GbdtParams;
  valid?: ValidSet;
  /** Called after every round; computing train metrics costs a pass over the training rows. */
  onIteration?: (info: IterationInfo) => void;
  /** Query group sizes, in row order (rank:ndcg). */
  group?: ArrayLike<number>;
  /**
   * Initial margin of each row (n x K, row-major; XGBoost's base_margin), replacing base_score's: trees
   * learn a correction to a prior score (a retrieval score under a ranker). Predictions do not include
   * it: add the row's margin to predictRaw, as with XGBoost.
   */
  baseMargin?: ArrayLike<number>;
  /** Stops training between rounds with an INTERRUPTED error. */
  signal?: AbortSignal;
  /** A progress line per round on stderr (or the given stream); off by default. */
  progress?: boolean | Partial<Pick<ProgressOptions, 'stream' | 'label' | 'quiet'>>;
  /**
   * Rows x features from which `nthread` threads are used; below it training stays on the calling thread
   * (the same model either way). Default: MIN_ENTRIES_FOR_THREADS, or MIN_WIDE_ENTRIES_FOR_THREADS for rows
   * of WIDE_FROM_FEATURES columns or more (threadsFor).
   */
  minEntriesForThreads?: number;
}

/**
 * Smallest rows x features for which worker threads are started on narrow data (fewer than
 * WIDE_FROM_FEATURES columns); below it nthread is ignored (the same model either way). Rows of a few
 * features give a histogram task little work against what every dispatch costs (waking the other
 * thread, waiting for the slowest task), and real data's skewed splits leave one node's rows most of
 * it. bench/gbdt-threads.ts, cold processes on 2 vCPUs, 2 / 1 thread train time: Give Me Some Credit
 * (120k x 10) 1.12-1.33, synthetic 60k x 16 1.12, 120k x 10 0.94-1.19, 160k x 10 0.98, 240k x 10 0.84
 * (docs/gbdt.md).
 */
export const MIN_ENTRIES_FOR_THREADS = 1_500_000;
/** Columns from which rows count as wide: there the histograms dominate and threads pay from far less data. */
export const WIDE_FROM_FEATURES = 24;
/** Smallest rows x features for which worker threads are started on wide data (2 / 1 thread: 25k x 50 0.76-0.96, 20k x 25 1.14). */
export const MIN_WIDE_ENTRIES_FOR_THREADS = 1_000_000;

/**
 * Threads training uses for n rows x F features at the given nthread: one below the threshold, and from
 * it at most one thread per half the threshold's entries (the two measured threads had 750k entries each
 * at the narrow threshold), so 16 cores do not start 15 workers for 2M entries. `minEntries`
 * (TrainInput.minEntriesForThreads) replaces the rule: all nthread threads from that many entries.
 */
export function threadsFor(n: number, F: number, nthread: number, minEntries?: number): number {
  const entries = n * F;
  if (minEntries !== undefined) return entries >= minEntries ? nthread : 1;
  const need = F >= WIDE_FROM_FEATURES ? MIN_WIDE_ENTRIES_FOR_THREADS : MIN_ENTRIES_FOR_THREADS;
  return entries < need ? 1 : Math.max(1, Math.min(nthread, Math.floor(entries / (need / 2))));
}

interface Prepared {
  p: ResolvedParams;
  n: number;
  K: number;
  label: Float32Array;
  weight: Float32Array | null;
  groupPtr: Int32Array | null;
  baseMargin: Float64Array | null;
  isCat: Uint8Array;
  monotone: Int8Array;
  metrics: Metric[];
  valid: { features: FeatureColumn[]; n: number; label: Float32Array; weight: Float32Array | null; groupPtr: Int32Array | null; baseMargin: Float64Array | null } | null;
}

function prepare(input: TrainInput): Prepared {
  if (input === null || typeof input !== 'object') throw new KilnError('INVALID_ARGUMENT', 'train() takes one object: { features, label, featureNames, params, ... }');
  const p = resolveParams(input.params ?? {});
  const n = checkFeatures(input.features, input.featureNames);
  const names = input.featureNames;
  const K = p.objective === 'multi:softprob' ? p.num_class! : 1;
  const label = checkLabels(input.label, n, p.objective, K);
  const weight = checkWeights(input.weight, n);
  const groupPtr = checkGroups(input.group, n, p.objective);
  const baseMargin = checkBaseMargin(input.baseMargin, n, K);
  const isCat = resolveCategorical(input.categorical, names);
  const monotone = resolveMonotone(p, names, isCat);
  const metricNames = p.eval_metric === undefined ? [OBJECTIVES[p.objective].defaultMetric] : Array.isArray(p.eval_metric) ? p.eval_metric : [p.eval_metric];
  const metrics = metricNames.map((m) => resolveMetric(m, p.objective));
  let valid: Prepared['valid'] = null;
  if (input.valid !== undefined) {
    const v = input.valid;
    const nv = checkFeatures(v?.features, undefined, 'valid.features');
    if (v.features.length !== names.length) {
      throw new KilnError('GBDT_DATA_INVALID', `valid.features has ${v.features.length} columns but the training data has ${names.length}; give the same features in the same order`, { path: ['valid', 'features'] });
    }
    valid = {
      features: v.features, n: nv, label: checkLabels(v.label, nv, p.objective, K, 'valid.label'),
      weight: checkWeights(v.weight, nv, 'valid.weight'), groupPtr: checkGroups(v.group, nv, p.objective, 'valid.group'),
      baseMargin: checkBaseMargin(v.baseMargin, nv, K, 'valid.baseMargin'),
    };
    if ((valid.baseMargin === null) !== (baseMargin === null)) {
      throw new KilnError('GBDT_DATA_INVALID', 'baseMargin is given for one of training and valid but not the other; give both (the valid metrics would not be comparable)', { path: [baseMargin ? 'valid' : '', 'baseMargin'].filter(Boolean) });
    }
  }
  const m = input.minEntriesForThreads;
  if (m !== undefined && !(typeof m === 'number' && m >= 0)) {
    throw new KilnError('INVALID_ARGUMENT', `minEntriesForThreads must be a number >= 0 (rows x features from which worker threads are used); got ${typeof m === 'number' ? String(m) : JSON.stringify(m)}`, { path: ['minEntriesForThreads'] });
  }
  if (p.early_stopping_rounds !== undefined && !valid) {
    throw new KilnError('GBDT_PARAM_INVALID', `early_stopping_rounds = ${p.early_stopping_rounds} needs a validation set; pass valid: { features, label }`, { path: ['params', 'early_stopping_rounds'] });
  }
  return { p, n, K, label, weight, groupPtr, baseMargin, isCat, monotone, metrics, valid };
}

/** Fills idx with the rows of this tree's sample; returns how many. */
function sampleRows(idx: Uint32Array, n: number, subsample: number, rng: Rng, inSample: Uint8Array | null, identity: Uint32Array | null): number {
  if (subsample >= 1) {
    idx.set(identity!);
    return n;
  }
  let k = 0;
  inSample!.fill(0);
  for (let i = 0; i < n; i++) {
    if (rng.uniform() < subsample) { idx[k++] = i; inSample![i] = 1; }
  }
  return k;
}

/** Feature mask for one tree: max(1, floor(colsample * F)) features by a seeded partial shuffle. */
function sampleFeatures(F: number, colsample: number, rng: Rng, out: Uint8Array): void {
  if (colsample >= 1) { out.fill(1); return; }
  const k = Math.max(1, Math.floor(colsample * F));
  const perm = Int32Array.from({ length: F }, (_, i) => i);
  for (let i = 0; i < k; i++) {
    const j = i + rng.int(F - i);
    const t = perm[i]!; perm[i] = perm[j]!; perm[j] = t;
  }
  out.fill(0);
  for (let i = 0; i < k; i++) out[perm[i]!] = 1;
}

function evaluate(metrics: Metric[], margin: Float64Array, K: number, label: Float32Array, weight: Float32Array | null, groupPtr: Int32Array | null, objective: Objective): Record<string, number> {
  const pred = Float64Array.from(margin);
  transformAll(objective, pred, K);
  const out: Record<string, number> = {};
  for (const m of metrics) out[m.name] = m.compute({ pred, label, weight, nOutputs: K, groupPtr });
  return out;
}

/**
 * Trains a gradient-boosted tree ensemble.
 * @example
 * const booster = await train({ features: [x0, x1], label: y, featureNames: ['x0', 'x1'], params: { objective: 'binary:logistic' } });
 * const p = booster.predict([x0, x1]);
 */
/**
 * Binning's WebAssembly loops over scratch in the arena: the sort for up to `capacity` keys, column
 * binning for `n` rows into bins in the arena (null without WebAssembly).
 */
export function wasmBinning(arena: Arena, capacity: number, n: number): BinAccel | null {
  if (!arena.memory || !arena.module) return null;
  const k = instantiateKernels(arena.module, arena.memory);
  const keys = arena.alloc(capacity * 4), tmp = arena.alloc(capacity * 4), count = arena.alloc(2048 * 4);
  const col = arena.alloc(n * 4), cuts = arena.alloc(256 * 4), start = arena.alloc(65537 * 2);
  const memory = col.buf;
  return {
    sort(x) {
      if (x.length > capacity) return false;
      const view = new Int32Array(keys.buf, keys.byteOffset, x.length);
      view.set(x);
      k.radixSort(keys.byteOffset, tmp.byteOffset, count.byteOffset, x.length);
      x.set(view);
      return true;
    },
    binColumn(x, cutKeys, missing, out) {
      if (x.length !== n || cutKeys.length > 256 || out.buffer !== memory) return null;
      new Float32Array(col.buf, col.byteOffset, n).set(x);
      new Int32Array(cuts.buf, cuts.byteOffset, cutKeys.length).set(cutKeys);
      k.binStart(cuts.byteOffset, cutKeys.length, start.byteOffset);
      return k.binColumn(col.byteOffset, n, cuts.byteOffset, start.byteOffset, missing, out.byteOffset);
    },
  };
}

export async function train(input: TrainInput): Promise<Booster> {
  const d = prepare(input);
  const { p, n, K, label, weight, groupPtr, valid, metrics } = d;
  const F = input.features.length;
  const objective = OBJECTIVES[p.objective];
  const layout = matrixLayout(n, F, p.max_bin);
  const slotBytes = layout.rowStride * layout.histStride * 16;
  const arena = new Arena(layout.rowBytes + layout.colBytes + n * (28 + 8 * K) + Math.min(n, CUT_SAMPLE_ROWS * 2) * 8 + n * 4 + 140_000 + 64 * slotBytes);
  const regions = { rows: arena.alloc(layout.rowBytes), cols: arena.alloc(layout.colBytes) };
  const shared = { bins: regions.rows, cols: regions.cols, grad: arena.alloc(n * 4), hess: arena.alloc(n * 4), idx: arena.alloc(n * 4), tmp: arena.alloc(n * 4) };
  const threads = threadsFor(n, F, p.nthread, input.minEntriesForThreads);
  const split = { lambda: p.lambda, alpha: p.alpha, minChildWeight: p.min_child_weight, maxCatToOnehot: p.max_cat_to_onehot, maxCatThreshold: p.max_cat_threshold, constrained: d.monotone.some((c) => c !== 0) };
  const config = {
    wide: layout.wide, rowStride: layout.rowStride, histStride: layout.histStride, nFeatures: F, nRows: n, objective: p.objective, nOutputs: K, scalePosWeight: p.scale_pos_weight,
    nBins: new Int32Array(new SharedArrayBuffer(F * 4)), categorical: d.isCat, monotone: d.monotone, split,
  };
  // Workers load while this thread bins the data (and takes the first rounds alone if they are not up
  // by then: lazy); binning errors still surface first.
  const starting = TaskPool.start(threads, config, arena, shared, false, true);
  let matrix: BinnedMatrix;
  try {
    matrix = binFeatures(input.features, input.featureNames, d.isCat, weight, p.max_bin, p.seed, regions, wasmBinning(arena, Math.min(n, CUT_SAMPLE_ROWS * 2), n));
  } catch (e) {
    await starting.then((pool) => pool.close(), () => undefined);
    throw e;
  }
  const pool = await starting;
  // Bin counts are known only now; the array is shared memory, so workers see them too.
  matrix.features.forEach((fb, j) => { config.nBins[j] = fb.nBins; });
  const bar = input.progress ? new Progress({ label: 'gbdt train', total: p.n_estimators, unit: 'rounds', ...(typeof input.progress === 'object' ? input.progress : {}) }) : null;
  try {
    const st = pool.state;
    const grower = new TreeGrower(pool, arena, matrix, {
      split,
      monotone: d.monotone, maxDepth: p.max_depth, maxLeaves: p.max_leaves, lossguide: p.grow_policy === 'lossguide', gamma: p.gamma, eta: p.learning_rate,
    });
    const baseMargin = Math.fround(objective.baseMargin(p.base_score));
    const steps = new BoostSteps(pool, objective, groupPtr, label, weight, baseMargin, (bytes) => arena.alloc(bytes));
    const margin = steps.margin;
    if (d.baseMargin) margin.set(d.baseMargin);
    const validMargin = valid ? (valid.baseMargin ? Float64Array.from(valid.baseMargin) : new Float64Array(valid.n * K).fill(baseMargin)) : null;
    const rowRng = new Rng(p.seed, 1);
    const colRng = new Rng(p.seed, 2);
    const inSample = p.subsample < 1 ? new Uint8Array(n) : null;
    let identity: Uint32Array | null = null;
    if (p.subsample >= 1) {
      identity = new Uint32Array(n);
      for (let i = 0; i < n; i++) identity[i] = i;
    }
    const allowed = new Uint8Array(F);
    const trees: Tree[] = [];
    const treeGroup: number[] = [];
    const higher = metrics[metrics.length - 1]!.higherIsBetter;
    let best = { iteration: -1, score: NaN };
    let rounds = 0;

    for (let iter = 0; iter < p.n_estimators; iter++) {
      if (input.signal) {
        await new Promise((r) => setImmediate(r));
        if (input.signal.aborted) throw new KilnError('INTERRUPTED', `training interrupted after ${iter} rounds`);
      }
      steps.gradients();
      for (let k = 0; k < K; k++) {
        steps.loadClass(k);
        const nRows = sampleRows(st.idx, n, p.subsample, rowRng, inSample, identity);
        sampleFeatures(F, p.colsample_bytree, colRng, allowed);
        const { tree, leaves } = grower.grow(nRows, allowed);
        steps.addLeaves(tree, leaves, k);
        if (inSample) {
          for (let i = 0; i < n; i++) {
            if (!inSample[i]) margin[i * K + k]! += tree.leafValue[tree.leafOfBinnedRow(matrix.bins, i * matrix.rowStride)]!;
          }
        }
        const finished = tree.finish();
        trees.push(finished);
        treeGroup.push(k);
        if (valid && validMargin) addTreeMargins(finished, valid.features, valid.n, validMargin, K, k);
      }
      rounds = iter + 1;
      const validScores = valid && validMargin ? evaluate(metrics, validMargin, K, valid.label, valid.weight, valid.groupPtr, objective) : undefined;
      if (input.onIteration) {
        const trainScores = evaluate(metrics, margin, K, label, weight, groupPtr, objective);
        input.onIteration(validScores ? { iteration: iter, train: trainScores, valid: validScores } : { iteration: iter, train: trainScores });
      }
      const last = metrics[metrics.length - 1]!.name;
      bar?.update(rounds, validScores ? `valid ${last} ${validScores[last]!.toFixed(5)}` : undefined);
      if (validScores && p.early_stopping_rounds !== undefined) {
        const s = validScores[last]!;
        if (best.iteration < 0 || (higher ? s > best.score : s < best.score)) best = { iteration: iter, score: s };
        else if (iter - best.iteration >= p.early_stopping_rounds) break;
      }
    }
    bar?.finish(best.iteration >= 0 ? `best iteration ${best.iteration}` : undefined);
    return new Booster({
      objective: p.objective, numClass: K, featureNames: [...input.featureNames], categorical: Array.from(d.isCat, (c) => c === 1),
      baseScore: p.base_score, params: p, trees, treeGroup, rounds,
      best: p.early_stopping_rounds !== undefined && best.iteration >= 0 ? { iteration: best.iteration, score: best.score, metric: metrics[metrics.length - 1]!.name } : null,
    });
  } catch (e) {
    bar?.abort();
    throw e;
  } finally {
    await pool.close();
  }
}
