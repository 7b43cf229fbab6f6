/**
 * Run by gemm.test.ts as `node --experimental-wasm-relaxed-simd --import tsx relaxed-simd-child.ts`: the
 * fused multiply-add GEMM of relaxed SIMD against gemmJs, in a process of its own so that the V8 flag
 * does not reach other test files. Prints one line, or throws.
 */
import { Rng } from '../../src/core/rng.js';
import { DEFAULT_SHAPE } from '../../src/nn/kernels/gemm-wasm-code.js';
import { gemmModule } from '../../src/nn/kernels/gemm-wasm.js';
import { Arena } from '../../src/nn/index.js';
import { check, wasmOr } from './gemm-check.js';

if (gemmModule({ ...DEFAULT_SHAPE, fma: true }) === null) throw new Error('relaxed SIMD does not compile with --experimental-wasm-relaxed-simd');
const rng = new Rng(16);
const arena = new Arena(1 << 22);
const gemm = wasmOr(arena, { ...DEFAULT_SHAPE, fma: true });
let cases = 0;
for (const ta of [false, true]) for (const tb of [false, true]) for (const beta of [0, 1] as const) {
  const mark = arena.mark();
  check(gemm, arena, rng, { ta, tb, m: 1 + rng.int(30), n: 1 + rng.int(40), k: 1 + rng.int(300), beta, padA: 1, padB: 0, padC: 2, off: 3 });
  arena.release(mark);
  cases++;
}
process.stdout.write(`relaxed SIMD GEMM matches gemmJs in ${cases} cases\n`);
