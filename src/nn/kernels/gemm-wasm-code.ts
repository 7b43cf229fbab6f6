/**
 * The WebAssembly SIMD matrix product, assembled here at load time (no toolchain, no committed binary).
 * Same contract as gemmJs: C[m x n] = beta * C + op(A) op(B), row-major, leading dimensions, beta 0|1.
 *
 * The blocked scheme of Goto / BLIS, sized for V8's 16 xmm registers:
 *   for each block of NC columns of C, for each block of KC steps of the sum:
 *     pack op(B)[KC x NC] into contiguous column panels of 8 (gemm-wasm-pack.ts);
 *     for each MR rows of C: the micro-kernel runs across all column panels, keeping MR x 8 of C in
 *       MR*2 f32x4 accumulators; each step p loads two vectors of B, splats MR values of A
 *       (v128.load32_splat) and multiplies-adds. A not transposed is read in place (row r at a fixed
 *       offset r*lda from the first); a transposed A block is packed first into [p][0..MR-1] (read in
 *       place, its stride of lda floats per step would thrash the L1's sets).
 *   C is read (beta 1, or any KC block after the first) and written once per block. The last, partial
 *   column panel goes through a small tile and a scalar merge, so no store ever passes column n; rows
 *   short of MR use a micro-kernel specialised to that row count. No address needs any alignment
 *   (WebAssembly allows any; 4-byte-aligned views are all that reach here).
 *
 * The products are f32x4.mul then f32x4.add (plain SIMD), or f32x4.relaxed_madd when `fma` is asked for
 * (relaxed SIMD: a V8 flag on Node 20). Sums run by KC blocks, so results agree with gemmJs to float32
 * rounding, not bit for bit; the same call gives the same bytes every time.
 *
 * Scratch (passed by the caller, in the same memory, 16-byte aligned): packed B (KC*NC floats), then
 * packed A (KC*MR floats), then the edge tile (MR*8 floats).
 */
import {
  ADD, AND, call, ELSE, END, EQ, F32_ADD, I32, i32, IF, LT_S, moduleBytes, MUL, NE, OR, SELECT, SHL, SHR_U, SUB,
  f32x4Add, f32x4Mul, f32x4RelaxedMadd, loadF32, storeF32, v128Load, v128Load32Splat, v128Store, v128Zero,
} from '../../core/wasm-asm.js';
import { addRowBody, axpyBody, ELEMENTWISE_TYPES, sumRowsBody } from './elementwise-wasm-code.js';
import { GRU_TYPES, gruBackwardBody, gruForwardBody } from './gru-wasm-code.js';
import { LAYER_TYPES, layerNormBackwardBody, layerNormBody, reluBackwardBody, reluBody, softmaxBody, expBody, mulBody, softmaxBackwardBody, fillRowsBody } from './layer-wasm-code.js';
import { packABody, packBBody, PACK_A_PARAMS, PACK_B_PARAMS, type Body } from './gemm-wasm-pack.js';
import { doWhile, Fn, whileLoop } from './wasm-fn.js';

export interface GemmShape {
  /** Rows of the micro-kernel (accumulators: 2 * mr f32x4). */
  readonly mr: number;
  /** Steps of the sum per packed block. */
  readonly kc: number;
  /** Columns per packed block. A multiple of 8. */
  readonly nc: number;
  /** f32x4.relaxed_madd instead of mul + add. */
  readonly fma: boolean;
}

/**
 * Measured on AMD EPYC (Zen 4) under Node 20 (bench/nn-gemm.ts): 4 x 8 beats 2, 3, 5 and 6 rows (6
 * spills); KC and NC from 128 to 512 barely matter; unrolling the step loop 2-8x ran 1.4-2.2x slower.
 */
export const DEFAULT_SHAPE: GemmShape = { mr: 4, kc: 256, nc: 256, fma: false };

/** Floats of scratch the module needs for this shape. */
export const scratchFloats = (s: GemmShape): number => s.kc * s.nc + s.kc * s.mr + s.mr * 8;

const min = (x: number[], y: number[]): number[] => [...x, ...y, ...x, ...y, LT_S, SELECT];
const inc = (f: Fn, v: string, by: number[]): number[] => [...f.g(v), ...by, ADD, ...f.s(v)];

