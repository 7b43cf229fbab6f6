/**
 * Features as code: the declaration DSL, load-time validation, versions, the aggregator algebra and the
 * naive reference evaluator. Nothing here imports DuckDB; the offline engine is `./training/index.js`.
 */
export {
  entity, eventSource, snapshotSource, count, sum, mean, min, max, stddev, percentile, first, last, countDistinct,
  timeSinceLast, lastK, attribute, type SourceOptions, type FeatureOptions, type LifetimeFeatureOptions, type BucketInput,
} from './define.js';
export { derived, bucket, add, sub, mul, div, neg, abs, ln1p, sqrt, least, greatest, coalesce, evaluateExpr, exprRefs, type Operand } from './derived.js';
export { featureSet } from './feature-set.js';
export type {
  AggregateFeatureDef, AnyFeatureDef, ColumnOf, DerivedFeatureDef, EntityDef, EventSourceDef, FeatureSetDef, InferFeatures,
  NumericColumnOf, NumericFeatureDef, SequenceRow, SnapshotSourceDef, SourceDef,
} from './types.js';
export type { ConditionInput, FilterableColumnOf, ValueOf, Where } from './where.js';
export { conditionHolds } from './where.js';
export { parseWindow, formatWindow, type WindowString, type WindowUnit } from './window.js';
export {
  AGGREGATORS, aggregatorOf, compareObservation, compareScalar, finishMerged, observation,
  type Aggregator, type AggregatorKind, type AggregatorName, type FinishContext, type Observation, type SequenceElement,
} from './aggregators.js';
export {
  loadFeatureRegistry, validateDefinitions, resolveSelection, definitionsError,
  type FeatureRegistry, type FeatureOutput, type ResolvedFeature, type ResolvedSet,
} from './registry.js';
export { bucketLabel, type DefinitionIssue } from './validate.js';
export { canonicalJson, columnsRead, shortVersion, withoutMeta, FEATURE_FORMAT } from './version.js';
export { describeDefinition, formatCondition, formatExpr, formatFeature, listRows } from './describe.js';
export { naiveEvaluate, toMicros, type EventRow, type EventTimeBound, type SpinePoint, type TimeInput } from './naive.js';
export type * from './spec.js';
export { SOURCE_COLUMN_TYPES, TIME_UNIT_SECONDS } from './spec.js';
