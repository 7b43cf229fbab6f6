/**
 * The work the thread pool runs: a table of small tasks in shared memory, each one of the kernels on a
 * fixed slice of rows or bins. The main thread and every worker run `runTask` on the same shared arrays.
 * How work is cut into tasks never depends on the thread count, and every task writes only its own
 * output, so the model is the same bytes for any nthread.
 */
import { histAdd, histBytes, histSubtract, histU8Words, LITTLE_ENDIAN, WORD_DOUBLES } from './histogram.js';
import { OBJECTIVES } from './objectives.js';
import type { ObjectiveName } from './params.js';
import { batchMargins, type Forest } from './predict.js';
import { findBestSplit, type SplitParams } from './split.js';
import { partitionRows } from './partition.js';
import type { Region } from './arena.js';
import { instantiateKernels, type MarginAddKernel, type GradLogisticKernel, type PairwiseKernel, type GatherKernel, type HistKernel, type PartitionKernel, type WasmMemory, type WasmModule } from './wasm.js';

export const TASK_INTS = 8;
export const SPLIT_INTS = 8;

export const TASK_HIST = 1; // [kind, slot, begin, end, w0, w1]: slot's words w0..w1 (uint8 bins; all for uint16) = histogram of rows idx[begin..end)
export const TASK_PARTITION = 2; // [kind, split, begin, end]: results[split] = left count
export const TASK_REDUCE = 3; // [kind, dst, auxStart, auxCount, from, to]: dst += each aux slot, in order
export const TASK_GRAD = 4; // [kind, begin, end]: gradients of rows begin..end (pointwise objectives)
export const TASK_CLASS = 5; // [kind, begin, end, k]: grad/hess of rows begin..end = class k of gradK/hessK
export const TASK_MARGIN = 6; // [kind, begin, end, leaf, k]: margin[idx[i] * K + k] += leafVals[leaf]
export const TASK_SPLIT = 8; // [kind, node]: best split of node (splitIn row: G, H, lower, upper, weight, slot, minus) into splitOut / catOut rows; slot -= slot `minus` first when >= 0
export const SPLIT_IN = 8;
export const SPLIT_OUT = 12;
export const TASK_PREDICT = 7; // [kind, begin, end, nTrees]: out rows begin..end = margins of inputs (parallel predict)
export const TASK_EXPLAIN = 9; // [kind, begin, end, nTrees, algorithm]: TreeSHAP of input rows begin..end into out (shap-threads.ts)

/** Names of the shared arrays. bins, grad, hess, idx and the histogram slots live in the kernel's memory. */
export const SHARED_NAMES = ['bins', 'cols', 'grad', 'hess', 'idx', 'tmp', 'tasks', 'splits', 'catMask', 'results', 'aux', 'margin', 'label', 'weight', 'gradK', 'hessK', 'leafVals', 'allowed', 'splitIn', 'splitOut', 'catOut'] as const;
export type SharedName = (typeof SHARED_NAMES)[number];

/** Static facts about the run, sent to every thread once. */
export interface PoolConfig {
  wide: boolean;
  rowStride: number;
  histStride: number;
  nFeatures: number;
  nRows: number;
  objective: ObjectiveName;
  nOutputs: number;
  scalePosWeight: number;
  /** Split search: value bins per feature, categorical flags, monotone constraints, parameters. */
  nBins: Int32Array;
  categorical: Uint8Array;
  monotone: Int8Array;
  split: SplitParams;
}

