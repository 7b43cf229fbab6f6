/**
 * The WebAssembly SIMD kernels (gemm-wasm-code.ts: the GEMM, the elementwise and the layers' kernels in
 * one module) bound to an arena: the module is compiled once per shape, instantiated over the arena's
 * shared memory, and given a pinned scratch area from the arena for its packed panels. Each function has
 * its JS reference's signature and passes each array's byteOffset (plus 4 x a float offset) as its address.
 *
 * Arrays that are not views of this arena's memory (a plain Float32Array, or a view of a memory buffer
 * these kernels have not seen) go to the JS reference instead, which is correct for any arrays: a wrong
 * address would silently read other tensors. k = 0 (C = beta C) and empty products are handled here.
 */
import { setFlagsFromString } from 'node:v8';
import { f32x4RelaxedMadd, get, moduleBytes, V128, WA, type WasmModule } from '../../core/wasm-asm.js';
import type { Arena } from '../memory.js';
import {
  addRowJs, axpyJs, fillRowsJs, gruBackwardJs, gruForwardJs, layerNormBackwardJs, layerNormJs, mulJs, reluBackwardJs, reluJs, softmaxBackwardJs, softmaxJs, sumRowsJs,
} from './elementwise-js.js';
import { gemmAtJs } from './gemm-js.js';
import { DEFAULT_SHAPE, gemmModuleBytes, scratchFloats, type GemmShape } from './gemm-wasm-code.js';
import type { Kernels } from './index.js';

/** The import's maximum: 4 GiB, which admits any smaller shared memory (the arena's is 2 GiB). */
const IMPORT_MAX_PAGES = 65536;

type RawGemm = (
  ta: number, tb: number, m: number, n: number, k: number, a: number, lda: number, b: number, ldb: number,
  beta: number, c: number, ldc: number, scratch: number,
) => void;
type RawRows = (rows: number, cols: number, p: number, q: number, r: number) => void;
type Raw = (...args: number[]) => void;

const compiled = new Map<string, WasmModule | null>();
const warm = new WeakSet<WasmModule>();
let relaxed: boolean | undefined;
/** Calls of each 64 x 64 x 128 warm-up product: 8 were enough on Node 20 for the optimised code to be in place. */
const WARM_CALLS = 8;

/** The compiled module for this shape, or null where WebAssembly SIMD (or relaxed SIMD, for fma) is unavailable. */
export function gemmModule(shape: GemmShape = DEFAULT_SHAPE): WasmModule | null {
  const key = JSON.stringify(shape);
  let mod = compiled.get(key);
  if (mod === undefined) {
    mod = null;
    try {
      const bytes = gemmModuleBytes(shape, IMPORT_MAX_PAGES);
      if (WA && WA.validate(bytes)) mod = new WA.Module(bytes);
    } catch {
      mod = null;
    }
    compiled.set(key, mod);
  }
  return mod;
}

/**
 * Whether this V8 takes relaxed SIMD, whose f32x4.relaxed_madd is a fused multiply-add (about 1.3x the
 * GEMM's speed on AMD EPYC). Node 20 (V8 11.3) needs `--experimental-wasm-relaxed-simd` (on the command
 * line, or v8.setFlagsFromString before the first kernel is built); V8 from 11.4 (Node 22) has it on.
 * The answer is fixed at the first call. kiln does not set the flag itself: it is experimental in V8
 * 11.3, Node documents flags changed after startup as unsafe, and FMA results differ in the last bits
 * from mul + add (so from machines without it). Measured with bench/nn.ts --fma (issue 16 shapes): one-
 * sequence transformer inference p50 0.48 -> 0.39 ms, epochs 10-25% faster.
 */
/**
 * Turns relaxed SIMD on for this process (the V8 flag) so the kernels built from now on use fused
 * multiply-add; returns whether they will. Only before the first kernel is built: once the answer is
 * fixed, it stays (one process never mixes the two). `kiln serve --fma` calls it at start.
 */
export function enableRelaxedSimd(): boolean {
  if (relaxed === undefined && compiled.size === 0) {
    try {
      setFlagsFromString('--experimental-wasm-relaxed-simd');
    } catch {
      /* an engine without the flag: plain SIMD */
    }
  }
  return relaxedSimd();
}

export function relaxedSimd(): boolean {
  if (relaxed === undefined) {
    // (func (param v128) (result v128) local.get 0 local.get 0 local.get 0 f32x4.relaxed_madd)
    const probe = moduleBytes([{ params: [V128], results: [V128] }], { shared: true, maxPages: 1 }, [{ type: 0, locals: [], body: [...get(0), ...get(0), ...get(0), ...f32x4RelaxedMadd()] }], []);
    relaxed = !!WA && WA.validate(probe);
  }
  return relaxed;
}

