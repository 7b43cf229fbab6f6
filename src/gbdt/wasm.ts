/**
 * The training kernels as hand-assembled WebAssembly functions over a shared WebAssembly.Memory (128-bit
 * SIMD): histograms, histogram add and subtract, and the row partition. histogram.ts holds the same
 * loops in JavaScript, the reference and the fallback where WebAssembly SIMD is unavailable; compiled
 * WebAssembly drops the per-access bounds checks JavaScript keeps. The module is a few hundred bytes,
 * built here so no toolchain is needed. Pointers are byte offsets into the memory.
 *
 * hist(idx, begin, end, bins, stride, grad, hess, hist, count): for each i in [begin, end), row r =
 * idx[i]; for each of `count` 32-bit words of row r's uint8 bins from `bins + r * stride * 4` (four
 * features a word), adds (grad[r], hess[r]) to the float64 pair at hist + (word * 4 + feature-in-word)
 * * FEATURE_BYTES + bin * 16. A task passes `bins` and `hist` advanced to its first word, so one node's histogram
 * can be built by several tasks over disjoint feature groups: each bin is still summed in row order.
 *
 * histGather(..., scratch): the same sums for rows scattered through the matrix (a deep node's), where
 * hist waits on a cache miss per row. Chunk by chunk it first copies each row's words and (grad, hess)
 * into contiguous scratch, a loop of independent loads whose misses overlap, then sums the copy, which
 * stays in cache. Row order, and so every sum, is unchanged.
 */

import { ADD, BLOCK, br, brIf, END, F64, F64_ADD, GE_U, get, i32, I32, IF, load32, loadF32, loadF64, LOOP, LT_U, moduleBytes, MUL, PROMOTE, SELECT, set, SHL, simd, storeF64, tee, uleb, V128, v128Load, v128Store } from '../core/wasm-asm.js';
import { WA, type WasmMemory, type WasmModule } from '../core/wasm-asm.js';
import { U8_HIST_STRIDE } from './binning.js';
import { GRAD_LOGISTIC_LOCALS, GRAD_LOGISTIC_PARAMS, gradLogisticBody } from './wasm-grad.js';
import { BIN_COLUMN_LOCALS, BIN_START_LOCALS, binColumnBody, binStartBody, RADIX_SORT_LOCALS, radixSortBody } from './wasm-binning.js';
import { HIST_MODULE_BASE64 } from './wasm-module.generated.js';

export { WA, type WasmMemory, type WasmModule };

/** Rows ahead whose bins and gradients hist touches (measured: 8 a few % faster than none, 16 slower). */
const PREFETCH_ROWS = 8;
/** Rows gathered per chunk by histGather (its scratch: GATHER_ROWS * (16 + rowBytes) + 64 bytes). */
export const GATHER_ROWS = 256;

/** Scratch bytes histGather needs for rows of `wordsPerRow` words. */
export function gatherScratchBytes(wordsPerRow: number): number {
  return GATHER_ROWS * (16 + wordsPerRow * 4) + 64;
}

/** f64x2.splat, f64x2.replace_lane 1, f64x2.add, f64x2.sub. */
const F64X2_SPLAT = simd(0x14), F64X2_REPLACE1 = simd(0x22, 1), F64X2_ADD = simd(0xf0), F64X2_SUB = simd(0xf1);
const LOAD8_U = (off: number): number[] => [0x2d, 0, ...uleb(off)];

const P = { idx: 0, begin: 1, end: 2, bins: 3, stride: 4, grad: 5, hess: 6, hist: 7, count: 8, scratch: 9 };

/** Bytes of one feature's histogram (U8_HIST_STRIDE pairs of float64). */
const FEATURE_BYTES = U8_HIST_STRIDE * 16;

/** hist[o + k * FEATURE_BYTES + bins[p + k] * 16] += gh (the feature's offset rides in the memory immediates). */
function update(k: number, a: number, p: number, o: number, gh: number): number[] {
  return [
    ...get(p), ...LOAD8_U(k), ...i32(4), SHL, ...get(o), ADD, ...tee(a),
    ...get(a), ...v128Load(k * FEATURE_BYTES), ...get(gh), ...F64X2_ADD, ...v128Store(k * FEATURE_BYTES),
  ];
}

/** The f64x2 (grad[r], hess[r]) of row local r. */
function gradPair(r: number): number[] {
  return [
    ...get(P.grad), ...get(r), ...i32(2), SHL, ADD, ...loadF32(), PROMOTE, ...F64X2_SPLAT,
    ...get(P.hess), ...get(r), ...i32(2), SHL, ADD, ...loadF32(), PROMOTE, ...F64X2_REPLACE1,
  ];
}