const GEMM_PARAMS = ['ta', 'tb', 'm', 'n', 'k', 'a', 'lda', 'b', 'ldb', 'beta', 'c', 'ldc', 'scratch'];
const PANEL_PARAMS = ['a', 'pb', 'kc', 'nfull', 'nrem', 'c', 'ldc4', 'be', 'tile', 'lda4'];
/** Function indices: the driver, the packers, then the micro-kernels for 1..MR rows (packed A, then A in place). */
const F_PACK_A = 1, F_PACK_B = 2;
const fPanel = (s: GemmShape, rows: number, packed: boolean): number => 2 + rows + (packed ? 0 : s.mr);

/** The driver: the NC / KC / MR loops, packing, and dispatch to the micro-kernel for the rows left. */
function gemmBody(s: GemmShape): Body {
  const f = new Fn(GEMM_PARAMS).i32('lda4', 'ldb4', 'ldc4', 'jc', 'nc', 'pc', 'kc', 'be', 'ic', 'mr', 'pb', 'pa', 'tile', 'cp', 'asrc');
  const g = f.g.bind(f);
  const panelCall = (rows: number, packed: boolean): number[] => [
    ...(packed ? g('pa') : [...g('asrc'), ...g('ic'), ...g('lda4'), MUL, ADD]),
    ...g('pb'), ...g('kc'), ...g('nc'), ...i32(3), SHR_U, ...g('nc'), ...i32(7), AND,
    ...g('cp'), ...g('ldc4'), ...g('be'), ...g('tile'), ...g('lda4'), ...call(fPanel(s, rows, packed)),
  ];
  const dispatch = (packed: boolean): number[] => {
    let out = panelCall(1, packed);
    for (let r = 2; r <= s.mr; r++) out = [...g('mr'), ...i32(r), EQ, ...IF, ...panelCall(r, packed), ELSE, ...out, END];
    return out;
  };
  const icLoop = whileLoop([...g('ic'), ...g('m'), LT_S], [
    ...min(i32(s.mr), [...g('m'), ...g('ic'), SUB]), ...f.s('mr'),
    ...g('c'), ...g('ic'), ...g('ldc4'), MUL, ADD, ...g('jc'), ...i32(2), SHL, ADD, ...f.s('cp'),
    ...g('ta'), ...IF,
    ...g('asrc'), ...g('ic'), ...i32(2), SHL, ADD, ...g('lda4'), ...g('mr'), ...g('kc'), ...g('pa'), ...call(F_PACK_A),
    ...dispatch(true),
    ELSE,
    ...dispatch(false),
    END,
    ...inc(f, 'ic', i32(s.mr)),
  ]);
  const pcLoop = whileLoop([...g('pc'), ...g('k'), LT_S], [
    ...min(i32(s.kc), [...g('k'), ...g('pc'), SUB]), ...f.s('kc'),
    ...g('beta'), ...g('pc'), ...i32(0), NE, OR, ...f.s('be'),
    // B block origin: transB ? b + jc*ldb4 + pc*4 : b + pc*ldb4 + jc*4
    ...g('tb'), ...g('b'),
    ...g('jc'), ...g('ldb4'), MUL, ...g('pc'), ...i32(2), SHL, ADD,
    ...g('pc'), ...g('ldb4'), MUL, ...g('jc'), ...i32(2), SHL, ADD,
    ...g('tb'), SELECT, ADD,
    ...g('ldb4'), ...g('nc'), ...g('kc'), ...g('pb'), ...call(F_PACK_B),
    // A column origin: transA ? a + pc*lda4 : a + pc*4
    ...g('a'), ...g('pc'), ...g('lda4'), MUL, ...g('pc'), ...i32(2), SHL, ...g('ta'), SELECT, ADD, ...f.s('asrc'),
    ...i32(0), ...f.s('ic'),
    ...icLoop,
    ...inc(f, 'pc', i32(s.kc)),
  ]);
  return f.done([
    ...g('lda'), ...i32(2), SHL, ...f.s('lda4'),
    ...g('ldb'), ...i32(2), SHL, ...f.s('ldb4'),
    ...g('ldc'), ...i32(2), SHL, ...f.s('ldc4'),
    ...g('scratch'), ...f.t('pb'), ...i32(s.kc * s.nc * 4), ADD, ...f.t('pa'), ...i32(s.kc * s.mr * 4), ADD, ...f.s('tile'),
    ...i32(0), ...f.s('jc'),
    ...whileLoop([...g('jc'), ...g('n'), LT_S], [
      ...min(i32(s.nc), [...g('n'), ...g('jc'), SUB]), ...f.s('nc'),
      ...i32(0), ...f.s('pc'),
      ...pcLoop,
      ...inc(f, 'jc', i32(s.nc)),
    ]),
  ]);
}

