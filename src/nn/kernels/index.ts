/**
 * The numeric kernels a network calls. Every array passed is a view into the thread's Arena (see
 * memory.ts), so the WebAssembly kernels take its byteOffset as the address. `jsKernels` is the
 * reference; `kernelsFor(arena)` gives the fastest set that runs here.
 */
import type { Arena } from '../memory.js';
import {
  addRowJs, axpyJs, fillRowsJs, gruBackwardJs, gruForwardJs, layerNormBackwardJs, layerNormJs, mulJs, reluBackwardJs, reluJs, softmaxBackwardJs, softmaxJs, sumRowsJs,
} from './elementwise-js.js';
import { gemmAtJs, gemmJs } from './gemm-js.js';
import { wasmKernels } from './gemm-wasm.js';

export type Gemm = (
  transA: boolean, transB: boolean, m: number, n: number, k: number,
  a: Float32Array, lda: number, b: Float32Array, ldb: number,
  beta: 0 | 1, c: Float32Array, ldc: number,
) => void;

/** Gemm with each matrix at a float offset into its array (ao, bo, co): for blocks of a larger tensor, with no views. */
export type GemmAt = (
  transA: boolean, transB: boolean, m: number, n: number, k: number,
  a: Float32Array, ao: number, lda: number, b: Float32Array, bo: number, ldb: number,
  beta: 0 | 1, c: Float32Array, co: number, ldc: number,
) => void;

/** y[i] += alpha * x[i] for i < n. */
export type Axpy = (n: number, alpha: number, x: Float32Array, y: Float32Array) => void;
/** y[r, j] += b[j] (row stride ldy): a bias broadcast over rows. */
export type AddRow = (rows: number, cols: number, b: Float32Array, y: Float32Array, ldy: number) => void;
/** out[j] += sum over rows of x[r, j] (row stride ldx): a bias gradient. */
export type SumRows = (rows: number, cols: number, x: Float32Array, ldx: number, out: Float32Array) => void;

/** The layers' elementwise kernels: see elementwise-js.ts (the reference of each) for the contracts. */
export interface Kernels {
  readonly name: 'js' | 'wasm-simd';
  readonly gemm: Gemm;
  readonly gemmAt: GemmAt;
  readonly axpy: Axpy;
  readonly addRow: AddRow;
  readonly sumRows: SumRows;
  readonly fillRows: AddRow;
  readonly softmax: typeof softmaxJs;
  readonly softmaxBackward: typeof softmaxBackwardJs;
  readonly mul: typeof mulJs;
  readonly layerNorm: typeof layerNormJs;
  readonly layerNormBackward: typeof layerNormBackwardJs;
  readonly relu: typeof reluJs;
  readonly reluBackward: typeof reluBackwardJs;
  readonly gruForward: typeof gruForwardJs;
  readonly gruBackward: typeof gruBackwardJs;
}

export const jsKernels: Kernels = {
  name: 'js', gemm: gemmJs, gemmAt: gemmAtJs, axpy: axpyJs, addRow: addRowJs, sumRows: sumRowsJs, fillRows: fillRowsJs, softmax: softmaxJs,
  softmaxBackward: softmaxBackwardJs, mul: mulJs,
  layerNorm: layerNormJs, layerNormBackward: layerNormBackwardJs, relu: reluJs, reluBackward: reluBackwardJs,
  gruForward: gruForwardJs, gruBackward: gruBackwardJs,
};

const byArena = new WeakMap<Arena, Kernels>();

/**
 * The kernels for arrays of this arena: WebAssembly SIMD over its memory when the arena has one and the
 * module compiles here, else the JS reference. One set per arena (later calls return it); the first
 * call pins the kernels' scratch in the arena, so take the kernels when building the network, before
 * any `mark()`.
 */
export function kernelsFor(arena: Arena): Kernels {
  let k = byArena.get(arena);
  if (!k) {
    k = wasmKernels(arena) ?? jsKernels;
    byArena.set(arena, k);
  }
  return k;
}
export { enableRelaxedSimd, relaxedSimd } from './gemm-wasm.js';
