/**
 * The offline engine of features: point-in-time training sets compiled to DuckDB SQL. Separate from the
 * declaration DSL (`../index.js`), which imports nothing heavy.
 */
export { TRAINING_SET_FORMAT, buildTrainingSet, loadProjectFeatures, type TrainingSetOptions, type TrainingSetSummary } from './build.js';
export { compileTrainingSet, type CompileInput, type EventTimeBound } from './compile.js';
export { prepareSpine, parseUtcTime, type PreparedSpine, type SpineInput } from './spine.js';
export { checkSourcesAgainstStore, typeFits } from './store-check.js';
export { discoverBuckets } from './discover.js';
export { SQL_AGGREGATES, type SqlAggregate, type SqlAggContext } from './sql-aggregates.js';
export { sourceCoverage, coverageWarnings, COVERAGE_WARN_SHARE, type SourceCoverage } from './coverage.js';
