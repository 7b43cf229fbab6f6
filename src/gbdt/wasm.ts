/**
 * The histogram kernel as a hand-assembled WebAssembly function over a shared WebAssembly.Memory. It is
 * the same loop as histU8Words (histogram.ts), which stays as the reference and the fallback; compiled
 * WebAssembly drops the per-access bounds and overflow checks that JavaScript keeps, and measured 2-2.5x
 * faster on dense nodes. The module is a few hundred bytes, built here so no toolchain is needed.
 *
 * hist(idxPtr, begin, end, binsPtr, wordsPerRow, gradPtr, hessPtr, histPtr): for each i in
 * [begin, end), row r = idx[i]; for each 32-bit word of row r's uint8 bins (four features), adds
 * (grad[r], hess[r]) to the float64 pair at histPtr + feature * 4096 + bin * 16. Pointers are bytes.
 */

import { IF, LT_U, OR, SELECT, ADD, AND, BLOCK, br, brIf, END, F64, F64_ADD, GE_U, get, i32, I32, load32, loadF32, loadF64, LOOP, moduleBytes, MUL, PROMOTE, set, SHL, SHR_U, simd, storeF64, tee, uleb, V128, v128Load, v128Store } from '../core/wasm-asm.js';
import { WA, type WasmMemory, type WasmModule } from '../core/wasm-asm.js';

export { WA, type WasmMemory, type WasmModule };

// Parameters 0-7, then locals.
const P = { idx: 0, begin: 1, end: 2, bins: 3, words: 4, grad: 5, hess: 6, hist: 7 };
const L = { i: 8, r: 9, p: 10, o: 11, w: 12, x: 13, a: 14, g: 15, h: 16 };

/** hist[o + feature-in-word * 4096 + ((x >>> shift) & 255) * 16] += (g, h) */
function update(shift: number): number[] {
  return [
    ...get(L.o), ...(shift ? [...i32((shift / 8) * 4096), ADD] : []),
    ...get(L.x), ...(shift ? [...i32(shift), SHR_U] : []), ...i32(255), AND, ...i32(4), SHL, ADD, ...tee(L.a),
    ...get(L.a), ...loadF64(0), ...get(L.g), F64_ADD, ...storeF64(0),
    ...get(L.a), ...get(L.a), ...loadF64(8), ...get(L.h), F64_ADD, ...storeF64(8),
  ];
}

function histBody(): number[] {
  return [
    ...get(P.begin), ...set(L.i),
    ...BLOCK, ...LOOP,
    ...get(L.i), ...get(P.end), GE_U, ...brIf(1),
    ...get(P.idx), ...get(L.i), ...i32(2), SHL, ADD, ...load32(), ...set(L.r),
    ...get(P.grad), ...get(L.r), ...i32(2), SHL, ADD, ...loadF32(), PROMOTE, ...set(L.g),
    ...get(P.hess), ...get(L.r), ...i32(2), SHL, ADD, ...loadF32(), PROMOTE, ...set(L.h),
    ...get(P.bins), ...get(L.r), ...get(P.words), MUL, ...i32(2), SHL, ADD, ...set(L.p),
    ...get(P.hist), ...set(L.o),
    ...i32(0), ...set(L.w),
    ...BLOCK, ...LOOP,
    ...get(L.w), ...get(P.words), GE_U, ...brIf(1),
    ...get(L.p), ...load32(), ...set(L.x),
    ...update(0), ...update(8), ...update(16), ...update(24),
    ...get(L.p), ...i32(4), ADD, ...set(L.p),
    ...get(L.o), ...i32(16384), ADD, ...set(L.o),
    ...get(L.w), ...i32(1), ADD, ...set(L.w),
    ...br(0),
    END, END,
    ...get(L.i), ...i32(1), ADD, ...set(L.i),
    ...br(0),
    END, END,
  ];
}

/** Rows ahead whose bins and gradients histSimd touches (measured: 8 a few % faster than none, 16 slower). */
const PREFETCH_ROWS = 8;

/** f64x2.splat, f64x2.replace_lane 1, f64x2.add. */
const F64X2_SPLAT = simd(0x14), F64X2_REPLACE1 = simd(0x22, 1), F64X2_ADD = simd(0xf0);

/** hist[o + feature-in-word * 4096 + ((x >>> shift) & 255) * 16] += (g, h), both lanes in one v128 add. */
function updateSimd(k: number, a: number, p: number, o: number, gh: number): number[] {
  // a = o + bins[p + k] * 16; the feature's 4096-byte histogram offset rides in the memory immediates.
  return [
    ...get(p), 0x2d, 0, ...uleb(k), ...i32(4), SHL, ...get(o), ADD, ...tee(a),
    ...get(a), ...v128Load(k * 4096), ...get(gh), ...F64X2_ADD, ...v128Store(k * 4096),
  ];
}

