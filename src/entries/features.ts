/**
 * `kiln/features`: the offline feature engine. Point-in-time training sets from the project's feature
 * definitions (declared with the DSL of `kiln`). See docs/features.md.
 * @example
 * import { buildTrainingSet } from 'kiln/features';
 * await buildTrainingSet(project, { spine: { table: 'applications' }, features: 'credit_v1', out: 'train.parquet' });
 */
export { loadFeatureRegistry, describeDefinition, type FeatureRegistry } from '../features/index.js';
export {
  buildTrainingSet, loadProjectFeatures, TRAINING_SET_FORMAT, type TrainingSetOptions, type TrainingSetSummary, type SpineInput,
} from '../features/training/index.js';
