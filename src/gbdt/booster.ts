/**
 * A trained model: batch and single-row prediction, feature importance and the `kiln.gbdt@1` artifact.
 * Predictions use rounds 0..best_iteration when early stopping was configured (as XGBoost's sklearn
 * API does) and every round otherwise; `iterations` overrides.
 */
import { availableParallelism } from 'node:os';
import { didYouMean, KilnError } from '../core/errors.js';
import { Arena, type Region } from './arena.js';
import { f32, MODEL_FORMAT, parseModelJson, treeFromJson, treeToJson, type GbdtModelJson } from './model-json.js';
import { OBJECTIVES, transformAll } from './objectives.js';
import { RUNTIME_ONLY_PARAMS, type ObjectiveName } from './params.js';
import { TaskPool } from './pool.js';
import { batchMargins, buildForest, rowMargins, type Forest } from './predict.js';
import { copyInputRows, rowBlockTasks, setInputs, TASK_INTS, TASK_PREDICT } from './tasks.js';
import { EXPLAIN_THREAD_MIN_ROWS, explainThreaded } from './shap-threads.js';
import type { Tree } from './tree.js';
import { explain as explainRows, explainRow as explainOneRow, type ExplainOptions, type Explanation } from './shap.js';

/** Rows per task when batch prediction runs on threads. */
const PREDICT_BLOCK_ROWS = 4096;
/** Smaller batches stay on the calling thread: copying them to shared memory costs more than it saves. */
const PREDICT_THREADS_MIN_ROWS = 65536;
/** Rows per chunk of a threaded batch, and the most input bytes a chunk may hold (wide models get shorter chunks). */
const PREDICT_CHUNK_ROWS = 65536;
const PREDICT_CHUNK_BYTES = 32 * 2 ** 20;

export type ImportanceType = 'gain' | 'split' | 'cover' | 'total_gain' | 'total_cover';

/** Feature columns in model order, or by name (extra names are ignored, missing ones are an error). */
export type PredictInput = readonly ArrayLike<number>[] | Readonly<Record<string, ArrayLike<number>>>;

export interface PredictOptions {
  /** Boosting rounds to use (default: best_iteration + 1 after early stopping, else all). */
  iterations?: number;
  /** For column arrays: the caller's names, checked against the model's. */
  featureNames?: readonly string[];
}

export interface BoosterInit {
  objective: ObjectiveName;
  /** Outputs per row. */
  numClass: number;
  featureNames: string[];
  categorical: boolean[];
  baseScore: number;
  params: Record<string, unknown>;
  trees: Tree[];
  treeGroup: number[];
  rounds: number;
  best: { iteration: number; score: number; metric: string } | null;
}

export class Booster {
  readonly objective: ObjectiveName;
  readonly numOutputs: number;
  readonly featureNames: readonly string[];
  readonly categorical: readonly boolean[];
  readonly baseScore: number;
  readonly baseMargin: number;
  readonly params: Readonly<Record<string, unknown>>;
  /** Trees in boosting order; tree i adds to output treeGroup[i]. */
  readonly trees: readonly Tree[];
  readonly treeGroup: readonly number[];
  readonly numRounds: number;
  /** Best round on the validation set when early stopping was configured. */
  readonly bestIteration: number | undefined;
  readonly bestScore: number | undefined;
  readonly bestMetric: string | undefined;
  private readonly forest: Forest;
  private readonly rowScratch: Float64Array;
  private threads: TaskPool | null = null;
  /** The shared buffer threaded batches copy their inputs through (kept between calls; close() drops it). */
  private predictBuf: SharedArrayBuffer | null = null;
  /** A predictAsync call holds the threads and predictBuf (a predict meanwhile runs on the calling thread). */
  private asyncBusy = false;

  constructor(init: BoosterInit) {
    this.objective = init.objective;
    this.numOutputs = init.numClass;
    this.featureNames = init.featureNames;
    this.categorical = init.categorical;
    this.baseScore = init.baseScore;
    this.baseMargin = Math.fround(OBJECTIVES[init.objective].baseMargin(init.baseScore));
    this.params = Object.fromEntries(Object.entries(init.params).filter(([k, v]) => v !== undefined && !(RUNTIME_ONLY_PARAMS as readonly string[]).includes(k)));
    this.trees = init.trees;
    this.treeGroup = init.treeGroup;
    this.numRounds = init.rounds;
    this.bestIteration = init.best?.iteration;
    this.bestScore = init.best?.score;
    this.bestMetric = init.best?.metric;
    this.forest = buildForest(init.trees, init.treeGroup, init.numClass, init.featureNames.length, this.baseMargin);
    this.rowScratch = new Float64Array(init.numClass);
  }

