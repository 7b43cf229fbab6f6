/**
 * TreeSHAP on the booster's threads (`startThreads`): the rows of a batch in blocks of 64, pulled by the
 * calling thread and the workers from the pool's shared counter, each thread with its own SHAP context
 * (path scratch and leaf tables, built on its first block). A row's contributions never depend on the
 * split, so the result equals the one-thread explain to the bit. Inputs and contributions go through
 * one shared buffer, chunk by chunk (at most EXPLAIN_CHUNK_BYTES).
 */
import type { Booster } from './booster.js';
import type { Region } from './arena.js';
import type { TaskPool } from './pool.js';
import { KilnError } from '../core/errors.js';
import { explainBasics, explainRange, type ExplainOptions, type Explanation } from './shap.js';
import { copyInputRows, rowBlockTasks, setInputs, TASK_EXPLAIN, TASK_INTS, type SharedState } from './tasks.js';

/** Batches below this stay on the calling thread (dispatch would cost more than it saves). */
export const EXPLAIN_THREAD_MIN_ROWS = 256;
const BLOCK_ROWS = 64;
const EXPLAIN_CHUNK_BYTES = 64 * 2 ** 20;

const algorithmCode = (a: ExplainOptions['algorithm']): number => (a === 'recursion' ? 1 : 0);

/** The task runner of a thread: rows begin..end of the shared inputs into the shared output (row 0 of the chunk at 0). */
export function makeExplainer(state: SharedState, booster: () => Booster): NonNullable<SharedState['explain']> {
  return (begin, end, nTrees, alg) => explainRange(booster(), state.inputs, begin, end, nTrees, alg === 1 ? 'recursion' : 'auto', state.out);
}

/** Booster.explain on its threads: an Explanation equal to the one-thread one. */
export function explainThreaded(booster: Booster, pool: TaskPool, cols: ArrayLike<number>[], n: number, opts: ExplainOptions | undefined): Explanation {
  if (opts?.algorithm !== undefined && opts.algorithm !== 'auto' && opts.algorithm !== 'recursion') {
    throw new KilnError('INVALID_ARGUMENT', `algorithm = ${JSON.stringify(opts.algorithm)} is not one of 'auto', 'recursion'`, { path: ['algorithm'] });
  }
  const { nTrees, bias } = explainBasics(booster, opts?.iterations);
  const contributions = explainOnThreads(booster, pool, cols, n, nTrees, opts?.algorithm, opts?.onProgress);
  return { contributions, featureNames: booster.featureNames, expectedValue: bias[0]!, expectedValues: Float64Array.from(bias), numRows: n, numOutputs: booster.numOutputs };
}

export function explainOnThreads(booster: Booster, pool: TaskPool, cols: ArrayLike<number>[], n: number, nTrees: number, algorithm: ExplainOptions['algorithm'], onProgress?: (done: number, total: number) => void): Float64Array {
  const F = booster.numFeatures;
  const stride = booster.numOutputs * (F + 1);
  const rowBytes = (F + stride) * 8;
  const rows = Math.min(n, Math.max(2 * pool.threads * BLOCK_ROWS, Math.floor(EXPLAIN_CHUNK_BYTES / rowBytes / BLOCK_ROWS) * BLOCK_ROWS));
  const buf = new SharedArrayBuffer(rows * rowBytes);
  const views: Float64Array[] = [];
  const shared = cols.map((_, j) => {
    const region: Region = { buf, byteOffset: j * rows * 8, byteLength: rows * 8 };
    views.push(new Float64Array(buf, region.byteOffset, rows));
    return { region, f64: true };
  });
  const out: Region = { buf, byteOffset: F * rows * 8, byteLength: rows * stride * 8 };
  const outView = new Float64Array(buf, out.byteOffset, rows * stride);
  pool.state.explain ??= makeExplainer(pool.state, () => booster);
  setInputs(pool.state, shared, out);
  pool.send({ type: 'inputs', cols: shared, out });
  const maxTasks = Math.ceil(rows / BLOCK_ROWS);
  if (pool.state.tasks.length < maxTasks * TASK_INTS) {
    const bytes = maxTasks * TASK_INTS * 4;
    pool.share('tasks', { buf: new SharedArrayBuffer(bytes), byteOffset: 0, byteLength: bytes });
  }
  const result = new Float64Array(n * stride);
  try {
    for (let r0 = 0; r0 < n; r0 += rows) {
      const m = Math.min(rows, n - r0);
      copyInputRows(cols, views, r0, m);
      pool.run(rowBlockTasks(pool.state.tasks, TASK_EXPLAIN, m, BLOCK_ROWS, nTrees, algorithmCode(algorithm)));
      result.set(outView.subarray(0, m * stride), r0 * stride);
      onProgress?.(r0 + m, n);
    }
  } finally {
    setInputs(pool.state, [], { buf: new SharedArrayBuffer(0), byteOffset: 0, byteLength: 0 });
  }
  return result;
}
