/**
 * kiln's recommendations (issue 18): candidate generators behind one interface (popularity, EASE^R,
 * ALS, BPR, item2vec, two-tower, co-occurrence, and the `sequence` next-item model: a GRU or causal
 * transformer from src/nn), retrieve-then-rank with a GBDT `rank:ndcg` ranker, the full-ranking offline
 * evaluation of Microsoft's `recommenders` MovieLens benchmark, and next-item evaluation (each user's
 * last interaction held out, full ranking: HR@10, nDCG@10, MRR).
 */
export { checkInteractions, indexInteractions, subsetInteractions, userItems, type EntityAttributes, type IndexedInteractions, type InteractionTable, type UserItems } from './table.js';
export { stratifiedSplit, stratifiedRows, stratifiedFolds, roundHalfEven, type Split, type SplitOptions } from './split.js';
export { evaluateTopK, rankingScores, type EvaluateOptions, type RankingScores, type TopKReport } from './metrics.js';
export { topN, fitPopularity, itemCounts, ScoredGenerator, type AnnSpec, type CandidateGenerator, type Candidates } from './generator.js';
export { fitEase, spdInverse, itemGram, easeWeights, type EaseOptions } from './ease.js';
export {
  fitGenerator, checkGeneratorSpec, generatorName, attributeMatrix, GENERATORS, GENERATOR_KINDS,
  type GeneratorSpec, type GeneratorKind, type GeneratorContext, type PopularitySpec, type EaseSpec, type AlsSpec, type BprSpec, type Item2VecSpec, type TwoTowerSpec, type CooccurrenceSpec,
} from './generators.js';
export { FeatureBuilder, type FeatureOptions } from './features.js';
export { fitRetrieveThenRank, RetrieveThenRank, RANKER_DEFAULTS, smoothedBest, type DiversityRule, type FreshAttributes, type RankerReport, type RecsData, type RetrieveThenRankOptions } from './ranker.js';
export { tuneGenerator, type TuneOptions, type TuneResult } from './tune.js';
export { syntheticMarketplace, type Marketplace, type MarketplaceOptions } from './synth.js';
export { fitCooccurrence, type CooccurrenceOptions } from './cooccurrence.js';
export { dotScorer, scorerFromState, checkScorerState, unitRows, type ScorerState, type ScorerKind, type ScoreFn } from './state.js';
export { saveRetrieveThenRank, loadRetrieveThenRank, RECS_MODEL_FORMAT } from './persist.js';
export type { RankerSettings } from './ranker.js';
export {
  loadRecsData, trainRecommender, recommenderSpec, recommenderDir, recommenderVersions, fitOptions, readMeta, RECOMMENDER_FORMAT, RecommenderHandle, evaluateRecommender,
  resolveLive, LiveReader, type LiveFeatures, type FeatureCut, type OnlineFeatureReader,
  type LoadedRecsData, type RecsKeys, type RecommenderMeta, type RecommendRequest, type RecommendResponse, type RecommendedItem, type RecsEvalOptions, type RecsEvalReport, type RecsEvalRow,
} from './project/index.js';
export { leaveLastOut, evaluateNextItem, rankOf, type NextItemOptions, type NextItemReport } from './next-item.js';
export { fitSequence, sequenceOptions, trainingWindows, userSequences, type SequenceFitInfo, type SequenceOptions, type SequenceSpec, type Windows } from './sequence.js';
export { checkImpressions, beforeImpressions, impressionRows, type ImpressionLog } from './impressions.js';