/**
 * The WebAssembly kernels over this arena's memory, or null where the arena has no WebAssembly memory or
 * the module does not compile. By default the GEMM multiplies-adds fused where relaxed SIMD is on, else
 * with plain SIMD mul + add: results differ between the two in the last bits, never between runs of one.
 */
export function wasmKernels(arena: Arena, shape: GemmShape = relaxedSimd() ? { ...DEFAULT_SHAPE, fma: true } : DEFAULT_SHAPE): Kernels | null {
  const memory = arena.memory;
  const mod = gemmModule(shape);
  if (!WA || !memory || !mod) return null;
  const ex = new WA.Instance(mod, { env: { memory } }).exports;
  const run = ex.gemm as RawGemm;
  const axpy = ex.axpy as (n: number, alpha: number, x: number, y: number) => void;
  const addRow = ex.addRow as RawRows;
  const sumRows = ex.sumRows as RawRows;
  const softmax = ex.softmax as Raw;
  const softmaxBackward = ex.softmaxBackward as Raw;
  const mul = ex.mul as Raw;
  const fillRows = ex.fillRows as Raw;
  const layerNorm = ex.layerNorm as Raw;
  const layerNormBackward = ex.layerNormBackward as Raw;
  const relu = ex.relu as Raw;
  const reluBackward = ex.reluBackward as Raw;
  const gruForward = ex.gruForward as Raw;
  const gruBackward = ex.gruBackward as Raw;
  const scratch = arena.pinnedF32(scratchFloats(shape)).byteOffset;
  // Buffers of this memory seen so far: a grow gives a new (longer) buffer; views made before it keep the old one.
  const known = new WeakSet<ArrayBufferLike>();
  let current = memory.buffer;
  known.add(current);
  const ours = (x: Float32Array): boolean => {
    const buf = x.buffer;
    if (buf === current || known.has(buf)) return true;
    current = memory.buffer;
    known.add(current);
    return buf === current;
  };
  /** Byte address of float `o` of x. */
  const at = (x: Float32Array, o: number): number => x.byteOffset + 4 * o;
  const gemmAt: Kernels['gemmAt'] = (transA, transB, m, n, k, a, ao, lda, b, bo, ldb, beta, c, co, ldc) => {
    if (m <= 0 || n <= 0) return;
    if (k <= 0) {
      if (beta === 0) for (let i = 0; i < m; i++) c.fill(0, co + i * ldc, co + i * ldc + n);
      return;
    }
    if (!ours(a) || !ours(b) || !ours(c)) {
      gemmAtJs(transA, transB, m, n, k, a, ao, lda, b, bo, ldb, beta, c, co, ldc);
      return;
    }
    run(transA ? 1 : 0, transB ? 1 : 0, m, n, k, at(a, ao), lda, at(b, bo), ldb, beta, at(c, co), ldc, scratch);
  };
  const kernels: Kernels = {
    name: 'wasm-simd',
    gemm: (transA, transB, m, n, k, a, lda, b, ldb, beta, c, ldc) => gemmAt(transA, transB, m, n, k, a, 0, lda, b, 0, ldb, beta, c, 0, ldc),
    gemmAt,
    axpy(n, alpha, x, y) {
      if (n <= 0) return;
      if (ours(x) && ours(y)) axpy(n, alpha, x.byteOffset, y.byteOffset);
      else axpyJs(n, alpha, x, y);
    },
    addRow(rows, cols, b, y, ldy) {
      if (rows <= 0 || cols <= 0) return;
      if (ours(b) && ours(y)) addRow(rows, cols, b.byteOffset, y.byteOffset, ldy);
      else addRowJs(rows, cols, b, y, ldy);
    },
    sumRows(rows, cols, x, ldx, out) {
      if (rows <= 0 || cols <= 0) return;
      if (ours(x) && ours(out)) sumRows(rows, cols, x.byteOffset, ldx, out.byteOffset);
      else sumRowsJs(rows, cols, x, ldx, out);
    },
    softmax(rows, cols, s, so, ld, scale) {
      if (rows <= 0 || cols <= 0) return;
      if (ours(s)) softmax(at(s, so), rows, cols, ld, scale);
      else softmaxJs(rows, cols, s, so, ld, scale);
    },
    fillRows(rows, cols, b, y, ldy) {
      if (rows <= 0 || cols <= 0) return;
      if (ours(b) && ours(y)) fillRows(rows, cols, b.byteOffset, y.byteOffset, ldy);
      else fillRowsJs(rows, cols, b, y, ldy);
    },
    softmaxBackward(rows, cols, p, pd, po, ds, dso, ld, scale) {
      if (rows <= 0 || cols <= 0) return;
      if (ours(p) && ours(pd) && ours(ds)) softmaxBackward(rows, cols, ld, at(p, po), at(pd, po), at(ds, dso), scale);
      else softmaxBackwardJs(rows, cols, p, pd, po, ds, dso, ld, scale);
    },
    mul(n, a, ao, b, bo, y, yo) {
      if (n <= 0) return;
      if (ours(a) && ours(b) && ours(y)) mul(n, at(a, ao), at(b, bo), at(y, yo));
      else mulJs(n, a, ao, b, bo, y, yo);
    },
    layerNorm(rows, dim, x, w, b, eps, y, xhat, rstd) {
      if (rows <= 0 || dim <= 0) return;
      if (ours(x) && ours(w) && ours(b) && ours(y) && ours(xhat) && ours(rstd)) layerNorm(rows, dim, x.byteOffset, w.byteOffset, b.byteOffset, eps, y.byteOffset, xhat.byteOffset, rstd.byteOffset);
      else layerNormJs(rows, dim, x, w, b, eps, y, xhat, rstd);
    },
    layerNormBackward(rows, dim, dy, xhat, rstd, w, gw, gb, dx) {
      if (rows <= 0 || dim <= 0) return;
      if (ours(dy) && ours(xhat) && ours(rstd) && ours(w) && ours(gw) && ours(gb) && ours(dx)) {
        layerNormBackward(rows, dim, dy.byteOffset, xhat.byteOffset, rstd.byteOffset, w.byteOffset, gw.byteOffset, gb.byteOffset, dx.byteOffset);
      } else layerNormBackwardJs(rows, dim, dy, xhat, rstd, w, gw, gb, dx);
    },
    relu(n, z, y) {
      if (n <= 0) return;
      if (ours(z) && ours(y)) relu(n, z.byteOffset, y.byteOffset);
      else reluJs(n, z, y);
    },
    reluBackward(n, z, dy, dz) {
      if (n <= 0) return;
      if (ours(z) && ours(dy) && ours(dz)) reluBackward(n, z.byteOffset, dy.byteOffset, dz.byteOffset);
      else reluBackwardJs(n, z, dy, dz);
    },
    gruForward(rows, H, g, go, ldg, gh, gho, prev, po, hn, hno, hs, hso, y, yo, ldy) {
      if (rows <= 0 || H <= 0) return;
      if (ours(g) && ours(gh) && ours(prev) && ours(hn) && ours(hs) && ours(y)) {
        gruForward(rows, H, at(g, go), ldg, at(gh, gho), at(prev, po), at(hn, hno), at(hs, hso), at(y, yo), ldy);
      } else gruForwardJs(rows, H, g, go, ldg, gh, gho, prev, po, hn, hno, hs, hso, y, yo, ldy);
    },
    gruBackward(rows, H, cur, co, dy, dyo, ldy, g, go, ldg, prev, po, hn, hno, dgi, dio, dgh, dho, pg, pgo) {
      if (rows <= 0 || H <= 0) return;
      if (ours(cur) && (!dy || ours(dy)) && ours(g) && ours(prev) && ours(hn) && ours(dgi) && ours(dgh) && ours(pg)) {
        gruBackward(rows, H, at(cur, co), dy ? at(dy, dyo) : at(cur, co), dy ? 1 : 0, dy ? ldy : H, at(g, go), ldg, at(prev, po), at(hn, hno), at(dgi, dio), at(dgh, dho), at(pg, pgo));
      } else gruBackwardJs(rows, H, cur, co, dy, dyo, ldy, g, go, ldg, prev, po, hn, hno, dgi, dio, dgh, dho, pg, pgo);
    },
  };
  if (!warm.has(mod)) {
    warm.add(mod);
    warmUp(arena, kernels, shape.mr);
  }
  return kernels;
}

/**
 * V8 compiles WebAssembly functions lazily, on first call, with its baseline compiler, and recompiles
 * hot ones with its optimising compiler after enough work (about 4x faster here). Once per compiled
 * module (its instances share the code): one small call of every kernel and micro-kernel (each row
 * count, A packed and in place), then enough 4-row work, A packed and in place, for the micro-kernels
 * to tier up; this moves a few milliseconds from the first real products (a served request) to here.
 */
function warmUp(arena: Arena, k: Kernels, mr: number): void {
  const mark = arena.mark();
  const x = arena.f32(64 * 128);
  const y = arena.f32(64 * 128);
  const z = arena.f32(64 * 64);
  for (let m = mr; m < 2 * mr; m++) {
    for (const ta of [false, true]) for (const tb of [false, true]) k.gemm(ta, tb, m, 9, 5, x, 16, y, 16, 0, z, 16);
  }
  for (let i = 0; i < WARM_CALLS; i++) for (const ta of [false, true]) k.gemm(ta, true, 64, 64, 128, x, ta ? 64 : 128, y, 128, 0, z, 64);
  k.axpy(5, 1, x, y);
  k.addRow(2, 5, x, y, 5);
  k.sumRows(2, 5, x, 5, y);
  arena.release(mark);
}
