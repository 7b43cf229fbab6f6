/**
 * The work the thread pool runs: a table of small tasks in shared memory, each one of the kernels on a
 * fixed slice of rows or bins. The main thread and every worker run `runTask` on the same shared arrays.
 * How work is cut into tasks never depends on the thread count, and every task writes only its own
 * output, so the model is the same bytes for any nthread.
 */
import { histAdd, histBytes, histU8Words, LITTLE_ENDIAN } from './histogram.js';
import { partitionRows } from './partition.js';
import type { Region } from './arena.js';
import { instantiateHist, type HistKernel, type WasmMemory, type WasmModule } from './wasm.js';

export const TASK_INTS = 8;
export const SPLIT_INTS = 8;

export const TASK_HIST = 1; // [kind, slot, begin, end]: slot = histogram of rows idx[begin..end)
export const TASK_PARTITION = 2; // [kind, split, begin, end]: results[split] = left count
export const TASK_REDUCE = 3; // [kind, dst, auxStart, auxCount, from, to]: dst += each aux slot, in order

/** Names of the shared arrays. bins, grad, hess, idx and the histogram slots live in the kernel's memory. */
export const SHARED_NAMES = ['bins', 'cols', 'grad', 'hess', 'idx', 'tmp', 'tasks', 'splits', 'catMask', 'results', 'aux'] as const;
export type SharedName = (typeof SHARED_NAMES)[number];

/** Static facts about the bin matrix, sent once. */
export interface MatrixShape {
  wide: boolean;
  rowStride: number;
  histStride: number;
  nFeatures: number;
  nRows: number;
}

export interface SharedState {
  shape: MatrixShape;
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
  /** Histogram slots by id. */
  slots: Float64Array[];
  /** The WebAssembly kernel over the memory that holds bins, grad, hess, idx and slots (null: JavaScript kernel). */
  kernel: HistKernel | null;
}

export function emptyState(shape: MatrixShape): SharedState {
  return {
    shape, bins: new Uint8Array(0), bins32: null, cols: new Uint8Array(0), grad: new Float32Array(0), hess: new Float32Array(0),
    idx: new Uint32Array(0), tmp: new Uint32Array(0), tasks: new Int32Array(0), splits: new Int32Array(0),
    catMask: new Uint8Array(0), results: new Int32Array(0), aux: new Int32Array(0), slots: [], kernel: null,
  };
}

/** Switches to the WebAssembly kernel (every thread instantiates the module over the same memory). */
export function useWasm(s: SharedState, module: WasmModule, memory: WasmMemory): void {
  s.kernel = instantiateHist(module, memory);
}

/** Installs a shared array under its name (every thread does this with the same region). */
export function setShared(s: SharedState, name: SharedName, r: Region): void {
  const { buf, byteOffset: o, byteLength: len } = r;
  switch (name) {
    case 'bins':
      s.bins = s.shape.wide ? new Uint16Array(buf, o, len / 2) : new Uint8Array(buf, o, len);
      s.bins32 = !s.shape.wide && LITTLE_ENDIAN ? new Uint32Array(buf, o, len / 4) : null;
      return;
    case 'cols': s.cols = s.shape.wide ? new Uint16Array(buf, o, len / 2) : new Uint8Array(buf, o, len); return;
    case 'grad': s.grad = new Float32Array(buf, o, len / 4); return;
    case 'hess': s.hess = new Float32Array(buf, o, len / 4); return;
    case 'idx': s.idx = new Uint32Array(buf, o, len / 4); return;
    case 'tmp': s.tmp = new Uint32Array(buf, o, len / 4); return;
    case 'tasks': s.tasks = new Int32Array(buf, o, len / 4); return;
    case 'splits': s.splits = new Int32Array(buf, o, len / 4); return;
    case 'catMask': s.catMask = new Uint8Array(buf, o, len); return;
    case 'results': s.results = new Int32Array(buf, o, len / 4); return;
    case 'aux': s.aux = new Int32Array(buf, o, len / 4); return;
  }
}

export function setSlot(s: SharedState, id: number, r: Region): void {
  s.slots[id] = new Float64Array(r.buf, r.byteOffset, r.byteLength / 8);
}

export function runTask(s: SharedState, t: number): void {
  const T = s.tasks;
  const o = t * TASK_INTS;
  const kind = T[o]!;
  if (kind === TASK_HIST) {
    const hist = s.slots[T[o + 1]!]!;
    hist.fill(0);
    const { shape } = s;
    if (s.kernel && s.bins32) s.kernel(s.idx.byteOffset, T[o + 2]!, T[o + 3]!, s.bins32.byteOffset, shape.rowStride >>> 2, s.grad.byteOffset, s.hess.byteOffset, hist.byteOffset);
    else if (s.bins32) histU8Words(s.idx, T[o + 2]!, T[o + 3]!, s.bins32, shape.rowStride >>> 2, s.grad, s.hess, hist);
    else histBytes(s.idx, T[o + 2]!, T[o + 3]!, s.bins, shape.rowStride, shape.nFeatures, shape.histStride, s.grad, s.hess, hist);
  } else if (kind === TASK_PARTITION) {
    const k = T[o + 1]!;
    const d = k * SPLIT_INTS;
    const S = s.splits;
    const f = S[d]!;
    const n = s.shape.nRows;
    s.results[k] = partitionRows(s.idx, s.tmp, T[o + 2]!, T[o + 3]!, s.cols.subarray(f * n, (f + 1) * n), S[d + 1]!, S[d + 2] === 1, S[d + 3]!, S[d + 4] === 1, s.catMask, S[d + 5]!);
  } else if (kind === TASK_REDUCE) {
    const dst = s.slots[T[o + 1]!]!;
    const a0 = T[o + 2]!;
    const a1 = a0 + T[o + 3]!;
    for (let a = a0; a < a1; a++) histAdd(dst, s.slots[s.aux[a]!]!, T[o + 4]!, T[o + 5]!);
  } else {
    throw new Error(`internal: unknown GBDT task kind ${kind} at task ${t}`);
  }
}
