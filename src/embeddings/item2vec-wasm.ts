/**
 * item2vec's pair kernel (item2vec-kernel.ts) as WebAssembly SIMD, assembled at load time with
 * core/wasm-asm.ts. The input and output vectors live in one shared WebAssembly.Memory that every
 * thread instantiates the module over (Hogwild, as with the JS kernel's SharedArrayBuffers); each
 * thread has its own block of pairs and its own gradient row (neu1e) in the same memory.
 *
 * Rows are padded to a multiple of 4 floats (the padding starts at zero and stays zero: every update
 * of it multiplies a zero), so each row is whole f32x4 vectors at a 16-byte-aligned address. The
 * module is built for one row width: up to UNROLL_MAX vectors a row op is straight-line code with
 * constant offsets; wider rows loop over blocks of BLOCK vectors. Dot products use four accumulators.
 * Sums are float32 (the JS reference sums in doubles), so the two agree to float32 rounding, not bit
 * for bit; one thread gives the same bytes every run.
 *
 *   apply(pairs, count, alpha: f32, syn0, syn1, sig, neu1e, negatives)
 */
import {
  ADD, BLOCK, br, brIf, ELSE, END, EQZ, F32, GE_S, I32, i32, IF, LOOP, LT_S, LT_U, loadF32, load32, moduleBytes, MUL, SHL, V128, WA,
  f32x4Add, f32x4ExtractLane, f32x4Mul, f32x4Splat, get, set, tee, v128Load, v128Store, v128Zero, type WasmMemory, type WasmModule,
} from '../core/wasm-asm.js';
import { EXP_TABLE_SIZE, jsPairKernel, MAX_EXP, sigmoidTable, type JsVectors, type PairKernel } from './item2vec-kernel.js';

const F32_NE = 0x5c, F32_LT = 0x5d, F32_GT = 0x5e, F32_ADD = 0x92, F32_SUB = 0x93, F32_MUL = 0x94;
const IF_F32 = [0x04, F32];
const f32Const = (v: number): number[] => [0x43, ...new Uint8Array(new Float32Array([v]).buffer)];
const truncSatF32S = [0xfc, 0x00];

/** Rows of up to this many f32x4 vectors (dim 128) are unrolled in full. */
const UNROLL_MAX = 32;
/** Vectors per iteration when a row is looped. */
const BLOCK_VECS = 8;
const PAGE = 65536;
const ALIGN = 64;
/** The import's maximum, which admits any smaller shared memory. */
const IMPORT_MAX_PAGES = 65536;
/** Vectors above this many bytes stay in JS: addresses are i32 and the memory is reserved in full. */
const MAX_BYTES = 2 ** 31 - PAGE;

const PARAMS = ['pairs', 'count', 'alpha', 'syn0', 'syn1', 'sig', 'ne', 'k'] as const;
const LOCALS_I32 = ['p', 'end', 'l1', 'l2', 'q', 'qEnd', 't', 'j', 'jEnd', 'rowLen'] as const;
const LOCALS_F32 = ['f', 'g', 'label'] as const;
const LOCALS_V128 = ['gv', 'o', 'a0', 'a1', 'a2', 'a3'] as const;
type Local = (typeof PARAMS)[number] | (typeof LOCALS_I32)[number] | (typeof LOCALS_F32)[number] | (typeof LOCALS_V128)[number];
const INDEX = new Map<Local, number>([...PARAMS, ...LOCALS_I32, ...LOCALS_F32, ...LOCALS_V128].map((n, i) => [n, i]));
const g = (n: Local): number[] => get(INDEX.get(n)!);
const s = (n: Local): number[] => set(INDEX.get(n)!);

/** `while (cond) body`. */
const whileLoop = (cond: number[], body: number[]): number[] => [...BLOCK, ...LOOP, ...cond, EQZ, ...brIf(1), ...body, ...br(0), END, END];

/**
 * op(i, address, offset) for each of the row's `vecs` vectors: straight-line when short, else a loop
 * over blocks (local j is the block's byte offset) and the remainder after it.
 */
function forRow(vecs: number, op: (i: number, at: (ptr: Local) => number[], off: number) => number[]): number[] {
  if (vecs <= UNROLL_MAX) {
    const out: number[] = [];
    for (let i = 0; i < vecs; i++) out.push(...op(i, (ptr) => g(ptr), 16 * i));
    return out;
  }
  const at = (ptr: Local): number[] => [...g(ptr), ...g('j'), ADD];
  const blocks = Math.floor(vecs / BLOCK_VECS);
  const body: number[] = [];
  for (let i = 0; i < BLOCK_VECS; i++) body.push(...op(i, at, 16 * i));
  const tail: number[] = [];
  for (let i = 0; i < vecs % BLOCK_VECS; i++) tail.push(...op(i, at, 16 * i));
  return [
    ...i32(0), ...s('j'),
    ...whileLoop([...g('j'), ...i32(blocks * BLOCK_VECS * 16), LT_S], [...body, ...g('j'), ...i32(BLOCK_VECS * 16), ADD, ...s('j')]),
    ...tail,
  ];
}