/** One row's `count` words from p (advanced past them), histogram base o. */
function rowWords(V: { p: number; o: number; w: number; a: number; gh: number }): number[] {
  return [
    ...get(P.hist), ...set(V.o),
    ...i32(0), ...set(V.w),
    ...BLOCK, ...LOOP,
    ...get(V.w), ...get(P.count), GE_U, ...brIf(1),
    ...update(0, V.a, V.p, V.o, V.gh), ...update(1, V.a, V.p, V.o, V.gh), ...update(2, V.a, V.p, V.o, V.gh), ...update(3, V.a, V.p, V.o, V.gh),
    ...get(V.p), ...i32(4), ADD, ...set(V.p),
    ...get(V.o), ...i32(4 * FEATURE_BYTES), ADD, ...set(V.o),
    ...get(V.w), ...i32(1), ADD, ...set(V.w),
    ...br(0),
    END, END,
  ];
}

function histBody(): number[] {
  const V = { i: 9, r: 10, p: 11, o: 12, w: 13, a: 14, q: 15, t: 16, gh: 17 };
  // Touch row idx[i + D]'s bins and gradients now, so their cache misses overlap this row's updates.
  const prefetch = [
    ...get(V.i), ...i32(PREFETCH_ROWS), ADD, ...tee(V.q), ...get(P.end), LT_U, ...IF,
    ...get(P.idx), ...get(V.q), ...i32(2), SHL, ADD, ...load32(), ...set(V.q),
    ...get(P.bins), ...get(V.q), ...get(P.stride), MUL, ...i32(2), SHL, ADD, ...load32(),
    ...get(P.grad), ...get(V.q), ...i32(2), SHL, ADD, ...load32(), ADD,
    ...get(P.hess), ...get(V.q), ...i32(2), SHL, ADD, ...load32(), ADD,
    ...set(V.t),
    END,
  ];
  return [
    ...get(P.begin), ...set(V.i),
    ...BLOCK, ...LOOP,
    ...get(V.i), ...get(P.end), GE_U, ...brIf(1),
    ...prefetch,
    ...get(P.idx), ...get(V.i), ...i32(2), SHL, ADD, ...load32(), ...set(V.r),
    ...gradPair(V.r), ...set(V.gh),
    ...get(P.bins), ...get(V.r), ...get(P.stride), MUL, ...i32(2), SHL, ADD, ...set(V.p),
    ...rowWords(V),
    ...get(V.i), ...i32(1), ADD, ...set(V.i),
    ...br(0),
    END, END,
  ];
}

function histGatherBody(): number[] {
  const V = { i: 10, m: 11, j: 12, r: 13, src: 14, dst: 15, k: 16, q: 17, p: 18, o: 19, w: 20, a: 21, rb: 22, gh: 23 };
  const CH = GATHER_ROWS;
  return [
    ...get(P.count), ...i32(2), SHL, ...set(V.rb),
    ...get(P.begin), ...set(V.i),
    ...BLOCK, ...LOOP,
    ...get(V.i), ...get(P.end), GE_U, ...brIf(1),
    // m = min(end, i + CH)
    ...get(V.i), ...i32(CH), ADD, ...tee(V.m), ...get(P.end), ...get(V.m), ...get(P.end), LT_U, SELECT, ...set(V.m),
    // gather rows i..m: (g, h) pairs at scratch, then the rows' words (rb bytes each) after CH pairs;
    // words are copied 16 bytes at a time, so a copy may run up to 12 bytes into the next row's place
    ...get(V.i), ...set(V.j), ...get(P.scratch), ...set(V.q), ...get(P.scratch), ...i32(CH * 16), ADD, ...set(V.dst),
    ...LOOP,
    ...get(P.idx), ...get(V.j), ...i32(2), SHL, ADD, ...load32(), ...set(V.r),
    ...get(V.q), ...gradPair(V.r), ...v128Store(0),
    ...get(P.bins), ...get(V.r), ...get(P.stride), MUL, ...i32(2), SHL, ADD, ...set(V.src),
    ...i32(0), ...set(V.k),
    ...LOOP,
    ...get(V.dst), ...get(V.k), ADD, ...get(V.src), ...get(V.k), ADD, ...v128Load(0), ...v128Store(0),
    ...get(V.k), ...i32(16), ADD, ...tee(V.k), ...get(V.rb), LT_U, ...brIf(0),
    END,
    ...get(V.dst), ...get(V.rb), ADD, ...set(V.dst),
    ...get(V.q), ...i32(16), ADD, ...set(V.q),
    ...get(V.j), ...i32(1), ADD, ...tee(V.j), ...get(V.m), LT_U, ...brIf(0),
    END,
    // histogram of the copy
    ...get(V.i), ...set(V.j), ...get(P.scratch), ...set(V.q), ...get(P.scratch), ...i32(CH * 16), ADD, ...set(V.p),
    ...LOOP,
    ...get(V.q), ...v128Load(0), ...set(V.gh),
    ...rowWords(V),
    ...get(V.q), ...i32(16), ADD, ...set(V.q),
    ...get(V.j), ...i32(1), ADD, ...tee(V.j), ...get(V.m), LT_U, ...brIf(0),
    END,
    ...get(V.m), ...set(V.i),
    ...br(0),
    END, END,
  ];
}

