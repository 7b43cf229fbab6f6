/**
 * The GRU's gate math (layers/gru.ts; references gruForwardJs / gruBackwardJs in elementwise-js.ts) as
 * WebAssembly SIMD function bodies, for `rows` consecutive sequences of one step. Addresses are bytes,
 * strides floats; row i of an array with stride ld starts at its address + 4 * i * ld. H floats per block.
 *
 * gruForward(rows, H, g, ldg, gh, prev, hn, hs, y, ldy): g holds each row's input projections
 *   [x_r x_z x_n] (stride ldg), gh the hidden ones [h_r h_z h_n] (stride 3H), prev the states (stride H):
 *     r = sigmoid(x_r + h_r), z = sigmoid(x_z + h_z), n = tanh(x_n + r h_n), h' = (1 - z) n + z prev;
 *   writes r, z, n over g, h_n to hn, h' to hs (stride H) and to y (stride ldy).
 * gruBackward(rows, H, cur, dy, dyScale: f32, ldy, g, ldg, prev, hn, dgi, dgh, prevGrad): with
 *   d = cur + dyScale * dy (dyScale 0 when there is no dy; dy then points anywhere readable),
 *     dn = d (1 - z)(1 - n^2), dz = d (prev - n) z (1 - z), dr = dn h_n r (1 - r);
 *   writes [dr dz dn] to dgi (stride ldg), [dr dz dn*r] to dgh (stride 3H), d z to prevGrad (stride H).
 *
 * sigmoid and tanh come from simd.ts's exp (absolute error about 1e-7); the rest is float32 arithmetic in
 * the references' order, so results agree with them to float32 rounding.
 */
import { ADD, F32, I32, i32, LT_S, MUL, SHL, f32x4Splat } from '../../core/wasm-asm.js';
import type { Body } from './gemm-wasm-pack.js';
import { ADD4, c4, expInit, expLocals, MUL4, sigmoid, SUB4, tanh, vmap, vmapLocals } from './simd.js';
import { Fn, whileLoop } from './wasm-fn.js';

export const GRU_TYPES = {
  gruForward: [I32, I32, I32, I32, I32, I32, I32, I32, I32, I32],
  gruBackward: [I32, I32, I32, I32, F32, I32, I32, I32, I32, I32, I32, I32, I32],
};

const inc = (f: Fn, v: string, by: number[]): number[] => [...f.g(v), ...by, ADD, ...f.s(v)];
const bytes = (f: Fn, ld: string): number[] => [...f.g(ld), ...i32(2), SHL];
/** b1 = b0 + H*4, b2 = b0 + 2*H*4: the three gate blocks of a row. */
const blocks = (f: Fn, b0: string, b1: string, b2: string): number[] => [
  ...f.g(b0), ...f.g('h4'), ADD, ...f.t(b1), ...f.g('h4'), ADD, ...f.s(b2),
];

export function gruForwardBody(): Body {
  const f = vmapLocals(expLocals(new Fn(['rows', 'H', 'g', 'ldg', 'gh', 'prev', 'hn', 'hs', 'y', 'ldy'])
    .i32('r', 'h4', 'g1', 'g2', 'q1', 'q2').v128('x', 't', 'vr', 'vz', 'vh', 'vn', 'vs')));
  const g = f.g.bind(f);
  return f.done([
    ...expInit(f),
    ...g('H'), ...i32(2), SHL, ...f.s('h4'),
    ...i32(0), ...f.s('r'),
    ...whileLoop([...g('r'), ...g('rows'), LT_S], [
      ...blocks(f, 'g', 'g1', 'g2'), ...blocks(f, 'gh', 'q1', 'q2'),
      ...vmap(f, g('H'), (io) => [
        ...io.load('g'), ...io.load('gh'), ...ADD4, ...f.s('x'), ...sigmoid(f, 'x', 't'), ...f.s('vr'),
        ...io.load('g1'), ...io.load('q1'), ...ADD4, ...f.s('x'), ...sigmoid(f, 'x', 't'), ...f.s('vz'),
        ...io.load('q2'), ...f.s('vh'),
        ...io.load('g2'), ...g('vr'), ...g('vh'), ...MUL4, ...ADD4, ...f.s('x'), ...tanh(f, 'x', 't'), ...f.s('vn'),
        ...c4(1), ...g('vz'), ...SUB4, ...g('vn'), ...MUL4, ...g('vz'), ...io.load('prev'), ...MUL4, ...ADD4, ...f.s('vs'),
        ...io.store('g', g('vr')), ...io.store('g1', g('vz')), ...io.store('g2', g('vn')),
        ...io.store('hn', g('vh')), ...io.store('hs', g('vs')), ...io.store('y', g('vs')),
      ]),
      ...inc(f, 'g', bytes(f, 'ldg')), ...inc(f, 'gh', [...g('h4'), ...i32(3), MUL]),
      ...inc(f, 'prev', g('h4')), ...inc(f, 'hn', g('h4')), ...inc(f, 'hs', g('h4')), ...inc(f, 'y', bytes(f, 'ldy')),
      ...inc(f, 'r', i32(1)),
    ]),
  ]);
}

