import { describe, expect, it } from 'vitest';
import { Rng } from '../../../src/core/rng.js';
import { isKilnError, type KilnErrorCode } from '../../../src/core/errors.js';
import { loadTextEncoder, TextLsa, topicalCorpus, type TextLsaJson } from '../../../src/embeddings/index.js';
import { randomizedSvd, symmetricEigen, TextFeatureScratch, textFeatureCounts, textWords } from '../../../src/embeddings/text/index.js';
import type { Csr } from '../../../src/embeddings/csr.js';

const corpus = topicalCorpus({ texts: 600, words: 12, seed: 3, typos: 0.1 });

/** Share of each text's 10 nearest neighbours (cosine; rows are unit vectors) in its own topic. */
function agreement(v: Float32Array, dim: number, topic: Int32Array, queries = 200): number {
  const n = topic.length;
  let same = 0;
  for (let q = 0; q < queries; q++) {
    const sims: { s: number; j: number }[] = [];
    for (let j = 0; j < n; j++) {
      if (j === q) continue;
      let s = 0;
      for (let c = 0; c < dim; c++) s += v[q * dim + c]! * v[j * dim + c]!;
      sims.push({ s, j });
    }
    sims.sort((a, b) => b.s - a.s || a.j - b.j);
    for (const { j } of sims.slice(0, 10)) if (topic[j] === topic[q]) same++;
  }
  return same / (queries * 10);
}

function expectKiln(f: () => unknown, code: KilnErrorCode, pattern: RegExp): void {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(isKilnError(err, code), `expected ${code}, got ${String(err)}`).toBe(true);
  expect((err as Error).message).toMatch(pattern);
}

