import { describe, expect, it } from 'vitest';
import { isKilnError } from '../../src/core/errors.js';
import { Rng } from '../../src/core/rng.js';
import type { TextEncoder } from '../../src/embeddings/index.js';
import {
  Bm25Index, QueryDocFeatures, Reranker, VectorSearch, crossValidatedScores, evaluateRuns, orderByScore, queryFolds,
  type RerankGroup, type SearchDocument,
} from '../../src/search/index.js';

const VOCAB = ['flow', 'wing', 'shock', 'heat', 'plate', 'jet', 'cone', 'drag', 'lift', 'vortex', 'mach', 'layer'];

/** A bag-of-words encoder over VOCAB: counts, L2-normalised (all zeros for a text with none of them). */
const bagOfWords: TextEncoder = {
  dim: VOCAB.length,
  async encode(texts: string[]): Promise<Float32Array> {
    const out = new Float32Array(texts.length * VOCAB.length);
    texts.forEach((t, i) => {
      for (const w of t.toLowerCase().split(/\W+/)) {
        const j = VOCAB.indexOf(w);
        if (j >= 0) out[i * VOCAB.length + j]! += 1;
      }
      let s = 0;
      for (let j = 0; j < VOCAB.length; j++) s += out[i * VOCAB.length + j]! ** 2;
      for (let j = 0; j < VOCAB.length && s > 0; j++) out[i * VOCAB.length + j]! /= Math.sqrt(s);
    });
    return out;
  },
};

function docs(seed: number, n: number): SearchDocument[] {
  const rng = new Rng(seed);
  const words = (k: number): string => Array.from({ length: k }, () => VOCAB[rng.int(VOCAB.length)]).join(' ');
  return Array.from({ length: n }, (_, i) => ({ id: i * 10, fields: { title: words(2), body: words(5 + rng.int(10)) } }));
}

describe('VectorSearch', () => {
  const rows = docs(1, 80);

  it('ranks by the cosine of the encoded fields, exactly as a scan does, and filters by id', async () => {
    const vs = await VectorSearch.build(rows, bagOfWords, { fields: ['title', 'body'], batchSize: 7 });
    const q = 'shock shock layer';
    const qv = await vs.encodeQuery(q);
    const all = await bagOfWords.encode(rows.map((r) => `${r.fields.title}\n${r.fields.body}`));
    const cos = rows.map((_, i) => qv.reduce((s, x, c) => s + x * all[i * VOCAB.length + c]!, 0));
    const ref = rows.map((r, i) => ({ id: r.id, s: cos[i]! })).sort((a, b) => b.s - a.s || Number(a.id) - Number(b.id));
    const hits = await vs.search(q, 10);
    expect(Array.from(hits.scores)).toEqual(ref.slice(0, 10).map((r) => expect.closeTo(r.s, 5)));
    expect(Array.from(vs.scoreDocs(qv, hits.ids))).toEqual(Array.from(hits.scores).map((s) => expect.closeTo(s, 5)));
    const even = (id: string | number): boolean => Number(id) % 20 === 0;
    expect((await vs.search(q, 5, even)).ids.every(even)).toBe(true);
    expect((await vs.search('no known word', 5)).ids).toEqual([]);
    const hnsw = await VectorSearch.build(rows, bagOfWords, { fields: ['title', 'body'], index: 'hnsw' });
    expect((await hnsw.search(q, 1)).scores[0]).toBeCloseTo(hits.scores[0]!, 5);
  });

  it('checks its input', async () => {
    await expect(VectorSearch.build(rows, bagOfWords, { fields: [] })).rejects.toMatchObject({ code: 'SEARCH_PARAM_INVALID' });
    expect(() => VectorSearch.fromVectors([1, 1], new Float32Array(2 * VOCAB.length), bagOfWords)).toThrow(/repeats/);
    expect(() => VectorSearch.fromVectors([1], new Float32Array(3), bagOfWords)).toThrow(/3 values for 1 ids/);
    try {
      VectorSearch.fromVectors([1], new Float32Array(VOCAB.length), bagOfWords, 'ivf' as never);
      expect.unreachable();
    } catch (e) {
      expect(isKilnError(e, 'SEARCH_PARAM_INVALID') && e.message).toMatch(/use one of: exact, hnsw/);
    }
  });
});

describe('re-ranking', () => {
  it('computes the named features of candidates from BM25 and vectors', async () => {
    const rows = docs(2, 50);
    const bm = Bm25Index.build(rows, { fields: ['title', 'body'] });
    const vs = await VectorSearch.build(rows, bagOfWords, { fields: ['title', 'body'] });
    const f = new QueryDocFeatures(bm, vs);
    expect(f.names).toEqual(['bm25', 'bm25_title', 'bm25_body', 'vector', 'coverage', 'doc_length', 'query_terms']);
    const ids = bm.search('jet cone', 5).ids;
    const cols = await f.columns('jet cone', ids);
    const s = bm.scoreDocs('jet cone', ids);
    expect(cols.map((c) => c.length)).toEqual(Array(7).fill(5));
    expect(cols[0]).toEqual(s.total);
    expect(cols[3]).toEqual(vs.scoreDocs(await vs.encodeQuery('jet cone'), ids));
    expect(Array.from(cols[6]!)).toEqual([2, 2, 2, 2, 2]);
    expect(new QueryDocFeatures(bm).names).not.toContain('vector');
  });

  it('learns rank:ndcg from labelled queries, cross-validated so no query is scored by a ranker that saw it', async () => {
    const rng = new Rng(9);
    // a noisy first-stage score (feature 0) and an informative one (feature 1)
    const groups: RerankGroup[] = Array.from({ length: 40 }, () => {
      const n = 15;
      const gains = Array.from({ length: n }, () => (rng.bernoulli(0.25) ? 1 + rng.int(3) : 0));
      return {
        columns: [Float64Array.from(gains, (g) => g + 3 * rng.normal()), Float64Array.from(gains, (g) => g + 0.3 * rng.normal())],
        gains,
      };
    });
    const names = ['noisy', 'signal'];
    const params = { n_estimators: 30, max_depth: 3 };
    const fold = queryFolds(groups.length, 4, 3);
    const scores = await crossValidatedScores(groups, fold, names, params);
    const ids = Array.from({ length: 15 }, (_, i) => i);
    const judged = groups.map((g) => new Map(ids.map((i) => [i, g.gains![i]!])));
    const reranked = evaluateRuns(scores.map((s) => orderByScore(ids, s).ids), judged).ndcg;
    const firstStage = evaluateRuns(groups.map((g) => orderByScore(ids, g.columns[0]!).ids), judged).ndcg;
    expect(reranked).toBeGreaterThan(firstStage + 0.15);

    const ranker = await Reranker.train(groups, names, params);
    const copy = Reranker.fromJSON(JSON.parse(JSON.stringify(ranker.toJSON())) as ReturnType<Reranker['toJSON']>);
    expect(copy.score(groups[0]!.columns)).toEqual(ranker.score(groups[0]!.columns));
    expect(ranker.rerank(ids, groups[0]!.columns).ids.length).toBe(15);
    await expect(Reranker.train([{ columns: [new Float64Array(2)] }], ['x'])).rejects.toMatchObject({ code: 'SEARCH_DATA_INVALID' });
  });
});