  get numFeatures(): number {
    return this.featureNames.length;
  }

  private treeCount(iterations: number | undefined): number {
    const rounds = iterations ?? (this.bestIteration !== undefined ? this.bestIteration + 1 : this.numRounds);
    if (!Number.isInteger(rounds) || rounds < 0 || rounds > this.numRounds) {
      throw new KilnError('INVALID_ARGUMENT', `iterations = ${rounds} is out of range: this model has ${this.numRounds} rounds (use 0..${this.numRounds})`, { path: ['iterations'] });
    }
    return rounds * this.numOutputs;
  }

  /** Checks and orders input columns (arrays in the model's order, or a record by name); shared by predict and explain. */
  inputColumns(input: PredictInput, opts: { featureNames?: readonly string[] } | undefined, caller = 'predict()'): { cols: ArrayLike<number>[]; n: number } {
    const names = this.featureNames;
    let cols: ArrayLike<number>[];
    if (Array.isArray(input)) {
      cols = input as ArrayLike<number>[];
      if (cols.length !== names.length) {
        throw new KilnError('GBDT_DATA_INVALID', `got ${cols.length} feature columns but the model has ${names.length} (${names.slice(0, 10).join(', ')}${names.length > 10 ? ', ...' : ''})`, { path: ['features'] });
      }
      const given = opts?.featureNames;
      if (given) {
        const bad = names.findIndex((nm, j) => given[j] !== nm);
        if (given.length !== names.length || bad >= 0) {
          const j = bad >= 0 ? bad : Math.min(given.length, names.length);
          throw new KilnError('GBDT_DATA_INVALID', `feature names do not match the model: column ${j} is '${given[j] ?? '(none)'}' but the model expects '${names[j] ?? '(none)'}'; pass columns in the model's order: ${names.join(', ')}`, { path: ['featureNames', j] });
        }
      }
    } else if (input !== null && typeof input === 'object') {
      const rec = input as Record<string, ArrayLike<number>>;
      cols = names.map((nm) => {
        const c = rec[nm];
        if (c === undefined) {
          const hint = didYouMean(nm, Object.keys(rec).filter((k) => !names.includes(k)));
          throw new KilnError('GBDT_DATA_INVALID', `feature '${nm}' is missing from the input${hint ? ` (found '${hint}'; a renamed column?)` : ''}; the model needs: ${names.join(', ')}`, { path: ['features', nm] });
        }
        return c;
      });
    } else {
      throw new KilnError('INVALID_ARGUMENT', `${caller} takes an array of feature columns or an object of columns by feature name`, { path: ['features'] });
    }
    const n = cols[0]?.length ?? 0;
    cols.forEach((c, j) => {
      if (c === null || typeof c !== 'object' || c.length !== n) {
        throw new KilnError('GBDT_DATA_INVALID', `feature column '${names[j]}' has ${c?.length ?? 'no'} rows but '${names[0]}' has ${n}; every column must have the same number of rows`, { path: ['features', names[j]!] });
      }
    });
    return { cols, n };
  }

  /** Margins (n x numOutputs, row-major): base margin plus the sum of leaf values. */
  predictRaw(features: PredictInput, opts?: PredictOptions): Float64Array {
    const { cols, n } = this.inputColumns(features, opts);
    const nTrees = this.treeCount(opts?.iterations);
    if (this.threads && n >= PREDICT_THREADS_MIN_ROWS && !this.asyncBusy) return this.predictOnThreads(this.threads, cols, n, nTrees);
    const out = new Float64Array(n * this.numOutputs);
    batchMargins(this.forest, cols, 0, n, nTrees, out);
    return out;
  }