/**
 * panel(a, pb, kc, nfull, nrem, c, ldc4, be, tile, lda4): `rows` rows of C (<= MR) against every packed
 * column panel: nfull full panels straight into C, then, when nrem > 0, the last panel into the tile
 * and its first nrem columns merged into C. be = 1 adds to C, 0 overwrites it. A(r, p) is at
 * a + p*MR*4 + r*4 when packed, else at a + r*lda4 + p*4.
 */
function panelBody(s: GemmShape, rows: number, packed: boolean): Body {
  const acc = (r: number, h: number): string => `acc${r}_${h}`;
  const accs: string[] = [];
  for (let r = 0; r < rows; r++) accs.push(acc(r, 0), acc(r, 1));
  const offs = Array.from({ length: rows - 1 }, (_, r) => `o${r + 1}`);
  const f = new Fn(PANEL_PARAMS).i32('jb', 'ap', 'bp', 'p', 'cp', 'crow', 'r', 'j', 'tp', ...offs).v128(...accs, 'b0', 'b1', 'av');
  const g = f.g.bind(f);
  const step: number[] = [...g('bp'), ...v128Load(0), ...f.s('b0'), ...g('bp'), ...v128Load(16), ...f.s('b1')];
  for (let r = 0; r < rows; r++) {
    step.push(...(packed || r === 0 ? [...g('ap'), ...v128Load32Splat(packed ? r * 4 : 0)] : [...g('ap'), ...g(`o${r}`), ADD, ...v128Load32Splat(0)]), ...f.s('av'));
    for (let h = 0; h < 2; h++) {
      const b = g(h ? 'b1' : 'b0');
      step.push(...(s.fma ? [...g('av'), ...b, ...g(acc(r, h)), ...f32x4RelaxedMadd()] : [...g(acc(r, h)), ...g('av'), ...b, ...f32x4Mul(), ...f32x4Add()]), ...f.s(acc(r, h)));
    }
  }
  const micro = [
    ...g('a'), ...f.s('ap'), ...g('kc'), ...f.s('p'),
    ...accs.flatMap((a) => [...v128Zero(), ...f.s(a)]),
    ...doWhile([...step, ...inc(f, 'ap', packed ? i32(s.mr * 4) : i32(4)), ...inc(f, 'bp', i32(32)), ...inc(f, 'p', i32(-1))], g('p')),
  ];
  const storeC = (add: boolean): number[] => {
    const out: number[] = [...g('cp'), ...f.s('crow')];
    for (let r = 0; r < rows; r++) {
      if (r > 0) out.push(...inc(f, 'crow', g('ldc4')));
      for (let h = 0; h < 2; h++) {
        out.push(...g('crow'), ...g(acc(r, h)));
        if (add) out.push(...g('crow'), ...v128Load(h * 16), ...f32x4Add());
        out.push(...v128Store(h * 16));
      }
    }
    return out;
  };
  const storeTile: number[] = [];
  for (let r = 0; r < rows; r++) for (let h = 0; h < 2; h++) storeTile.push(...g('tile'), ...g(acc(r, h)), ...v128Store(r * 32 + h * 16));
  return f.done([
    ...offs.flatMap((o, r) => [...g('lda4'), ...i32(r + 1), MUL, ...f.s(o)]),
    ...g('pb'), ...f.s('bp'), ...g('c'), ...f.s('cp'), ...g('nfull'), ...f.s('jb'),
    ...whileLoop(g('jb'), [
      ...micro,
      ...g('be'), ...IF, ...storeC(true), ELSE, ...storeC(false), END,
      ...inc(f, 'cp', i32(32)), ...inc(f, 'jb', i32(-1)),
    ]),
    ...g('nrem'), ...IF,
    ...micro, ...storeTile,
    ...i32(0), ...f.s('r'),
    ...whileLoop([...g('r'), ...i32(rows), LT_S], [
      ...g('cp'), ...g('r'), ...g('ldc4'), MUL, ADD, ...f.s('crow'),
      ...g('tile'), ...g('r'), ...i32(5), SHL, ADD, ...f.s('tp'),
      ...i32(0), ...f.s('j'),
      ...whileLoop([...g('j'), ...g('nrem'), LT_S], [
        // C = tile + (be ? C : 0): select, so garbage in C (beta 0) never reaches the sum
        ...g('crow'), ...g('tp'), ...loadF32(),
        ...g('crow'), ...loadF32(), 0x43, 0, 0, 0, 0, ...g('be'), SELECT, F32_ADD,
        ...storeF32(),
        ...inc(f, 'crow', i32(4)), ...inc(f, 'tp', i32(4)), ...inc(f, 'j', i32(1)),
      ]),
      ...inc(f, 'r', i32(1)),
    ]),
    END,
  ]);
}

