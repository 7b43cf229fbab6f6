import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { WA } from '../../src/core/wasm-asm.js';
import {
  addRowJs, axpyJs, fillRowsJs, gruBackwardJs, gruForwardJs, layerNormBackwardJs, layerNormJs, mulJs, reluBackwardJs, reluJs, softmaxBackwardJs, softmaxJs, sumRowsJs,
} from '../../src/nn/kernels/elementwise-js.js';
import { gemmModule, wasmKernels } from '../../src/nn/kernels/gemm-wasm.js';
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
  it('addRow, sumRows and fillRows give the same bytes as the JS reference, any size, stride and alignment', () => {
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
      const fill = region(x).slice();
      fillRowsJs(rows, cols, b, new Float32Array(fill.buffer, 16, rows * ld), ld);
      k.fillRows(rows, cols, b, x, ld);
      expect(region(x)).toEqual(fill);
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

  it('exp: relative error within 2e-7 of Math.exp where e^x is a normal float; 0 below, never NaN', () => {
    const { arena } = setup();
    const exp = new WA!.Instance(gemmModule()!, { env: { memory: arena.memory } }).exports.exp as (n: number, x: number, y: number) => void;
    const xs: number[] = [-Infinity, -1e30, -1000, -104, -88, -87.34, -87.33, 0, -0, 1e-9, -1e-9, 88];
    for (let i = 0; i <= 40000; i++) xs.push(-100 + (188 * i) / 40000);
    const x = arena.f32(xs.length + 1).subarray(1);
    x.set(xs);
    const y = arena.f32(xs.length);
    exp(x.length, x.byteOffset, y.byteOffset);
    for (let i = 0; i < x.length; i++) {
      const want = Math.exp(x[i]!);
      const got = y[i]!;
      expect(Number.isNaN(got)).toBe(false);
      if (want >= 1.1754944e-38) expect(Math.abs(got - want) / want, `x ${x[i]}`).toBeLessThanOrEqual(2e-7);
      else expect(got).toBeLessThanOrEqual(1.2e-38);
      if (x[i]! < -87.34) expect(got).toBe(0);
    }
  });

  /**
   * Within 1e-6 relative, plus float32's rounding of the argument scale * s - max (the reference takes it
   * in float64): 2^-23 of its terms' magnitude, relative to the result.
   */
  it('softmax agrees with the JS reference over any rows, width, stride and offset; masked columns and guards untouched', () => {
    const { k, rng, view } = setup();
    for (let t = 0; t < 60; t++) {
      const rows = 1 + rng.int(5);
      const cols = 1 + rng.int(19);
      const ld = cols + rng.int(4);
      const so = rng.int(5);
      const s = view(so + rows * ld, rng.int(4));
      const spread = t % 3 === 0 ? 200 : 8;
      for (let i = 0; i < s.length; i++) s[i] = (rng.uniform() * 2 - 1) * spread;
      if (t % 5 === 0) s[so] = -1e30;
      const scale = 0.25 + rng.uniform();
      const orig = s.slice();
      const want = region(s).slice();
      softmaxJs(rows, cols, new Float32Array(want.buffer, 16, s.length), so, ld, scale);
      k.softmax(rows, cols, s, so, ld, scale);
      const got = region(s);
      got.forEach((v, i) => {
        expect(Number.isNaN(v)).toBe(false);
        const j = i - 4;
        const r = Math.floor((j - so) / ld);
        const inRow = j >= so && r < rows && j - so - r * ld < cols;
        if (!inRow) return expect(v).toBe(want[i]);
        let m = -Infinity;
        for (let c = 0; c < cols; c++) m = Math.max(m, orig[so + r * ld + c]! * scale);
        const argument = Math.abs(orig[j]! * scale) + Math.abs(m);
        expect(Math.abs(v - want[i]!), `t ${t} i ${i}`).toBeLessThanOrEqual(want[i]! * (1e-6 + 1.2e-7 * Math.min(argument, 200)) + 1e-30);
      });
    }
  });

  it('layerNorm and its backward agree with the JS reference (float32 statistics), relu gives the same bytes', () => {
    const { k, rng, view } = setup();
    for (const [rows, dim] of [[1, 1], [3, 5], [4, 64], [2, 37]] as const) {
      const x = view(rows * dim, rng.int(4));
      for (let i = 0; i < x.length; i++) x[i] = x[i]! * 3 + 1;
      const [w, b, gw, gb] = [view(dim, 1), view(dim, 2), view(dim, 3), view(dim, 0)];
      const [y, xhat, rstd, dy, dx] = [view(rows * dim, 1), view(rows * dim, 2), view(rows, 3), view(rows * dim, 0), view(rows * dim, 1)];
      const want = { y: y.slice(), xhat: xhat.slice(), rstd: rstd.slice(), gw: gw.slice(), gb: gb.slice(), dx: dx.slice() };
      layerNormJs(rows, dim, x, w, b, 1e-5, want.y, want.xhat, want.rstd);
      k.layerNorm(rows, dim, x, w, b, 1e-5, y, xhat, rstd);
      layerNormBackwardJs(rows, dim, dy, want.xhat, want.rstd, w, want.gw, want.gb, want.dx);
      k.layerNormBackward(rows, dim, dy, xhat, rstd, w, gw, gb, dx);
      const close = (a: Float32Array, e: Float32Array, tol: number): void => a.forEach((v, i) => expect(Math.abs(v - e[i]!), `${rows}x${dim}`).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(e[i]!))));
      close(y, want.y, 2e-6);
      close(xhat, want.xhat, 2e-6);
      close(rstd, want.rstd, 2e-6);
      close(dx, want.dx, 1e-5);
      close(gw, want.gw, 2e-6);
      close(gb, want.gb, 2e-6);
    }
    for (const n of [1, 3, 4, 9, 130]) {
      const z = view(n, rng.int(4));
      z[0] = -0;
      const dy = view(n, 1);
      const [y, dz] = [view(n, 2), view(n, 3)];
      const [wy, wdz] = [region(y).slice(), region(dz).slice()];
      reluJs(n, z, new Float32Array(wy.buffer, 16, n));
      reluBackwardJs(n, z, dy, new Float32Array(wdz.buffer, 16, n));
      k.relu(n, z, y);
      k.reluBackward(n, z, dy, dz);
      expect(region(y)).toEqual(wy);
      expect(region(dz)).toEqual(wdz);
    }
  });

  it('GRU gate kernels agree with the JS reference (sigmoid and tanh to 3e-7), with offsets, strides and no dy', () => {
    const { k, rng, view } = setup();
    for (const [rows, H] of [[1, 1], [3, 5], [2, 32], [4, 7]] as const) {
      const T = 3;
      const [go, yo, po] = [H, 2 * H, rows * H];
      const ldg = T * 3 * H;
      const g = view(go + rows * ldg, 1);
      for (let i = 0; i < g.length; i++) g[i] = g[i]! * 6;
      g[go] = 40;
      g[go + H] = -40;
      const [gh, hs, hn, y] = [view(rows * 3 * H, 2), view(3 * rows * H, 3), view(rows * H, 0), view(yo + rows * T * H, 1)];
      const want = { g: g.slice(), hn: hn.slice(), hs: hs.slice(), y: y.slice() };
      gruForwardJs(rows, H, want.g, go, ldg, gh, 0, want.hs, 0, want.hn, 0, want.hs, po, want.y, yo, T * H);
      k.gruForward(rows, H, g, go, ldg, gh, 0, hs, 0, hn, 0, hs, po, y, yo, T * H);
      const close = (a: Float32Array, e: Float32Array, tol: number, what: string): void => a.forEach((v, i) => expect(Math.abs(v - e[i]!), `${what} ${rows}x${H} ${i}`).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(e[i]!))));
      close(g, want.g, 3e-7, 'gates');
      close(hn, want.hn, 0, 'hn');
      close(hs, want.hs, 5e-7, 'hs');
      close(y, want.y, 5e-7, 'y');
      for (const withDy of [true, false]) {
        const [cur, dy] = [view(rows * H, 2), view(yo + rows * T * H, 3)];
        const [dgi, dgh, pg] = [view(go + rows * ldg, 0), view(rows * 3 * H, 1), view(rows * H, 2)];
        const w = { dgi: dgi.slice(), dgh: dgh.slice(), pg: pg.slice() };
        gruBackwardJs(rows, H, cur, 0, withDy ? dy : null, yo, T * H, g, go, ldg, hs, 0, hn, 0, w.dgi, go, w.dgh, 0, w.pg, 0);
        k.gruBackward(rows, H, cur, 0, withDy ? dy : null, yo, T * H, g, go, ldg, hs, 0, hn, 0, dgi, go, dgh, 0, pg, 0);
        close(dgi, w.dgi, 1e-6, 'dgi');
        close(dgh, w.dgh, 1e-6, 'dgh');
        close(pg, w.pg, 1e-6, 'pg');
      }
    }
  });

  it('softmaxBackward agrees with the JS reference to float32 rounding; mul gives the same bytes', () => {
    const { k, rng, view } = setup();
    for (const [rows, cols, ld] of [[1, 1, 1], [3, 5, 7], [4, 64, 64], [2, 13, 16]] as const) {
      const po = rng.int(5);
      const [p, pd, ds] = [view(po + rows * ld, 1), view(po + rows * ld, 2), view(rows * ld, 3)];
      const want = region(ds).slice();
      softmaxBackwardJs(rows, cols, p, pd, po, new Float32Array(want.buffer, 16, ds.length), 0, ld, 0.25);
      k.softmaxBackward(rows, cols, p, pd, po, ds, 0, ld, 0.25);
      region(ds).forEach((v, i) => expect(Math.abs(v - want[i]!), `${rows}x${cols} ${i}`).toBeLessThanOrEqual(1e-6 * (cols + 1) * 0.25));
    }
    for (const n of [1, 4, 7, 130]) {
      const [a, b, y] = [view(n + 2, 1), view(n + 1, 2), view(n, 3)];
      const want = region(y).slice();
      mulJs(n, a, 2, b, 1, new Float32Array(want.buffer, 16, n), 0);
      k.mul(n, a, 2, b, 1, y, 0);
      expect(region(y)).toEqual(want);
    }
  });
});