  /**
   * Starts nthread - 1 worker threads that later batch predictions of 65536 rows or more share (rows in
   * blocks of 4096; a row's result never depends on the split). Smaller batches and single rows stay on
   * the calling thread.
   * Idle threads do not keep the process alive; close() stops them.
   */
  async startThreads(nthread = availableParallelism()): Promise<void> {
    if (this.threads || nthread <= 1) return;
    const config = {
      wide: false, rowStride: 0, histStride: 0, nFeatures: this.numFeatures, nRows: 0, objective: this.objective, nOutputs: this.numOutputs, scalePosWeight: 1,
      nBins: new Int32Array(0), categorical: new Uint8Array(0), monotone: new Int8Array(0), split: { lambda: 0, alpha: 0, minChildWeight: 0, maxCatToOnehot: 0, maxCatThreshold: 0, constrained: false },
    };
    const pool = await TaskPool.start(nthread, config, new Arena(0, false), {}, true);
    pool.state.forest = this.forest;
    pool.send({ type: 'forest', model: JSON.stringify(this.toJSON()) });
    this.threads = pool;
  }

  /** Stops the threads of startThreads (idempotent). */
  async close(): Promise<void> {
    const t = this.threads;
    this.threads = null;
    this.predictBuf = null;
    await t?.close();
  }

  /**
   * Rows in chunks through the shared input views (threadInputs): each chunk is copied in, then all
   * threads score it.
   */
  private predictOnThreads(pool: TaskPool, cols: ArrayLike<number>[], n: number, nTrees: number): Float64Array {
    const io = this.threadInputs(pool, cols, n);
    const result = new Float64Array(n * this.numOutputs);
    for (let r0 = 0; r0 < n; r0 += io.rows) {
      pool.run(this.chunkTasks(pool, cols, io, r0, n, nTrees));
      result.set(io.outView.subarray(0, Math.min(io.rows, n - r0) * this.numOutputs), r0 * this.numOutputs);
    }
    setInputs(pool.state, [], { buf: new SharedArrayBuffer(0), byteLength: 0, byteOffset: 0 });
    return result;
  }

  /**
   * The shared input views for predictions on the threads: one buffer the booster keeps (at most
   * PREDICT_CHUNK_BYTES of inputs), holding only the columns some split reads. Fresh shared memory per
   * call cost more than the prediction at width (page faults on 1,800 copied columns).
   */
  private threadInputs(pool: TaskPool, cols: ArrayLike<number>[], n: number): { rows: number; views: (Float32Array | Float64Array | null)[]; outView: Float64Array } {
    const K = this.numOutputs;
    const used = this.forest.usedFeature;
    const f64 = cols.map((c) => !(c instanceof Float32Array));
    let rowBytes = 0;
    cols.forEach((_, j) => { if (used[j]) rowBytes += f64[j] ? 8 : 4; });
    // At least two blocks per thread in a chunk, so every thread has work however wide the rows are.
    const minChunk = 2 * pool.threads * PREDICT_BLOCK_ROWS;
    const chunk = Math.max(minChunk, Math.min(PREDICT_CHUNK_ROWS, Math.floor(PREDICT_CHUNK_BYTES / Math.max(1, rowBytes) / PREDICT_BLOCK_ROWS) * PREDICT_BLOCK_ROWS));
    const rows = Math.min(n, chunk);
    const need = cols.reduce<number>((a, _, j) => a + (used[j] ? Math.ceil(rows * (f64[j] ? 8 : 4) / 8) * 8 : 0), 0) + rows * K * 8;
    if (!this.predictBuf || this.predictBuf.byteLength < need) this.predictBuf = new SharedArrayBuffer(need);
    const buf = this.predictBuf;
    let at = 0;
    const views: (Float32Array | Float64Array | null)[] = [];
    const shared = cols.map((_, j) => {
      if (!used[j]) { views.push(null); return { region: { buf, byteOffset: 0, byteLength: 0 }, f64: f64[j]! }; }
      const bytes = rows * (f64[j] ? 8 : 4);
      const region: Region = { buf, byteOffset: at, byteLength: bytes };
      views.push(f64[j] ? new Float64Array(buf, at, rows) : new Float32Array(buf, at, rows));
      at += Math.ceil(bytes / 8) * 8;
      return { region, f64: f64[j]! };
    });
    const out: Region = { buf, byteOffset: at, byteLength: rows * K * 8 };
    setInputs(pool.state, shared, out);
    pool.send({ type: 'inputs', cols: shared, out });
    const maxTasks = Math.ceil(rows / PREDICT_BLOCK_ROWS);
    if (pool.state.tasks.length < maxTasks * TASK_INTS) {
      const bytes = maxTasks * TASK_INTS * 4;
      pool.share('tasks', { buf: new SharedArrayBuffer(bytes), byteOffset: 0, byteLength: bytes });
    }
    return { rows, views, outView: new Float64Array(buf, at, rows * K) };
  }

