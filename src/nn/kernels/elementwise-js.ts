/**
 * Elementwise kernels the layers and optimizers share, in plain JavaScript: the reference for the
 * WebAssembly versions (elementwise-wasm-code.ts) and the kernels where WebAssembly is unavailable.
 * Row-major with a leading dimension where a matrix is involved; every one accumulates into its output.
 */

/** y[i] += alpha * x[i] for i < n. */
export function axpyJs(n: number, alpha: number, x: Float32Array, y: Float32Array): void {
  for (let i = 0; i < n; i++) y[i] = y[i]! + alpha * x[i]!;
}

/** y[r, j] += b[j] for r < rows, j < cols (row stride ldy): a bias broadcast over rows. */
export function addRowJs(rows: number, cols: number, b: Float32Array, y: Float32Array, ldy: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * ldy;
    for (let j = 0; j < cols; j++) y[o + j] = y[o + j]! + b[j]!;
  }
}

/** out[j] += sum over r < rows of x[r, j] (row stride ldx), rows in order: a bias gradient. */
export function sumRowsJs(rows: number, cols: number, x: Float32Array, ldx: number, out: Float32Array): void {
  for (let r = 0; r < rows; r++) {
    const o = r * ldx;
    for (let j = 0; j < cols; j++) out[j] = out[j]! + x[o + j]!;
  }
}