/**
 * histSimd: the same loop and the same float64 sums as hist, the (grad, hess) pair of a row held in one
 * f64x2, so each bin takes one 128-bit load, add and store instead of two of each.
 */
function histSimdBody(): number[] {
  const V = { i: 8, r: 9, p: 10, o: 11, w: 12, x: 13, a: 14, q: 15, gh: 16 };
  const D = PREFETCH_ROWS;
  const prefetch = D > 0 ? [
    // Touch row idx[i + D]'s bins and gradients now, so their cache misses overlap this row's updates.
    ...get(V.i), ...i32(D), ADD, ...tee(V.q), ...get(P.end), LT_U, ...IF,
    ...get(P.idx), ...get(V.q), ...i32(2), SHL, ADD, ...load32(), ...set(V.q),
    ...get(P.bins), ...get(V.q), ...get(P.words), MUL, ...i32(2), SHL, ADD, ...load32(),
    ...get(P.grad), ...get(V.q), ...i32(2), SHL, ADD, ...load32(), OR,
    ...get(P.hess), ...get(V.q), ...i32(2), SHL, ADD, ...load32(), OR,
    ...set(V.x),
    END,
  ] : [];
  return [
    ...get(P.begin), ...set(V.i),
    ...BLOCK, ...LOOP,
    ...get(V.i), ...get(P.end), GE_U, ...brIf(1),
    ...prefetch,
    ...get(P.idx), ...get(V.i), ...i32(2), SHL, ADD, ...load32(), ...set(V.r),
    ...get(P.grad), ...get(V.r), ...i32(2), SHL, ADD, ...loadF32(), PROMOTE, ...F64X2_SPLAT,
    ...get(P.hess), ...get(V.r), ...i32(2), SHL, ADD, ...loadF32(), PROMOTE, ...F64X2_REPLACE1, ...set(V.gh),
    ...get(P.bins), ...get(V.r), ...get(P.words), MUL, ...i32(2), SHL, ADD, ...set(V.p),
    ...get(P.hist), ...set(V.o),
    ...i32(0), ...set(V.w),
    ...BLOCK, ...LOOP,
    ...get(V.w), ...get(P.words), GE_U, ...brIf(1),
    ...updateSimd(0, V.a, V.p, V.o, V.gh), ...updateSimd(1, V.a, V.p, V.o, V.gh), ...updateSimd(2, V.a, V.p, V.o, V.gh), ...updateSimd(3, V.a, V.p, V.o, V.gh),
    ...get(V.p), ...i32(4), ADD, ...set(V.p),
    ...get(V.o), ...i32(16384), ADD, ...set(V.o),
    ...get(V.w), ...i32(1), ADD, ...set(V.w),
    ...br(0),
    END, END,
    ...get(V.i), ...i32(1), ADD, ...set(V.i),
    ...br(0),
    END, END,
  ];
}

/** Rows gathered per chunk by histGather (its scratch: GATHER_ROWS * (16 + rowBytes) + 64 bytes). */
export const GATHER_ROWS = 256;

/** Scratch bytes histGather needs for rows of `wordsPerRow` words. */
export function gatherScratchBytes(wordsPerRow: number): number {
  return GATHER_ROWS * (16 + wordsPerRow * 4) + 64;
}

/**
 * histGather(idx, begin, end, bins, words, grad, hess, hist, scratch): the same sums as histSimd for rows
 * scattered through the matrix (a deep node's). Chunk by chunk, it first copies each row's bins and
 * (grad, hess) into contiguous scratch, a loop of independent loads whose cache misses overlap, then
 * runs the histogram loop over the copy, which stays in cache. Row order, and so every sum, is unchanged.
 */
