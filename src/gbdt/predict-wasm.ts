/**
 * The forest walk of predict.ts as a WebAssembly kernel (same node words, same branch-free numeric
 * step, same float32 accumulation order), so it gives identical margins with fewer instructions per
 * step. `rows` walks four rows in lockstep per tree (batches); `trees` walks four trees in lockstep for
 * one row (serving). The forest lives in the predictor's own (unshared) memory, with scratch space for
 * one block of encoded rows and its accumulators.
 */
import { ADD, AND, BLOCK, br, brIf, call, ELSE, END, EQ, GE_U, get, i32, I32, IF_I32, load32, loadF32, LOOP, LT_U, moduleBytes, MUL, set, SHL, SHR_S, SHR_U, storeF32, SUB, F32_ADD } from './wasm-asm.js';
import { WA, WASM_PAGE, type WasmMemory, type WasmModule } from './wasm.js';

const GT_U = 0x4b;
const SELECT = 0x1b;
const CAT_MISSING = -2;

/** Locals that the step needs, by index. */
interface StepLocals { nodes: number; catWord: number; catCount: number; bits: number; k: number; x: number; fl: number }

/** n = next node of n for the row whose encoded values start at byte address `rowBase` (instructions). */
function step(n: number, rowBase: number[], l: StepLocals): number[] {
  return [
    ...get(n), ...i32(16), MUL, ...get(l.nodes), ADD, ...set(l.k),
    ...rowBase, ...get(l.k), ...load32(), ...i32(2), SHL, ADD, ...load32(), ...set(l.x),
    ...get(l.k), ...load32(12), ...set(l.fl),
    ...get(l.fl), ...i32(2), LT_U,
    ...IF_I32,
    ...get(l.k), ...load32(8), ...i32(1), ADD,
    ...get(l.x), ...get(l.k), ...load32(4), SUB, ...i32(31), SHR_S, ADD,
    ...get(l.x), ...i32(16), SHR_S, ...get(l.fl), AND, SUB,
    ELSE,
    ...get(l.k), ...get(l.x), ...get(l.fl), ...get(l.catWord), ...get(l.catCount), ...get(l.bits), ...call(0),
    END,
    ...set(n),
  ];
}

/** cat(k, x, flags, catWord, catCount, bits) -> child: in the node's category set goes right. */
function catBody(): number[] {
  const [k, x, fl, catWord, catCount, bits, L, s] = [0, 1, 2, 3, 4, 5, 6, 7];
  return [
    ...get(k), ...load32(8), ...set(L),
    ...get(x), ...i32(CAT_MISSING), EQ,
    ...IF_I32,
    ...get(L), ...i32(1), ADD, ...get(fl), ...i32(1), AND, SUB,
    ELSE,
    ...get(k), ...load32(4), ...set(s),
    ...get(x), ...get(catCount), ...get(s), ...i32(2), SHL, ADD, ...load32(), LT_U,
    ...IF_I32,
    ...get(L),
    ...get(bits), ...get(catWord), ...get(s), ...i32(2), SHL, ADD, ...load32(), ...get(x), ...i32(5), SHR_U, ADD, ...i32(2), SHL, ADD, ...load32(),
    ...get(x), ...i32(31), AND, SHR_U, ...i32(1), AND, ADD,
    ELSE,
    ...get(L),
    END,
    END,
  ];
}

/** acc[(row * K + g)] += leaf[n], in float32. */
function accumulate(addr: number[], n: number, leaf: number, tmp: number): number[] {
  return [...addr, ...set(tmp), ...get(tmp), ...get(tmp), ...loadF32(), ...get(leaf), ...get(n), ...i32(2), SHL, ADD, ...loadF32(), F32_ADD, ...storeF32()];
}

const loop = (cond: number[], body: number[]): number[] => [...BLOCK, ...LOOP, ...cond, ...brIf(1), ...body, ...br(0), END, END];
const inc = (v: number, by: number[]): number[] => [...get(v), ...by, ADD, ...set(v)];

