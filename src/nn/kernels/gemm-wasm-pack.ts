/**
 * The packing routines of the WebAssembly GEMM (gemm-wasm-code.ts), as function bodies:
 *
 * packA(src, ld4, rows, kc, dst): a transposed A block, A(r, p) at src + p*ld4 + r*4 (r < rows <= MR,
 *   p < kc), into dst[p][0..MR-1], so the micro-kernel reads MR values at immediate offsets. (A not
 *   transposed is read in place: each of its rows is already contiguous in p.)
 * packB(t, src, ld4, cols, kc, dst): op(B)[kc x cols] into panels of 8 columns, dst + jb*kc*32 + p*32
 *   + jj*4. Not transposed (B(p, j) at src + p*ld4 + j*4), a full panel's row is two vector copies.
 *   Transposed (B(p, j) at src + j*ld4 + p*4), a full panel takes 4 steps of p at a time from its 8
 *   rows of B and transposes them as two 4x4 blocks with shuffles. What is left (the last, partial
 *   panel; kc mod 4 steps) goes value by value. Lanes of the last panel past `cols` keep whatever was
 *   there: each lane is its own column of C, so they never reach a stored result.
 */
import { ADD, AND, EQ, ELSE, END, i32, IF, LT_S, MUL, SELECT, SHL, SHR_U, SUB, loadF32, shuffle32, storeF32, v128Load, v128Store } from '../../core/wasm-asm.js';
import { doWhile, Fn, whileLoop } from './wasm-fn.js';

export type Body = ReturnType<Fn['done']>;
export const PACK_A_PARAMS = ['src', 'ld4', 'rows', 'kc', 'dst'];
export const PACK_B_PARAMS = ['t', 'src', 'ld4', 'cols', 'kc', 'dst'];

const inc = (f: Fn, v: string, by: number[]): number[] => [...f.g(v), ...by, ADD, ...f.s(v)];

export function packABody(mr: number): Body {
  const f = new Fn(PACK_A_PARAMS).i32('r', 'p', 'sp', 'd');
  const g = f.g.bind(f);
  const step = mr * 4;
  const vecs = Math.floor(mr / 4);
  const copyRow: number[] = [];
  for (let v = 0; v < vecs; v++) copyRow.push(...g('d'), ...g('sp'), ...v128Load(v * 16), ...v128Store(v * 16));
  for (let r = vecs * 4; r < mr; r++) copyRow.push(...g('d'), ...g('sp'), ...loadF32(r * 4), ...storeF32(r * 4));
  return f.done([
    ...g('src'), ...f.s('sp'), ...g('dst'), ...f.s('d'), ...g('kc'), ...f.s('p'),
    ...g('rows'), ...i32(mr), EQ, ...IF,
    ...doWhile([...copyRow, ...inc(f, 'sp', g('ld4')), ...inc(f, 'd', i32(step)), ...inc(f, 'p', i32(-1))], g('p')),
    ELSE,
    ...doWhile([
      ...i32(0), ...f.s('r'),
      ...whileLoop([...g('r'), ...g('rows'), LT_S], [
        ...g('d'), ...g('r'), ...i32(2), SHL, ADD, ...g('sp'), ...g('r'), ...i32(2), SHL, ADD, ...loadF32(), ...storeF32(),
        ...inc(f, 'r', i32(1)),
      ]),
      ...inc(f, 'sp', g('ld4')), ...inc(f, 'd', i32(step)), ...inc(f, 'p', i32(-1)),
    ], g('p')),
    END,
  ]);
}

/** Two 4x4 transposes: rows x0..x3 and x4..x7 (4 steps of p each) into packed rows p..p+3 of a panel at d. */
function transposePanel(f: Fn): number[] {
  const g = f.g.bind(f);
  const out: number[] = [];
  for (let half = 0; half < 2; half++) {
    const x = (i: number): number[] => g(`x${half * 4 + i}`);
    out.push(
      ...x(0), ...x(1), ...shuffle32([0, 4, 1, 5]), ...f.s('t0'), ...x(0), ...x(1), ...shuffle32([2, 6, 3, 7]), ...f.s('t1'),
      ...x(2), ...x(3), ...shuffle32([0, 4, 1, 5]), ...f.s('t2'), ...x(2), ...x(3), ...shuffle32([2, 6, 3, 7]), ...f.s('t3'),
    );
    const lanes = [[0, 1, 4, 5], [2, 3, 6, 7]];
    for (let q = 0; q < 4; q++) {
      const [lo, hi] = q < 2 ? ['t0', 't2'] : ['t1', 't3'];
      out.push(...g('d'), ...g(lo), ...g(hi), ...shuffle32(lanes[q % 2]!), ...v128Store(q * 32 + half * 16));
    }
  }
  return out;
}

