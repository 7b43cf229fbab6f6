/**
 * The neural engine's matrix product, single thread: GFLOPS (2mnk / s) of the JS reference and the
 * WebAssembly SIMD kernel on the shapes that dominate issue 16's models, and their ratio; then the
 * elementwise kernels (axpy, bias add over rows, bias gradient) in millions of floats per second. Each timing is
 * the best of 3 runs of a loop that lasts at least --ms milliseconds (after a warm-up, so the WebAssembly
 * has tiered up to its optimising compiler). Operands are seeded uniform(-1, 1) in one arena.
 *
 *   npx tsx bench/nn-gemm.ts [--ms 150] [--no-js] [--fma] [--mr 4] [--kc 256] [--nc 256] [--only SUBSTRING]
 *
 * --fma asks V8 for relaxed SIMD (v8.setFlagsFromString('--experimental-wasm-relaxed-simd') before the
 * module compiles) and uses f32x4.relaxed_madd; it says so when the flag does not take.
 */
import { setFlagsFromString } from 'node:v8';
import { Rng } from '../src/core/rng.js';
import { addRowJs, axpyJs, sumRowsJs } from '../src/nn/kernels/elementwise-js.js';
import { gemmJs } from '../src/nn/kernels/gemm-js.js';
import { DEFAULT_SHAPE, type GemmShape } from '../src/nn/kernels/gemm-wasm-code.js';
import { wasmKernels } from '../src/nn/kernels/gemm-wasm.js';
import { Arena, type Gemm } from '../src/nn/index.js';
import { arg, machine, printTable } from './util.js';

const MS = arg('ms', 150);
const NO_JS = process.argv.includes('--no-js');
const FMA = process.argv.includes('--fma');
const onlyAt = process.argv.indexOf('--only');
const ONLY = onlyAt >= 0 ? process.argv[onlyAt + 1]! : '';
const SHAPE: GemmShape = {
  mr: arg('mr', DEFAULT_SHAPE.mr), kc: arg('kc', DEFAULT_SHAPE.kc), nc: arg('nc', DEFAULT_SHAPE.nc),
  fma: FMA,
};
if (FMA) setFlagsFromString('--experimental-wasm-relaxed-simd');

/** [label, transA, transB, m, n, k] */
type Case = [string, boolean, boolean, number, number, number];
const CASES: Case[] = [
  ['GRU x Wih^T (NT)', false, true, 256, 96, 8],
  ['GRU h Whh^T (NT)', false, true, 256, 96, 32],
  ['GRU dW = dG^T h (TN)', true, false, 96, 32, 256],
  ['GRU dh = dG Whh (NN)', false, false, 256, 32, 96],
  ['tf qkv x W^T (NT)', false, true, 16384, 192, 64],
  ['tf out proj (NT)', false, true, 16384, 64, 64],
  ['tf ffn1 (NT)', false, true, 16384, 256, 64],
  ['tf ffn2 (NT)', false, true, 16384, 64, 256],
  ['tf dx = dy W (NN)', false, false, 16384, 64, 256],
  ['tf dW qkv (TN)', true, false, 192, 64, 16384],
  ['tf dW ffn1 (TN)', true, false, 256, 64, 16384],
  ['tf dW ffn2 (TN)', true, false, 64, 256, 16384],
  ['attn Q K^T (NT)', false, true, 64, 64, 16],
  ['attn P V (NN)', false, false, 64, 16, 64],
  ['attn dV = P^T dO (TN)', true, false, 64, 16, 64],
  ['infer qkv m=64 (NT)', false, true, 64, 192, 64],
  ['infer ffn1 m=64 (NT)', false, true, 64, 256, 64],
  ['infer ffn2 m=64 (NT)', false, true, 64, 64, 256],
];

function time(fn: () => void): number {
  fn();
  let best = Infinity;
  for (let r = 0; r < 3; r++) {
    let reps = 0;
    const t0 = performance.now();
    let t = t0;
    do {
      fn();
      reps++;
      t = performance.now();
    } while (t - t0 < MS);
    best = Math.min(best, (t - t0) / reps);
  }
  return best / 1000;
}

