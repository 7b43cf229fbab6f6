/** The GEMM checks shared by gemm.test.ts and its relaxed-SIMD child process. */
import { Rng } from '../../src/core/rng.js';
import { gemmJs } from '../../src/nn/kernels/gemm-js.js';
import type { GemmShape } from '../../src/nn/kernels/gemm-wasm-code.js';
import { wasmKernels } from '../../src/nn/kernels/gemm-wasm.js';
import type { Arena, Gemm } from '../../src/nn/index.js';

export interface Case { ta: boolean; tb: boolean; m: number; n: number; k: number; beta: 0 | 1; padA: number; padB: number; padC: number; off: number }

/**
 * Runs one product through `gemm` on views of `arena` at a float offset `off` past a 64-byte boundary
 * (so rows start unaligned), and through gemmJs on copies; checks every element of C within
 * 1e-5 of the sum of magnitudes of its terms (a float32 sum in another order), and that C's padding
 * columns and the floats around it are untouched. Returns the two results.
 */
export function check(gemm: Gemm, arena: Arena, rng: Rng, c: Case): { got: Float32Array; want: Float32Array; rerun: () => Float32Array } {
  const { ta, tb, m, n, k, beta, off } = c;
  const lda = (ta ? m : k) + c.padA;
  const ldb = (tb ? k : n) + c.padB;
  const ldc = n + c.padC;
  const view = (len: number): Float32Array => {
    const base = arena.f32(len + off + 8);
    return base.subarray(off, off + len);
  };
  const a = view(Math.max(1, (ta ? k : m) * lda));
  const b = view(Math.max(1, (tb ? n : k) * ldb));
  const out = view(m * ldc + 4);
  const cv = out.subarray(2, 2 + m * ldc);
  for (const x of [a, b]) for (let i = 0; i < x.length; i++) x[i] = rng.uniform() * 2 - 1;
  for (let i = 0; i < out.length; i++) out[i] = rng.uniform() * 2 - 1;
  if (beta === 0) for (let i = 0; i < m; i++) cv.fill(Number.NaN, i * ldc, i * ldc + n);
  const before = out.slice();
  const want = cv.slice();
  gemmJs(ta, tb, m, n, k, a.slice(), lda, b.slice(), ldb, beta, want, ldc);
  gemm(ta, tb, m, n, k, a, lda, b, ldb, beta, cv, ldc);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let mag = beta ? Math.abs(before[2 + i * ldc + j]!) : 0;
      for (let p = 0; p < k; p++) mag += Math.abs((ta ? a[p * lda + i]! : a[i * lda + p]!) * (tb ? b[j * ldb + p]! : b[p * ldb + j]!));
      const g = cv[i * ldc + j]!;
      const w = want[i * ldc + j]!;
      if (!(Math.abs(g - w) <= 1e-5 * mag + 1e-30)) throw new Error(`${JSON.stringify(c)}: C[${i},${j}] = ${g}, gemmJs ${w}`);
    }
  }
  for (let i = 0; i < out.length; i++) {
    const r = i - 2;
    const inside = r >= 0 && r < m * ldc && r % ldc < n;
    if (!inside && !Object.is(out[i], before[i])) throw new Error(`${JSON.stringify(c)}: wrote outside C at ${r}`);
  }
  const got = cv.slice();
  const rerun = (): Float32Array => {
    gemm(ta, tb, m, n, k, a, lda, b, ldb, beta, cv, ldc);
    return cv.slice();
  };
  return { got, want, rerun };
}

export function wasmOr(arena: Arena, shape?: GemmShape): Gemm {
  const g = wasmKernels(arena, shape)?.gemm;
  if (!g) throw new Error('the WebAssembly GEMM does not compile on this Node');
  return g;
}