const bytes = (a: Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe('TextLsa features', () => {
  it('reads words as runs of letters and digits, lower-cased, without accents', () => {
    const words = textWords("Déjà-vu: l'ÉTÉ 2024 naïve 東京").map((w) => String.fromCodePoint(...w));
    expect(words).toEqual(['deja', 'vu', 'l', 'ete', '2024', 'naive', '東京']);
  });

  it('counts unigrams, bigrams and framed character 3-grams into stable buckets', () => {
    const s = new TextFeatureScratch(1 << 20);
    // 'ab cd': 2 words + 1 bigram + '<ab' 'ab>' '<cd' 'cd>' = 7 features.
    const f = textFeatureCounts('ab cd', s);
    expect(f.buckets.length).toBe(7);
    expect(Array.from(f.counts)).toEqual(new Array(7).fill(1));
    expect(Array.from(f.buckets)).toEqual([...f.buckets].sort((a, b) => a - b));
    // Repeats count; the scratch is clean after each text.
    const g = textFeatureCounts('ab ab', s);
    expect(g.buckets.length).toBe(4);
    expect(Array.from(g.counts).sort()).toEqual([1, 2, 2, 2]);
    expect(Array.from(textFeatureCounts('ab cd', s).buckets)).toEqual(Array.from(f.buckets));
    // The hash is part of the model format: these buckets must never change.
    expect(Array.from(textFeatureCounts('ab', new TextFeatureScratch(1 << 18)).buckets)).toEqual([123985, 178421, 214859]);
  });
});

describe('TextLsa', () => {
  it('puts a text\'s nearest neighbours in its topic, far above chance', () => {
    const { vectors } = TextLsa.fitTransform(corpus.texts, { dim: 16, seed: 7 });
    const got = agreement(vectors, 16, corpus.topic);
    const rng = new Rng(1);
    const random = new Float32Array(vectors.length);
    for (let i = 0; i < random.length; i++) random[i] = rng.normal();
    const chance = agreement(random, 16, corpus.topic);
    expect(got).toBeGreaterThan(0.9);
    expect(chance).toBeLessThan(0.35);
  });

  it('encodes a training text (fold-in) to exactly its fitted vector; rows are unit length', () => {
    const { model, vectors } = TextLsa.fitTransform(corpus.texts, { dim: 16 });
    const some = [0, 5, 17, 599];
    const again = model.encodeSync(some.map((i) => corpus.texts[i]!));
    some.forEach((i, k) => {
      expect(bytes(again.subarray(k * 16, (k + 1) * 16)).equals(bytes(vectors.subarray(i * 16, (i + 1) * 16))), `text ${i}`).toBe(true);
      expect(Math.hypot(...again.subarray(k * 16, (k + 1) * 16))).toBeCloseTo(1, 5);
    });
    // A text with no known feature is zeros, not NaN.
    expect(Array.from(model.encodeSync(['']))).toEqual(new Array(16).fill(0));
  });

  it('round-trips through JSON: a served model encodes new text identically', async () => {
    const model = TextLsa.fit(corpus.texts, { dim: 16 });
    const json = JSON.parse(JSON.stringify(model.toJSON())) as TextLsaJson;
    expect(json.format).toBe('kiln.text-lsa@1');
    const back = TextLsa.fromJSON(json);
    const fresh = ['a brand new text with some words', corpus.texts[3]!.split(' ').reverse().join(' ')];
    expect(bytes(back.encodeSync(fresh)).equals(bytes(model.encodeSync(fresh)))).toBe(true);
    const served = await loadTextEncoder({ kind: 'lsa', json });
    expect(served.dim).toBe(16);
    expect(bytes(await served.encode(fresh)).equals(bytes(model.encodeSync(fresh)))).toBe(true);
    // Compact: idf of used buckets plus the projection, far smaller than the 2^18 hash space.
    expect(JSON.stringify(json).length).toBeLessThan(model.buckets.length * 16 * 4 * 1.4 + 100_000);
  });

  it('same seed, same bytes; another seed, another projection', () => {
    const a = JSON.stringify(TextLsa.fit(corpus.texts, { dim: 8, seed: 7 }).toJSON());
    const b = JSON.stringify(TextLsa.fit(corpus.texts, { dim: 8, seed: 7 }).toJSON());
    const c = TextLsa.fit(corpus.texts, { dim: 8, seed: 8 }).toJSON();
    expect(a).toBe(b);
    expect(c.projection).not.toBe((JSON.parse(a) as TextLsaJson).projection);
    expect(c.idf).toBe((JSON.parse(a) as TextLsaJson).idf);
  });

  it('keeps only buckets found in minDf texts', () => {
    const texts = ['alpha beta', 'alpha gamma', 'delta'];
    const m1 = TextLsa.fit(texts, { dim: 2, minDf: 1 });
    const m2 = TextLsa.fit(texts, { dim: 2, minDf: 2 });
    // minDf 2: only 'alpha' and its 3-grams '<al' 'alp' 'lph' 'pha' 'ha>' (plus 'a>' shared with beta/gamma/delta 3-grams).
    expect(m2.buckets.length).toBeLessThan(m1.buckets.length);
    expect(m2.buckets.length).toBeGreaterThanOrEqual(6);
    expect(Array.from(m2.encodeSync(['delta'])).some((v) => v !== 0)).toBe(true);
  });

  it('rejects bad input and unreadable JSON with what was expected', () => {
    expectKiln(() => TextLsa.fit([]), 'INVALID_ARGUMENT', /at least one text/);
    expectKiln(() => TextLsa.fit(['a', 3 as unknown as string]), 'INVALID_ARGUMENT', /texts\[1\] is number, expected a string/);
    expectKiln(() => TextLsa.fit(['a b'], { dim: 0 }), 'INVALID_ARGUMENT', /option dim must be an integer in \[1, 4096\], got 0/);
    expectKiln(() => TextLsa.fit(['a b'], { maxFeatures: 3 }), 'INVALID_ARGUMENT', /maxFeatures/);
    expectKiln(() => TextLsa.fit(['one', 'two']), 'INVALID_ARGUMENT', /no word or 3-gram occurs in 2 of the 2 texts/);
    const json = TextLsa.fit(corpus.texts.slice(0, 50), { dim: 4 }).toJSON();
    expectKiln(() => TextLsa.fromJSON({ ...json, format: 'kiln.text-lsa@2' }), 'MODEL_FORMAT_TOO_NEW', /newer than this kiln \(reads @1\)/);
    expectKiln(() => TextLsa.fromJSON({ ...json, format: 'kiln.gbdt@1' }), 'MODEL_FORMAT_INVALID', /format is 'kiln.gbdt@1', expected 'kiln.text-lsa@1'/);
    expectKiln(() => TextLsa.fromJSON({ ...json, features: 'words@0' }), 'MODEL_FORMAT_INVALID', /features are 'words@0'/);
    expectKiln(() => TextLsa.fromJSON({ ...json, dim: 5 }), 'MODEL_FORMAT_INVALID', /projection has \d+ values, expected \d+ buckets x 5/);
    expectKiln(() => TextLsa.fromJSON({ ...json, idf: 'AAA' }), 'MODEL_FORMAT_INVALID', /'idf' holds 2 bytes, not a whole number of 4-byte values/);
    expectKiln(() => TextLsa.fromJSON({ ...json, idf: 'AAAAAA==' }), 'MODEL_FORMAT_INVALID', /idf has 1 values for \d+ buckets/);
  });
});

describe('randomized SVD kernels', () => {
  it('Jacobi eigen-decomposition reconstructs a symmetric matrix, eigenvalues descending', () => {
    const rng = new Rng(4);
    const l = 9;
    const m = new Float64Array(l * l);
    for (let i = 0; i < l; i++) for (let j = i; j < l; j++) m[i * l + j] = m[j * l + i] = rng.normal();
    const { values, vectors } = symmetricEigen(m, l);
    for (let i = 1; i < l; i++) expect(values[i]!).toBeLessThanOrEqual(values[i - 1]!);
    for (let i = 0; i < l; i++) {
      for (let j = 0; j < l; j++) {
        let r = 0;
        let o = 0;
        for (let k = 0; k < l; k++) {
          r += vectors[i * l + k]! * values[k]! * vectors[j * l + k]!;
          o += vectors[k * l + i]! * vectors[k * l + j]!;
        }
        expect(r).toBeCloseTo(m[i * l + j]!, 9);
        expect(o).toBeCloseTo(i === j ? 1 : 0, 9);
      }
    }
  });

  it('finds the top singular values and vectors of a sparse matrix of known low rank plus noise', () => {
    // X = sum_j s_j u_j v_j^T over 3 orthogonal planted directions, 40 x 30, then sparsified by dropping tiny entries.
    const n = 40;
    const m = 30;
    const rng = new Rng(9);
    const planted = [9, 4, 2];
    const orth = (len: number): Float64Array[] => {
      const vs: Float64Array[] = [];
      for (let j = 0; j < planted.length; j++) {
        const v = Float64Array.from({ length: len }, () => rng.normal());
        for (const u of vs) {
          const d = v.reduce((a, x, i) => a + x * u[i]!, 0);
          for (let i = 0; i < len; i++) v[i]! -= d * u[i]!;
        }
        const nv = Math.hypot(...v);
        vs.push(v.map((x) => x / nv));
      }
      return vs;
    };
    const us = orth(n);
    const vs = orth(m);
    const dense = new Float64Array(n * m);
    for (let j = 0; j < planted.length; j++) for (let r = 0; r < n; r++) for (let c = 0; c < m; c++) dense[r * m + c]! += planted[j]! * us[j]![r]! * vs[j]![c]!;
    const indptr = new Int32Array(n + 1);
    const indices: number[] = [];
    const data: number[] = [];
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < m; c++) {
        indices.push(c);
        data.push(dense[r * m + c]!);
      }
      indptr[r + 1] = indices.length;
    }
    const x: Csr = { nRows: n, nCols: m, indptr, indices: Int32Array.from(indices), data: Float32Array.from(data) };
    const { v, s } = randomizedSvd(x, 3, { seed: 1, oversample: 5, powerIterations: 2 });
    planted.forEach((want, j) => expect(s[j]!).toBeCloseTo(want, 4));
    for (let j = 0; j < 3; j++) {
      let dot = 0;
      for (let c = 0; c < m; c++) dot += v[c * 3 + j]! * vs[j]![c]!;
      expect(Math.abs(dot)).toBeCloseTo(1, 5);
    }
  });

  it('gives zero columns past the rank of the matrix, not noise', () => {
    // 12 rows, each an integer multiple of one of 2 sparse patterns: rank 2, exact in float32.
    const patterns = [[[0, 1], [3, 2], [7, 1]], [[1, 1], [3, 1], [5, 3]]];
    const indptr = new Int32Array(13);
    const indices: number[] = [];
    const data: number[] = [];
    for (let r = 0; r < 12; r++) {
      for (const [c, val] of patterns[r % 2]!) {
        indices.push(c!);
        data.push(val! * (1 + (r % 5)));
      }
      indptr[r + 1] = indices.length;
    }
    const x: Csr = { nRows: 12, nCols: 8, indptr, indices: Int32Array.from(indices), data: Float32Array.from(data) };
    const { v, s } = randomizedSvd(x, 4, { seed: 3 });
    expect(s[1]!).toBeGreaterThan(1);
    expect(Array.from(s.subarray(2))).toEqual([0, 0]);
    for (let c = 0; c < 8; c++) expect([v[c * 4 + 2], v[c * 4 + 3]]).toEqual([0, 0]);
  });
});
