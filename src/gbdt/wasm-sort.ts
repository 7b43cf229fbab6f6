/**
 * The binning sort as a WebAssembly function: an LSD radix sort of int32 keys (floatKey order), three
 * passes of 11 bits, the same algorithm as float-key.ts's radixSort (its reference). Binning runs once
 * per training run, so its JavaScript never warms up: on 120,000 x 10 it spent ~70 ms sorting, mostly in
 * unoptimised code; WebAssembly is compiled before it first runs.
 *
 * radixSort(keys, tmp, count, n): sorts the n int32 keys at `keys` ascending (signed), using n words at
 * `tmp` and 2048 at `count`; the result is left at `keys`.
 */
import { ADD, AND, BLOCK, br, brIf, END, GE_U, get, i32, I32, load32, LOOP, SHL, SHR_U, set, store32, tee } from '../core/wasm-asm.js';

const XOR = 0x73;

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
    ...i32(0), ...set(V.i),
    ...BLOCK, ...LOOP,
    ...get(V.i), ...i32(2048 * 4), GE_U, ...brIf(1),
    ...get(P.count), ...get(V.i), ADD, ...i32(0), ...store32(),
    ...get(V.i), ...i32(4), ADD, ...set(V.i),
    ...br(0),
    END, END,
    // histogram of digits
    ...i32(0), ...set(V.i),
    ...BLOCK, ...LOOP,
    ...get(V.i), ...get(P.n), GE_U, ...brIf(1),
    ...get(V.src), ...get(V.i), ...i32(2), SHL, ADD, ...load32(), ...set(V.v),
    ...digit, ...tee(V.d), ...get(V.d), ...load32(), ...i32(1), ADD, ...store32(),
    ...get(V.i), ...i32(1), ADD, ...set(V.i),
    ...br(0),
    END, END,
    // exclusive prefix sums
    ...i32(0), ...set(V.sum), ...i32(0), ...set(V.i),
    ...BLOCK, ...LOOP,
    ...get(V.i), ...i32(2048 * 4), GE_U, ...brIf(1),
    ...get(P.count), ...get(V.i), ADD, ...load32(), ...set(V.c),
    ...get(P.count), ...get(V.i), ADD, ...get(V.sum), ...store32(),
    ...get(V.sum), ...get(V.c), ADD, ...set(V.sum),
    ...get(V.i), ...i32(4), ADD, ...set(V.i),
    ...br(0),
    END, END,
    // scatter, stable
    ...i32(0), ...set(V.i),
    ...BLOCK, ...LOOP,
    ...get(V.i), ...get(P.n), GE_U, ...brIf(1),
    ...get(V.src), ...get(V.i), ...i32(2), SHL, ADD, ...load32(), ...set(V.v),
    ...digit, ...tee(V.d), ...load32(), ...set(V.c),
    ...get(V.d), ...get(V.c), ...i32(1), ADD, ...store32(),
    ...get(V.dst), ...get(V.c), ...i32(2), SHL, ADD, ...get(V.v), ...store32(),
    ...get(V.i), ...i32(1), ADD, ...set(V.i),
    ...br(0),
    END, END,
    ...get(V.pass), ...i32(1), ADD, ...set(V.pass),
    ...br(0),
    END, END,
    // the third pass wrote tmp: copy back
    ...i32(0), ...set(V.i),
    ...BLOCK, ...LOOP,
    ...get(V.i), ...get(P.n), GE_U, ...brIf(1),
    ...get(P.keys), ...get(V.i), ...i32(2), SHL, ADD,
    ...get(P.tmp), ...get(V.i), ...i32(2), SHL, ADD, ...load32(), ...store32(),
    ...get(V.i), ...i32(1), ADD, ...set(V.i),
    ...br(0),
    END, END,
  ];
}

export const RADIX_SORT_LOCALS: [number, number][] = [[9, I32]];