export interface SharedState {
  config: PoolConfig;
  bins: Uint8Array | Uint16Array;
  bins32: Uint32Array | null;
  cols: Uint8Array | Uint16Array;
  grad: Float32Array;
  hess: Float32Array;
  idx: Uint32Array;
  tmp: Uint32Array;
  tasks: Int32Array;
  splits: Int32Array;
  catMask: Uint8Array;
  results: Int32Array;
  aux: Int32Array;
  /** n x K margins, labels, weights (empty when unweighted), n x K gradients (K > 1), leaf values. */
  margin: Float64Array;
  label: Float32Array;
  weight: Float32Array;
  gradK: Float32Array;
  hessK: Float32Array;
  leafVals: Float64Array;
  /** This tree's feature mask; split search inputs (G, H, lower, upper, weight, slot per node) and results. */
  allowed: Uint8Array;
  splitIn: Float64Array;
  splitOut: Float64Array;
  catOut: Uint8Array;
  /** This thread's scratch for categorical split search. */
  sortScratch: Int32Array;
  keyScratch: Float64Array;
  /** Parallel predict: the forest, input columns and output margins. */
  forest: Forest | null;
  inputs: ArrayLike<number>[];
  out: Float64Array;
  /** Parallel explain: this thread's TreeSHAP of rows begin..end (algorithm 0 auto, 1 recursion), set with the forest. */
  explain: ((begin: number, end: number, nTrees: number, algorithm: number) => void) | null;
  /** Histogram slots by id. */
  slots: Float64Array[];
  /** The WebAssembly kernel over the memory that holds bins, grad, hess, idx and slots (null: JavaScript kernel). */
  kernel: HistKernel | null;
  /** The gathering kernel for scattered rows, and this thread's scratch in the kernel's memory (byte offset). */
  gatherKernel: GatherKernel | null;
  scratch: number;
  /** SIMD histogram add / subtract (null: the JavaScript loops). */
  addKernel: PairwiseKernel | null;
  subKernel: PairwiseKernel | null;
  /** binary:logistic gradients in WebAssembly (used when margin and label live in the kernel's memory). */
  gradLogistic: GradLogisticKernel | null;
  marginAdd: MarginAddKernel | null;
  partitionKernel: PartitionKernel | null;
  /** Shared arrays that live in the kernels' memory (Region.wasm), where the WebAssembly loops can read them. */
  inWasm: Set<SharedName>;
}

export function emptyState(config: PoolConfig): SharedState {
  return {
    config, bins: new Uint8Array(0), bins32: null, cols: new Uint8Array(0), grad: new Float32Array(0), hess: new Float32Array(0),
    idx: new Uint32Array(0), tmp: new Uint32Array(0), tasks: new Int32Array(0), splits: new Int32Array(0),
    catMask: new Uint8Array(0), results: new Int32Array(0), aux: new Int32Array(0), slots: [], kernel: null, gatherKernel: null, scratch: -1, addKernel: null, subKernel: null, gradLogistic: null, marginAdd: null, partitionKernel: null, inWasm: new Set(),
    forest: null, inputs: [], out: new Float64Array(0), explain: null,
    allowed: new Uint8Array(0), splitIn: new Float64Array(0), splitOut: new Float64Array(0), catOut: new Uint8Array(0),
    sortScratch: new Int32Array(config.histStride), keyScratch: new Float64Array(config.histStride),
    margin: new Float64Array(0), label: new Float32Array(0), weight: new Float32Array(0), gradK: new Float32Array(0), hessK: new Float32Array(0), leafVals: new Float64Array(0),
  };
}

/** Switches to the WebAssembly kernel (every thread instantiates the module over the same memory). */
export function useWasm(s: SharedState, module: WasmModule, memory: WasmMemory, scratch = -1): void {
  const k = instantiateKernels(module, memory);
  s.kernel = k.hist;
  s.partitionKernel = k.partition;
  s.gatherKernel = scratch >= 0 ? k.gather : null;
  s.addKernel = k.add;
  s.subKernel = k.sub;
  s.gradLogistic = k.gradLogistic;
  s.marginAdd = k.marginAdd;
  s.scratch = scratch;
}

/**
 * Rows of a histogram task further apart than this on average (in matrix rows) are gathered first
 * (histGather): the row-by-row kernel waits on a cache miss per row there.
 */
export const GATHER_MIN_GAP = 2;



