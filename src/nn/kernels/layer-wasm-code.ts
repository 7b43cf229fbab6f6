/**
 * The layers' elementwise kernels (elementwise-js.ts has the reference of each) as WebAssembly SIMD
 * function bodies, exported from the GEMM's module (gemm-wasm-code.ts). Addresses are bytes, strides
 * floats. Each runs over rows with simd.ts's vmap (four floats at a time, then the tail one by one).
 *
 *   softmax(s, rows, cols, ld, scale: f32)   row-wise, in place: s = softmax(scale * s) over cols
 *   layerNorm(rows, dim, x, w, b, eps: f32, y, xhat, rstd)
 *   layerNormBackward(rows, dim, dy, xhat, rstd, w, gw, gb, dx)
 *   relu(n, z, y), reluBackward(n, z, dy, dz)
 *   exp(n, x, y)                             y = e^x (simd.ts's exp: relative error about 1e-7)
 *   mul(n, a, b, y)                          y = a * b (dropout masks)
 *   fillRows(rows, cols, b, y, ld)           y[r, j] = b[j] (a bias into every row, before a gemm adds to it)
 *   softmaxBackward(rows, cols, ld, p, pd, ds, scale: f32)
 *                                            per row, in place: ds = (pd * ds - p * sum(pd * ds)) * scale
 *
 * Sums (the softmax's denominator, LayerNorm's statistics) run in float32 over four lanes and then
 * across them, where the references sum in float64 in index order: results agree to float32 rounding
 * (the exp to its ~1e-7 relative error), not bit for bit. relu and its backward give the same bytes.
 */
import { ADD, F32, I32, i32, LT_S, MUL, SHL, f32x4ExtractLane, f32x4Splat, loadF32, shuffle32, storeF32 } from '../../core/wasm-asm.js';
import type { Body } from './gemm-wasm-pack.js';
import { ADD4, c4, exp, expInit, expLocals, f32Const, F32_DIV, F32_SQRT, f32x4Gt, hsum, MAX4, MUL4, SUB4, v128And, vmap, vmapLocals, type Io } from './simd.js';
import { Fn, whileLoop } from './wasm-fn.js';

const F32_ADD = 0x92, F32_FROM_I32 = 0xb2;

export const LAYER_TYPES = {
  softmax: [I32, I32, I32, I32, F32],
  layerNorm: [I32, I32, I32, I32, I32, F32, I32, I32, I32],
  layerNormBackward: [I32, I32, I32, I32, I32, I32, I32, I32, I32],
  relu: [I32, I32, I32],
  exp: [I32, I32, I32],
  mul: [I32, I32, I32, I32],
  fillRows: [I32, I32, I32, I32, I32],
  softmaxBackward: [I32, I32, I32, I32, I32, I32, F32],
  reluBackward: [I32, I32, I32, I32],
};

const inc = (f: Fn, v: string, by: number[]): number[] => [...f.g(v), ...by, ADD, ...f.s(v)];
const rowsLoop = (f: Fn, body: number[]): number[] => [
  ...i32(0), ...f.s('r'),
  ...whileLoop([...f.g('r'), ...f.g('rows'), LT_S], [...body, ...inc(f, 'r', i32(1))]),
];
/** vsum += value (vector mode) or tsum += its lane 0 (tail mode). */
const accumulate = (f: Fn, io: Io, value: number[], vsum: string, tsum: string): number[] => (io.tail
  ? [...f.g(tsum), ...value, ...f32x4ExtractLane(0), F32_ADD, ...f.s(tsum)]
  : [...f.g(vsum), ...value, ...ADD4, ...f.s(vsum)]);
const zero = (f: Fn, ...names: string[]): number[] => names.flatMap((n) => (n.startsWith('t') ? [...f32Const(0), ...f.s(n)] : [...c4(0), ...f.s(n)]));
/** (hsum(vsum) + tsum) / n, an f32 on the stack. */
const mean = (f: Fn, vsum: string, tsum: string, n: string): number[] => [...hsum(f, vsum), ...f.g(tsum), F32_ADD, ...f.g(n), F32_FROM_I32, F32_DIV];

