import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { gemmJs } from '../../src/nn/kernels/gemm-js.js';
import { DEFAULT_SHAPE } from '../../src/nn/kernels/gemm-wasm-code.js';
import { gemmModule, wasmKernels } from '../../src/nn/kernels/gemm-wasm.js';
import { Arena, Dense, jsKernels, kernelsFor, Params, type Gemm } from '../../src/nn/index.js';
import { check, wasmOr } from './gemm-check.js';

const run = promisify(execFile);

describe('WebAssembly SIMD GEMM', () => {
  it('compiles here (Node 20 has WebAssembly SIMD without flags)', () => {
    expect(gemmModule()).not.toBeNull();
    expect(kernelsFor(new Arena(1 << 20)).name).toBe('wasm-simd');
  });

  it('matches gemmJs on small and odd shapes, every transpose, beta 0 and 1, unaligned rows', () => {
    const arena = new Arena(1 << 22);
    const gemm = wasmOr(arena);
    const rng = new Rng(11);
    const sizes = [1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 17];
    let cases = 0;
    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        for (let t = 0; t < 60; t++) {
          const pick = (): number => sizes[rng.int(sizes.length)]!;
          const mark = arena.mark();
          check(gemm, arena, rng, {
            ta, tb, m: pick(), n: pick(), k: pick(), beta: rng.int(2) as 0 | 1,
            padA: rng.int(3), padB: rng.int(3), padC: rng.int(3), off: rng.int(4),
          });
          arena.release(mark);
          cases++;
        }
      }
    }
    expect(cases).toBe(240);
  });

  it('matches gemmJs past the block sizes (k > KC, n > NC, m not a multiple of MR) and on the model shapes', () => {
    const arena = new Arena(1 << 24);
    const gemm = wasmOr(arena);
    const rng = new Rng(12);
    const shapes: [boolean, boolean, number, number, number][] = [
      [false, true, 37, 300, 530], [true, false, 30, 530, 270], [true, true, 6, 265, 513], [false, false, 19, 520, 257],
      [false, true, 256, 96, 8], [false, true, 256, 96, 32], [true, false, 96, 32, 256], [false, false, 256, 32, 96],
      [false, true, 64, 64, 16], [false, false, 64, 16, 64], [true, false, 64, 16, 64], [false, true, 64, 192, 64],
    ];
    for (const [ta, tb, m, n, k] of shapes) {
      for (const beta of [0, 1] as const) {
        const mark = arena.mark();
        check(gemm, arena, rng, { ta, tb, m, n, k, beta, padA: 1, padB: 0, padC: 3, off: 1 });
        arena.release(mark);
      }
    }
  });

  it('handles k = 0 (C = beta C), empty products and single rows or columns', () => {
    const arena = new Arena(1 << 20);
    const gemm = wasmOr(arena);
    const rng = new Rng(13);
    const c = arena.f32(12).fill(5);
    gemm(false, false, 3, 2, 0, arena.f32(1), 1, arena.f32(1), 2, 1, c, 4);
    expect([...c]).toEqual(new Array(12).fill(5));
    gemm(false, false, 3, 2, 0, arena.f32(1), 1, arena.f32(1), 2, 0, c, 4);
    expect([...c]).toEqual([0, 0, 5, 5, 0, 0, 5, 5, 0, 0, 5, 5]);
    gemm(false, false, 0, 2, 3, arena.f32(1), 3, arena.f32(6), 2, 0, c, 4);
    expect(c[2]).toBe(5);
    for (const [m, n, k] of [[1, 1, 1], [1, 37, 70], [41, 1, 33], [1, 1, 600]]) {
      for (const ta of [false, true]) for (const tb of [false, true]) {
        const mark = arena.mark();
        check(gemm, arena, rng, { ta, tb, m: m!, n: n!, k: k!, beta: 1, padA: 0, padB: 1, padC: 0, off: 3 });
        arena.release(mark);
      }
    }
  });

  it('matches gemmJs with every micro-kernel height and block size it can be built with', () => {
    const rng = new Rng(14);
    for (const shape of [{ ...DEFAULT_SHAPE, mr: 6, kc: 24, nc: 16, }, { ...DEFAULT_SHAPE, mr: 5, kc: 8, nc: 8 }, { ...DEFAULT_SHAPE, mr: 1 }]) {
      const arena = new Arena(1 << 22);
      const gemm = wasmOr(arena, shape);
      for (const ta of [false, true]) for (const tb of [false, true]) for (const beta of [0, 1] as const) {
        const mark = arena.mark();
        check(gemm, arena, rng, { ta, tb, m: 1 + rng.int(20), n: 1 + rng.int(40), k: 1 + rng.int(60), beta, padA: 1, padB: 2, padC: 1, off: 1 });
        arena.release(mark);
      }
    }
  });

  it('runs in WebAssembly on views made after the memory grew, and gives the same bytes every time', () => {
    const arena = new Arena(1 << 16);
    const gemm = wasmOr(arena);
    const rng = new Rng(15);
    const { got, want, rerun } = check(gemm, arena, rng, { ta: false, tb: false, m: 9, n: 20, k: 2000, beta: 0, padA: 0, padB: 0, padC: 0, off: 0 });
    // the arena grew past its first 64 KiB for these operands; summed by KC blocks of 256 steps,
    // float32 rounding differs from gemmJs's sequential order somewhere in 180 sums of 2000
    expect(arena.memory!.buffer.byteLength).toBeGreaterThan(1 << 16);
    expect(got.some((x, i) => x !== want[i])).toBe(true);
    expect(rerun()).toEqual(got);
  });

  it('falls back to gemmJs for arrays outside the arena', () => {
    const arena = new Arena(1 << 20);
    const gemm = wasmOr(arena);
    const a = new Float32Array([1, 2, 3, 4]);
    const b = arena.f32(4);
    b.set([5, 6, 7, 8]);
    const c = new Float32Array(4);
    gemm(false, false, 2, 2, 2, a, 2, b, 2, 0, c, 2);
    expect([...c]).toEqual([19, 22, 43, 50]);
  });

  it('keeps one kernel set per arena, pins its scratch, and uses JS without a WebAssembly memory', () => {
    const arena = new Arena(1 << 20);
    const mark = arena.mark();
    const k = kernelsFor(arena);
    expect(kernelsFor(arena)).toBe(k);
    expect(() => arena.release(mark)).toThrow(/pinned/);
    expect(kernelsFor(new Arena(1 << 20, false))).toBe(jsKernels);
  });

  it('gives Dense the same outputs and gradients as the JS kernels', () => {
    const run = (wasm: boolean): Float32Array[] => {
      const arena = new Arena(1 << 22, wasm);
      const ctx = { arena, k: wasm ? kernelsFor(arena) : jsKernels, training: true, rng: new Rng(1) };
      const params = new Params(arena);
      const d = new Dense(params, 'fc', 37, 21, new Rng(2));
      const x = arena.f32(13 * 37);
      const rng = new Rng(3);
      for (let i = 0; i < x.length; i++) x[i] = rng.uniform() * 2 - 1;
      const y = d.forward(ctx, x, 13);
      const dx = d.backward(ctx, y);
      return [y, dx, d.weight.grad].map((v) => v.slice());
    };
    const [w, j] = [run(true), run(false)];
    w.forEach((v, t) => v.forEach((x, i) => expect(Math.abs(x - j[t]![i]!)).toBeLessThan(1e-4 * (1 + Math.abs(j[t]![i]!)))));
  });

  // In a child process started with the flag: setting a V8 flag here would change the kernels of every
  // later test file in this (shared, isolate: false) worker process.
  it('matches gemmJs with the fused multiply-add of relaxed SIMD (a child process with its V8 flag)', async () => {
    const child = join(import.meta.dirname, 'relaxed-simd-child.ts');
    const { stdout } = await run(process.execPath, ['--experimental-wasm-relaxed-simd', '--import', 'tsx', child], { cwd: join(import.meta.dirname, '..', '..') });
    expect(stdout.trim()).toBe('relaxed SIMD GEMM matches gemmJs in 8 cases');
  }, 60_000);
});