/** Installs a shared array under its name (every thread does this with the same region). */
export function setShared(s: SharedState, name: SharedName, r: Region): void {
  const { buf, byteOffset: o, byteLength: len } = r;
  if (r.wasm) s.inWasm.add(name);
  else s.inWasm.delete(name);
  switch (name) {
    case 'bins':
      s.bins = s.config.wide ? new Uint16Array(buf, o, len / 2) : new Uint8Array(buf, o, len);
      s.bins32 = !s.config.wide && LITTLE_ENDIAN ? new Uint32Array(buf, o, len / 4) : null;
      return;
    case 'cols': s.cols = s.config.wide ? new Uint16Array(buf, o, len / 2) : new Uint8Array(buf, o, len); return;
    case 'grad': s.grad = new Float32Array(buf, o, len / 4); return;
    case 'hess': s.hess = new Float32Array(buf, o, len / 4); return;
    case 'idx': s.idx = new Uint32Array(buf, o, len / 4); return;
    case 'tmp': s.tmp = new Uint32Array(buf, o, len / 4); return;
    case 'tasks': s.tasks = new Int32Array(buf, o, len / 4); return;
    case 'splits': s.splits = new Int32Array(buf, o, len / 4); return;
    case 'catMask': s.catMask = new Uint8Array(buf, o, len); return;
    case 'results': s.results = new Int32Array(buf, o, len / 4); return;
    case 'aux': s.aux = new Int32Array(buf, o, len / 4); return;
    case 'margin': s.margin = new Float64Array(buf, o, len / 8); return;
    case 'label': s.label = new Float32Array(buf, o, len / 4); return;
    case 'weight': s.weight = new Float32Array(buf, o, len / 4); return;
    case 'gradK': s.gradK = new Float32Array(buf, o, len / 4); return;
    case 'hessK': s.hessK = new Float32Array(buf, o, len / 4); return;
    case 'leafVals': s.leafVals = new Float64Array(buf, o, len / 8); return;
    case 'allowed': s.allowed = new Uint8Array(buf, o, len); return;
    case 'splitIn': s.splitIn = new Float64Array(buf, o, len / 8); return;
    case 'splitOut': s.splitOut = new Float64Array(buf, o, len / 8); return;
    case 'catOut': s.catOut = new Uint8Array(buf, o, len); return;
  }
}

/** Parallel predict: the shared input columns (float32 or float64) and output. */
export function setInputs(s: SharedState, cols: { region: Region; f64: boolean }[], out: Region): void {
  s.inputs = cols.map(({ region: r, f64 }) => (f64 ? new Float64Array(r.buf, r.byteOffset, r.byteLength / 8) : new Float32Array(r.buf, r.byteOffset, r.byteLength / 4)));
  s.out = new Float64Array(out.buf, out.byteOffset, out.byteLength / 8);
}

/** Writes tasks [kind, begin, end, nTrees, extra] over rows 0..m in blocks of `blockRows` (predict, explain); returns their count. */
export function rowBlockTasks(T: Int32Array, kind: number, m: number, blockRows: number, nTrees: number, extra = 0): number {
  const tasks = Math.ceil(m / blockRows);
  for (let k = 0; k < tasks; k++) {
    const o = k * TASK_INTS;
    T[o] = kind;
    T[o + 1] = k * blockRows;
    T[o + 2] = Math.min(m, (k + 1) * blockRows);
    T[o + 3] = nTrees;
    T[o + 4] = extra;
  }
  return tasks;
}

/** Copies rows r0..r0+m of the input columns into the shared input views (null: a column no tree reads). */
export function copyInputRows(cols: readonly ArrayLike<number>[], views: readonly (Float32Array | Float64Array | null)[], r0: number, m: number): void {
  cols.forEach((c, j) => {
    const v = views[j];
    if (!v) return;
    if (c instanceof Float32Array || c instanceof Float64Array) v.set(c.subarray(r0, r0 + m));
    else for (let i = 0; i < m; i++) v[i] = c[r0 + i]!;
  });
}

