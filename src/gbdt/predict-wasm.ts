/**
 * The forest walk of predict.ts as a WebAssembly kernel: same routing, same float32 accumulation order,
 * identical margins, and no per-value encoding step. WebAssembly compares float32 values and picks
 * children without branches, child = left + 1 - select(defaultLeft, x < t, x is NaN), so it reads the
 * raw values (float32, feature-major in a block buffer) directly. `rows` walks four rows in lockstep per
 * tree (batches); `trees` walks four trees in lockstep for one row (serving). Leaves point to
 * themselves through a constant zero column with threshold -Infinity. The forest lives in the
 * predictor's own (unshared) memory.
 */
import { ADD, AND, BLOCK, br, brIf, call, ELSE, END, GE_U, get, i32, I32, IF_I32, load32, loadF32, LOOP, LT_U, moduleBytes, MUL, set, SHL, SHR_U, storeF32, SUB, F32_ADD } from '../core/wasm-asm.js';
import { WA, WASM_PAGE, type WasmMemory, type WasmModule } from './wasm.js';

const F32 = 0x7d;
const GT_U = 0x4b;
const SELECT = 0x1b;
const F32_NE = 0x5c;
const F32_LT = 0x5d;
const I32_TRUNC_SAT_F32_S = [0xfc, 0x00];
const FLAG_CATEGORICAL = 2;

/** Locals that the step needs, by index. */
interface StepLocals { nodes: number; catWord: number; catCount: number; bits: number; k: number; x: number; fl: number }

/**
 * n = next node of n for the row whose values start at byte address `rowBase` (node word 0 holds the
 * feature's byte offset in the block buffer).
 */
function step(n: number, rowBase: number[], l: StepLocals): number[] {
  return [
    ...get(n), ...i32(16), MUL, ...get(l.nodes), ADD, ...set(l.k),
    ...rowBase, ...get(l.k), ...load32(), ADD, ...loadF32(), ...set(l.x),
    ...get(l.k), ...load32(12), ...set(l.fl),
    ...get(l.fl), ...i32(FLAG_CATEGORICAL), LT_U,
    ...IF_I32,
    ...get(l.k), ...load32(8), ...i32(1), ADD,
    ...get(l.fl), ...i32(1), AND,
    ...get(l.x), ...get(l.k), ...loadF32(4), F32_LT,
    ...get(l.x), ...get(l.x), F32_NE,
    SELECT, SUB,
    ELSE,
    ...get(l.k), ...get(l.x), ...get(l.fl), ...get(l.catWord), ...get(l.catCount), ...get(l.bits), ...call(0),
    END,
    ...set(n),
  ];
}

/** cat(k, x, flags, catWord, catCount, bits) -> child: trunc(x) in the node's category set goes right. */
function catBody(): number[] {
  const [k, x, fl, catWord, catCount, bits, L, s, c] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  return [
    ...get(k), ...load32(8), ...set(L),
    ...get(x), ...get(x), F32_NE,
    ...IF_I32,
    ...get(L), ...i32(1), ADD, ...get(fl), ...i32(1), AND, SUB,
    ELSE,
    ...get(x), ...I32_TRUNC_SAT_F32_S, ...set(c),
    ...get(k), ...load32(4), ...set(s),
    ...get(c), ...get(catCount), ...get(s), ...i32(2), SHL, ADD, ...load32(), LT_U,
    ...IF_I32,
    ...get(L),
    ...get(bits), ...get(catWord), ...get(s), ...i32(2), SHL, ADD, ...load32(), ...get(c), ...i32(5), SHR_U, ADD, ...i32(2), SHL, ADD, ...load32(),
    ...get(c), ...i32(31), AND, SHR_U, ...i32(1), AND, ADD,
    ELSE,
    ...get(L),
    END,
    END,
  ];
}

/** acc[addr] += leaf[n], in float32. */
function accumulate(addr: number[], n: number, leaf: number, tmp: number): number[] {
  return [...addr, ...set(tmp), ...get(tmp), ...get(tmp), ...loadF32(), ...get(leaf), ...get(n), ...i32(2), SHL, ADD, ...loadF32(), F32_ADD, ...storeF32()];
}

const loop = (cond: number[], body: number[]): number[] => [...BLOCK, ...LOOP, ...cond, ...brIf(1), ...body, ...br(0), END, END];
const inc = (v: number, by: number[]): number[] => [...get(v), ...by, ADD, ...set(v)];

