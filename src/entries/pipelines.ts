/**
 * `kiln/pipelines`: what `kiln train` does, from code: train a model declared in the config (training
 * set, early stopping, out-of-time evaluation, a tracked run, a registered version), and load a
 * registered model for scoring, and the one model bundle (kiln.model@1): load it, score with it, move it
 * between projects. See docs/models.md.
 * @example
 * import { trainModel } from 'kiln/pipelines';
 * const r = await trainModel(project, 'credit');
 */
export {
  trainModel, loadModelForScoring, evaluateModel, type TrainResult, type TrainOptions, type LoadedModel, type Evaluation,
  loadModelBundle, ModelBundle, BUNDLE_FORMAT, type ModelBundleJson, type BundleProvenance, type BundleScores, type ScoreRow,
  exportModel, importModel, type ExportResult, type ImportOptions, type ImportResult,
} from '../pipelines/index.js';