export function setSlot(s: SharedState, id: number, r: Region): void {
  s.slots[id] = new Float64Array(r.buf, r.byteOffset, r.byteLength / 8);
}

/** Gradients of rows b..e with the objective's JavaScript loop. */
function gradientsOf(s: SharedState, b: number, e: number): void {
  const c = s.config;
  const K = c.nOutputs;
  const grad = K === 1 ? s.grad : s.gradK;
  const hess = K === 1 ? s.hess : s.hessK;
  OBJECTIVES[c.objective].gradients({
    margin: s.margin.subarray(b * K, e * K), label: s.label.subarray(b, e), weight: s.weight.length > 0 ? s.weight.subarray(b, e) : null,
    grad: grad.subarray(b * K, e * K), hess: hess.subarray(b * K, e * K), nRows: e - b, nOutputs: K, scalePosWeight: c.scalePosWeight, groupPtr: null,
  });
}

export function runTask(s: SharedState, t: number): void {
  const T = s.tasks;
  const o = t * TASK_INTS;
  const kind = T[o]!;
  if (kind === TASK_HIST) {
    const hist = s.slots[T[o + 1]!]!;
    const { config } = s;
    const begin = T[o + 2]!;
    const end = T[o + 3]!;
    if (!s.bins32) {
      hist.fill(0);
      histBytes(s.idx, begin, end, s.bins, config.rowStride, config.nFeatures, config.histStride, s.grad, s.hess, hist);
      return;
    }
    const stride = config.rowStride >>> 2;
    const w0 = T[o + 4]!;
    const w1 = T[o + 5]!;
    hist.fill(0, w0 * WORD_DOUBLES, w1 * WORD_DOUBLES);
    if (!s.kernel) {
      histU8Words(s.idx, begin, end, s.bins32, stride, s.grad, s.hess, hist, w0, w1);
      return;
    }
    const bins = s.bins32.byteOffset + w0 * 4;
    const out = hist.byteOffset + w0 * WORD_DOUBLES * 8;
    if (s.gatherKernel && end - begin > 1 && s.idx[end - 1]! - s.idx[begin]! >= GATHER_MIN_GAP * (end - begin)) {
      s.gatherKernel(s.idx.byteOffset, begin, end, bins, stride, s.grad.byteOffset, s.hess.byteOffset, out, w1 - w0, s.scratch);
    } else s.kernel(s.idx.byteOffset, begin, end, bins, stride, s.grad.byteOffset, s.hess.byteOffset, out, w1 - w0);
  } else if (kind === TASK_PARTITION) {
    const k = T[o + 1]!;
    const d = k * SPLIT_INTS;
    const S = s.splits;
    const f = S[d]!;
    const n = s.config.nRows;
    const begin = T[o + 2]!;
    const end = T[o + 3]!;
    if (s.partitionKernel && !s.config.wide && S[d + 4] === 0) {
      const nLeft = s.partitionKernel(s.idx.byteOffset, s.tmp.byteOffset, begin, end, s.cols.byteOffset + f * n, S[d + 1]!, S[d + 2]!, S[d + 3]!);
      s.idx.set(s.tmp.subarray(begin, end - nLeft), begin + nLeft);
      s.results[k] = nLeft;
      return;
    }
    s.results[k] = partitionRows(s.idx, s.tmp, T[o + 2]!, T[o + 3]!, s.cols.subarray(f * n, (f + 1) * n), S[d + 1]!, S[d + 2] === 1, S[d + 3]!, S[d + 4] === 1, s.catMask, S[d + 5]!);
  } else if (kind === TASK_REDUCE) {
    const dst = s.slots[T[o + 1]!]!;
    const a0 = T[o + 2]!;
    const a1 = a0 + T[o + 3]!;
    const from = T[o + 4]!;
    const to = T[o + 5]!;
    if (s.addKernel && (from & 1) === 0 && (to & 1) === 0) {
      for (let a = a0; a < a1; a++) s.addKernel(dst.byteOffset + from * 8, s.slots[s.aux[a]!]!.byteOffset + from * 8, (to - from) * 8);
    } else for (let a = a0; a < a1; a++) histAdd(dst, s.slots[s.aux[a]!]!, from, to);
  } else if (kind === TASK_GRAD) {
    const b = T[o + 1]!;
    const e = T[o + 2]!;
    const c = s.config;
    const K = c.nOutputs;
    let b2 = b;
    if (s.gradLogistic && c.objective === 'binary:logistic' && K === 1 && s.weight.length === 0 && s.inWasm.has('margin') && s.inWasm.has('label') && s.inWasm.has('grad') && s.inWasm.has('hess')) {
      const quads = (e - b) >>> 2;
      s.gradLogistic(s.margin.byteOffset + b * 8, s.label.byteOffset + b * 4, s.grad.byteOffset + b * 4, s.hess.byteOffset + b * 4, quads, c.scalePosWeight);
      b2 = b + 4 * quads;
      if (b2 === e) return;
    }
    gradientsOf(s, b2, e);
  } else if (kind === TASK_CLASS) {
    const K = s.config.nOutputs;
    const k = T[o + 3]!;
    for (let i = T[o + 1]!, e = T[o + 2]!; i < e; i++) {
      s.grad[i] = s.gradK[i * K + k]!;
      s.hess[i] = s.hessK[i * K + k]!;
    }
  } else if (kind === TASK_MARGIN) {
    const K = s.config.nOutputs;
    const k = T[o + 4]!;
    const v = s.leafVals[T[o + 3]!]!;
    const { idx, margin } = s;
    if (s.marginAdd && s.inWasm.has('margin') && s.inWasm.has('idx')) s.marginAdd(idx.byteOffset, T[o + 1]!, T[o + 2]!, margin.byteOffset, K, k, v);
    else for (let i = T[o + 1]!, e = T[o + 2]!; i < e; i++) margin[idx[i]! * K + k]! += v;
  } else if (kind === TASK_SPLIT) {
    const k = T[o + 1]!;
    const c = s.config;
    const I = s.splitIn;
    const i = k * SPLIT_IN;
    const node = { G: I[i]!, H: I[i + 1]!, lower: I[i + 2]!, upper: I[i + 3]!, weight: I[i + 4]! };
    const hist = s.slots[I[i + 5]!]!;
    const minus = I[i + 6]!;
    if (minus >= 0) {
      const sibling = s.slots[minus]!;
      if (s.subKernel && (hist.length & 1) === 0) s.subKernel(hist.byteOffset, sibling.byteOffset, hist.length * 8);
      else histSubtract(hist, sibling, 0, hist.length);
    }
    const best = findBestSplit(hist, c.histStride, c.nBins, c.categorical, s.allowed, c.monotone, node, c.split, s.sortScratch, s.keyScratch);
    const out = s.splitOut;
    const j = k * SPLIT_OUT;
    out[j] = best ? 1 : 0;
    if (best) {
      out[j + 1] = best.gain; out[j + 2] = best.feature; out[j + 3] = best.bin; out[j + 4] = best.defaultLeft ? 1 : 0; out[j + 5] = best.categorical ? 1 : 0;
      out[j + 6] = best.GL; out[j + 7] = best.HL; out[j + 8] = best.GR; out[j + 9] = best.HR; out[j + 10] = best.wL; out[j + 11] = best.wR;
      if (best.catRight) s.catOut.set(best.catRight, k * c.histStride);
    }
  } else if (kind === TASK_PREDICT) {
    batchMargins(s.forest!, s.inputs, T[o + 1]!, T[o + 2]!, T[o + 3]!, s.out);
  } else if (kind === TASK_EXPLAIN) {
    s.explain!(T[o + 1]!, T[o + 2]!, T[o + 3]!, T[o + 4]!);
  } else {
    throw new Error(`internal: unknown GBDT task kind ${kind} at task ${t}`);
  }
}