export function softmaxBody(): Body {
  const f = vmapLocals(expLocals(new Fn(['s', 'rows', 'cols', 'ld', 'scale']).i32('r', 'p').v128('vs', 'vm', 'vsum', 'x', 'e', 'vi').f32('tsum')));
  const g = f.g.bind(f);
  const max = (lanes: number[]): number[] => [...g('vm'), ...g('vm'), ...g('vm'), ...shuffle32(lanes), ...MAX4, ...f.s('vm')];
  return f.done([
    ...expInit(f),
    ...g('scale'), ...f32x4Splat(), ...f.s('vs'),
    ...g('s'), ...f.s('p'),
    ...rowsLoop(f, [
      ...c4(-Infinity), ...f.s('vm'),
      ...vmap(f, g('cols'), (io) => [...g('vm'), ...io.load('p'), ...g('vs'), ...MUL4, ...MAX4, ...f.s('vm')]),
      ...max([2, 3, 0, 1]), ...max([1, 0, 3, 2]),
      ...zero(f, 'vsum', 'tsum'),
      ...vmap(f, g('cols'), (io) => [
        ...io.load('p'), ...g('vs'), ...MUL4, ...g('vm'), ...SUB4, ...f.s('x'),
        ...exp(f, 'x'), ...f.s('e'),
        ...io.store('p', g('e')),
        ...accumulate(f, io, g('e'), 'vsum', 'tsum'),
      ]),
      ...f32Const(1), ...hsum(f, 'vsum'), ...g('tsum'), F32_ADD, F32_DIV, ...f32x4Splat(), ...f.s('vi'),
      ...vmap(f, g('cols'), (io) => io.store('p', [...io.load('p'), ...g('vi'), ...MUL4])),
      ...inc(f, 'p', [...g('ld'), ...i32(2), SHL]),
    ]),
  ]);
}

export function layerNormBody(): Body {
  const f = vmapLocals(new Fn(['rows', 'dim', 'x', 'w', 'b', 'eps', 'y', 'xhat', 'rstd']).i32('r', 'px', 'py', 'ph', 'row4').v128('vsum', 'vm', 'vr', 'c', 'h').f32('tsum', 'rs'));
  const g = f.g.bind(f);
  return f.done([
    ...g('dim'), ...i32(2), SHL, ...f.s('row4'),
    ...g('x'), ...f.s('px'), ...g('y'), ...f.s('py'), ...g('xhat'), ...f.s('ph'),
    ...rowsLoop(f, [
      ...zero(f, 'vsum', 'tsum'),
      ...vmap(f, g('dim'), (io) => accumulate(f, io, io.load('px'), 'vsum', 'tsum')),
      ...mean(f, 'vsum', 'tsum', 'dim'), ...f32x4Splat(), ...f.s('vm'),
      ...zero(f, 'vsum', 'tsum'),
      ...vmap(f, g('dim'), (io) => [...io.load('px'), ...g('vm'), ...SUB4, ...f.s('c'), ...accumulate(f, io, [...g('c'), ...g('c'), ...MUL4], 'vsum', 'tsum')]),
      ...f32Const(1), ...mean(f, 'vsum', 'tsum', 'dim'), ...g('eps'), F32_ADD, F32_SQRT, F32_DIV, ...f.s('rs'),
      ...g('rstd'), ...g('r'), ...i32(2), SHL, ADD, ...g('rs'), ...storeF32(),
      ...g('rs'), ...f32x4Splat(), ...f.s('vr'),
      ...vmap(f, g('dim'), (io) => [
        ...io.load('px'), ...g('vm'), ...SUB4, ...g('vr'), ...MUL4, ...f.s('h'),
        ...io.store('ph', g('h')),
        ...io.store('py', [...g('h'), ...io.load('w'), ...MUL4, ...io.load('b'), ...ADD4]),
      ]),
      ...inc(f, 'px', g('row4')), ...inc(f, 'py', g('row4')), ...inc(f, 'ph', g('row4')),
    ]),
  ]);
}

