/**
 * The SIMD instructions the elementwise kernels add to core/wasm-asm.ts's set, a vector exp, and the
 * loop every elementwise kernel shares.
 *
 * exp(x), four lanes at once (Cephes' expf): x is clamped to [-87.3365, 88], n = round(x log2 e),
 * r = x - n ln 2 (ln 2 in two parts, so r is exact to float32), e^r by its degree-7 polynomial on
 * [-ln2/2, ln2/2], times 2^n built in the exponent bits. Relative error about 1e-7 over the range;
 * x below -87.3365 (where e^x is no longer a normal float, and -Infinity) gives 0, x above 88 gives
 * e^88, NaN gives NaN.
 *
 * vmap: for j < n, a body over four floats at a time (v128 loads and stores at any alignment), then
 * over each of the last n mod 4 floats alone: a load splats the one float into all four lanes and a
 * store writes lane 0, so a lane-wise body serves both; a body that sums across j is told which mode
 * it runs in (sums of the tail go to a scalar).
 */
import { ADD, AND, F32, I32, i32, LT_S, SHL, f32x4ExtractLane, simd, storeF32, v128Load, v128Load32Splat, v128Store } from '../../core/wasm-asm.js';
import { Fn, whileLoop } from './wasm-fn.js';


export const F32_SUB = 0x93, F32_MUL = 0x94, F32_DIV = 0x95, F32_SQRT = 0x91;
export const f32Const = (v: number): number[] => [0x43, ...new Uint8Array(new Float32Array([v]).buffer)];
/** v128.const with the float v in every lane. */
export const c4 = (v: number): number[] => simd(0x0c, ...new Uint8Array(new Float32Array([v, v, v, v]).buffer));
export const i32x4Splat = (): number[] => simd(0x11);
export const f32x4Lt = (): number[] => simd(0x43);
export const f32x4Gt = (): number[] => simd(0x44);
export const v128And = (): number[] => simd(0x4e);
export const v128AndNot = (): number[] => simd(0x4f);
export const f32x4Nearest = (): number[] => simd(0x6a);
export const i32x4Shl = (): number[] => simd(0xab);
export const i32x4Add = (): number[] => simd(0xae);
export const f32x4Sqrt = (): number[] => simd(0xe3);
export const f32x4Div = (): number[] => simd(0xe7);
export const f32x4TruncSatToI32 = (): number[] => simd(0xf8);
export const ADD4 = simd(0xe4), SUB4 = simd(0xe5), MUL4 = simd(0xe6);
/**
 * f32x4.pmin / pmax (b < a ? b : a, a < b ? b : a): one instruction each on x64, where f32x4.min / max
 * take several for their NaN and signed-zero rules. With the bound second, a NaN passes through.
 */
export const MIN4 = simd(0xea), MAX4 = simd(0xeb);

const EXP_LO = -87.33654;
const EXP_HI = 88;
const POLY = [1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1];
/** 1.5 * 2^23: adding it rounds a float of magnitude below 2^22 to an integer, which lands in the low mantissa bits. */
const MAGIC = 12582912;
/** The constants exp reads, as locals set once per call (v128.const inside the loop costs V8 several instructions each time). */
const EXP_CONSTS: [string, number][] = [
  ['kLo', EXP_LO], ['kHi', EXP_HI], ['kL2e', Math.LOG2E], ['kMagic', MAGIC], ['kC1', 0.693359375], ['kC2', -2.12194440e-4],
  ...POLY.map((c, i): [string, number] => [`kP${i}`, c]), ['kOne', 1],
];
/** bits(2^n) = (bits(n + 1.5 * 2^23) + BIAS) << 23. */
const BIAS = 127 - 0x4b400000;

/** Declares the locals `exp` needs (v128 ex, en, the constants); expInit must run before the first exp. */
export const expLocals = (f: Fn): Fn => f.v128('ex', 'en', 'kBias', ...EXP_CONSTS.map(([n]) => n));

/** Sets exp's constants: at the top of the function body. */
export const expInit = (f: Fn): number[] => [...EXP_CONSTS.flatMap(([n, v]) => [...c4(v), ...f.s(n)]), ...i32(BIAS), ...i32x4Splat(), ...f.s('kBias')];

/**
 * e^x of the v128 local `x`, left on the stack. n = round(x log2 e) by the magic-number addition (t =
 * x log2 e + 1.5 * 2^23 holds n in its low bits); 2^n = (bits(t) - bits(1.5 * 2^23) + 127) << 23.
 */
