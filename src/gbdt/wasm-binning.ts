/**
 * Binning's loops as WebAssembly functions. Binning runs once per training run, so its JavaScript never
 * warms up (on 120,000 x 10 it ran mostly in unoptimised code); WebAssembly is compiled before it runs.
 *
 * The sort: an LSD radix sort of int32 keys (floatKey order), three
 * passes of 11 bits, the same algorithm as float-key.ts's radixSort (its reference). Binning runs once
 * per training run, so its JavaScript never warms up: on 120,000 x 10 it spent ~70 ms sorting, mostly in
 * unoptimised code; WebAssembly is compiled before it first runs.
 *
 * radixSort(keys, tmp, count, n): sorts the n int32 keys at `keys` ascending (signed), using n words at
 * `tmp` and 2048 at `count`; the result is left at `keys`.
 */
import { ADD, AND, BLOCK, br, brIf, ELSE, END, EQ, GE_S, GE_U, get, i32, I32, IF, load32, LOOP, RETURN, SELECT, SHL, SHR_S, SHR_U, set, store32, tee } from '../core/wasm-asm.js';

const XOR = 0x73;

/** for (i = 0; i < bound; i += step) body */
function upTo(i: number, bound: number[], step: number, body: number[]): number[] {
  return [
    ...i32(0), ...set(i),
    ...BLOCK, ...LOOP,
    ...get(i), ...bound, GE_U, ...brIf(1),
    ...body,
    ...get(i), ...i32(step), ADD, ...set(i),
    ...br(0),
    END, END,
  ];
}

export function radixSortBody(): number[] {
  const P = { keys: 0, tmp: 1, count: 2, n: 3 };
  const V = { pass: 4, shift: 5, src: 6, dst: 7, i: 8, v: 9, d: 10, sum: 11, c: 12 };
  const digit = [...get(V.v), ...i32(-0x80000000), XOR, ...get(V.shift), SHR_U, ...i32(2047), AND, ...i32(2), SHL, ...get(P.count), ADD];
  return [
    ...i32(0), ...set(V.pass),
    ...BLOCK, ...LOOP,
    ...get(V.pass), ...i32(3), GE_U, ...brIf(1),
    // shift = 11 * pass; passes go keys -> tmp -> keys -> tmp
    ...get(V.pass), ...i32(11), 0x6c, ...set(V.shift),
    ...get(V.pass), ...i32(1), AND, ...set(V.c),
    ...get(P.tmp), ...get(P.keys), ...get(V.c), 0x1b, ...set(V.src),
    ...get(P.keys), ...get(P.tmp), ...get(V.c), 0x1b, ...set(V.dst),
    // count = 0
    ...upTo(V.i, i32(2048 * 4), 4, [...get(P.count), ...get(V.i), ADD, ...i32(0), ...store32()]),
    // histogram of digits
    ...upTo(V.i, get(P.n), 1, [
      ...get(V.src), ...get(V.i), ...i32(2), SHL, ADD, ...load32(), ...set(V.v),
      ...digit, ...tee(V.d), ...get(V.d), ...load32(), ...i32(1), ADD, ...store32(),
    ]),
    // exclusive prefix sums
    ...i32(0), ...set(V.sum),
    ...upTo(V.i, i32(2048 * 4), 4, [
      ...get(P.count), ...get(V.i), ADD, ...load32(), ...set(V.c),
      ...get(P.count), ...get(V.i), ADD, ...get(V.sum), ...store32(),
      ...get(V.sum), ...get(V.c), ADD, ...set(V.sum),
    ]),
    // scatter, stable
    ...upTo(V.i, get(P.n), 1, [
      ...get(V.src), ...get(V.i), ...i32(2), SHL, ADD, ...load32(), ...set(V.v),
      ...digit, ...tee(V.d), ...load32(), ...set(V.c),
      ...get(V.d), ...get(V.c), ...i32(1), ADD, ...store32(),
      ...get(V.dst), ...get(V.c), ...i32(2), SHL, ADD, ...get(V.v), ...store32(),
    ]),
    ...get(V.pass), ...i32(1), ADD, ...set(V.pass),
    ...br(0),
    END, END,
    // the third pass wrote tmp: copy back
    ...upTo(V.i, get(P.n), 1, [
      ...get(P.keys), ...get(V.i), ...i32(2), SHL, ADD,
      ...get(P.tmp), ...get(V.i), ...i32(2), SHL, ADD, ...load32(), ...store32(),
    ]),
  ];
}