export function gruBackwardBody(): Body {
  const f = vmapLocals(new Fn(['rows', 'H', 'cur', 'dy', 'dyScale', 'ldy', 'g', 'ldg', 'prev', 'hn', 'dgi', 'dgh', 'pg'])
    .i32('r', 'h4', 'g1', 'g2', 'i1', 'i2', 'q1', 'q2').v128('vds', 'vd', 'vr', 'vz', 'vn', 'dn', 'dr'));
  const g = f.g.bind(f);
  const one = c4(1);
  return f.done([
    ...g('H'), ...i32(2), SHL, ...f.s('h4'),
    ...g('dyScale'), ...f32x4Splat(), ...f.s('vds'),
    ...i32(0), ...f.s('r'),
    ...whileLoop([...g('r'), ...g('rows'), LT_S], [
      ...blocks(f, 'g', 'g1', 'g2'), ...blocks(f, 'dgi', 'i1', 'i2'), ...blocks(f, 'dgh', 'q1', 'q2'),
      ...vmap(f, g('H'), (io) => [
        ...io.load('cur'), ...io.load('dy'), ...g('vds'), ...MUL4, ...ADD4, ...f.s('vd'),
        ...io.load('g'), ...f.s('vr'), ...io.load('g1'), ...f.s('vz'), ...io.load('g2'), ...f.s('vn'),
        ...g('vd'), ...one, ...g('vz'), ...SUB4, ...MUL4, ...one, ...g('vn'), ...g('vn'), ...MUL4, ...SUB4, ...MUL4, ...f.s('dn'),
        ...g('dn'), ...io.load('hn'), ...MUL4, ...g('vr'), ...MUL4, ...one, ...g('vr'), ...SUB4, ...MUL4, ...f.s('dr'),
        ...io.store('dgi', g('dr')), ...io.store('dgh', g('dr')),
        ...io.store('i1', [...g('vd'), ...io.load('prev'), ...g('vn'), ...SUB4, ...MUL4, ...g('vz'), ...MUL4, ...one, ...g('vz'), ...SUB4, ...MUL4]),
        ...io.store('q1', [...io.load('i1')]),
        ...io.store('i2', g('dn')), ...io.store('q2', [...g('dn'), ...g('vr'), ...MUL4]),
        ...io.store('pg', [...g('vd'), ...g('vz'), ...MUL4]),
      ]),
      ...inc(f, 'cur', g('h4')), ...inc(f, 'dy', bytes(f, 'ldy')), ...inc(f, 'g', bytes(f, 'ldg')),
      ...inc(f, 'prev', g('h4')), ...inc(f, 'hn', g('h4')), ...inc(f, 'dgi', bytes(f, 'ldg')),
      ...inc(f, 'dgh', [...g('h4'), ...i32(3), MUL]), ...inc(f, 'pg', g('h4')),
      ...inc(f, 'r', i32(1)),
    ]),
  ]);
}
