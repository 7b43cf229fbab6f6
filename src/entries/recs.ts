/**
 * `kiln/recs`: recommendations. Interactions from any table (dense ids, times, weights, attributes), the
 * per-user stratified split and full-ranking metrics of Microsoft's `recommenders` benchmark, candidate
 * generators (popularity, EASE^R, ALS, BPR, item2vec, two-tower, co-occurrence), retrieve-then-rank with
 * a GBDT `rank:ndcg` ranker and rules, saved models, and config-declared recommenders (train, evaluate,
 * recommend). See docs/recommendations.md.
 * @example
 * import { fitRetrieveThenRank, stratifiedSplit, evaluateTopK } from 'kiln/recs';
 * const { train, test } = stratifiedSplit(table, { ratio: 0.75, seed: 42 });
 * const model = await fitRetrieveThenRank({ train }, { generators: [{ kind: 'ease', lambda: 500 }, { kind: 'popularity' }] });
 * const r = evaluateTopK({ train, test, recommend: (u, k) => model.recommend(u, k).items });
 */
export {
  indexInteractions, checkInteractions, stratifiedSplit, evaluateTopK, fitGenerator, GENERATOR_KINDS, fitRetrieveThenRank, RetrieveThenRank,
  tuneGenerator, syntheticMarketplace, saveRetrieveThenRank, loadRetrieveThenRank, trainRecommender, evaluateRecommender, RecommenderHandle,
  type InteractionTable, type EntityAttributes, type IndexedInteractions, type GeneratorSpec, type CandidateGenerator, type Candidates,
  type RetrieveThenRankOptions, type RecsData, type RankerReport, type TopKReport, type TuneResult,
  type RecommenderMeta, type RecommendRequest, type RecommendResponse, type RecsEvalReport, type ImpressionLog, type AnnSpec,
} from '../recs/index.js';