export const RADIX_SORT_LOCALS: [number, number][] = [[9, I32]];

const LOAD16_U = [0x2f, 1, 0];
const STORE16 = [0x3b, 1, 0];
const STORE8 = [0x3a, 0, 0];
const GT_U = 0x4b, LE_S = 0x4c, EQZ = 0x45;

/**
 * binStart(cutKeys, nCuts, start): start[b] = the first cut whose key's top 16 bits (+ 32768) are >= b,
 * for b = 0..65536 (uint16 entries): binColumn's bucket table (binning.ts builds the same in JavaScript).
 */
export function binStartBody(): number[] {
  const P = { cuts: 0, n: 1, start: 2 };
  const V = { b: 3, r: 4 };
  return [
    ...i32(0), ...set(V.r), ...i32(0), ...set(V.b),
    ...BLOCK, ...LOOP,
    ...get(V.b), ...i32(65536), GT_U, ...brIf(1),
    ...BLOCK, ...LOOP,
    ...get(V.r), ...get(P.n), GE_U, ...brIf(1),
    ...get(P.cuts), ...get(V.r), ...i32(2), SHL, ADD, ...load32(), ...i32(16), SHR_S, ...i32(32768), ADD, ...get(V.b), GE_S, ...brIf(1),
    ...get(V.r), ...i32(1), ADD, ...set(V.r),
    ...br(0),
    END, END,
    ...get(P.start), ...get(V.b), ...i32(1), SHL, ADD, ...get(V.r), ...STORE16,
    ...get(V.b), ...i32(1), ADD, ...set(V.b),
    ...br(0),
    END, END,
  ];
}

/**
 * binColumn(col, n, cutKeys, start, missing, out) -> -1, or the first row whose value is infinite or
 * beyond float32 (the caller names it): out[i] (uint8) = the number of cuts <= the float32 col[i] by
 * key, `missing` for NaN; -0 counts as +0.
 */
export function binColumnBody(): number[] {
  const P = { col: 0, n: 1, cuts: 2, start: 3, missing: 4, out: 5 };
  const V = { i: 6, b: 7, k: 8, q: 9, e: 10, s: 11 };
  return [
    ...i32(0), ...set(V.i),
    ...BLOCK, ...LOOP,
    ...get(V.i), ...get(P.n), GE_U, ...brIf(1),
    ...get(P.col), ...get(V.i), ...i32(2), SHL, ADD, ...load32(), ...set(V.b),
    ...get(V.b), ...i32(0x7fffffff), AND, ...i32(0x7f800000), GT_U, ...IF,
    ...get(P.out), ...get(V.i), ADD, ...get(P.missing), ...STORE8,
    ELSE,
    ...get(V.b), ...i32(0x7fffffff), AND, ...i32(0x7f7fffff), GE_U, ...IF, ...get(V.i), RETURN, END,
    // k = b == -0 ? 0 : b ^ ((b >> 31) & 0x7fffffff)
    ...i32(0), ...get(V.b), ...get(V.b), ...i32(31), SHR_S, ...i32(0x7fffffff), AND, XOR, ...get(V.b), ...i32(-0x80000000), EQ, SELECT, ...set(V.k),
    ...get(P.start), ...get(V.k), ...i32(16), SHR_S, ...i32(32768), ADD, ...i32(1), SHL, ADD, ...tee(V.s), ...LOAD16_U, ...set(V.q),
    ...get(V.s), ...i32(2), ADD, ...LOAD16_U, ...set(V.e),
    ...BLOCK, ...LOOP,
    ...get(V.q), ...get(V.e), GE_U, ...brIf(1),
    ...get(P.cuts), ...get(V.q), ...i32(2), SHL, ADD, ...load32(), ...get(V.k), LE_S, EQZ, ...brIf(1), // cutKeys[q] > k: stop
    ...get(V.q), ...i32(1), ADD, ...set(V.q),
    ...br(0),
    END, END,
    ...get(P.out), ...get(V.i), ADD, ...get(V.q), ...STORE8,
    END,
    ...get(V.i), ...i32(1), ADD, ...set(V.i),
    ...br(0),
    END, END,
    ...i32(-1),
  ];
}

export const BIN_START_LOCALS: [number, number][] = [[2, I32]];
export const BIN_COLUMN_LOCALS: [number, number][] = [[6, I32]];
