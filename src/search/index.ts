/**
 * kiln's search engine (issue 18): text analysis (tokeniser, English stop words, Porter stemmer), a
 * BM25F inverted index with passages for retrieval-augmented generation, vector search over a text
 * encoder's vectors, hybrid fusion (reciprocal rank fusion, a learned linear blend), GBDT re-ranking on
 * query-document features, and relevance evaluation (nDCG@k, MAP, recall@k; the Cranfield collection).
 * Nothing here knows a table: an index takes (id, text fields) rows, so a config-declared index over any
 * table's text columns can build one.
 */
export { Analyzer, tokenize, resolveAnalyzerSpec, STEMMERS, type AnalyzedTokens, type AnalyzerSpec, type ResolvedAnalyzerSpec, type StemmerName, type Tokens } from './analyzer.js';
export { ENGLISH_STOP_WORDS, STOP_WORD_LISTS, type StopWordListName } from './stopwords.js';
export { porterStem, measure as porterMeasure } from './porter.js';
export {
  resolveBm25Options, type Bm25Options, type FieldSpec, type PassageOptions, type ResolvedBm25Options, type ResolvedField,
  type SearchDocument, type SearchFilter, type SearchHits, type SearchId,
} from './options.js';
export { Bm25Index, type DocScores, type PassageHit } from './bm25.js';
export { BM25_FORMAT, BM25_VERSION } from './bm25-file.js';
export { VectorSearch, VECTOR_INDEX_KINDS, type VectorIndexKind, type VectorSearchOptions } from './vector.js';
export { reciprocalRankFusion, linearBlend, minMaxNormalise, fitBlendWeights, simplexGrid, RRF_K, type BlendExample, type FittedBlend } from './fusion.js';
export { queryFolds, crossValidate } from './folds.js';
export { QueryDocFeatures, Reranker, crossValidatedScores, orderByScore, RERANKER_FORMAT, RERANKER_PARAMS, type RerankGroup } from './rerank.js';
export { ndcgAtK, averagePrecision, recallAtK, evaluateRuns, type EvaluateOptions, type GainKind, type Judgements, type RunMeasures } from './metrics.js';
export { loadCranfield, hasCranfield, parseCranfieldRecords, CRANFIELD_FILES, CRANFIELD_GAINS, type Cranfield, type CranfieldQuery } from './cranfield.js';
export * from './indexes/index.js';
