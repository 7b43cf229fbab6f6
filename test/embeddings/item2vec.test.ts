import { describe, expect, it } from 'vitest';
import { isKilnError } from '../../src/core/errors.js';
import { aliasTable, clusteredCorpus, nearest, trainItem2Vec } from '../../src/embeddings/index.js';

const corpus = clusteredCorpus({ clusters: 10, perCluster: 20, sequences: 1500, length: 20, seed: 11 });

function agreement(vectors: Parameters<typeof nearest>[0], cluster: Int32Array): number {
  let same = 0;
  for (let i = 0; i < vectors.count; i++) for (const nb of nearest(vectors, i, 10)) if (cluster[nb.id] === cluster[i]) same++;
  return same / (vectors.count * 10);
}

async function rejects(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  const e = await p.then(() => undefined, (err: unknown) => err);
  expect(isKilnError(e, 'INVALID_ARGUMENT')).toBe(true);
  expect((e as Error).message).toMatch(pattern);
}

describe('item2vec', () => {
  it('one thread gives the same bytes for a seed, other bytes for another seed', async () => {
    const opts = { items: corpus.items, dim: 16, epochs: 1, seed: 5 };
    const a = await trainItem2Vec(corpus.tokens, corpus.offsets, opts);
    const b = await trainItem2Vec(corpus.tokens, corpus.offsets, opts);
    const c = await trainItem2Vec(corpus.tokens, corpus.offsets, { ...opts, seed: 6 });
    expect(Buffer.from(a.input.data.buffer).equals(Buffer.from(b.input.data.buffer))).toBe(true);
    expect(Buffer.from(a.output.data.buffer).equals(Buffer.from(b.output.data.buffer))).toBe(true);
    expect(a.pairs).toBe(b.pairs);
    expect(Buffer.from(a.input.data.buffer).equals(Buffer.from(c.input.data.buffer))).toBe(false);
  });

  it('puts the nearest neighbours of each item in its planted cluster (1 and 2 threads)', async () => {
    for (const threads of [1, 2]) {
      const r = await trainItem2Vec(corpus.tokens, corpus.offsets, { items: corpus.items, dim: 24, epochs: 3, seed: 3, threads });
      const got = agreement(r.input, corpus.cluster);
      expect(got, `threads ${threads}`).toBeGreaterThanOrEqual(0.9);
    }
    const untrained = await trainItem2Vec(corpus.tokens, corpus.offsets, { items: corpus.items, dim: 24, epochs: 1, seed: 3, alpha: 1e-9 });
    expect(agreement(untrained.input, corpus.cluster)).toBeLessThan(0.25);
  });

  it('counts (centre, context) pairs as a reference count', async () => {
    const tokens = Int32Array.from([0, 1, 2, 3, 4, 5, 6, 0, 1, 2, 3, 4]);
    const offsets = Int32Array.from([0, 7, 8, 12]);
    let ref = 0;
    for (let s = 0; s + 1 < offsets.length; s++) {
      const n = offsets[s + 1]! - offsets[s]!;
      for (let p = 0; p < n; p++) for (let q = 0; q < n; q++) if (q !== p && Math.abs(q - p) <= 2) ref++;
    }
    const r = await trainItem2Vec(tokens, offsets, { items: 7, dim: 4, window: 2, dynamicWindow: false, sample: 0, epochs: 3, seed: 1 });
    expect(r.pairs).toBe(3 * ref);
    expect(Array.from(r.counts)).toEqual([2, 2, 2, 2, 2, 1, 1]);
    const long = clusteredCorpus({ clusters: 2, perCluster: 50, sequences: 200, length: 200, seed: 2 });
    const d = await trainItem2Vec(long.tokens, long.offsets, { items: long.items, dim: 4, window: 5, sample: 0, epochs: 1, seed: 1 });
    const expected = 200 * 200 * 6;
    expect(Math.abs(d.pairs - expected) / expected).toBeLessThan(0.05);
    const sub = await trainItem2Vec(long.tokens, long.offsets, { items: long.items, dim: 4, window: 5, sample: 1e-3, epochs: 1, seed: 1 });
    expect(sub.pairs).toBeLessThan(d.pairs * 0.9);
  });

  it('builds an exact alias table of the weights', () => {
    const w = Float64Array.from([1, 0, 3, 0.5, 7, 2]);
    const { prob, alias } = aliasTable(w);
    const mass = new Float64Array(w.length);
    for (let i = 0; i < w.length; i++) {
      mass[i] = mass[i]! + prob[i]!;
      mass[alias[i]!] = mass[alias[i]!]! + 1 - prob[i]!;
    }
    const total = w.reduce((s, x) => s + x, 0);
    for (let i = 0; i < w.length; i++) expect(mass[i]! / w.length).toBeCloseTo(w[i]! / total, 6);
  });

  it('finds exact cosine neighbours', () => {
    const v = { dim: 2, count: 4, data: Float32Array.from([1, 0, 2, 0.1, 0, 1, -1, 0]) };
    expect(nearest(v, 0, 2).map((n) => n.id)).toEqual([1, 2]);
    expect(nearest(v, 0, 3)[2]!.id).toBe(3);
    expect(nearest(v, 0, 3)[2]!.score).toBeCloseTo(-1, 6);
    expect(() => nearest(v, 4, 1)).toThrow(/outside/);
  });

  it('rejects bad input', async () => {
    const t = Int32Array.from([0, 1, 2]);
    const o = Int32Array.from([0, 3]);
    await rejects(trainItem2Vec(new Int32Array(0), Int32Array.from([0, 0]), { items: 3 }), /empty/);
    await rejects(trainItem2Vec(t, o, { items: 2 }), /outside \[0, 2\)/);
    await rejects(trainItem2Vec(Int32Array.from([0, -1]), Int32Array.from([0, 2]), { items: 2 }), /outside/);
    await rejects(trainItem2Vec(t, o, { items: 3, dim: 0 }), /dim/);
    await rejects(trainItem2Vec(t, o, { items: 3, dim: -4 }), /dim/);
    await rejects(trainItem2Vec(t, Int32Array.from([0, 2]), { items: 3 }), /offsets/);
    await rejects(trainItem2Vec(t, Int32Array.from([0, 2, 1, 3]), { items: 3 }), /decrease/);
    await rejects(trainItem2Vec(t, o, { items: 3, negatives: -1 }), /negatives/);
  });
});