/** rows(vals, m, t0, t1, acc, K, nodes, leaf, roots, depth, group, catWord, catCount, bits): row i's feature j is at vals + (j * block + i) * 4. */
function rowsBody(): number[] {
  const P = { vals: 0, m: 1, t0: 2, t1: 3, acc: 4, K: 5, nodes: 6, leaf: 7, roots: 8, depth: 9, group: 10, catWord: 11, catCount: 12, bits: 13 };
  const V = { t: 14, root: 15, D: 16, g: 17, i: 18, lv: 19, a: 20, b: 21, c: 22, d: 23, k: 24, fl: 25, rb: 26, tmp: 27, x: 28 };
  const l: StepLocals = { nodes: P.nodes, catWord: P.catWord, catCount: P.catCount, bits: P.bits, k: V.k, x: V.x, fl: V.fl };
  const lanes = [V.a, V.b, V.c, V.d];
  const rowAddr = (r: number): number[] => [...get(P.acc), ...get(V.i), ...i32(r), ADD, ...get(P.K), MUL, ...get(V.g), ADD, ...i32(2), SHL, ADD];
  const at = (base: number, idx: number): number[] => [...get(base), ...get(idx), ...i32(2), SHL, ADD, ...load32()];
  return [
    ...get(P.t0), ...set(V.t),
    ...loop([...get(V.t), ...get(P.t1), GE_U], [
      ...at(P.roots, V.t), ...set(V.root), ...at(P.depth, V.t), ...set(V.D), ...at(P.group, V.t), ...set(V.g),
      ...i32(0), ...set(V.i),
      ...loop([...get(V.i), ...i32(4), ADD, ...get(P.m), GT_U], [
        ...lanes.flatMap((v) => [...get(V.root), ...set(v)]),
        ...get(P.vals), ...get(V.i), ...i32(2), SHL, ADD, ...set(V.rb),
        ...i32(0), ...set(V.lv),
        ...loop([...get(V.lv), ...get(V.D), GE_U], [
          ...lanes.flatMap((v, r) => step(v, [...get(V.rb), ...(r > 0 ? [...i32(4 * r), ADD] : [])], l)),
          ...inc(V.lv, i32(1)),
        ]),
        ...lanes.flatMap((v, r) => accumulate(rowAddr(r), v, P.leaf, V.tmp)),
        ...inc(V.i, i32(4)),
      ]),
      ...loop([...get(V.i), ...get(P.m), GE_U], [
        ...get(V.root), ...set(V.a),
        ...get(P.vals), ...get(V.i), ...i32(2), SHL, ADD, ...set(V.rb),
        ...i32(0), ...set(V.lv),
        ...loop([...get(V.lv), ...get(V.D), GE_U], [...step(V.a, get(V.rb), l), ...inc(V.lv, i32(1))]),
        ...accumulate(rowAddr(0), V.a, P.leaf, V.tmp),
        ...inc(V.i, i32(1)),
      ]),
      ...inc(V.t, i32(1)),
    ]),
  ];
}

/** trees(vals, t0, t1, acc, nodes, leaf, roots, depth, group, catWord, catCount, bits): the block's row 0, four trees at a time. */
function treesBody(): number[] {
  const P = { vals: 0, t0: 1, t1: 2, acc: 3, nodes: 4, leaf: 5, roots: 6, depth: 7, group: 8, catWord: 9, catCount: 10, bits: 11 };
  const V = { t: 12, a: 13, b: 14, c: 15, d: 16, D: 17, lv: 18, k: 19, fl: 20, tmp: 21, e: 22, x: 23 };
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
      ...loop([...get(V.lv), ...get(V.D), GE_U], [...lanes.flatMap((v) => step(v, get(P.vals), l)), ...inc(V.lv, i32(1))]),
      ...lanes.flatMap((v, r) => accumulate(groupAddr(r), v, P.leaf, V.tmp)),
      ...inc(V.t, i32(4)),
    ]),
    ...loop([...get(V.t), ...get(P.t1), GE_U], [
      ...at(P.roots, 0), ...set(V.a), ...at(P.depth, 0), ...set(V.D),
      ...i32(0), ...set(V.lv),
      ...loop([...get(V.lv), ...get(V.D), GE_U], [...step(V.a, get(P.vals), l), ...inc(V.lv, i32(1))]),
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
        [{ params: [I32, F32, I32, I32, I32, I32], results: [I32] }, { params: ints(14), results: [] }, { params: ints(12), results: [] }],
        { shared: false, maxPages: 65536 },
        [{ type: 0, locals: [[3, I32]], body: catBody() }, { type: 1, locals: [[14, I32], [1, F32]], body: rowsBody() }, { type: 2, locals: [[11, I32], [1, F32]], body: treesBody() }],
        [['rows', 1], ['trees', 2]],
      )) : null;
    } catch {
      compiled = null;
    }
  }
  return compiled;
}

/** A forest as predict.ts lays it out: node words [feature, threshold rank or category slot, left, flags]. */
export interface ForestArrays {
  nFeatures: number;
  nodes: Int32Array;
  leaf: Float32Array;
  /** Sorted distinct thresholds per feature (a node's rank r stands for thresholds[f][r - 1]). */
  thresholds: Float32Array[];
  roots: Int32Array;
  depth: Int32Array;
  group: Int32Array;
  catWord: Int32Array;
  catBitCount: Int32Array;
  bits: Uint32Array;
}