/** The apply function's body for rows of `vecs` f32x4 vectors. */
function applyBody(vecs: number): number[] {
  const rowBytes = vecs * 16;
  const accs: Local[] = ['a0', 'a1', 'a2', 'a3'];
  const used = accs.slice(0, Math.min(4, vecs));
  const dot = [
    ...used.flatMap((a) => [...v128Zero(), ...s(a)]),
    ...forRow(vecs, (i, at, off) => {
      const a = accs[i % 4]!;
      return [...g(a), ...at('l1'), ...v128Load(off), ...at('l2'), ...v128Load(off), ...f32x4Mul(), ...f32x4Add(), ...s(a)];
    }),
    ...g('a0'), ...used.slice(1).flatMap((a) => [...g(a), ...f32x4Add()]), ...s('o'),
    ...g('o'), ...f32x4ExtractLane(0), ...g('o'), ...f32x4ExtractLane(2), F32_ADD, ...g('o'), ...f32x4ExtractLane(1), ...g('o'), ...f32x4ExtractLane(3), F32_ADD, F32_ADD, ...s('f'),
  ];
  const sigScale = EXP_TABLE_SIZE / MAX_EXP / 2;
  const gradient = [
    ...g('f'), ...f32Const(MAX_EXP), F32_GT, ...IF_F32,
    ...g('label'), ...f32Const(1), F32_SUB,
    ELSE,
    ...g('f'), ...f32Const(-MAX_EXP), F32_LT, ...IF_F32,
    ...g('label'),
    ELSE,
    ...g('label'), ...g('sig'), ...g('f'), ...f32Const(MAX_EXP), F32_ADD, ...f32Const(sigScale), F32_MUL, ...truncSatF32S, ...i32(2), SHL, ADD, ...loadF32(), F32_SUB,
    END, END, ...g('alpha'), F32_MUL, ...s('g'),
  ];
  const update = forRow(vecs, (_i, at, off) => [
    ...at('l2'), ...v128Load(off), ...s('o'),
    ...at('ne'), ...at('ne'), ...v128Load(off), ...g('o'), ...g('gv'), ...f32x4Mul(), ...f32x4Add(), ...v128Store(off),
    ...at('l2'), ...g('o'), ...at('l1'), ...v128Load(off), ...g('gv'), ...f32x4Mul(), ...f32x4Add(), ...v128Store(off),
  ]);
  const target = [
    ...g('q'), ...load32(), ...tee(INDEX.get('t')!), ...i32(0), GE_S, ...IF,
    ...g('syn1'), ...g('t'), ...i32(rowBytes), MUL, ADD, ...s('l2'),
    ...dot, ...gradient,
    ...g('g'), ...f32Const(0), F32_NE, ...IF,
    ...g('g'), ...f32x4Splat(), ...s('gv'),
    ...update,
    END,
    END,
    ...f32Const(0), ...s('label'),
    ...g('q'), ...i32(4), ADD, ...s('q'),
  ];
  const pair = [
    ...g('syn0'), ...g('p'), ...load32(), ...i32(rowBytes), MUL, ADD, ...s('l1'),
    ...forRow(vecs, (_i, at, off) => [...at('ne'), ...v128Zero(), ...v128Store(off)]),
    ...g('p'), ...i32(4), ADD, ...s('q'),
    ...g('p'), ...g('rowLen'), ADD, ...s('qEnd'),
    ...f32Const(1), ...s('label'),
    ...whileLoop([...g('q'), ...g('qEnd'), LT_U], target),
    ...forRow(vecs, (_i, at, off) => [...at('l1'), ...at('l1'), ...v128Load(off), ...at('ne'), ...v128Load(off), ...f32x4Add(), ...v128Store(off)]),
    ...g('qEnd'), ...s('p'),
  ];
  return [
    ...g('k'), ...i32(2), ADD, ...i32(2), SHL, ...s('rowLen'),
    ...g('pairs'), ...g('count'), ...g('rowLen'), MUL, ADD, ...s('end'),
    ...g('pairs'), ...s('p'),
    ...whileLoop([...g('p'), ...g('end'), LT_U], pair),
  ];
}