const arena = new Arena(1 << 26);
const kernels = wasmKernels(arena, SHAPE);
const wasm = kernels?.gemm;
if (!kernels || !wasm) {
  console.log(`the WebAssembly GEMM did not compile here${FMA ? ' (relaxed SIMD: the flag did not take)' : ''}`);
  process.exit(1);
}
console.log(machine());
console.log(`shape mr ${SHAPE.mr} kc ${SHAPE.kc} nc ${SHAPE.nc}${FMA ? ', relaxed_madd (FMA)' : ', mul + add'}`);
const rng = new Rng(1);
const rows: (string | number)[][] = [];
let logSum = 0;
let count = 0;
for (const [label, ta, tb, m, n, k] of CASES) {
  if (ONLY && !label.includes(ONLY)) continue;
  const mark = arena.mark();
  const a = arena.f32(m * k);
  const b = arena.f32(k * n);
  const c = arena.f32(m * n);
  for (const x of [a, b]) for (let i = 0; i < x.length; i++) x[i] = rng.uniform() * 2 - 1;
  const run = (g: Gemm) => () => g(ta, tb, m, n, k, a, ta ? m : k, b, tb ? k : n, 0, c, n);
  const flops = 2 * m * n * k;
  const tw = time(run(wasm));
  const tj = NO_JS ? NaN : time(run(gemmJs));
  const gw = flops / tw / 1e9;
  const gj = flops / tj / 1e9;
  logSum += Math.log(gw);
  count++;
  rows.push([label, `${m}x${n}x${k}`, NO_JS ? '-' : gj.toFixed(2), gw.toFixed(2), NO_JS ? '-' : `${(gw / gj).toFixed(1)}x`, (tw * 1e3).toFixed(3)]);
  arena.release(mark);
}
printTable(['case', 'm x n x k', 'JS GFLOPS', 'wasm GFLOPS', 'wasm/JS', 'wasm ms'], rows);
console.log(`geometric mean wasm GFLOPS: ${Math.exp(logSum / count).toFixed(2)}`);

/** [label, rows, cols, run(js?)] over x, y of rows * cols and b of cols. */
const ELEMENTWISE: [string, number, number, (js: boolean, x: Float32Array, y: Float32Array, b: Float32Array, rows: number, cols: number) => void][] = [
  ['axpy (Adam-sized, 256x96)', 256, 96, (js, x, y, _b, r, c) => (js ? axpyJs : kernels.axpy)(r * c, 0.5, x, y)],
  ['axpy 16384x64', 16384, 64, (js, x, y, _b, r, c) => (js ? axpyJs : kernels.axpy)(r * c, 0.5, x, y)],
  ['addRow bias 256x96', 256, 96, (js, _x, y, b, r, c) => (js ? addRowJs : kernels.addRow)(r, c, b, y, c)],
  ['addRow bias 16384x192', 16384, 192, (js, _x, y, b, r, c) => (js ? addRowJs : kernels.addRow)(r, c, b, y, c)],
  ['sumRows bias grad 256x96', 256, 96, (js, x, _y, b, r, c) => (js ? sumRowsJs : kernels.sumRows)(r, c, x, c, b)],
  ['sumRows bias grad 16384x64', 16384, 64, (js, x, _y, b, r, c) => (js ? sumRowsJs : kernels.sumRows)(r, c, x, c, b)],
];
const erows: (string | number)[][] = [];
for (const [label, r, c, run] of ELEMENTWISE) {
  if (ONLY && !label.includes(ONLY)) continue;
  const mark = arena.mark();
  const x = arena.f32(r * c);
  const y = arena.f32(r * c);
  const b = arena.f32(c);
  for (let i = 0; i < x.length; i++) x[i] = rng.uniform() * 2 - 1;
  const tw = time(() => run(false, x, y, b, r, c));
  const tj = NO_JS ? NaN : time(() => run(true, x, y, b, r, c));
  erows.push([label, NO_JS ? '-' : (r * c / tj / 1e6).toFixed(0), (r * c / tw / 1e6).toFixed(0), NO_JS ? '-' : `${(tj / tw).toFixed(1)}x`]);
  arena.release(mark);
}
if (erows.length) printTable(['elementwise', 'JS Mfloat/s', 'wasm Mfloat/s', 'wasm/JS'], erows);
