/**
 * binary:logistic gradients as a WebAssembly SIMD function, four rows at a time in float32 (as
 * XGBoost computes them): x = -margin rounded to float32 and clamped to +-87, e = e^x, p = 1 / (1 + e),
 * q = 1 - p computed as e p (no cancellation for confident rows), grad = p - y (y = 1: -q), hess =
 * max(p q, 1e-16), both times w = scale_pos_weight for positives, else 1. e^x: x = k ln 2 + r with
 * k = floor(x / ln 2 + 1/2) and ln 2 in two parts, e^r by its Taylor polynomial to degree 7 (error
 * below 1e-8, under half a float32 ulp), times 2^k built in the exponent bits. Every step is one
 * correctly rounded float32 operation, so logisticGrad32 (objectives.ts) repeats it in JavaScript with
 * Math.fround bit for bit (tested). The float64 version (degree-13 polynomial, two rows per vector)
 * cost 8 ns a row; V8's Math.exp is an out-of-line call of ~12 ns.
 *
 * gradLogistic(margin, label, grad, hess, quads, spw): rows 0 .. 4 * quads - 1 of the arrays at those
 * byte offsets (margin float64, the rest float32); spw is float32.
 */
import { ADD, BLOCK, br, brIf, END, F32, GE_U, get, i32, I32, LOOP, SHL, set, simd, uleb, V128 } from '../core/wasm-asm.js';
import { EXP32_C, EXP32_CLAMP, HESS_EPS32, INV_LN2_32, LN2_HI_32, LN2_LO_32 } from './objectives.js';

const f32x4 = (v: number): number[] => simd(0x0c, ...new Uint8Array(new Float32Array([v, v, v, v]).buffer));
const i32x4 = (v: number): number[] => simd(0x0c, ...new Uint8Array(new Int32Array([v, v, v, v]).buffer));
const ADD4 = simd(0xe4), SUB4 = simd(0xe5), MUL4 = simd(0xe6), DIV4 = simd(0xe7), MIN4 = simd(0xe8), MAX4 = simd(0xe9), NEG4 = simd(0xe1), FLOOR4 = simd(0x68), EQ4 = simd(0x41);
const I32X4_TRUNC_SAT = simd(0xf8), I32X4_ADD = simd(0xae), I32X4_SHL = simd(0xab), BITSELECT = simd(0x52), DEMOTE_ZERO = simd(0x5e);
const LOAD = (off = 0): number[] => simd(0x00, 3, ...uleb(off));
const STORE = (off = 0): number[] => simd(0x0b, 2, ...uleb(off));
/** Lanes 0-1 of a, then lanes 0-1 of b (float32 lanes). */
const JOIN_LOW = simd(0x0d, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);

/** Four rows (quad index in local `i`), with eight v128 locals from `v0`; `spw` and `one` are splats. */
function quadBody(P: { margin: number; label: number; grad: number; hess: number }, i: number, spw: number, v0: number): number[] {
  const V = { x: v0, k: v0 + 1, r: v0 + 2, e: v0 + 3, p: v0 + 4, q: v0 + 5, y: v0 + 6, pos: v0 + 7 };
  const horner: number[] = [...f32x4(EXP32_C[7]!)];
  for (let n = 6; n >= 0; n--) horner.push(...get(V.r), ...MUL4, ...f32x4(EXP32_C[n]!), ...ADD4);
  const addr = (base: number, shift: number): number[] => [...get(base), ...get(i), ...i32(shift), SHL, ADD];
  return [
    // x = clamp(-(float32) margin): two float64 pairs demoted and joined
    ...addr(P.margin, 5), ...LOAD(0), ...DEMOTE_ZERO, ...addr(P.margin, 5), ...LOAD(16), ...DEMOTE_ZERO, ...JOIN_LOW,
    ...NEG4, ...f32x4(-EXP32_CLAMP), ...MAX4, ...f32x4(EXP32_CLAMP), ...MIN4, ...set(V.x),
    ...get(V.x), ...f32x4(INV_LN2_32), ...MUL4, ...f32x4(0.5), ...ADD4, ...FLOOR4, ...set(V.k),
    ...get(V.x), ...get(V.k), ...f32x4(LN2_HI_32), ...MUL4, ...SUB4, ...get(V.k), ...f32x4(LN2_LO_32), ...MUL4, ...SUB4, ...set(V.r),
    ...horner,
    ...get(V.k), ...I32X4_TRUNC_SAT, ...i32x4(127), ...I32X4_ADD, ...i32(23), ...I32X4_SHL, ...MUL4, ...set(V.e),
    ...f32x4(1), ...f32x4(1), ...get(V.e), ...ADD4, ...DIV4, ...set(V.p),
    ...get(V.e), ...get(V.p), ...MUL4, ...set(V.q),
    ...addr(P.label, 4), ...LOAD(0), ...set(V.y),
    ...get(V.y), ...f32x4(1), ...EQ4, ...set(V.pos),
    // grad = (y = 1 ? -q : p - y) * w
    ...addr(P.grad, 4),
    ...get(V.q), ...NEG4, ...get(V.p), ...get(V.y), ...SUB4, ...get(V.pos), ...BITSELECT,
    ...get(spw), ...f32x4(1), ...get(V.pos), ...BITSELECT, ...MUL4, ...STORE(0),
    // hess = max(p q, eps) * w
    ...addr(P.hess, 4),
    ...get(V.p), ...get(V.q), ...MUL4, ...f32x4(HESS_EPS32), ...MAX4,
    ...get(spw), ...f32x4(1), ...get(V.pos), ...BITSELECT, ...MUL4, ...STORE(0),
  ];
}

export function gradLogisticBody(): number[] {
  const P = { margin: 0, label: 1, grad: 2, hess: 3, quads: 4, spw: 5 };
  const i = 6;
  const spw = 7; // spw in every lane
  return [
    ...get(P.spw), ...simd(0x13), ...set(spw),
    ...i32(0), ...set(i),
    ...BLOCK, ...LOOP,
    ...get(i), ...get(P.quads), GE_U, ...brIf(1),
    ...quadBody(P, i, spw, 8),
    ...get(i), ...i32(1), ADD, ...set(i),
    ...br(0),
    END, END,
  ];
}

/** Locals of gradLogisticBody after its 6 parameters: i, then spw and eight v128. */
export const GRAD_LOGISTIC_LOCALS: [number, number][] = [[1, I32], [9, V128]];
export const GRAD_LOGISTIC_PARAMS = [I32, I32, I32, I32, I32, F32];
