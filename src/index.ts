/**
 * kiln's main entry, `kiln`: the declaration layer that a kiln.config.ts imports (defineConfig, the
 * feature DSL and their types) and kiln's error type. It imports nothing heavy. Engines are separate
 * entries (src/entries/: `kiln/gbdt`, `kiln/online`, `kiln/store`, ...). Exports are listed by name and
 * snapshotted by test/repo/exports.test.ts: a change here is deliberate.
 */
export { KilnError, isKilnError, type KilnErrorCode, type KilnErrorOptions } from './core/errors.js';
export { ERROR_CODES, httpStatus, exitCode } from './core/error-codes.js';
export {
  defineConfig,
  type KilnConfig, type KilnConfigInput, type TableSpecInput, type ColumnSpecInput, type ColumnType, type FileFormat,
  type OnlineSpecInput, type OnlineBackendName, type ModelSpecInput,
} from './config/index.js';
export {
  entity, eventSource, snapshotSource, count, sum, mean, min, max, stddev, percentile, first, last, countDistinct, timeSinceLast,
  lastK, attribute, derived, bucket, add, sub, mul, div, neg, abs, ln1p, sqrt, least, greatest, coalesce, featureSet,
  type SourceOptions, type FeatureOptions, type LifetimeFeatureOptions, type BucketInput, type Operand,
  type AggregateFeatureDef, type AnyFeatureDef, type ColumnOf, type DerivedFeatureDef, type EntityDef, type EventSourceDef,
  type FeatureSetDef, type InferFeatures, type NumericColumnOf, type NumericFeatureDef, type SequenceRow, type SnapshotSourceDef,
  type SourceDef, type ConditionInput, type FilterableColumnOf, type ValueOf, type Where, type WindowString, type WindowUnit,
} from './features/index.js';
