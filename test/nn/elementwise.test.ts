import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { addRowJs, axpyJs, sumRowsJs } from '../../src/nn/kernels/elementwise-js.js';
import { wasmKernels } from '../../src/nn/kernels/gemm-wasm.js';
import { Arena, type Kernels } from '../../src/nn/index.js';

function setup(): { arena: Arena; k: Kernels; rng: Rng; view: (n: number, off: number) => Float32Array } {
  const arena = new Arena(1 << 22);
  const k = wasmKernels(arena);
  if (!k) throw new Error('the WebAssembly kernels do not compile on this Node');
  const rng = new Rng(21);
  /** n random floats at `off` floats past a 64-byte boundary, with 4 guard floats either side. */
  const view = (n: number, off: number): Float32Array => {
    const base = arena.f32(n + off + 8);
    for (let i = 0; i < base.length; i++) base[i] = rng.uniform() * 2 - 1;
    return base.subarray(off + 4, off + 4 + n);
  };
  return { arena, k, rng, view };
}

/** The whole underlying region of a view made by `view` (guards included), to compare before and after. */
const region = (v: Float32Array): Float32Array => new Float32Array(v.buffer, v.byteOffset - 16, v.length + 8);

describe('WebAssembly elementwise kernels', () => {
  it('addRow and sumRows give the same bytes as the JS reference, any size, stride and alignment', () => {
    const { k, rng, view } = setup();
    for (let t = 0; t < 80; t++) {
      const rows = 1 + rng.int(9);
      const cols = 1 + rng.int(23);
      const ld = cols + rng.int(3);
      const x = view(rows * ld, rng.int(4));
      const b = view(cols, rng.int(4));
      const y = region(x).slice();
      addRowJs(rows, cols, b, new Float32Array(y.buffer, 16, rows * ld), ld);
      k.addRow(rows, cols, b, x, ld);
      expect(region(x)).toEqual(y);
      const out = region(b).slice();
      sumRowsJs(rows, cols, x, ld, new Float32Array(out.buffer, 16, cols));
      k.sumRows(rows, cols, x, ld, b);
      expect(region(b)).toEqual(out);
    }
  });

  it('axpy agrees with the JS reference to float32 rounding and writes nothing past n', () => {
    const { k, rng, view } = setup();
    for (const n of [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 1000, 4099]) {
      const x = view(n, rng.int(4));
      const y = view(n, rng.int(4));
      const alpha = rng.uniform() * 4 - 2;
      const want = region(y).slice();
      axpyJs(n, alpha, x, new Float32Array(want.buffer, 16, n));
      k.axpy(n, alpha, x, y);
      const got = region(y);
      got.forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThanOrEqual(2e-7 * (Math.abs(want[i]!) + Math.abs(alpha))));
      expect(got.subarray(0, 4)).toEqual(want.subarray(0, 4));
      expect(got.subarray(4 + n)).toEqual(want.subarray(4 + n));
    }
  });

  it('falls back to the JS reference for arrays outside the arena, and does nothing on empty input', () => {
    const { k, view } = setup();
    const y = new Float32Array([1, 2, 3, 4, 5]);
    const b = view(5, 1);
    const want = y.slice();
    addRowJs(1, 5, b, want, 5);
    k.addRow(1, 5, b, y, 5);
    expect(y).toEqual(want);
    const out = new Float32Array(3);
    k.sumRows(2, 3, new Float32Array([1, 2, 3, 4, 5, 6]), 3, out);
    expect([...out]).toEqual([5, 7, 9]);
    k.axpy(3, 2, new Float32Array([1, 1, 1]), out);
    expect([...out]).toEqual([7, 9, 11]);
    const before = b.slice();
    k.addRow(0, 5, b, b, 5);
    k.sumRows(3, 0, b, 5, b);
    k.axpy(0, 1, b, b);
    expect(b).toEqual(before);
  });
});
