/**
 * The WebAssembly SIMD matrix product, assembled here at load time (no toolchain, no committed binary).
 * Same contract as gemmJs: C[m x n] = beta * C + op(A) op(B), row-major, leading dimensions, beta 0|1.
 *
 * The classic blocked scheme (Goto / BLIS), sized for V8's 16 xmm registers:
 *   for each block of NC columns of C, for each block of KC steps of the sum:
 *     pack op(B)[KC x NC] into column panels of 8: panel[jb][p][0..7] (contiguous, zero rows to a
 *       multiple of the unroll, transposing on the way when transB);
 *     for each MR rows of C: pack op(A)[MR x KC] as [p][0..MR-1], then the micro-kernel runs across all
 *       column panels: MR x 8 of C in MR*2 f32x4 accumulators; each step p loads two vectors of B,
 *       splats MR values of A (v128.load32_splat with immediate offsets) and multiplies-adds.
 *   C is read (beta 1, or any KC block after the first) and written once per block. The last, partial
 *   column panel goes through a small tile and a scalar merge, so no store ever passes column n; rows
 *   short of MR use a micro-kernel specialised to that row count. Loads of C and of A/B in the packers
 *   have no alignment requirement (WebAssembly allows any address; only 4-byte-aligned views reach here).
 *
 * The products are f32x4.mul then f32x4.add (plain SIMD), or f32x4.relaxed_madd when `fma` is asked for
 * (relaxed SIMD: a V8 flag on Node 20). Sums run in a different order from gemmJs (by KC blocks, and
 * in the zero-padded unroll), so results agree to float32 rounding, not bit for bit.
 *
 * Scratch (passed by the caller, in the same memory, 16-byte aligned): packed B (KC*NC floats), then
 * packed A (KC*MR floats), then the edge tile (MR*8 floats).
 */
import {
  ADD, AND, call, ELSE, END, EQ, F32_ADD, I32, i32, IF, LT_S, moduleBytes, NE, OR, SELECT, SHL, SHR_U, SUB,
  f32x4Add, f32x4Mul, f32x4RelaxedMadd, loadF32, MUL, store32, storeF32, v128Load, v128Load32Splat, v128Store, v128Zero,
} from '../../core/wasm-asm.js';
import { doWhile, Fn, whileLoop } from './wasm-fn.js';

export interface GemmShape {
  /** Rows of the micro-kernel (accumulators: 2 * mr f32x4). */
  readonly mr: number;
  /** Steps of the sum per packed block. A multiple of `unroll`. */
  readonly kc: number;
  /** Columns per packed block. A multiple of 8. */
  readonly nc: number;
  /** Steps of the micro-kernel's loop per iteration. */
  readonly unroll: number;
  /** f32x4.relaxed_madd instead of mul + add. */
  readonly fma: boolean;
}

export const DEFAULT_SHAPE: GemmShape = { mr: 4, kc: 256, nc: 256, unroll: 4, fma: false };

/** Floats of scratch the module needs for this shape. */
export const scratchFloats = (s: GemmShape): number => s.kc * s.nc + s.kc * s.mr + s.mr * 8;

const NR = 8;
const min = (x: number[], y: number[]): number[] => [...x, ...y, ...x, ...y, LT_S, SELECT];
const inc = (f: Fn, v: string, by: number[]): number[] => [...f.g(v), ...by, ADD, ...f.s(v)];

const GEMM_PARAMS = ['ta', 'tb', 'm', 'n', 'k', 'a', 'lda', 'b', 'ldb', 'beta', 'c', 'ldc', 'scratch'];
const PACK_PARAMS = ['t', 'src', 'ld4', 'rows', 'kc', 'kcp', 'dst'];
const PANEL_PARAMS = ['pa', 'pb', 'kcp', 'nfull', 'nrem', 'c', 'ldc4', 'be', 'tile'];