export function layerNormBackwardBody(): Body {
  const f = vmapLocals(new Fn(['rows', 'dim', 'dy', 'xhat', 'rstd', 'w', 'gw', 'gb', 'dx']).i32('r', 'pdy', 'ph', 'pdx', 'row4')
    .v128('vsg', 'vsgh', 'vd', 'vh', 'vg', 'vmg', 'vmgh', 'vrs').f32('tsg', 'tsgh'));
  const g = f.g.bind(f);
  return f.done([
    ...g('dim'), ...i32(2), SHL, ...f.s('row4'),
    ...g('dy'), ...f.s('pdy'), ...g('xhat'), ...f.s('ph'), ...g('dx'), ...f.s('pdx'),
    ...rowsLoop(f, [
      ...zero(f, 'vsg', 'vsgh', 'tsg', 'tsgh'),
      ...vmap(f, g('dim'), (io) => [
        ...io.load('pdy'), ...f.s('vd'), ...io.load('ph'), ...f.s('vh'),
        ...g('vd'), ...io.load('w'), ...MUL4, ...f.s('vg'),
        ...accumulate(f, io, g('vg'), 'vsg', 'tsg'),
        ...accumulate(f, io, [...g('vg'), ...g('vh'), ...MUL4], 'vsgh', 'tsgh'),
        ...io.store('gw', [...io.load('gw'), ...g('vd'), ...g('vh'), ...MUL4, ...ADD4]),
        ...io.store('gb', [...io.load('gb'), ...g('vd'), ...ADD4]),
      ]),
      ...mean(f, 'vsg', 'tsg', 'dim'), ...f32x4Splat(), ...f.s('vmg'),
      ...mean(f, 'vsgh', 'tsgh', 'dim'), ...f32x4Splat(), ...f.s('vmgh'),
      ...g('rstd'), ...g('r'), ...i32(2), SHL, ADD, ...loadF32(), ...f32x4Splat(), ...f.s('vrs'),
      ...vmap(f, g('dim'), (io) => io.store('pdx', [
        ...g('vrs'), ...io.load('pdy'), ...io.load('w'), ...MUL4, ...g('vmg'), ...SUB4, ...io.load('ph'), ...g('vmgh'), ...MUL4, ...SUB4, ...MUL4,
      ])),
      ...inc(f, 'pdy', g('row4')), ...inc(f, 'ph', g('row4')), ...inc(f, 'pdx', g('row4')),
    ]),
  ]);
}

export function reluBody(): Body {
  const f = vmapLocals(new Fn(['n', 'z', 'y']).v128('v'));
  const g = f.g.bind(f);
  return f.done(vmap(f, g('n'), (io) => [...io.load('z'), ...f.s('v'), ...io.store('y', [...g('v'), ...g('v'), ...c4(0), ...f32x4Gt(), ...v128And()])]));
}

export function reluBackwardBody(): Body {
  const f = vmapLocals(new Fn(['n', 'z', 'dy', 'dz']));
  return f.done(vmap(f, f.g('n'), (io) => io.store('dz', [...io.load('dy'), ...io.load('z'), ...c4(0), ...f32x4Gt(), ...v128And()])));
}


export function expBody(): Body {
  const f = vmapLocals(expLocals(new Fn(['n', 'x', 'y']).v128('v')));
  return f.done([...expInit(f), ...vmap(f, f.g('n'), (io) => [...io.load('x'), ...f.s('v'), ...io.store('y', exp(f, 'v'))])]);
}

export function mulBody(): Body {
  const f = vmapLocals(new Fn(['n', 'a', 'b', 'y']));
  return f.done(vmap(f, f.g('n'), (io) => io.store('y', [...io.load('a'), ...io.load('b'), ...MUL4])));
}

export function softmaxBackwardBody(): Body {
  const f = vmapLocals(new Fn(['rows', 'cols', 'ld', 'p', 'pd', 'ds', 'scale']).i32('r', 'row4').v128('vsum', 'vs', 'vk').f32('tsum'));
  const g = f.g.bind(f);
  return f.done([
    ...g('ld'), ...i32(2), SHL, ...f.s('row4'),
    ...g('scale'), ...f32x4Splat(), ...f.s('vk'),
    ...rowsLoop(f, [
      ...zero(f, 'vsum', 'tsum'),
      ...vmap(f, g('cols'), (io) => accumulate(f, io, [...io.load('pd'), ...io.load('ds'), ...MUL4], 'vsum', 'tsum')),
      ...hsum(f, 'vsum'), ...g('tsum'), F32_ADD, ...f32x4Splat(), ...f.s('vs'),
      ...vmap(f, g('cols'), (io) => io.store('ds', [...io.load('pd'), ...io.load('ds'), ...MUL4, ...io.load('p'), ...g('vs'), ...MUL4, ...SUB4, ...g('vk'), ...MUL4])),
      ...inc(f, 'p', g('row4')), ...inc(f, 'pd', g('row4')), ...inc(f, 'ds', g('row4')),
    ]),
  ]);
}

export function fillRowsBody(): Body {
  const f = vmapLocals(new Fn(['rows', 'cols', 'b', 'y', 'ld']).i32('r', 'p'));
  const g = f.g.bind(f);
  return f.done([
    ...g('y'), ...f.s('p'),
    ...rowsLoop(f, [...vmap(f, g('cols'), (io) => io.store('p', io.load('b'))), ...inc(f, 'p', [...g('ld'), ...i32(2), SHL])]),
  ]);
}