function histGatherBody(): number[] {
  const S = 8; // the scratch pointer parameter
  const V = { i: 9, m: 10, j: 11, r: 12, src: 13, dst: 14, k: 15, q: 16, p: 17, o: 18, w: 19, a: 20, rb: 21, gh: 22 };
  const CH = GATHER_ROWS;
  return [
    ...get(P.words), ...i32(2), SHL, ...set(V.rb),
    ...get(P.begin), ...set(V.i),
    ...BLOCK, ...LOOP,
    ...get(V.i), ...get(P.end), GE_U, ...brIf(1),
    // m = min(end, i + CH)
    ...get(V.i), ...i32(CH), ADD, ...tee(V.m), ...get(P.end), ...get(V.m), ...get(P.end), LT_U, SELECT, ...set(V.m),
    // gather rows i..m: (g, h) pairs at scratch, bins rows after CH pairs
    ...get(V.i), ...set(V.j), ...get(S), ...set(V.q), ...get(S), ...i32(CH * 16), ADD, ...set(V.dst),
    ...LOOP,
    ...get(P.idx), ...get(V.j), ...i32(2), SHL, ADD, ...load32(), ...set(V.r),
    ...get(V.q),
    ...get(P.grad), ...get(V.r), ...i32(2), SHL, ADD, ...loadF32(), PROMOTE, ...F64X2_SPLAT,
    ...get(P.hess), ...get(V.r), ...i32(2), SHL, ADD, ...loadF32(), PROMOTE, ...F64X2_REPLACE1,
    ...v128Store(0),
    ...get(P.bins), ...get(V.r), ...get(V.rb), MUL, ADD, ...set(V.src),
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
    ...get(V.i), ...set(V.j), ...get(S), ...set(V.q), ...get(S), ...i32(CH * 16), ADD, ...set(V.p),
    ...LOOP,
    ...get(V.q), ...v128Load(0), ...set(V.gh),
    ...get(P.hist), ...set(V.o),
    ...i32(0), ...set(V.w),
    ...LOOP,
    ...updateSimd(0, V.a, V.p, V.o, V.gh), ...updateSimd(1, V.a, V.p, V.o, V.gh), ...updateSimd(2, V.a, V.p, V.o, V.gh), ...updateSimd(3, V.a, V.p, V.o, V.gh),
    ...get(V.p), ...i32(4), ADD, ...set(V.p),
    ...get(V.o), ...i32(16384), ADD, ...set(V.o),
    ...get(V.w), ...i32(1), ADD, ...tee(V.w), ...get(P.words), LT_U, ...brIf(0),
    END,
    ...get(V.q), ...i32(16), ADD, ...set(V.q),
    ...get(V.j), ...i32(1), ADD, ...tee(V.j), ...get(V.m), LT_U, ...brIf(0),
    END,
    ...get(V.m), ...set(V.i),
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

/** Bytes of the module: imports env.memory (shared, max 4 GiB), exports `hist` and `partition` (and `histSimd` with simd). */
export function histModuleBytes(withSimd = false): Uint8Array {
  const ints = (k: number): number[] => Array.from({ length: k }, () => I32);
  const funcs = [{ type: 0, locals: [[7, I32], [2, F64]] as [number, number][], body: histBody() }, { type: 1, locals: [[6, I32]] as [number, number][], body: partitionBody() }];
  const exports: [string, number][] = [['hist', 0], ['partition', 1]];
  if (withSimd) {
    funcs.push({ type: 0, locals: [[8, I32], [1, V128]], body: histSimdBody() });
    exports.push(['histSimd', 2]);
    funcs.push({ type: 2, locals: [[13, I32], [1, V128]], body: histGatherBody() });
    exports.push(['histGather', 3]);
  }
  return moduleBytes([{ params: ints(8), results: [] }, { params: ints(8), results: [I32] }, { params: ints(9), results: [] }], { shared: true, maxPages: 65536 }, funcs, exports);
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

export type HistKernel = (idxPtr: number, begin: number, end: number, binsPtr: number, wordsPerRow: number, gradPtr: number, hessPtr: number, histPtr: number) => void;

let compiled: WasmModule | null | undefined;

/** The compiled module, or null where WebAssembly is unavailable (then the JS kernel runs). */
export function histModule(): WasmModule | null {
  if (compiled === undefined) {
    try {
      if (!WA) compiled = null;
      else {
        const simdBytes = histModuleBytes(true);
        compiled = new WA.Module(WA.validate(simdBytes) ? simdBytes : histModuleBytes());
      }
    } catch {
      compiled = null;
    }
  }
  return compiled;
}

export type PartitionKernel = (idxPtr: number, tmpPtr: number, begin: number, end: number, colPtr: number, bin: number, defaultLeft: number, missingBin: number) => number;

export type GatherKernel = (idxPtr: number, begin: number, end: number, binsPtr: number, wordsPerRow: number, gradPtr: number, hessPtr: number, histPtr: number, scratchPtr: number) => void;

/** The module's kernels over `memory`: the SIMD histogram kernels where the module has them (gather: null without). */
export function instantiateKernels(module: WasmModule, memory: WasmMemory): { hist: HistKernel; gather: GatherKernel | null; partition: PartitionKernel } {
  const inst = new WA!.Instance(module, { env: { memory } });
  const hist = (inst.exports.histSimd ?? inst.exports.hist) as HistKernel;
  const gather = (inst.exports.histGather ?? null) as GatherKernel | null;
  return { hist, gather, partition: inst.exports.partition as PartitionKernel };
}

export const WASM_PAGE = 65536;
/** wasm32 addresses: 65536 pages of 64 KiB. */
export const WASM_MAX_BYTES = 65536 * WASM_PAGE;
