/**
 * kiln's histogram gradient-boosted trees: `train` a `Booster`, predict in batch or one row at a time,
 * and save it as a `kiln.gbdt@1` artifact. Parameters use XGBoost's names and defaults, and trees use
 * XGBoost's routing rules and node layout, so models can be exported to XGBoost JSON.
 * @example
 * import { train, Booster } from '../gbdt/index.js';
 * const booster = await train({ features: [age, income], label: y, featureNames: ['age', 'income'],
 *   params: { objective: 'binary:logistic', max_depth: 4, learning_rate: 0.1, n_estimators: 200 } });
 * const p = booster.predictRow([41, 52000]);
 * const copy = Booster.fromJSON(JSON.stringify(booster));
 */
export { train, MIN_ENTRIES_FOR_THREADS, MIN_WIDE_ENTRIES_FOR_THREADS, WIDE_FROM_FEATURES, threadsFor, type TrainInput, type ValidSet, type IterationInfo } from './train.js';
export { Booster, type PredictInput, type PredictOptions, type ImportanceType } from './booster.js';
export { PARAMS, PARAM_NAMES, OBJECTIVE_NAMES, checkParams, type GbdtParams, type ResolvedParams, type ObjectiveName, type ParamName, type ParamIssue } from './params.js';
export { METRIC_NAMES, auc, ndcgAt, type MetricName, type MetricInput } from './metrics.js';
export { MODEL_FORMAT, type GbdtModelJson, type TreeJson } from './model-json.js';
export { nodeCategories, numLeaves, type Tree } from './tree.js';
export type { FeatureColumn } from './data.js';
export { explain, explainPlan, explainRow, meanAbsContributions, type Explanation, type ExplainOptions } from './shap.js';
export type { TablePlan } from './shap-table.js';
export { toXGBoostJSON, toXGBoostModel, fromXGBoostJSON, xgboostToKilnJSON, XGBOOST_IMPORT_OBJECTIVES, type XGBoostModelJson } from './xgboost-json.js';
export { fromLightGBMText, lightgbmToKilnJSON, LIGHTGBM_IMPORT_OBJECTIVES } from './lightgbm-text.js';
export { loadModelText, MODEL_SOURCES, type ModelSource } from './model-formats.js';
