/**
 * binary:logistic gradients as a WebAssembly SIMD function, two rows at a time: p = 1 / (1 + e^-m) in
 * float64, grad = (p - y) w and hess = max(p (1 - p), 1e-16) w rounded to float32, w = scale_pos_weight
 * for positives, else 1 (the formulas of objectives.ts). e^x: x = k ln 2 + r with |r| <= ln2/2 (ln 2 in
 * two parts), e^r by its Taylor polynomial to degree 13, times 2^k built in the exponent bits; x is
 * clamped to +-708. Within 2 ulp of Math.exp, so the float32 outputs equal the JavaScript loop's but
 * for a rounding tie once in a great while (tested). V8's Math.exp is an out-of-line call of ~12 ns,
 * which made the gradients of a round cost as much as the histograms of a narrow data set.
 *
 * gradLogistic(margin, label, grad, hess, pairs, spw): rows 0 .. 2 * pairs - 1 of the arrays at those
 * byte offsets (margin float64, the rest float32).
 */
import { ADD, BLOCK, br, brIf, END, F64, GE_U, get, i32, I32, LOOP, SHL, set, simd, uleb, V128 } from '../core/wasm-asm.js';

const f64x2 = (v: number): number[] => simd(0x0c, ...new Uint8Array(new Float64Array([v, v]).buffer));
const ADD2 = simd(0xf0), SUB2 = simd(0xf1), MUL2 = simd(0xf2), DIV2 = simd(0xf3), MIN2 = simd(0xf4), MAX2 = simd(0xf5), NEAREST2 = simd(0x94), EQ2 = simd(0x47);
const LOAD = (off = 0): number[] => simd(0x00, 3, ...uleb(off));
const LOAD64_ZERO = (off = 0): number[] => simd(0x5d, 2, ...uleb(off));
const STORE64_LANE0 = (off = 0): number[] => simd(0x5b, 2, ...uleb(off), 0);
const PROMOTE_LOW = simd(0x5f), DEMOTE_ZERO = simd(0x5e);
const TRUNC_SAT_ZERO = simd(0xfc), EXTEND_LOW_I64 = simd(0xc7), I64X2_SHL = simd(0xcb), I64X2_ADD = simd(0xce), BITSELECT = simd(0x52);
const I64X2_CONST = (v: bigint): number[] => simd(0x0c, ...new Uint8Array(new BigInt64Array([v, v]).buffer));

const LN2_HI = 6.93147180369123816490e-1;
const LN2_LO = 1.90821492927058770002e-10;
const INV_LN2 = 1.44269504088896338700;
const C = Array.from({ length: 14 }, (_, n) => { let f = 1; for (let i = 2; i <= n; i++) f *= i; return 1 / f; });

/** One pair of rows at byte offsets (pair index in local `i` + `at`), with its own eight v128 locals from `v0`. */
function pairBody(P: { margin: number; label: number; grad: number; hess: number }, i: number, at: number, t: number, v0: number): number[] {
  const V = { x: v0, k: v0 + 1, r: v0 + 2, e: v0 + 3, p: v0 + 4, y: v0 + 5, w: v0 + 6 };
  const horner: number[] = [...f64x2(C[13]!)];
  for (let n = 12; n >= 0; n--) horner.push(...get(V.r), ...MUL2, ...f64x2(C[n]!), ...ADD2);
  const exp = [
    ...get(V.x), ...f64x2(-708), ...MAX2, ...f64x2(708), ...MIN2, ...set(V.x),
    ...get(V.x), ...f64x2(INV_LN2), ...MUL2, ...NEAREST2, ...set(V.k),
    ...get(V.x), ...get(V.k), ...f64x2(LN2_HI), ...MUL2, ...SUB2, ...get(V.k), ...f64x2(LN2_LO), ...MUL2, ...SUB2, ...set(V.r),
    ...horner,
    // times 2^k: ((k as i64) + 1023) << 52 as float64 bits
    ...get(V.k), ...TRUNC_SAT_ZERO, ...EXTEND_LOW_I64, ...I64X2_CONST(1023n), ...I64X2_ADD, ...i32(52), ...I64X2_SHL,
    ...MUL2, ...set(V.e),
  ];
  return [
    ...get(P.margin), ...get(i), ...i32(4), SHL, ADD, ...LOAD(at * 16), ...f64x2(-1), ...MUL2, ...set(V.x),
    ...exp,
    ...f64x2(1), ...f64x2(1), ...get(V.e), ...ADD2, ...DIV2, ...set(V.p),
    ...get(P.label), ...get(i), ...i32(3), SHL, ADD, ...LOAD64_ZERO(at * 8), ...PROMOTE_LOW, ...set(V.y),
    ...get(t), ...f64x2(1), ...get(V.y), ...f64x2(1), ...EQ2, ...BITSELECT, ...set(V.w),
    ...get(P.grad), ...get(i), ...i32(3), SHL, ADD,
    ...get(V.p), ...get(V.y), ...SUB2, ...get(V.w), ...MUL2, ...DEMOTE_ZERO, ...STORE64_LANE0(at * 8),
    ...get(P.hess), ...get(i), ...i32(3), SHL, ADD,
    ...get(V.p), ...f64x2(1), ...get(V.p), ...SUB2, ...MUL2, ...f64x2(1e-16), ...MAX2, ...get(V.w), ...MUL2, ...DEMOTE_ZERO, ...STORE64_LANE0(at * 8),
  ];
}

export function gradLogisticBody(): number[] {
  const P = { margin: 0, label: 1, grad: 2, hess: 3, pairs: 4, spw: 5 };
  const i = 6;
  const t = 7; // spw in both lanes: w for y = 1
  return [
    ...get(P.spw), ...simd(0x14), ...set(t),
    ...i32(0), ...set(i),
    // two pairs an iteration, independent chains the CPU overlaps
    ...BLOCK, ...LOOP,
    ...get(i), ...i32(1), ADD, ...get(P.pairs), GE_U, ...brIf(1),
    ...pairBody(P, i, 0, t, 8), ...pairBody(P, i, 1, t, 15),
    ...get(i), ...i32(2), ADD, ...set(i),
    ...br(0),
    END, END,
    ...BLOCK,
    ...get(i), ...get(P.pairs), GE_U, ...brIf(0),
    ...pairBody(P, i, 0, t, 8),
    END,
  ];
}

/** Locals of gradLogisticBody after its 6 parameters: i, then spw and two sets of seven v128. */
export const GRAD_LOGISTIC_LOCALS: [number, number][] = [[1, I32], [15, V128]];
export const GRAD_LOGISTIC_PARAMS = [I32, I32, I32, I32, I32, F64];
