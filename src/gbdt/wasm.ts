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

import { ADD, AND, BLOCK, br, brIf, END, F64, F64_ADD, GE_U, get, i32, I32, load32, loadF32, loadF64, LOOP, moduleBytes, MUL, PROMOTE, set, SHL, SHR_U, storeF64, tee } from '../core/wasm-asm.js';
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

/** Bytes of the module: imports env.memory (shared, max 4 GiB), exports `hist` and `partition`. */
export function histModuleBytes(): Uint8Array {
  const ints = (k: number): number[] => Array.from({ length: k }, () => I32);
  return moduleBytes(
    [{ params: ints(8), results: [] }, { params: ints(8), results: [I32] }],
    { shared: true, maxPages: 65536 },
    [{ type: 0, locals: [[7, I32], [2, F64]], body: histBody() }, { type: 1, locals: [[6, I32]], body: partitionBody() }],
    [['hist', 0], ['partition', 1]],
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

export type HistKernel = (idxPtr: number, begin: number, end: number, binsPtr: number, wordsPerRow: number, gradPtr: number, hessPtr: number, histPtr: number) => void;

let compiled: WasmModule | null | undefined;

/** The compiled module, or null where WebAssembly is unavailable (then the JS kernel runs). */
export function histModule(): WasmModule | null {
  if (compiled === undefined) {
    try {
      compiled = WA ? new WA.Module(histModuleBytes()) : null;
    } catch {
      compiled = null;
    }
  }
  return compiled;
}

export type PartitionKernel = (idxPtr: number, tmpPtr: number, begin: number, end: number, colPtr: number, bin: number, defaultLeft: number, missingBin: number) => number;

export function instantiateKernels(module: WasmModule, memory: WasmMemory): { hist: HistKernel; partition: PartitionKernel } {
  const inst = new WA!.Instance(module, { env: { memory } });
  return { hist: inst.exports.hist as HistKernel, partition: inst.exports.partition as PartitionKernel };
}

export const WASM_PAGE = 65536;
/** wasm32 addresses: 65536 pages of 64 KiB. */
export const WASM_MAX_BYTES = 65536 * WASM_PAGE;
