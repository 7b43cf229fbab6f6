/**
 * The reference matrix product, in plain JavaScript: the definition the WebAssembly kernel is tested
 * against, and the kernel where WebAssembly SIMD is unavailable. Row-major, BLAS conventions:
 *
 *   C[m x n] = beta * C + op(A)[m x k] * op(B)[k x n]
 *
 * op(A) is A (stored m x k, row stride lda) or A transposed (stored k x m); likewise B. beta is 0 or 1:
 * 0 overwrites C (it may hold garbage), 1 accumulates into it (gradients).
 */
export function gemmJs(
  transA: boolean, transB: boolean, m: number, n: number, k: number,
  a: Float32Array, lda: number, b: Float32Array, ldb: number,
  beta: 0 | 1, c: Float32Array, ldc: number,
): void {
  gemmAtJs(transA, transB, m, n, k, a, 0, lda, b, 0, ldb, beta, c, 0, ldc);
}

/** gemmJs with each matrix starting at a float offset into its array (ao, bo, co): no views needed. */
export function gemmAtJs(
  transA: boolean, transB: boolean, m: number, n: number, k: number,
  a: Float32Array, ao: number, lda: number, b: Float32Array, bo: number, ldb: number,
  beta: 0 | 1, c: Float32Array, co: number, ldc: number,
): void {
  for (let i = 0; i < m; i++) {
    const ci = co + i * ldc;
    if (beta === 0) for (let j = 0; j < n; j++) c[ci + j] = 0;
    for (let p = 0; p < k; p++) {
      const av = transA ? a[ao + p * lda + i]! : a[ao + i * lda + p]!;
      if (av === 0) continue;
      if (transB) {
        for (let j = 0; j < n; j++) c[ci + j] = c[ci + j]! + av * b[bo + j * ldb + p]!;
      } else {
        const bp = bo + p * ldb;
        for (let j = 0; j < n; j++) c[ci + j] = c[ci + j]! + av * b[bp + j]!;
      }
    }
  }
}
