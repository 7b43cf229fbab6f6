/**
 * The elementwise kernels of elementwise-js.ts as WebAssembly SIMD function bodies, exported from the
 * GEMM's module (gemm-wasm-code.ts). Each walks its rows four floats at a time (v128 loads and stores,
 * any alignment), then the last cols mod 4 one by one. addRow and sumRows add in the same order as the
 * JS reference (float32 sums of two values), so they give the same bytes; axpy rounds the product
 * before the sum, where JS rounds once, so it agrees to float32 rounding.
 *
 *   axpy(n, alpha: f32, x, y)           y[i] += alpha * x[i]
 *   addRow(rows, cols, b, y, ldy)       y[r, j] += b[j]
 *   sumRows(rows, cols, x, ldx, out)    out[j] += sum_r x[r, j]
 */
import { ADD, AND, F32, F32_ADD, I32, i32, LT_S, MUL, SHL, f32x4Add, f32x4Mul, f32x4Splat, loadF32, storeF32, v128Load, v128Store } from '../../core/wasm-asm.js';
import { Fn, whileLoop } from './wasm-fn.js';
import type { Body } from './gemm-wasm-pack.js';

const F32_MUL = 0x94;

export const ELEMENTWISE_TYPES = {
  axpy: [I32, F32, I32, I32],
  addRow: [I32, I32, I32, I32, I32],
  sumRows: [I32, I32, I32, I32, I32],
};

/**
 * One row: for j < cols, dst[j] = op(dst[j], src[j]) with `vec` and `one` building the new value from
 * the stack [dst value, src value] (v128 or f32). Locals j, c4 (cols rounded down to 4, in bytes), cb.
 */
function rowLoop(f: Fn, dst: string, src: string, vec: number[], one: number[]): number[] {
  const g = f.g.bind(f);
  return [
    ...i32(0), ...f.s('j'),
    ...whileLoop([...g('j'), ...g('c4'), LT_S], [
      ...g(dst), ...g('j'), ADD, ...g(dst), ...g('j'), ADD, ...v128Load(), ...g(src), ...g('j'), ADD, ...v128Load(), ...vec, ...v128Store(),
      ...g('j'), ...i32(16), ADD, ...f.s('j'),
    ]),
    ...whileLoop([...g('j'), ...g('cb'), LT_S], [
      ...g(dst), ...g('j'), ADD, ...g(dst), ...g('j'), ADD, ...loadF32(), ...g(src), ...g('j'), ADD, ...loadF32(), ...one, ...storeF32(),
      ...g('j'), ...i32(4), ADD, ...f.s('j'),
    ]),
  ];
}

const bounds = (f: Fn, cols: string): number[] => [
  ...f.g(cols), ...i32(2), SHL, ...f.s('cb'), ...f.g('cb'), ...i32(-16), AND, ...f.s('c4'),
];

export function axpyBody(): Body {
  const f = new Fn(['n', 'alpha', 'x', 'y']).i32('j', 'c4', 'cb').v128('va');
  const g = f.g.bind(f);
  return f.done([
    ...g('alpha'), ...f32x4Splat(), ...f.s('va'),
    ...bounds(f, 'n'),
    ...rowLoop(f, 'y', 'x', [...g('va'), ...f32x4Mul(), ...f32x4Add()], [...g('alpha'), F32_MUL, F32_ADD]),
  ]);
}

/** addRow (sum = false: each row of y += b) or sumRows (sum = true: out += each row of x). */
function rowsBody(sum: boolean): Body {
  const f = new Fn(sum ? ['rows', 'cols', 'x', 'ld', 'out'] : ['rows', 'cols', 'b', 'y', 'ld']).i32('r', 'p', 'j', 'c4', 'cb');
  const g = f.g.bind(f);
  const [dst, src] = sum ? ['out', 'p'] : ['p', 'b'];
  return f.done([
    ...bounds(f, 'cols'),
    ...i32(0), ...f.s('r'),
    ...whileLoop([...g('r'), ...g('rows'), LT_S], [
      ...g(sum ? 'x' : 'y'), ...g('r'), ...g('ld'), MUL, ...i32(2), SHL, ADD, ...f.s('p'),
      ...rowLoop(f, dst, src, f32x4Add(), [F32_ADD]),
      ...g('r'), ...i32(1), ADD, ...f.s('r'),
    ]),
  ]);
}

export const addRowBody = (): Body => rowsBody(false);
export const sumRowsBody = (): Body => rowsBody(true);
