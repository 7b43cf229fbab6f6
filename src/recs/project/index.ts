export { loadRecsData, type LoadedRecsData, type RecsKeys } from './data.js';
export { trainRecommender, recommenderSpec, recommenderDir, recommenderVersions, fitOptions, readMeta, RECOMMENDER_FORMAT, type RecommenderMeta } from './versions.js';
export { RecommenderHandle, type OnlineFeatureReader, type RecommendRequest, type RecommendResponse, type RecommendedItem } from './handle.js';
export { resolveLive, LiveReader, type LiveFeatures, type FeatureCut } from './live.js';
export { evaluateRecommender, type RecsEvalOptions, type RecsEvalReport, type RecsEvalRow } from './eval.js';