/** add / sub(dst, src, bytes): dst[k] += / -= src[k] over float64 pairs (bytes a multiple of 16). */
function pairwiseBody(op: number[]): number[] {
  const Q = { dst: 0, src: 1, bytes: 2, k: 3 };
  return [
    ...i32(0), ...set(Q.k),
    ...BLOCK, ...LOOP,
    ...get(Q.k), ...get(Q.bytes), GE_U, ...brIf(1),
    ...get(Q.dst), ...get(Q.k), ADD,
    ...get(Q.dst), ...get(Q.k), ADD, ...v128Load(0), ...get(Q.src), ...get(Q.k), ADD, ...v128Load(0), ...op,
    ...v128Store(0),
    ...get(Q.k), ...i32(16), ADD, ...set(Q.k),
    ...br(0),
    END, END,
  ];
}

/**
 * partition(idxPtr, tmpPtr, begin, end, colPtr, bin, defaultLeft, missingBin) -> left count: the stable
 * partition of partition.ts for a numeric uint8 column, branch-free (each row is written to both
 * outputs and the cursors advance by the decision); the caller copies tmp's right rows back after the left ones.
 */
function partitionBody(): number[] {
  const P = { idx: 0, tmp: 1, begin: 2, end: 3, col: 4, bin: 5, dl: 6, miss: 7 };
  const V = { i: 8, l: 9, r: 10, row: 11, b: 12, go: 13 };
  return [
    ...get(P.begin), ...set(V.i), ...get(P.begin), ...set(V.l), ...get(P.begin), ...set(V.r),
    ...BLOCK, ...LOOP,
    ...get(V.i), ...get(P.end), GE_U, ...brIf(1),
    ...get(P.idx), ...get(V.i), ...i32(2), SHL, ADD, ...load32(), ...set(V.row),
    ...get(P.col), ...get(V.row), ADD, 0x2d, 0, 0, ...set(V.b), // i32.load8_u
    ...get(P.dl), ...get(V.b), ...get(P.bin), 0x4c, ...get(V.b), ...get(P.miss), 0x46, 0x1b, ...set(V.go), // select(dl, b <= bin, b == miss)
    ...get(P.idx), ...get(V.l), ...i32(2), SHL, ADD, ...get(V.row), 0x36, 2, 0, // idx[l] = row
    ...get(P.tmp), ...get(V.r), ...i32(2), SHL, ADD, ...get(V.row), 0x36, 2, 0, // tmp[r] = row
    ...get(V.l), ...get(V.go), ADD, ...set(V.l),
    ...get(V.r), ...i32(1), ADD, ...get(V.go), 0x6b, ...set(V.r),
    ...get(V.i), ...i32(1), ADD, ...set(V.i),
    ...br(0),
    END, END,
    ...get(V.l), ...get(P.begin), 0x6b,
  ];
}

/** marginAdd(idx, begin, end, margin, K, k, v): margin[idx[i] * K + k] += v for i in [begin, end) (float64 margins). */
function marginAddBody(): number[] {
  const Q = { idx: 0, begin: 1, end: 2, margin: 3, K: 4, k: 5, v: 6, i: 7, a: 8 };
  return [
    ...get(Q.begin), ...set(Q.i),
    ...BLOCK, ...LOOP,
    ...get(Q.i), ...get(Q.end), GE_U, ...brIf(1),
    ...get(Q.margin), ...get(Q.idx), ...get(Q.i), ...i32(2), SHL, ADD, ...load32(), ...get(Q.K), MUL, ...get(Q.k), ADD, ...i32(3), SHL, ADD, ...tee(Q.a),
    ...get(Q.a), ...loadF64(0), ...get(Q.v), F64_ADD, ...storeF64(0),
    ...get(Q.i), ...i32(1), ADD, ...set(Q.i),
    ...br(0),
    END, END,
  ];
}