/** The module's bytes for rows of `vecs` f32x4 vectors. */
export function item2vecModuleBytes(vecs: number): Uint8Array {
  const params = PARAMS.map((p) => (p === 'alpha' ? F32 : I32));
  const locals: [number, number][] = [[LOCALS_I32.length, I32], [LOCALS_F32.length, F32], [LOCALS_V128.length, V128]];
  return moduleBytes([{ params, results: [] }], { shared: true, maxPages: IMPORT_MAX_PAGES }, [{ type: 0, locals, body: applyBody(vecs) }], [['apply', 0]]);
}

const compiled = new Map<number, WasmModule | null>();

/** The compiled module for rows of `vecs` vectors, or null where WebAssembly SIMD is unavailable. */
export function item2vecModule(vecs: number): WasmModule | null {
  let mod = compiled.get(vecs);
  if (mod === undefined) {
    mod = null;
    try {
      const bytes = item2vecModuleBytes(vecs);
      if (WA && WA.validate(bytes)) mod = new WA.Module(bytes);
    } catch {
      mod = null;
    }
    compiled.set(vecs, mod);
  }
  return mod;
}

/** The vectors of a training run in a shared WebAssembly memory, and each thread's scratch (byte addresses). */
export interface WasmVectors {
  kind: 'wasm-simd';
  memory: WasmMemory;
  dim: number;
  /** Floats per row: dim rounded up to a multiple of 4. */
  stride: number;
  negatives: number;
  /** Rows of pairs per block. */
  capacity: number;
  syn0: number;
  syn1: number;
  sig: number;
  scratch: { neu1e: number; pairs: number }[];
}

/** The JS kernel's vectors (plain or SharedArrayBuffer-backed arrays). */
export type VectorsRef = WasmVectors | (JsVectors & { kind: 'js' });

const up = (n: number): number => Math.ceil(n / ALIGN) * ALIGN;

/**
 * Reserves a shared memory for `items` vectors of `dim` (input and output, zeroed), the sigmoid table
 * and `threads` scratch areas; null where WebAssembly SIMD or shared memory is unavailable here, or the
 * vectors would pass MAX_BYTES.
 */
export function allocWasmVectors(items: number, dim: number, negatives: number, threads: number, capacity: number): WasmVectors | null {
  const stride = Math.ceil(dim / 4) * 4;
  if (!WA || !item2vecModule(stride / 4)) return null;
  let top = ALIGN;
  const take = (bytes: number): number => {
    const at = top;
    top += up(bytes);
    return at;
  };
  const sig = take((EXP_TABLE_SIZE + 1) * 4);
  const syn0 = take(items * stride * 4);
  const syn1 = take(items * stride * 4);
  const scratch = Array.from({ length: threads }, () => ({ neu1e: take(stride * 4), pairs: take(capacity * (negatives + 2) * 4) }));
  if (top > MAX_BYTES) return null;
  const pages = Math.ceil(top / PAGE);
  let memory: WasmMemory;
  try {
    memory = new WA.Memory({ initial: pages, maximum: pages, shared: true });
  } catch {
    return null;
  }
  new Float32Array(memory.buffer, sig, EXP_TABLE_SIZE + 1).set(sigmoidTable());
  return { kind: 'wasm-simd', memory, dim, stride, negatives, capacity, syn0, syn1, sig, scratch };
}

/** Views of the input and output vectors (rows of `stride` floats). */
export function wasmRows(v: WasmVectors): { syn0: Float32Array; syn1: Float32Array } {
  const n = (v.syn1 - v.syn0) / 4;
  return { syn0: new Float32Array(v.memory.buffer, v.syn0, n), syn1: new Float32Array(v.memory.buffer, v.syn1, n) };
}

type RawApply = (pairs: number, count: number, alpha: number, syn0: number, syn1: number, sig: number, neu1e: number, negatives: number) => void;

/** Thread `thread`'s kernel over these vectors. */
export function wasmPairKernel(v: WasmVectors, thread: number): PairKernel {
  const mod = item2vecModule(v.stride / 4);
  const scratch = v.scratch[thread];
  if (!WA || !mod || !scratch) throw new Error(`item2vec: no WebAssembly kernel for thread ${thread}`);
  const raw = new WA.Instance(mod, { env: { memory: v.memory } }).exports.apply as RawApply;
  const { syn0, syn1, sig, negatives, capacity } = v;
  const at = scratch.pairs;
  const neu1e = scratch.neu1e;
  const pairs = new Int32Array(v.memory.buffer, at, capacity * (negatives + 2));
  return { name: 'wasm-simd', pairs, capacity, apply: (count, alpha) => raw(at, count, alpha, syn0, syn1, sig, neu1e, negatives) };
}

/** The kernel a thread runs over `v`. */
export function openPairKernel(v: VectorsRef, thread: number): PairKernel {
  return v.kind === 'js' ? jsPairKernel(v) : wasmPairKernel(v, thread);
}