  /** Copies rows r0.. (one chunk) into the shared views and writes their predict tasks; returns the task count. */
  private chunkTasks(pool: TaskPool, cols: ArrayLike<number>[], io: { rows: number; views: (Float32Array | Float64Array | null)[] }, r0: number, n: number, nTrees: number): number {
    const m = Math.min(io.rows, n - r0);
    copyInputRows(cols, io.views, r0, m);
    return rowBlockTasks(pool.state.tasks, TASK_PREDICT, m, PREDICT_BLOCK_ROWS, nTrees);
  }

  /**
   * predict, with the rows scored on the worker threads of startThreads while the calling thread is free
   * (its event loop runs: batch scoring reads the next rows meanwhile). Without threads, or for fewer
   * rows than a threaded batch, it is predict. One call at a time per booster; the same numbers as predict.
   */
  async predictAsync(features: PredictInput, opts?: PredictOptions): Promise<Float64Array> {
    const { cols, n } = this.inputColumns(features, opts);
    const pool = this.threads;
    if (!pool || n < PREDICT_THREADS_MIN_ROWS) return this.predict(features, opts);
    if (this.asyncBusy) throw new KilnError('INTERNAL', 'predictAsync called again before the previous call finished; await it first');
    this.asyncBusy = true;
    try {
      const nTrees = this.treeCount(opts?.iterations);
      const io = this.threadInputs(pool, cols, n);
      const out = new Float64Array(n * this.numOutputs);
      for (let r0 = 0; r0 < n; r0 += io.rows) {
        await pool.runOnWorkers(this.chunkTasks(pool, cols, io, r0, n, nTrees));
        out.set(io.outView.subarray(0, Math.min(io.rows, n - r0) * this.numOutputs), r0 * this.numOutputs);
      }
      transformAll(OBJECTIVES[this.objective], out, this.numOutputs);
      return out;
    } finally {
      setInputs(pool.state, [], { buf: new SharedArrayBuffer(0), byteLength: 0, byteOffset: 0 });
      this.asyncBusy = false;
    }
  }

  /** Probabilities (binary:logistic; n x num_class for multi:softprob), values or ranking scores. */
  predict(features: PredictInput, opts?: PredictOptions): Float64Array {
    const out = this.predictRaw(features, opts);
    transformAll(OBJECTIVES[this.objective], out, this.numOutputs);
    return out;
  }

  private checkRow(values: ArrayLike<number>): void {
    if (values.length !== this.featureNames.length) {
      throw new KilnError('GBDT_DATA_INVALID', `row has ${values.length} values but the model has ${this.featureNames.length} features`, { path: ['values'] });
    }
  }

  /**
   * One row (feature values in model order, NaN = missing) for single-output objectives: the
   * prediction, or the margin when `raw`. Allocates nothing; the serving path.
   */
  predictRow(values: ArrayLike<number>, raw = false): number {
    if (this.numOutputs !== 1) {
      throw new KilnError('INVALID_ARGUMENT', `predictRow returns one number but '${this.objective}' has ${this.numOutputs} outputs; use predictRowInto(values, out)`);
    }
    this.checkRow(values);
    const s = this.rowScratch;
    rowMargins(this.forest, values, this.treeCount(undefined), s, 0);
    if (!raw) OBJECTIVES[this.objective].link(s, 0, 1);
    return s[0]!;
  }

  /** One row into out[offset..offset + numOutputs) (class probabilities for multi:softprob). */
  predictRowInto(values: ArrayLike<number>, out: Float64Array, raw = false, offset = 0): void {
    this.checkRow(values);
    const K = this.numOutputs;
    if (out.length < offset + K) throw new KilnError('INVALID_ARGUMENT', `out has room for ${out.length - offset} values after offset ${offset}; the model writes ${K}`);
    rowMargins(this.forest, values, this.treeCount(undefined), out, offset);
    if (!raw) OBJECTIVES[this.objective].link(out, offset, K);
  }