type RowsFn = (vals: number, m: number, t0: number, t1: number, acc: number, K: number, nodes: number, leaf: number, roots: number, depth: number, group: number, catWord: number, catCount: number, bits: number) => void;
type TreesFn = (vals: number, t0: number, t1: number, acc: number, nodes: number, leaf: number, roots: number, depth: number, group: number, catWord: number, catCount: number, bits: number) => void;

/** Node words for the WebAssembly walk: [byte offset of the feature's column in the block, threshold (float32 bits) or category slot, left, flags]. */
function wasmNodes(f: ForestArrays, blockRows: number): Int32Array {
  const out = new Int32Array(f.nodes.length);
  const bits = new Float32Array(1);
  const asInt = new Int32Array(bits.buffer);
  for (let k = 0; k < f.nodes.length; k += 4) {
    const feature = f.nodes[k]!;
    const flags = f.nodes[k + 3]!;
    out[k] = feature * blockRows * 4;
    if (feature === f.nFeatures) bits[0] = -Infinity; // leaf: x (0) < -Infinity is false, so it stays
    else if (flags < FLAG_CATEGORICAL) bits[0] = f.thresholds[feature]![f.nodes[k + 1]! - 1]!;
    out[k + 1] = flags < FLAG_CATEGORICAL || feature === f.nFeatures ? asInt[0]! : f.nodes[k + 1]!;
    out[k + 2] = f.nodes[k + 2]!;
    out[k + 3] = flags;
  }
  return out;
}

/** A forest copied into WebAssembly memory, with a block buffer: write values into `vals`, read `acc`. */
export class WasmForest {
  /** Float32 values of one block, feature-major: feature j of row i at j * blockRows + i (column nFeatures stays 0). */
  readonly vals: Float32Array;
  /** Float32 accumulators (blockRows x K). */
  readonly acc: Float32Array;
  private readonly ptr: { nodes: number; leaf: number; roots: number; depth: number; group: number; catWord: number; catCount: number; bits: number };
  private constructor(private readonly rowsFn: RowsFn, private readonly treesFn: TreesFn, memory: WasmMemory, f: ForestArrays, private readonly K: number, blockRows: number) {
    let top = 0;
    const place = (src: Int32Array | Float32Array | Uint32Array): number => {
      const at = top;
      new Uint8Array(memory.buffer, at, src.byteLength).set(new Uint8Array(src.buffer, src.byteOffset, src.byteLength));
      top += (src.byteLength + 15) & ~15;
      return at;
    };
    this.ptr = { nodes: place(wasmNodes(f, blockRows)), leaf: place(f.leaf), roots: place(f.roots), depth: place(f.depth), group: place(f.group), catWord: place(f.catWord), catCount: place(f.catBitCount), bits: place(f.bits) };
    this.vals = new Float32Array(memory.buffer, top, blockRows * (f.nFeatures + 1));
    top += ((blockRows * (f.nFeatures + 1) * 4) + 15) & ~15;
    this.acc = new Float32Array(memory.buffer, top, blockRows * K);
  }

  static create(f: ForestArrays, K: number, blockRows: number): WasmForest | null {
    const module = predictModule();
    if (!module || !WA) return null;
    const bytes = [f.nodes, f.leaf, f.roots, f.depth, f.group, f.catWord, f.catBitCount, f.bits].reduce((s, a) => s + a.byteLength + 16, 0) + blockRows * (f.nFeatures + 1 + K) * 4 + 64;
    try {
      const memory = new WA.Memory({ initial: Math.ceil(bytes / WASM_PAGE), maximum: Math.ceil(bytes / WASM_PAGE) });
      const exp = new WA.Instance(module, { env: { memory } }).exports;
      return new WasmForest(exp.rows as RowsFn, exp.trees as TreesFn, memory, f, K, blockRows);
    } catch {
      return null;
    }
  }

  /** acc[i * K + group(t)] += leaf of tree t, for rows 0..m of the block and trees t0..t1. */
  rows(m: number, t0: number, t1: number): void {
    const p = this.ptr;
    this.rowsFn(this.vals.byteOffset, m, t0, t1, this.acc.byteOffset, this.K, p.nodes, p.leaf, p.roots, p.depth, p.group, p.catWord, p.catCount, p.bits);
  }

  /** acc[group(t)] += leaf of tree t, for the block's row 0 and trees t0..t1. */
  trees(t0: number, t1: number): void {
    const p = this.ptr;
    this.treesFn(this.vals.byteOffset, t0, t1, this.acc.byteOffset, p.nodes, p.leaf, p.roots, p.depth, p.group, p.catWord, p.catCount, p.bits);
  }
}
