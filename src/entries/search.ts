/**
 * `kiln/search`: search. BM25F over an inverted index (English analysis, field weights, passages for
 * retrieval-augmented generation), vector search over a text encoder's embeddings, hybrid fusion
 * (reciprocal rank fusion, a learned blend), GBDT re-ranking, relevance metrics and the Cranfield
 * collection, and config-declared indexes (build, query, evaluate). See docs/search.md.
 * @example
 * import { Bm25Index } from 'kiln/search';
 * const index = Bm25Index.build(docs, { fields: [{ name: 'title', weight: 2 }, 'body'] });
 * const hits = index.search('boundary layer', 10);
 */
export {
  Analyzer, Bm25Index, VectorSearch, reciprocalRankFusion, linearBlend, fitBlendWeights, Reranker, ndcgAtK, averagePrecision, recallAtK, evaluateRuns,
  loadCranfield, buildSearchIndex, SearchIndexHandle, evaluateSearchIndex, readJudgedQueries, cranfieldQueries,
  type Bm25Options, type SearchDocument, type SearchHits, type Judgements, type SearchIndexMeta, type SearchRequest, type SearchResponse, type SearchHit, type SearchEvalRow,
} from '../search/index.js';
