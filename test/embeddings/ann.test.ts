import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KilnError } from '../../src/core/errors.js';
import { ExactIndex, VectorIndex, clusteredVectors, recallAt, type AnnId } from '../../src/embeddings/index.js';

const DIM = 32;
const N = 20_000;
const Q = 200;
const all = clusteredVectors(N + Q, DIM, 64, 7);
const data = all.subarray(0, N * DIM);
const queries = all.slice(N * DIM);
const ids = Array.from({ length: N }, (_, i) => i * 3 + 1);
const dir = mkdtempSync(join(tmpdir(), 'kiln-ann-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ann = VectorIndex.build(ids, data, { dim: DIM, metric: 'cos', connectivity: 16, expansionAdd: 128, expansionSearch: 64 });
const exact = ExactIndex.build(ids, data, { dim: DIM, metric: 'cos' });

function expectKiln(fn: () => unknown, code: string, text: RegExp): void {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(KilnError);
    expect((e as KilnError).code).toBe(code);
    expect((e as KilnError).message).toMatch(text);
    return;
  }
  throw new Error('expected a KilnError');
}

describe('ExactIndex', () => {
  it('ranks by the metric, ties by insertion, and answers in the id form it was given', () => {
    const v = Float32Array.of(1, 0, 0, 1, 3, 3, -1, 0);
    const l2 = ExactIndex.build([10n, 20n, 30n, 40n], v, { dim: 2, metric: 'l2' });
    const h = l2.search(Float32Array.of(0.9, 0.1), 3);
    expect(h.ids).toEqual([10n, 20n, 40n]);
    expect(h.distances[0]).toBeCloseTo(0.02, 5);
    expect(h.distances[1]).toBeCloseTo(0.81 + 0.81, 5);
    const ip = ExactIndex.build([1, 2, 3, 4], v, { dim: 2, metric: 'ip' });
    expect(ip.search(Float32Array.of(1, 1), 2).ids).toEqual([3, 1]);
    expect(ip.search(Float32Array.of(1, 1), 2).distances[0]).toBeCloseTo(1 - 6, 5);
    const cos = ExactIndex.build([1, 2, 3, 4], v, { dim: 2, metric: 'cos' });
    expect(cos.search(Float32Array.of(2, 2), 1).ids).toEqual([3]);
    expect(cos.search(Float32Array.of(2, 2), 1).distances[0]).toBeCloseTo(0, 5);
  });
});

describe('VectorIndex (HNSW through usearch)', () => {
  it('reaches recall@10 >= 0.95 against exact search on 20k x 32 clustered vectors (cos and l2)', () => {
    const r = recallAt(ann, exact, queries, 10);
    expect(r).toBeGreaterThanOrEqual(0.95);
    const q0 = queries.subarray(0, DIM);
    const a = ann.search(q0, 10);
    const e = exact.search(q0, 10);
    expect(a.ids.length).toBe(10);
    expect(typeof a.ids[0]).toBe('number');
    expect(a.distances[0]).toBeCloseTo(e.distances[0]!, 4);
    const annL2 = VectorIndex.build(ids, data, { dim: DIM, metric: 'l2', expansionSearch: 64 });
    const exL2 = ExactIndex.build(ids, data, { dim: DIM, metric: 'l2' });
    expect(recallAt(annL2, exL2, queries.subarray(0, 50 * DIM), 10)).toBeGreaterThanOrEqual(0.95);
  });

  it('a larger search beam does not lower recall, and a tiny graph and beam do lower it', () => {
    const small = VectorIndex.build(ids, data, { dim: DIM, connectivity: 2, expansionAdd: 4, expansionSearch: 1 });
    const rSmall = recallAt(small, exact, queries, 10);
    expect(rSmall).toBeLessThan(recallAt(ann, exact, queries, 10));
  });

  it('honours a predicate filter and an allowed-id set, in either id form', () => {
    const even = (id: AnnId): boolean => Number(id) % 2 === 0;
    const hits = ann.searchBatch(queries, 10, { filter: even });
    for (const h of hits) {
      expect(h.ids.length).toBe(10);
      for (const id of h.ids) expect(even(id)).toBe(true);
    }
    expect(recallAt(ann, exact, queries, 10, even)).toBeGreaterThanOrEqual(0.9);
    const allowed = new Set<AnnId>(ids.filter((_, i) => i % 400 === 0).map((x, i) => (i % 2 ? BigInt(x) : x)));
    expect(allowed.size).toBe(50);
    const q0 = queries.subarray(0, DIM);
    const a = ann.search(q0, 10, allowed);
    const e = exact.search(q0, 10, allowed);
    for (const id of a.ids) expect(allowed.has(id) || allowed.has(BigInt(id))).toBe(true);
    expect(a.ids.length).toBe(10);
    expect(a.ids.filter((id) => e.ids.includes(id)).length).toBeGreaterThanOrEqual(9);
    expect(ann.search(q0, 5, new Set<AnnId>([ids[3]!, 999_999_999])).ids).toEqual([ids[3]]);
  });

  it('batch search equals one-by-one search', () => {
    const batch = ann.searchBatch(queries.subarray(0, 20 * DIM), 10, { threads: 2 });
    for (let i = 0; i < 20; i++) expect(batch[i]!.ids).toEqual(ann.search(queries.subarray(i * DIM, (i + 1) * DIM), 10).ids);
  });

  it('round-trips through save, load and a memory-mapped view with the same results', () => {
    const path = join(dir, 'cos.usearch');
    ann.save(path);
    const loaded = VectorIndex.load(path);
    const viewed = VectorIndex.load(path, { view: true });
    expect(viewed.viewed).toBe(true);
    expect([loaded.size, viewed.size, viewed.dim, viewed.metric]).toEqual([N, N, DIM, 'cos']);
    const base = ann.searchBatch(queries, 10);
    for (const idx of [loaded, viewed]) {
      const got = idx.searchBatch(queries, 10);
      for (let i = 0; i < Q; i++) {
        expect(got[i]!.ids).toEqual(base[i]!.ids);
        expect(Array.from(got[i]!.distances)).toEqual(Array.from(base[i]!.distances));
      }
    }
    const big = VectorIndex.build([5n, 7n], Float32Array.of(1, 0, 0, 1), { dim: 2, metric: 'ip' });
    big.save(join(dir, 'big.usearch'));
    expect(VectorIndex.load(join(dir, 'big.usearch'), { view: true }).search(Float32Array.of(0, 1), 1).ids).toEqual([7n]);
    const ex = join(dir, 'exact.bin');
    exact.save(ex);
    const exLoaded = ExactIndex.load(ex);
    expect(exLoaded.searchBatch(queries.subarray(0, 10 * DIM), 10)).toEqual(exact.searchBatch(queries.subarray(0, 10 * DIM), 10));
  });

  it('refuses bad input with a clear KilnError', () => {
    expectKiln(() => ann.search(new Float32Array(DIM + 1).fill(1), 10), 'INVALID_ARGUMENT', /dimension 32/);
    expectKiln(() => ann.searchBatch(new Float32Array(DIM * 2 + 3).fill(1), 10), 'INVALID_ARGUMENT', /multiple of the dimension/);
    expectKiln(() => VectorIndex.build([], new Float32Array(0), { dim: DIM }), 'INVALID_ARGUMENT', /empty/);
    expectKiln(() => ExactIndex.build([], new Float32Array(0), { dim: DIM }), 'INVALID_ARGUMENT', /empty/);
    expectKiln(() => VectorIndex.build([1, 2], new Float32Array(6).fill(1), { dim: 2 }), 'INVALID_ARGUMENT', /2 ids for 3 vectors/);
    expectKiln(() => VectorIndex.build([1, 1], new Float32Array(4).fill(1), { dim: 2 }), 'INVALID_ARGUMENT', /duplicate id 1/);
    expectKiln(() => VectorIndex.build([-1], Float32Array.of(1, 1), { dim: 2 }), 'INVALID_ARGUMENT', /non-negative/);
    expectKiln(() => VectorIndex.build([1], Float32Array.of(1, NaN), { dim: 2 }), 'INVALID_ARGUMENT', /non-finite/);
    expectKiln(() => VectorIndex.build([1], Float32Array.of(0, 0), { dim: 2, metric: 'cos' }), 'INVALID_ARGUMENT', /all zeros/);
    expectKiln(() => VectorIndex.build([1], Float32Array.of(0, 1), { dim: 2, metric: 'dot' as never }), 'INVALID_ARGUMENT', /metric must be one of/);
    expectKiln(() => ann.search(queries.subarray(0, DIM), 0), 'INVALID_ARGUMENT', /k must be/);
    expectKiln(() => VectorIndex.load(join(dir, 'missing.usearch')), 'FILE_NOT_FOUND', /does not exist/);
    const meta = { format: 1, dim: 2, metric: 'cos', connectivity: 16, expansionAdd: 8, expansionSearch: 8, idKind: 'number', size: 3, bytes: 12 };
    writeFileSync(join(dir, 'junk.usearch'), 'not an index');
    writeFileSync(join(dir, 'junk.usearch.json'), JSON.stringify(meta));
    expectKiln(() => VectorIndex.load(join(dir, 'junk.usearch'), { view: true }), 'FILE_INVALID', /too short/);
    writeFileSync(join(dir, 'junk.usearch'), Buffer.alloc(600, 7));
    writeFileSync(join(dir, 'junk.usearch.json'), JSON.stringify({ ...meta, bytes: 600 }));
    expectKiln(() => VectorIndex.load(join(dir, 'junk.usearch')), 'FILE_INVALID', /shape differs/);
    const good = readFileSync(join(dir, 'big.usearch'));
    writeFileSync(join(dir, 'cut.usearch'), good.subarray(0, good.length - 40));
    writeFileSync(join(dir, 'cut.usearch.json'), readFileSync(join(dir, 'big.usearch.json')));
    expectKiln(() => VectorIndex.load(join(dir, 'cut.usearch'), { view: true }), 'FILE_INVALID', /bytes, the sidecar says/);
  });
});
