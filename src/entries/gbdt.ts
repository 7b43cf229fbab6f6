/**
 * `kiln/gbdt`: histogram gradient-boosted trees. Train a `Booster`, predict, explain (TreeSHAP), and move
 * models to and from XGBoost JSON and LightGBM text. See docs/gbdt.md.
 * @example
 * import { train } from 'kiln/gbdt';
 * const booster = await train({ features: [age, income], label: y, featureNames: ['age', 'income'], params: { max_depth: 4 } });
 */
export {
  train, MIN_ENTRIES_FOR_THREADS, MIN_WIDE_ENTRIES_FOR_THREADS, WIDE_FROM_FEATURES, threadsFor, Booster, explain, explainRow, meanAbsContributions, loadModelText, toXGBoostJSON, toXGBoostModel, fromXGBoostJSON,
  xgboostToKilnJSON, fromLightGBMText, lightgbmToKilnJSON,
  PARAMS, PARAM_NAMES, OBJECTIVE_NAMES, METRIC_NAMES, MODEL_FORMAT, MODEL_SOURCES,
  type TrainInput, type ValidSet, type IterationInfo, type PredictInput, type PredictOptions, type ImportanceType,
  type GbdtParams, type ResolvedParams, type ObjectiveName, type ParamName, type MetricName, type GbdtModelJson,
  type XGBoostModelJson, type FeatureColumn, type Explanation, type ExplainOptions, type ModelSource,
} from '../gbdt/index.js';