/** rows(enc, m, S, t0, t1, acc, K, nodes, leaf, roots, depth, group, catWord, catCount, bits) */
function rowsBody(): number[] {
  const P = { enc: 0, m: 1, S: 2, t0: 3, t1: 4, acc: 5, K: 6, nodes: 7, leaf: 8, roots: 9, depth: 10, group: 11, catWord: 12, catCount: 13, bits: 14 };
  const V = { t: 15, root: 16, D: 17, g: 18, i: 19, lv: 20, a: 21, b: 22, c: 23, d: 24, k: 25, x: 26, fl: 27, rb: 28, S4: 29, tmp: 30 };
  const l: StepLocals = { nodes: P.nodes, catWord: P.catWord, catCount: P.catCount, bits: P.bits, k: V.k, x: V.x, fl: V.fl };
  const lanes = [V.a, V.b, V.c, V.d];
  const rowAddr = (r: number): number[] => [...get(P.acc), ...get(V.i), ...i32(r), ADD, ...get(P.K), MUL, ...get(V.g), ADD, ...i32(2), SHL, ADD];
  const at = (base: number, idx: number): number[] => [...get(base), ...get(idx), ...i32(2), SHL, ADD, ...load32()];
  return [
    ...get(P.S), ...i32(4), MUL, ...set(V.S4),
    ...get(P.t0), ...set(V.t),
    ...loop([...get(V.t), ...get(P.t1), GE_U], [
      ...at(P.roots, V.t), ...set(V.root), ...at(P.depth, V.t), ...set(V.D), ...at(P.group, V.t), ...set(V.g),
      ...i32(0), ...set(V.i),
      ...loop([...get(V.i), ...i32(4), ADD, ...get(P.m), GT_U], [
        ...lanes.flatMap((v) => [...get(V.root), ...set(v)]),
        ...i32(0), ...set(V.lv),
        ...loop([...get(V.lv), ...get(V.D), GE_U], [
          ...get(P.enc), ...get(V.i), ...get(V.S4), MUL, ADD, ...set(V.rb),
          ...lanes.flatMap((v, r) => [...(r > 0 ? inc(V.rb, get(V.S4)) : []), ...step(v, get(V.rb), l)]),
          ...inc(V.lv, i32(1)),
        ]),
        ...lanes.flatMap((v, r) => accumulate(rowAddr(r), v, P.leaf, V.tmp)),
        ...inc(V.i, i32(4)),
      ]),
      ...loop([...get(V.i), ...get(P.m), GE_U], [
        ...get(V.root), ...set(V.a),
        ...get(P.enc), ...get(V.i), ...get(V.S4), MUL, ADD, ...set(V.rb),
        ...i32(0), ...set(V.lv),
        ...loop([...get(V.lv), ...get(V.D), GE_U], [...step(V.a, get(V.rb), l), ...inc(V.lv, i32(1))]),
        ...accumulate(rowAddr(0), V.a, P.leaf, V.tmp),
        ...inc(V.i, i32(1)),
      ]),
      ...inc(V.t, i32(1)),
    ]),
  ];
}

/** trees(enc, t0, t1, acc, nodes, leaf, roots, depth, group, catWord, catCount, bits): one row, four trees at a time. */
function treesBody(): number[] {
  const P = { enc: 0, t0: 1, t1: 2, acc: 3, nodes: 4, leaf: 5, roots: 6, depth: 7, group: 8, catWord: 9, catCount: 10, bits: 11 };
  const V = { t: 12, a: 13, b: 14, c: 15, d: 16, D: 17, lv: 18, k: 19, x: 20, fl: 21, tmp: 22, e: 23 };
  const l: StepLocals = { nodes: P.nodes, catWord: P.catWord, catCount: P.catCount, bits: P.bits, k: V.k, x: V.x, fl: V.fl };
  const lanes = [V.a, V.b, V.c, V.d];
  const at = (base: number, plus: number): number[] => [...get(base), ...get(V.t), ...i32(plus), ADD, ...i32(2), SHL, ADD, ...load32()];
  const groupAddr = (plus: number): number[] => [...get(P.acc), ...at(P.group, plus), ...i32(2), SHL, ADD];
  return [
    ...get(P.t0), ...set(V.t),
    ...loop([...get(V.t), ...i32(4), ADD, ...get(P.t1), GT_U], [
      ...lanes.flatMap((v, r) => [...at(P.roots, r), ...set(v)]),
      ...at(P.depth, 0), ...set(V.D),
      ...[1, 2, 3].flatMap((r) => [...at(P.depth, r), ...set(V.e), ...get(V.e), ...get(V.D), ...get(V.e), ...get(V.D), GT_U, SELECT, ...set(V.D)]),
      ...i32(0), ...set(V.lv),
      ...loop([...get(V.lv), ...get(V.D), GE_U], [...lanes.flatMap((v) => step(v, get(P.enc), l)), ...inc(V.lv, i32(1))]),
      ...lanes.flatMap((v, r) => accumulate(groupAddr(r), v, P.leaf, V.tmp)),
      ...inc(V.t, i32(4)),
    ]),
    ...loop([...get(V.t), ...get(P.t1), GE_U], [
      ...at(P.roots, 0), ...set(V.a), ...at(P.depth, 0), ...set(V.D),
      ...i32(0), ...set(V.lv),
      ...loop([...get(V.lv), ...get(V.D), GE_U], [...step(V.a, get(P.enc), l), ...inc(V.lv, i32(1))]),
      ...accumulate(groupAddr(0), V.a, P.leaf, V.tmp),
      ...inc(V.t, i32(1)),
    ]),
  ];
}

