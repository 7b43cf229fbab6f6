import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { moduleBytes, V128, v128Zero, WA } from '../../src/core/wasm-asm.js';
import { isKilnError } from '../../src/core/errors.js';
import { clusteredCorpus, trainItem2Vec } from '../../src/embeddings/index.js';
import { jsPairKernel } from '../../src/embeddings/item2vec-kernel.js';
import { allocWasmVectors, item2vecModule, wasmPairKernel, wasmRows } from '../../src/embeddings/item2vec-wasm.js';

// A probe independent of the kernel (a module that does not build must fail the tests, not skip them).
const probe = moduleBytes([{ params: [], results: [V128] }], { shared: true, maxPages: 1 }, [{ type: 0, locals: [], body: v128Zero() }], []);
const simd = !!WA && WA.validate(probe);
const corpus = clusteredCorpus({ clusters: 10, perCluster: 20, sequences: 400, length: 20, seed: 11 });

function maxDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

const maxAbs = (a: Float32Array): number => a.reduce((m, x) => Math.max(m, Math.abs(x)), 0);

describe.skipIf(!simd)('item2vec WebAssembly SIMD kernel', () => {
  it('applies a block of pairs as the JS reference does, to float32 rounding', () => {
    const items = 7;
    const negatives = 3;
    for (const dim of [3, 10, 64, 150]) {
      const wasm = allocWasmVectors(items, dim, negatives, 1, 16)!;
      const rows = wasmRows(wasm);
      const ref = { syn0: new Float32Array(items * dim), syn1: new Float32Array(items * dim) };
      const rng = new Rng(dim, 0);
      for (let i = 0; i < items; i++) {
        // item 6's input . item 6's output is about +16 and . item 5's output about -16: outside [-6, 6],
        // where sigmoid is taken as 1 or 0
        const c = 4 / Math.sqrt(dim);
        for (let j = 0; j < dim; j++) {
          const a = (rng.uniform() - 0.5) * 0.5 + (i === 6 ? c : 0);
          const b = (rng.uniform() - 0.5) * 0.5 + (i === 6 ? c : i === 5 ? -c : 0);
          ref.syn0[i * dim + j] = a;
          ref.syn1[i * dim + j] = b;
          rows.syn0[i * wasm.stride + j] = a;
          rows.syn1[i * wasm.stride + j] = b;
        }
      }
      const reference = jsPairKernel({ syn0: ref.syn0, syn1: ref.syn1, dim, stride: dim, negatives, capacity: 16 });
      const block = [
        [0, 1, 2, 3, 4],
        [1, 0, -1, 0, 0],
        [6, 6, 6, -1, 2],
        [2, 5, 1, 1, 1],
        [6, 5, 6, 6, 4],
        [3, 4, -1, -1, -1],
      ].flat();
      const kernel = wasmPairKernel(wasm, 0);
      for (const k of [reference, kernel]) k.pairs.set(block);
      for (const alpha of [0.05, 0.3]) {
        reference.apply(6, alpha);
        kernel.apply(6, alpha);
      }
      expect(reference.name).toBe('js');
      expect(kernel.name).toBe('wasm-simd');
      const unpad = (x: Float32Array): Float32Array => Float32Array.from({ length: items * dim }, (_, i) => x[Math.floor(i / dim) * wasm.stride + (i % dim)]!);
      expect(maxDiff(unpad(rows.syn0), ref.syn0), `dim ${dim} input`).toBeLessThan(1e-5 * maxAbs(ref.syn0));
      expect(maxDiff(unpad(rows.syn1), ref.syn1), `dim ${dim} output`).toBeLessThan(1e-5 * maxAbs(ref.syn1));
      for (let i = 0; i < items; i++) for (let j = dim; j < wasm.stride; j++) expect(rows.syn0[i * wasm.stride + j]! + rows.syn1[i * wasm.stride + j]!).toBe(0);
    }
  });

  it('trains the same vectors as the JS kernel on one thread, to float tolerance', async () => {
    for (const dim of [5, 32, 160]) {
      const opts = { items: corpus.items, dim, epochs: 2, seed: 5 };
      const js = await trainItem2Vec(corpus.tokens, corpus.offsets, { ...opts, kernel: 'js' });
      const wasm = await trainItem2Vec(corpus.tokens, corpus.offsets, { ...opts, kernel: 'wasm-simd' });
      expect(js.kernel).toBe('js');
      expect(wasm.kernel).toBe('wasm-simd');
      expect(wasm.pairs).toBe(js.pairs);
      expect(wasm.input.data.length).toBe(corpus.items * dim);
      expect(maxDiff(wasm.input.data, js.input.data), `dim ${dim}`).toBeLessThan(1e-3 * maxAbs(js.input.data));
      expect(maxDiff(wasm.output.data, js.output.data), `dim ${dim}`).toBeLessThan(1e-3 * maxAbs(js.output.data));
    }
  });

  it('runs by default, and gives the same bytes for a seed', async () => {
    const opts = { items: corpus.items, dim: 12, epochs: 1, seed: 9 };
    const a = await trainItem2Vec(corpus.tokens, corpus.offsets, opts);
    const b = await trainItem2Vec(corpus.tokens, corpus.offsets, opts);
    expect(a.kernel).toBe('wasm-simd');
    expect(Buffer.from(a.input.data.buffer).equals(Buffer.from(b.input.data.buffer))).toBe(true);
    expect(Buffer.from(a.output.data.buffer).equals(Buffer.from(b.output.data.buffer))).toBe(true);
  });

  it('builds a module for each row width, and leaves vectors past 2 GiB to the JS kernel', () => {
    for (const vecs of [1, 7, 32, 33, 70]) expect(item2vecModule(vecs), `${vecs} vectors`).not.toBeNull();
    expect(allocWasmVectors(2 ** 22, 128, 5, 1, 16)).toBeNull();
  });
});

describe('item2vec kernel choice', () => {
  it('rejects an unknown kernel, naming the valid ones', async () => {
    const e = await trainItem2Vec(corpus.tokens, corpus.offsets, { items: corpus.items, kernel: 'gpu' as 'js' }).then(() => undefined, (err: unknown) => err);
    expect(isKilnError(e, 'INVALID_ARGUMENT')).toBe(true);
    expect((e as Error).message).toMatch(/kernel 'gpu' is unknown; use one of: auto, js, wasm-simd/);
  });

  it('runs the JS kernel when asked, on one and two threads', async () => {
    for (const threads of [1, 2]) {
      const r = await trainItem2Vec(corpus.tokens, corpus.offsets, { items: corpus.items, dim: 8, epochs: 1, seed: 1, threads, kernel: 'js' });
      expect(r.kernel).toBe('js');
      expect(r.pairs).toBeGreaterThan(0);
      expect(r.input.data.every(Number.isFinite)).toBe(true);
    }
  });
});

describe('item2vec result shape', () => {
  it('returns exactly items x dim values whatever the allocation rounded to', async () => {
    for (const items of [35, 36, 37]) {
      const tokens = Int32Array.from({ length: 400 }, (_, i) => (i * 7) % items);
      const r = await trainItem2Vec(tokens, Int32Array.from([0, 200, 400]), { items, dim: 8, epochs: 1, seed: 3 });
      expect(r.input.data.length).toBe(items * 8);
      expect(r.output.data.length).toBe(items * 8);
    }
  });
});