export function exp(f: Fn, x: string): number[] {
  const g = f.g.bind(f);
  const poly: number[] = [...g('kP0')];
  for (let i = 1; i < POLY.length; i++) poly.push(...g('ex'), ...MUL4, ...g(`kP${i}`), ...ADD4);
  return [
    ...g(x), ...g('kLo'), ...MAX4, ...g('kHi'), ...MIN4, ...f.s('ex'),
    ...g('ex'), ...g('kL2e'), ...MUL4, ...g('kMagic'), ...ADD4, ...f.s('en'),
    ...g('ex'), ...g('en'), ...g('kMagic'), ...SUB4, ...f.t('en'), ...g('kC1'), ...MUL4, ...SUB4, ...g('en'), ...g('kC2'), ...MUL4, ...SUB4, ...f.s('ex'),
    ...poly, ...g('ex'), ...g('ex'), ...MUL4, ...MUL4, ...g('ex'), ...ADD4, ...g('kOne'), ...ADD4,
    ...g('en'), ...g('kMagic'), ...ADD4, ...g('kBias'), ...i32x4Add(), ...i32(23), ...i32x4Shl(), ...MUL4,
    ...g(x), ...g('kLo'), ...f32x4Lt(), ...v128AndNot(),
  ];
}

/** 1 / (1 + e^-x) of the v128 local `x` (clobbers local `t`). */
export function sigmoid(f: Fn, x: string, t: string): number[] {
  return [...c4(0), ...f.g(x), ...SUB4, ...f.s(t), ...f.g('kOne'), ...f.g('kOne'), ...exp(f, t), ...ADD4, ...f32x4Div()];
}

/** tanh x = 1 - 2 / (e^2x + 1) of the v128 local `x` (clobbers local `t`); absolute error about 1e-7. */
export function tanh(f: Fn, x: string, t: string): number[] {
  return [...f.g(x), ...f.g(x), ...ADD4, ...f.s(t), ...f.g('kOne'), ...c4(2), ...exp(f, t), ...f.g('kOne'), ...ADD4, ...f32x4Div(), ...SUB4];
}

export interface Io {
  /** Four floats at ptr + j (vector mode), or the one float there in every lane (tail mode). */
  load(ptr: string): number[];
  /** Stores the v128 `value` code leaves on the stack at ptr + j (tail mode: lane 0 only). */
  store(ptr: string, value: number[]): number[];
  readonly tail: boolean;
}

/** Declares the locals vmap needs: i32 j, c4, cb. */
export const vmapLocals = (f: Fn): Fn => f.i32('j', 'c4', 'cb');

/** for j < n (the i32 code `n` leaves): body(io), vector mode then tail mode. */
export function vmap(f: Fn, n: number[], body: (io: Io) => number[]): number[] {
  const g = f.g.bind(f);
  const at = (ptr: string): number[] => [...g(ptr), ...g('j'), ADD];
  const vec: Io = { tail: false, load: (p) => [...at(p), ...v128Load()], store: (p, v) => [...at(p), ...v, ...v128Store()] };
  const one: Io = { tail: true, load: (p) => [...at(p), ...v128Load32Splat()], store: (p, v) => [...at(p), ...v, ...f32x4ExtractLane(0), ...storeF32()] };
  return [
    ...n, ...i32(2), SHL, ...f.s('cb'), ...g('cb'), ...i32(-16), AND, ...f.s('c4'),
    ...i32(0), ...f.s('j'),
    ...whileLoop([...g('j'), ...g('c4'), LT_S], [...body(vec), ...g('j'), ...i32(16), ADD, ...f.s('j')]),
    ...whileLoop([...g('j'), ...g('cb'), LT_S], [...body(one), ...g('j'), ...i32(4), ADD, ...f.s('j')]),
  ];
}

/** The sum of the four lanes of the v128 local `v`, an f32 on the stack. */
export const hsum = (f: Fn, v: string): number[] => [
  ...f.g(v), ...f32x4ExtractLane(0), ...f.g(v), ...f32x4ExtractLane(2), 0x92, ...f.g(v), ...f32x4ExtractLane(1), ...f.g(v), ...f32x4ExtractLane(3), 0x92, 0x92,
];

export { F32, I32 };