  /**
   * Importance per feature name (every feature, 0 when unused), XGBoost's definitions: 'split' counts
   * splits, 'gain' and 'cover' average the loss reduction and hessian sum over those splits,
   * 'total_gain' and 'total_cover' sum them. Uses all rounds.
   */
  featureImportance(type: ImportanceType = 'gain'): Record<string, number> {
    const kinds: ImportanceType[] = ['gain', 'split', 'cover', 'total_gain', 'total_cover'];
    if (!kinds.includes(type)) throw new KilnError('INVALID_ARGUMENT', `importance type '${String(type)}' is unknown; use one of: ${kinds.join(', ')}`);
    const F = this.featureNames.length;
    const count = new Float64Array(F);
    const gain = new Float64Array(F);
    const cover = new Float64Array(F);
    for (const t of this.trees) {
      for (let i = 0; i < t.feature.length; i++) {
        const f = t.feature[i]!;
        if (f < 0) continue;
        count[f]!++;
        gain[f]! += t.gain[i]!;
        cover[f]! += t.cover[i]!;
      }
    }
    const out: Record<string, number> = {};
    this.featureNames.forEach((nm, f) => {
      const c = count[f]!;
      out[nm] = type === 'split' ? c : type === 'total_gain' ? gain[f]! : type === 'total_cover' ? cover[f]! : c === 0 ? 0 : (type === 'gain' ? gain[f]! : cover[f]!) / c;
    });
    return out;
  }

  /** TreeSHAP contributions in margin space: n x numOutputs x (F + 1), bias last (see shap.ts). */
  explain(features: PredictInput, opts?: ExplainOptions): Explanation {
    const pool = this.threads;
    if (pool) {
      const { cols, n } = this.inputColumns(features, opts, 'explain()');
      // Batches on the threads of startThreads: the same values, to the bit (shap-threads.ts).
      if (n >= EXPLAIN_THREAD_MIN_ROWS) return explainThreaded(this, pool, cols, n, opts);
    }
    return explainRows(this, features, opts);
  }

  /** One row's TreeSHAP contributions (numOutputs x (F + 1)), into `out` when given; the serving path. */
  explainRow(values: ArrayLike<number>, out?: Float64Array): Float64Array {
    return explainOneRow(this, values, out);
  }

  /** The `kiln.gbdt@1` artifact (JSON.stringify(booster) gives its text; same seed, same text). */
  toJSON(): GbdtModelJson {
    return {
      format: MODEL_FORMAT,
      objective: this.objective,
      num_outputs: this.numOutputs,
      base_score: this.baseScore,
      base_margin: f32(this.baseMargin),
      features: this.featureNames.map((name, j) => ({ name, type: this.categorical[j] ? 'categorical' : 'numeric' })),
      params: { ...this.params },
      num_rounds: this.numRounds,
      best_iteration: this.bestIteration ?? null,
      best_score: this.bestScore ?? null,
      best_metric: this.bestMetric ?? null,
      trees: this.trees.map((t, i) => treeToJson(t, this.treeGroup[i]!)),
    };
  }

  /** Loads a model written by toJSON (object or JSON text). */
  static fromJSON(json: GbdtModelJson | string): Booster {
    const m = parseModelJson(json);
    const F = m.features.length;
    if (m.trees.length !== m.num_rounds * m.num_outputs) {
      throw new KilnError('MODEL_FORMAT_INVALID', `not a valid ${MODEL_FORMAT} model: ${m.trees.length} trees for ${m.num_rounds} rounds of ${m.num_outputs} outputs`, { path: ['trees'] });
    }
    return new Booster({
      objective: m.objective, numClass: m.num_outputs, featureNames: m.features.map((f) => f.name), categorical: m.features.map((f) => f.type === 'categorical'),
      baseScore: m.base_score, params: m.params, trees: m.trees.map((t, k) => treeFromJson(t, k, F)), treeGroup: m.trees.map((t) => t.class), rounds: m.num_rounds,
      best: m.best_iteration === null ? null : { iteration: m.best_iteration, score: m.best_score ?? NaN, metric: m.best_metric ?? '' },
    });
  }
}