/**
 * The module: imports env.memory (shared, up to maxPages); exports gemm(ta, tb, m, n, k, a, lda, b, ldb,
 * beta, c, ldc, scratch), the elementwise kernels (elementwise-wasm-code.ts) and the layers' kernels
 * (layer-wasm-code.ts, gru-wasm-code.ts). Addresses are bytes.
 */
export function gemmModuleBytes(s: GemmShape, maxPages: number): Uint8Array {
  if (s.nc % 8 !== 0 || s.nc < 8 || s.kc < 1 || s.mr < 1) throw new Error('gemm shape: nc a positive multiple of 8, kc and mr positive');
  const ints = (n: number): number[] => new Array<number>(n).fill(I32);
  const panels = [true, false].flatMap((packed) => Array.from({ length: s.mr }, (_, r) => ({ type: 3, ...panelBody(s, r + 1, packed) })));
  const first = 3 + panels.length;
  const extra: [string, number[], Body][] = [
    ['softmax', LAYER_TYPES.softmax, softmaxBody()],
    ['layerNorm', LAYER_TYPES.layerNorm, layerNormBody()],
    ['layerNormBackward', LAYER_TYPES.layerNormBackward, layerNormBackwardBody()],
    ['relu', LAYER_TYPES.relu, reluBody()],
    ['reluBackward', LAYER_TYPES.reluBackward, reluBackwardBody()],
    ['exp', LAYER_TYPES.exp, expBody()],
    ['mul', LAYER_TYPES.mul, mulBody()],
    ['fillRows', LAYER_TYPES.fillRows, fillRowsBody()],
    ['softmaxBackward', LAYER_TYPES.softmaxBackward, softmaxBackwardBody()],
    ['gruForward', GRU_TYPES.gruForward, gruForwardBody()],
    ['gruBackward', GRU_TYPES.gruBackward, gruBackwardBody()],
  ];
  return moduleBytes(
    [
      ...[GEMM_PARAMS, PACK_A_PARAMS, PACK_B_PARAMS, PANEL_PARAMS].map((p) => ({ params: ints(p.length), results: [] })),
      { params: ELEMENTWISE_TYPES.axpy, results: [] }, { params: ELEMENTWISE_TYPES.addRow, results: [] },
      ...extra.map(([, params]) => ({ params, results: [] })),
    ],
    { shared: true, maxPages },
    [
      { type: 0, ...gemmBody(s) }, { type: 1, ...packABody(s.mr) }, { type: 2, ...packBBody() }, ...panels,
      { type: 4, ...axpyBody() }, { type: 5, ...addRowBody() }, { type: 5, ...sumRowsBody() },
      ...extra.map(([, , body], i) => ({ type: 6 + i, ...body })),
    ],
    [['gemm', 0], ['axpy', first], ['addRow', first + 1], ['sumRows', first + 2], ...extra.map(([name], i): [string, number] => [name, first + 3 + i])],
  );
}