export function packBBody(): Body {
  const xs = Array.from({ length: 8 }, (_, i) => `x${i}`);
  const f = new Fn(PACK_B_PARAMS).i32('j', 'jb', 'p', 'sp', 'd', 'stride', 'nfull', 'jstep', 'pstep', 'k4', 'o1', 'o2', 'o3', 'o4', 'o5', 'o6', 'o7')
    .v128(...xs, 't0', 't1', 't2', 't3');
  const g = f.g.bind(f);
  const load8: number[] = [...g('sp'), ...v128Load(), ...f.s('x0')];
  for (let i = 1; i < 8; i++) load8.push(...g('sp'), ...g(`o${i}`), ADD, ...v128Load(), ...f.s(`x${i}`));
  return f.done([
    ...g('kc'), ...i32(5), SHL, ...f.s('stride'),
    ...g('cols'), ...i32(3), SHR_U, ...f.s('nfull'),
    ...i32(0), ...f.s('j'),
    ...g('t'), ...i32(0), EQ, ...IF,
    // not transposed: a full panel's row p is two vectors of B's row p
    ...i32(0), ...f.s('p'),
    ...whileLoop([...g('p'), ...g('kc'), LT_S], [
      ...g('src'), ...g('p'), ...g('ld4'), MUL, ADD, ...f.s('sp'),
      ...g('dst'), ...g('p'), ...i32(5), SHL, ADD, ...f.s('d'),
      ...g('nfull'), ...f.s('jb'),
      ...whileLoop(g('jb'), [
        ...g('d'), ...g('sp'), ...v128Load(0), ...v128Store(0),
        ...g('d'), ...g('sp'), ...v128Load(16), ...v128Store(16),
        ...inc(f, 'sp', i32(32)), ...inc(f, 'd', g('stride')), ...inc(f, 'jb', i32(-1)),
      ]),
      ...inc(f, 'p', i32(1)),
    ]),
    ...g('nfull'), ...i32(3), SHL, ...f.s('j'),
    ELSE,
    // transposed: full panels 4 steps at a time, 8 rows of B transposed into 4 packed rows
    ...g('kc'), ...i32(-4), AND, ...f.s('k4'),
    ...[1, 2, 3, 4, 5, 6, 7].flatMap((i) => [...g('ld4'), ...i32(i), MUL, ...f.s(`o${i}`)]),
    ...i32(0), ...f.s('jb'),
    ...whileLoop([...g('jb'), ...g('nfull'), LT_S], [
      ...g('src'), ...g('jb'), ...i32(3), SHL, ...g('ld4'), MUL, ADD, ...f.s('sp'),
      ...g('dst'), ...g('jb'), ...g('stride'), MUL, ADD, ...f.s('d'),
      ...i32(0), ...f.s('p'),
      ...whileLoop([...g('p'), ...g('k4'), LT_S], [
        ...load8, ...transposePanel(f),
        ...inc(f, 'sp', i32(16)), ...inc(f, 'd', i32(128)), ...inc(f, 'p', i32(4)),
      ]),
      ...inc(f, 'jb', i32(1)),
    ]),
    // the steps past k4 of the full panels, value by value
    ...i32(0), ...f.s('j'),
    ...whileLoop([...g('k4'), ...g('kc'), LT_S, ...g('j'), ...g('nfull'), ...i32(3), SHL, LT_S, AND], [
      ...g('src'), ...g('j'), ...g('ld4'), MUL, ADD, ...g('k4'), ...i32(2), SHL, ADD, ...f.s('sp'),
      ...g('dst'), ...g('j'), ...i32(3), SHR_U, ...g('stride'), MUL, ADD, ...g('j'), ...i32(7), AND, ...i32(2), SHL, ADD,
      ...g('k4'), ...i32(5), SHL, ADD, ...f.s('d'),
      ...g('kc'), ...g('k4'), SUB, ...f.s('p'),
      ...doWhile([
        ...g('d'), ...g('sp'), ...loadF32(), ...storeF32(),
        ...inc(f, 'sp', i32(4)), ...inc(f, 'd', i32(32)), ...inc(f, 'p', i32(-1)),
      ], g('p')),
      ...inc(f, 'j', i32(1)),
    ]),
    ...g('nfull'), ...i32(3), SHL, ...f.s('j'),
    END,
    // the last, partial panel value by value
    ...g('ld4'), ...i32(4), ...g('t'), SELECT, ...f.s('jstep'),
    ...i32(4), ...g('ld4'), ...g('t'), SELECT, ...f.s('pstep'),
    ...whileLoop([...g('j'), ...g('cols'), LT_S], [
      ...g('src'), ...g('j'), ...g('jstep'), MUL, ADD, ...f.s('sp'),
      ...g('dst'), ...g('j'), ...i32(3), SHR_U, ...g('stride'), MUL, ADD, ...g('j'), ...i32(7), AND, ...i32(2), SHL, ADD, ...f.s('d'),
      ...g('kc'), ...f.s('p'),
      ...doWhile([
        ...g('d'), ...g('sp'), ...loadF32(), ...storeF32(),
        ...inc(f, 'sp', g('pstep')), ...inc(f, 'd', i32(32)), ...inc(f, 'p', i32(-1)),
      ], g('p')),
      ...inc(f, 'j', i32(1)),
    ]),
  ]);
}
