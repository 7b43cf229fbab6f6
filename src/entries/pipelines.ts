/**
 * `kiln/pipelines`: what `kiln train` does, from code: train a model declared in the config (training
 * set, early stopping, out-of-time evaluation, a tracked run, a registered version), and load a
 * registered model for scoring. See docs/models.md.
 * @example
 * import { trainModel } from 'kiln/pipelines';
 * const r = await trainModel(project, 'credit');
 */
export {
  trainModel, loadModelForScoring, evaluateModel, type TrainResult, type TrainOptions, type LoadedModel, type Evaluation,
} from '../pipelines/index.js';