let compiled: WasmModule | null | undefined;

function predictModule(): WasmModule | null {
  if (compiled === undefined) {
    try {
      const ints = (k: number): number[] => Array.from({ length: k }, () => I32);
      compiled = WA ? new WA.Module(moduleBytes(
        [{ params: ints(6), results: [I32] }, { params: ints(15), results: [] }, { params: ints(12), results: [] }],
        { shared: false, maxPages: 65536 },
        [{ type: 0, locals: [[2, I32]], body: catBody() }, { type: 1, locals: [[16, I32]], body: rowsBody() }, { type: 2, locals: [[12, I32]], body: treesBody() }],
        [['rows', 1], ['trees', 2]],
      )) : null;
    } catch {
      compiled = null;
    }
  }
  return compiled;
}

/** Typed arrays of a forest, as predict.ts lays them out. */
export interface ForestArrays {
  nodes: Int32Array;
  leaf: Float32Array;
  roots: Int32Array;
  depth: Int32Array;
  group: Int32Array;
  catWord: Int32Array;
  catBitCount: Int32Array;
  bits: Uint32Array;
}

type RowsFn = (enc: number, m: number, S: number, t0: number, t1: number, acc: number, K: number, nodes: number, leaf: number, roots: number, depth: number, group: number, catWord: number, catCount: number, bits: number) => void;
type TreesFn = (enc: number, t0: number, t1: number, acc: number, nodes: number, leaf: number, roots: number, depth: number, group: number, catWord: number, catCount: number, bits: number) => void;

/** A forest copied into WebAssembly memory, with block scratch: encode rows into `enc`, read `acc`. */
export class WasmForest {
  /** Encoded rows (blockRows x stride). */
  readonly enc: Int32Array;
  /** Float32 accumulators (blockRows x K). */
  readonly acc: Float32Array;
  private readonly ptr: { nodes: number; leaf: number; roots: number; depth: number; group: number; catWord: number; catCount: number; bits: number };
  private constructor(private readonly rowsFn: RowsFn, private readonly treesFn: TreesFn, memory: WasmMemory, f: ForestArrays, private readonly stride: number, private readonly K: number, blockRows: number) {
    let top = 0;
    const place = <T extends Int32Array | Float32Array | Uint32Array>(src: T): number => {
      const at = top;
      new Uint8Array(memory.buffer, at, src.byteLength).set(new Uint8Array(src.buffer, src.byteOffset, src.byteLength));
      top += (src.byteLength + 15) & ~15;
      return at;
    };
    this.ptr = { nodes: place(f.nodes), leaf: place(f.leaf), roots: place(f.roots), depth: place(f.depth), group: place(f.group), catWord: place(f.catWord), catCount: place(f.catBitCount), bits: place(f.bits) };
    this.enc = new Int32Array(memory.buffer, top, blockRows * stride);
    top += ((blockRows * stride * 4) + 15) & ~15;
    this.acc = new Float32Array(memory.buffer, top, blockRows * K);
  }

  static create(f: ForestArrays, stride: number, K: number, blockRows: number): WasmForest | null {
    const module = predictModule();
    if (!module || !WA) return null;
    const bytes = [f.nodes, f.leaf, f.roots, f.depth, f.group, f.catWord, f.catBitCount, f.bits].reduce((s, a) => s + a.byteLength + 16, 0) + blockRows * (stride + K) * 4 + 64;
    try {
      const memory = new WA.Memory({ initial: Math.ceil(bytes / WASM_PAGE), maximum: Math.ceil(bytes / WASM_PAGE) });
      const exp = new WA.Instance(module, { env: { memory } }).exports;
      return new WasmForest(exp.rows as RowsFn, exp.trees as TreesFn, memory, f, stride, K, blockRows);
    } catch {
      return null;
    }
  }

  /** acc[i * K + group(t)] += leaf of tree t, for rows 0..m of enc and trees t0..t1. */
  rows(m: number, t0: number, t1: number): void {
    const p = this.ptr;
    this.rowsFn(this.enc.byteOffset, m, this.stride, t0, t1, this.acc.byteOffset, this.K, p.nodes, p.leaf, p.roots, p.depth, p.group, p.catWord, p.catCount, p.bits);
  }

  /** acc[group(t)] += leaf of tree t, for the row in enc[0..stride) and trees t0..t1. */
  trees(t0: number, t1: number): void {
    const p = this.ptr;
    this.treesFn(this.enc.byteOffset, t0, t1, this.acc.byteOffset, p.nodes, p.leaf, p.roots, p.depth, p.group, p.catWord, p.catCount, p.bits);
  }
}
