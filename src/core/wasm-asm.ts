/**
 * A minimal WebAssembly binary encoder: just the sections and instructions kiln's kernels use (GBDT histograms, the neural engine's SIMD GEMM), so
 * the kernels ship as a few hundred bytes built at load time, with no toolchain.
 */

export const uleb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
};
export const sleb = (n: number): number[] => {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) { out.push(b); return out; }
    out.push(b | 0x80);
  }
};
export const name = (s: string): number[] => [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];
export const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
export const section = (id: number, bytes: number[]): number[] => [id, ...uleb(bytes.length), ...bytes];

export const I32 = 0x7f;
export const F64 = 0x7c;
export const F32 = 0x7d;
export const get = (i: number): number[] => [0x20, ...uleb(i)];
export const set = (i: number): number[] => [0x21, ...uleb(i)];
export const tee = (i: number): number[] => [0x22, ...uleb(i)];
export const i32 = (v: number): number[] => [0x41, ...sleb(v)];
export const ADD = 0x6a, SUB = 0x6b, MUL = 0x6c, AND = 0x71, SHL = 0x74, SHR_S = 0x75, SHR_U = 0x76, EQ = 0x46, LT_U = 0x49, GE_U = 0x4f, GE_S = 0x4e, F32_ADD = 0x92, F64_ADD = 0xa0, PROMOTE = 0xbb;
export const load32 = (off = 0): number[] => [0x28, 2, ...uleb(off)];
export const loadF32 = (off = 0): number[] => [0x2a, 2, ...uleb(off)];
export const loadF64 = (off = 0): number[] => [0x2b, 3, ...uleb(off)];
export const storeF64 = (off = 0): number[] => [0x39, 3, ...uleb(off)];
export const BLOCK = [0x02, 0x40], LOOP = [0x03, 0x40], END = 0x0b, ELSE = 0x05, RETURN = 0x0f;
export const IF_I32 = [0x04, 0x7f];
export const call = (f: number): number[] => [0x10, ...uleb(f)];
export const storeF32 = (off = 0): number[] => [0x38, 2, ...uleb(off)];
export const brIf = (depth: number): number[] => [0x0d, ...uleb(depth)];
export const br = (depth: number): number[] => [0x0c, ...uleb(depth)];
export const IF = [0x04, 0x40];
export const EQZ = 0x45, NE = 0x47, LT_S = 0x48, GT_S = 0x4a, LE_S = 0x4c, OR = 0x72, SELECT = 0x1b, DROP = 0x1a;
export const store32 = (off = 0): number[] => [0x36, 2, ...uleb(off)];
export const loadI64 = (off = 0): number[] => [0x29, 3, ...uleb(off)];
export const storeI64 = (off = 0): number[] => [0x37, 3, ...uleb(off)];
export const callIndirect = (type: number): number[] => [0x11, ...uleb(type), 0x00];

/**
 * 128-bit SIMD (the 0xfd prefix, then the opcode as an unsigned LEB). Memory immediates carry an
 * alignment hint only: unaligned addresses are legal, so the hints below are the natural 4 bytes.
 */
export const V128 = 0x7b;
/** A SIMD instruction: the 0xfd prefix, the opcode as an unsigned LEB, then its immediates. */
export const simd = (op: number, ...imm: number[]): number[] => [0xfd, ...uleb(op), ...imm];
export const v128Load = (off = 0): number[] => simd(0x00, 2, ...uleb(off));
export const v128Load32Splat = (off = 0): number[] => simd(0x09, 2, ...uleb(off));
export const v128Store = (off = 0): number[] => simd(0x0b, 2, ...uleb(off));
export const v128Zero = (): number[] => simd(0x0c, ...new Array<number>(16).fill(0));
/** i8x16.shuffle by 32-bit lanes: lanes 0-3 pick from the first operand, 4-7 from the second. */
export const shuffle32 = (lanes: readonly number[]): number[] => simd(0x0d, ...lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]));
export const f32x4Splat = (): number[] => simd(0x13);
export const f32x4ExtractLane = (lane: number): number[] => simd(0x1f, lane);
export const f32x4Add = (): number[] => simd(0xe4);
export const f32x4Sub = (): number[] => simd(0xe5);
export const f32x4Mul = (): number[] => simd(0xe6);
export const f32x4Min = (): number[] => simd(0xe8);
export const f32x4Max = (): number[] => simd(0xe9);
/** Relaxed SIMD's fused a * b + c (a flag on Node 20's V8: `--experimental-wasm-relaxed-simd`). */
export const f32x4RelaxedMadd = (): number[] => simd(0x105);


/** A module: function types, an imported memory, functions, exports. */
export function moduleBytes(types: { params: number[]; results: number[] }[], memory: { shared: boolean; maxPages: number }, funcs: { type: number; locals: [number, number][]; body: number[] }[], exports: [string, number][]): Uint8Array {
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(types.map((t) => [0x60, ...vec(t.params.map((p) => [p])), ...vec(t.results.map((r) => [r]))]))),
    ...section(2, vec([[...name('env'), ...name('memory'), 0x02, memory.shared ? 0x03 : 0x01, ...uleb(1), ...uleb(memory.maxPages)]])),
    ...section(3, vec(funcs.map((f) => uleb(f.type)))),
    ...section(7, vec(exports.map(([nm, f]) => [...name(nm), 0x00, ...uleb(f)]))),
    ...section(10, vec(funcs.map((f) => {
      const code = [...vec(f.locals.map(([count, type]) => [...uleb(count), type])), ...f.body, END];
      return [...uleb(code.length), ...code];
    }))),
  ]);
}

/** The slice of the WebAssembly API used here (the project's TypeScript lib has no WebAssembly types). */
export interface WasmMemory {
  readonly buffer: ArrayBufferLike;
  grow(pages: number): number;
}
export type WasmModule = object & { readonly __wasmModule?: never };
interface WasmApi {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => { exports: Record<string, unknown> };
  Memory: new (d: { initial: number; maximum: number; shared?: boolean }) => WasmMemory;
  validate(bytes: Uint8Array): boolean;
}
export const WA = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;