/** The driver: the NC / KC / MR loops, packing and dispatch to the micro-kernel for the rows left. */
function gemmBody(s: GemmShape): ReturnType<Fn['done']> {
  const f = new Fn(GEMM_PARAMS).i32('lda4', 'ldb4', 'ldc4', 'jc', 'nc', 'pc', 'kc', 'kcp', 'be', 'ic', 'mr', 'pb', 'pa', 'tile', 'cp', 'asrc');
  const g = f.g.bind(f);
  const panelCall = (r: number): number[] => [
    ...g('pa'), ...g('pb'), ...g('kcp'), ...g('nc'), ...i32(3), SHR_U, ...g('nc'), ...i32(7), AND,
    ...g('cp'), ...g('ldc4'), ...g('be'), ...g('tile'), ...call(2 + r),
  ];
  let dispatch = panelCall(1);
  for (let r = 2; r <= s.mr; r++) dispatch = [...g('mr'), ...i32(r), EQ, ...IF, ...panelCall(r), ELSE, ...dispatch, END];
  const icLoop = whileLoop([...g('ic'), ...g('m'), LT_S], [
    ...min(i32(s.mr), [...g('m'), ...g('ic'), SUB]), ...f.s('mr'),
    // A row origin: asrc + ic * (transA ? 4 : lda4)
    ...g('ta'), ...g('asrc'), ...g('ic'), ...i32(4), ...g('lda4'), ...g('ta'), SELECT, MUL, ADD,
    ...g('lda4'), ...g('mr'), ...g('kc'), ...g('kcp'), ...g('pa'), ...call(1),
    ...g('c'), ...g('ic'), ...g('ldc4'), MUL, ADD, ...g('jc'), ...i32(2), SHL, ADD, ...f.s('cp'),
    ...dispatch,
    ...inc(f, 'ic', i32(s.mr)),
  ]);
  const pcLoop = whileLoop([...g('pc'), ...g('k'), LT_S], [
    ...min(i32(s.kc), [...g('k'), ...g('pc'), SUB]), ...f.t('kc'), ...i32(s.unroll - 1), ADD, ...i32(-s.unroll), AND, ...f.s('kcp'),
    ...g('beta'), ...g('pc'), ...i32(0), NE, OR, ...f.s('be'),
    // B block origin: transB ? b + jc*ldb4 + pc*4 : b + pc*ldb4 + jc*4
    ...g('tb'), ...g('b'),
    ...g('jc'), ...g('ldb4'), MUL, ...g('pc'), ...i32(2), SHL, ADD,
    ...g('pc'), ...g('ldb4'), MUL, ...g('jc'), ...i32(2), SHL, ADD,
    ...g('tb'), SELECT, ADD,
    ...g('ldb4'), ...g('nc'), ...g('kc'), ...g('kcp'), ...g('pb'), ...call(2),
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
 * pack(t, src, ld4, rows, kc, kcp, dst) for A: op(A)[rows x kc] (rows <= MR) into dst[p][0..MR-1]; rows
 * kc..kcp-1 zero. t = transA: A(r, p) is at src + r*ld4 + p*4, or src + p*ld4 + r*4 when transposed.
 */
function packABody(s: GemmShape): ReturnType<Fn['done']> {
  const f = new Fn(PACK_PARAMS).i32('r', 'p', 'sp', 'd', 'rstep', 'pstep');
  const g = f.g.bind(f);
  const step = s.mr * 4;
  const vecs = Math.floor(s.mr / 4);
  const copyRow: number[] = [];
  for (let v = 0; v < vecs; v++) copyRow.push(...g('d'), ...g('sp'), ...v128Load(v * 16), ...v128Store(v * 16));
  for (let r = vecs * 4; r < s.mr; r++) copyRow.push(...g('d'), ...g('sp'), ...loadF32(r * 4), ...storeF32(r * 4));
  const zeroRow: number[] = [];
  for (let r = 0; r < s.mr; r++) zeroRow.push(...g('d'), ...i32(0), ...store32(r * 4));
  return f.done([
    ...g('t'), ...g('rows'), ...i32(s.mr), EQ, AND, ...IF,
    // transposed and full: each step p is MR contiguous floats
    ...g('src'), ...f.s('sp'), ...g('dst'), ...f.s('d'), ...g('kc'), ...f.s('p'),
    ...doWhile([...copyRow, ...inc(f, 'sp', g('ld4')), ...inc(f, 'd', i32(step)), ...inc(f, 'p', i32(-1))], [...g('p')]),
    ELSE,
    ...i32(4), ...g('ld4'), ...g('t'), SELECT, ...f.s('rstep'),
    ...g('ld4'), ...i32(4), ...g('t'), SELECT, ...f.s('pstep'),
    ...i32(0), ...f.s('r'),
    ...whileLoop([...g('r'), ...g('rows'), LT_S], [
      ...g('src'), ...g('r'), ...g('rstep'), MUL, ADD, ...f.s('sp'),
      ...g('dst'), ...g('r'), ...i32(2), SHL, ADD, ...f.s('d'),
      ...g('kc'), ...f.s('p'),
      ...doWhile([
        ...g('d'), ...g('sp'), ...loadF32(), ...storeF32(),
        ...inc(f, 'sp', g('pstep')), ...inc(f, 'd', i32(step)), ...inc(f, 'p', i32(-1)),
      ], [...g('p')]),
      ...inc(f, 'r', i32(1)),
    ]),
    END,
    ...g('dst'), ...g('kc'), ...i32(step), MUL, ADD, ...f.s('d'),
    ...g('kc'), ...f.s('p'),
    ...whileLoop([...g('p'), ...g('kcp'), LT_S], [...zeroRow, ...inc(f, 'd', i32(step)), ...inc(f, 'p', i32(1))]),
  ]);
}

/**
 * pack(t, src, ld4, cols, kc, kcp, dst) for B: op(B)[kc x cols] into panels of 8 columns,
 * dst + jb*kcp*32 + p*32 + jj*4; rows kc..kcp-1 zero. t = transB: B(p, j) is at src + p*ld4 + j*4, or
 * src + j*ld4 + p*4 when transposed. Lanes of the last panel past `cols` are left as they are: every
 * lane is its own column, so they never reach a stored result.
 */
function packBBody(): ReturnType<Fn['done']> {
  const f = new Fn(PACK_PARAMS).i32('j', 'jb', 'p', 'sp', 'd', 'stride', 'nfull', 'jstep', 'pstep', 'nb');
  const g = f.g.bind(f);
  return f.done([
    ...g('kcp'), ...i32(5), SHL, ...f.s('stride'),
    ...g('rows'), ...i32(3), SHR_U, ...f.s('nfull'),
    ...i32(0), ...f.s('j'),
    ...g('t'), ...i32(0), EQ, ...IF,
    // not transposed: full panels are two vectors per row p
    ...i32(0), ...f.s('p'),
    ...whileLoop([...g('p'), ...g('kc'), LT_S], [
      ...g('src'), ...g('p'), ...g('ld4'), MUL, ADD, ...f.s('sp'),
      ...g('dst'), ...g('p'), ...i32(5), SHL, ADD, ...f.s('d'),
      ...g('nfull'), ...f.s('jb'),
      ...whileLoop([...g('jb')], [
        ...g('d'), ...g('sp'), ...v128Load(0), ...v128Store(0),
        ...g('d'), ...g('sp'), ...v128Load(16), ...v128Store(16),
        ...inc(f, 'sp', i32(32)), ...inc(f, 'd', g('stride')), ...inc(f, 'jb', i32(-1)),
      ]),
      ...inc(f, 'p', i32(1)),
    ]),
    ...g('nfull'), ...i32(3), SHL, ...f.s('j'),
    END,
    // the rest column by column (all of them when transposed)
    ...g('ld4'), ...i32(4), ...g('t'), SELECT, ...f.s('jstep'),
    ...i32(4), ...g('ld4'), ...g('t'), SELECT, ...f.s('pstep'),
    ...whileLoop([...g('j'), ...g('rows'), LT_S], [
      ...g('src'), ...g('j'), ...g('jstep'), MUL, ADD, ...f.s('sp'),
      ...g('dst'), ...g('j'), ...i32(3), SHR_U, ...g('stride'), MUL, ADD, ...g('j'), ...i32(7), AND, ...i32(2), SHL, ADD, ...f.s('d'),
      ...g('kc'), ...f.s('p'),
      ...doWhile([
        ...g('d'), ...g('sp'), ...loadF32(), ...storeF32(),
        ...inc(f, 'sp', g('pstep')), ...inc(f, 'd', i32(32)), ...inc(f, 'p', i32(-1)),
      ], [...g('p')]),
      ...inc(f, 'j', i32(1)),
    ]),
    // zero the padding rows of every panel
    ...g('rows'), ...i32(7), ADD, ...i32(3), SHR_U, ...f.s('nb'),
    ...g('kc'), ...f.s('p'),
    ...whileLoop([...g('p'), ...g('kcp'), LT_S], [
      ...g('dst'), ...g('p'), ...i32(5), SHL, ADD, ...f.s('d'),
      ...g('nb'), ...f.s('jb'),
      ...whileLoop([...g('jb')], [
        ...g('d'), ...v128Zero(), ...v128Store(0), ...g('d'), ...v128Zero(), ...v128Store(16),
        ...inc(f, 'd', g('stride')), ...inc(f, 'jb', i32(-1)),
      ]),
      ...inc(f, 'p', i32(1)),
    ]),
  ]);
}

/**
 * panel_R(pa, pb, kcp, nfull, nrem, c, ldc4, be, tile): R rows of C (R <= MR) against every packed column
 * panel: nfull full panels straight into C, then, when nrem > 0, the last panel into the tile and its
 * first nrem columns merged into C. be = 1 adds to C, 0 overwrites it.
 */
function panelBody(s: GemmShape, rows: number): ReturnType<Fn['done']> {
  const acc = (r: number, h: number): string => `acc${r}_${h}`;
  const accs: string[] = [];
  for (let r = 0; r < rows; r++) accs.push(acc(r, 0), acc(r, 1));
  const f = new Fn(PANEL_PARAMS).i32('jb', 'ap', 'bp', 'p', 'cp', 'crow', 'r', 'j', 'tp').v128(...accs, 'b0', 'b1', 'av');
  const g = f.g.bind(f);
  const step: number[] = [];
  for (let u = 0; u < s.unroll; u++) {
    step.push(...g('bp'), ...v128Load(u * 32), ...f.s('b0'), ...g('bp'), ...v128Load(u * 32 + 16), ...f.s('b1'));
    for (let r = 0; r < rows; r++) {
      step.push(...g('ap'), ...v128Load32Splat((u * s.mr + r) * 4), ...f.s('av'));
      for (let h = 0; h < 2; h++) {
        step.push(...(s.fma
          ? [...g('av'), ...g(h ? 'b1' : 'b0'), ...g(acc(r, h)), ...f32x4RelaxedMadd()]
          : [...g(acc(r, h)), ...g('av'), ...g(h ? 'b1' : 'b0'), ...f32x4Mul(), ...f32x4Add()]), ...f.s(acc(r, h)));
      }
    }
  }
  const micro = [
    ...g('pa'), ...f.s('ap'), ...g('kcp'), ...f.s('p'),
    ...accs.flatMap((a) => [...v128Zero(), ...f.s(a)]),
    ...doWhile([
      ...step,
      ...inc(f, 'ap', i32(s.unroll * s.mr * 4)), ...inc(f, 'bp', i32(s.unroll * 32)), ...inc(f, 'p', i32(-s.unroll)),
    ], [...g('p')]),
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
    ...g('pb'), ...f.s('bp'), ...g('c'), ...f.s('cp'), ...g('nfull'), ...f.s('jb'),
    ...whileLoop([...g('jb')], [
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

/** The module: imports env.memory (shared, up to maxPages), exports gemm(ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc, scratch), byte addresses. */
export function gemmModuleBytes(s: GemmShape, maxPages: number): Uint8Array {
  if (s.kc % s.unroll !== 0 || s.nc % NR !== 0 || s.mr < 1) throw new Error('gemm shape: kc must be a multiple of unroll, nc of 8');
  const ints = (n: number): number[] => new Array<number>(n).fill(I32);
  const panels = Array.from({ length: s.mr }, (_, r) => ({ type: 2, ...panelBody(s, r + 1) }));
  return moduleBytes(
    [{ params: ints(GEMM_PARAMS.length), results: [] }, { params: ints(PACK_PARAMS.length), results: [] }, { params: ints(PANEL_PARAMS.length), results: [] }],
    { shared: true, maxPages },
    [{ type: 0, ...gemmBody(s) }, { type: 1, ...packABody(s) }, { type: 1, ...packBBody() }, ...panels],
    [['gemm', 0]],
  );
}