/** Bytes of the module: imports env.memory (shared, max 4 GiB), exports hist, histGather, add, sub, partition and gradLogistic (wasm-grad.ts). */
export function histModuleBytes(): Uint8Array {
  const ints = (k: number): number[] => Array.from({ length: k }, () => I32);
  return moduleBytes(
    [{ params: ints(9), results: [] }, { params: ints(10), results: [] }, { params: ints(3), results: [] }, { params: ints(8), results: [I32] }, { params: GRAD_LOGISTIC_PARAMS, results: [] }, { params: [...ints(6), F64], results: [] }, { params: ints(4), results: [] }, { params: ints(3), results: [] }, { params: ints(6), results: [I32] }],
    { shared: true, maxPages: 65536 },
    [
      { type: 0, locals: [[8, I32], [1, V128]], body: histBody() },
      { type: 1, locals: [[13, I32], [1, V128]], body: histGatherBody() },
      { type: 2, locals: [[1, I32]], body: pairwiseBody(F64X2_ADD) },
      { type: 2, locals: [[1, I32]], body: pairwiseBody(F64X2_SUB) },
      { type: 3, locals: [[6, I32]], body: partitionBody() },
      { type: 4, locals: GRAD_LOGISTIC_LOCALS, body: gradLogisticBody() },
      { type: 5, locals: [[2, I32]], body: marginAddBody() },
      { type: 6, locals: RADIX_SORT_LOCALS, body: radixSortBody() },
      { type: 7, locals: BIN_START_LOCALS, body: binStartBody() },
      { type: 8, locals: BIN_COLUMN_LOCALS, body: binColumnBody() },
    ],
    [['hist', 0], ['histGather', 1], ['add', 2], ['sub', 3], ['partition', 4], ['gradLogistic', 5], ['marginAdd', 6], ['radixSort', 7], ['binStart', 8], ['binColumn', 9]],
  );
}

/** A shared memory for the kernel, or null where WebAssembly threads are unavailable. */
export function sharedMemory(initialPages: number, maximumPages: number): WasmMemory | null {
  if (!WA) return null;
  try {
    return new WA.Memory({ initial: initialPages, maximum: maximumPages, shared: true });
  } catch {
    return null;
  }
}

export type HistKernel = (idxPtr: number, begin: number, end: number, binsPtr: number, strideWords: number, gradPtr: number, hessPtr: number, histPtr: number, countWords: number) => void;

let compiled: WasmModule | null | undefined;

/**
 * The compiled module, or null where WebAssembly is unavailable (then the JS kernel runs). Its bytes
 * come from wasm-module.generated.ts (assembling them is ~16 ms of cold JavaScript; a test keeps the
 * two equal).
 */
export function histModule(): WasmModule | null {
  if (compiled === undefined) {
    try {
      const bytes = new Uint8Array(Buffer.from(HIST_MODULE_BASE64, 'base64'));
      compiled = WA && WA.validate(bytes) ? new WA.Module(bytes) : null;
    } catch {
      compiled = null;
    }
  }
  return compiled;
}

export type PartitionKernel = (idxPtr: number, tmpPtr: number, begin: number, end: number, colPtr: number, bin: number, defaultLeft: number, missingBin: number) => number;

export type GatherKernel = (idxPtr: number, begin: number, end: number, binsPtr: number, strideWords: number, gradPtr: number, hessPtr: number, histPtr: number, countWords: number, scratchPtr: number) => void;

/** The module's kernels over `memory`: the SIMD histogram kernels where the module has them (gather: null without). */
export type PairwiseKernel = (dstPtr: number, srcPtr: number, bytes: number) => void;

export interface Kernels {
  hist: HistKernel;
  gather: GatherKernel;
  add: PairwiseKernel;
  sub: PairwiseKernel;
  partition: PartitionKernel;
  gradLogistic: GradLogisticKernel;
  marginAdd: MarginAddKernel;
  radixSort: (keysPtr: number, tmpPtr: number, countPtr: number, n: number) => void;
  binStart: (cutKeysPtr: number, nCuts: number, startPtr: number) => void;
  binColumn: (colPtr: number, n: number, cutKeysPtr: number, startPtr: number, missing: number, outPtr: number) => number;
}

export type MarginAddKernel = (idxPtr: number, begin: number, end: number, marginPtr: number, K: number, k: number, value: number) => void;

export type GradLogisticKernel = (marginPtr: number, labelPtr: number, gradPtr: number, hessPtr: number, quads: number, scalePosWeight: number) => void;

export function instantiateKernels(module: WasmModule, memory: WasmMemory): Kernels {
  const e = new WA!.Instance(module, { env: { memory } }).exports;
  return { hist: e.hist as HistKernel, gather: e.histGather as GatherKernel, add: e.add as PairwiseKernel, sub: e.sub as PairwiseKernel, partition: e.partition as PartitionKernel, gradLogistic: e.gradLogistic as GradLogisticKernel, marginAdd: e.marginAdd as MarginAddKernel, radixSort: e.radixSort as Kernels['radixSort'], binStart: e.binStart as Kernels['binStart'], binColumn: e.binColumn as Kernels['binColumn'] };
}

export const WASM_PAGE = 65536;
/** wasm32 addresses: 65536 pages of 64 KiB. */
export const WASM_MAX_BYTES = 65536 * WASM_PAGE;
