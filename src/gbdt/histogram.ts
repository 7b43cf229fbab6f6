/**
 * Histogram kernels: sums of (grad, hess) per feature per bin over a node's rows, in float64, added in
 * row order. Layout: feature j's bin b lives at ((j * histStride) + b) * 2 (grad) and + 1 (hess).
 * Pure functions over typed arrays; the thread pool decides which rows and words each call sees. The
 * WebAssembly kernels in wasm.ts (same loops, same order, so the same sums) run by default; these are
 * their reference and the fallback where WebAssembly SIMD is unavailable, and the uint16 kernel for
 * max_bin > 256.
 */
import { U8_HIST_STRIDE } from './binning.js';

/** Histogram doubles of one uint8-binned feature, and of one 32-bit word of them (4 features). */
export const FEATURE_DOUBLES = U8_HIST_STRIDE * 2;
export const WORD_DOUBLES = 4 * FEATURE_DOUBLES;

/** Whether a Uint32Array view reads four uint8 bins lowest-address-first (true on every platform Node ships for today). */
export const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * uint8 bins, row-major, `wordsPerRow` 32-bit words per row (histStride U8_HIST_STRIDE), words w0..w1 of each row:
 * four bins per load and four independent histogram updates per step, which measured about twice as
 * fast as a byte loop.
 */
export function histU8Words(idx: Uint32Array, begin: number, end: number, bins32: Uint32Array, wordsPerRow: number, grad: Float32Array, hess: Float32Array, hist: Float64Array, w0 = 0, w1 = wordsPerRow): void {
  for (let i = begin; i < end; i++) {
    const r = idx[i]!;
    const g = grad[r]!;
    const h = hess[r]!;
    let p = r * wordsPerRow + w0;
    for (let w = w0, o = w0 * WORD_DOUBLES; w < w1; w++, p++, o += WORD_DOUBLES) {
      const x = bins32[p]!;
      const k0 = o + ((x & 255) << 1);
      const k1 = o + FEATURE_DOUBLES + ((x >>> 7) & 510);
      const k2 = o + 2 * FEATURE_DOUBLES + ((x >>> 15) & 510);
      const k3 = o + 3 * FEATURE_DOUBLES + ((x >>> 23) & 510);
      hist[k0]! += g; hist[k0 + 1]! += h;
      hist[k1]! += g; hist[k1 + 1]! += h;
      hist[k2]! += g; hist[k2 + 1]! += h;
      hist[k3]! += g; hist[k3 + 1]! += h;
    }
  }
}

/** Any bin width, one bin at a time (uint16 bins, or a big-endian host). */
export function histBytes(idx: Uint32Array, begin: number, end: number, bins: Uint8Array | Uint16Array, rowStride: number, nFeatures: number, histStride: number, grad: Float32Array, hess: Float32Array, hist: Float64Array): void {
  const step = histStride * 2;
  for (let i = begin; i < end; i++) {
    const r = idx[i]!;
    const g = grad[r]!;
    const h = hess[r]!;
    let p = r * rowStride;
    for (let j = 0, o = 0; j < nFeatures; j++, p++, o += step) {
      const k = o + (bins[p]! << 1);
      hist[k]! += g;
      hist[k + 1]! += h;
    }
  }
}

/** dst[from..to) += src[from..to). */
export function histAdd(dst: Float64Array, src: Float64Array, from: number, to: number): void {
  for (let k = from; k < to; k++) dst[k]! += src[k]!;
}

/** In place: parent[from..to) becomes parent - child (the sibling's histogram; the subtraction trick). */
export function histSubtract(parent: Float64Array, child: Float64Array, from = 0, to = parent.length): void {
  for (let k = from; k < to; k++) parent[k]! -= child[k]!;
}
