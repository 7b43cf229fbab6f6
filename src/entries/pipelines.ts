/**
 * `kiln/pipelines`: what `kiln train` does, from code: train a model declared in the config (training
 * set, early stopping, out-of-time evaluation, a tracked run, a registered version), and load a
 * registered model for scoring, and the one model bundle (kiln.model@1): load it, score with it, move it
 * between projects. Sequence models (docs/nn.md): their bundle and scorer, the fused GBDT's scorer, ONNX
 * export and import. See docs/models.md.
 * @example
 * import { trainModel } from 'kiln/pipelines';
 * const r = await trainModel(project, 'credit');
 */
export {
  trainModel, loadModelForScoring, evaluateModel, type TrainResult, type TrainOptions, type LoadedModel, type Evaluation,
  loadModelBundle, ModelBundle, BUNDLE_FORMAT, type ModelBundleJson, type BundleProvenance, type BundleScores, type ScoreRow,
  exportModel, importModel, type ExportResult, type ImportOptions, type ImportResult,
  SequenceModel, FusedModel, OnnxSequenceModel, parseSequenceBundle, SEQUENCE_BUNDLE_FORMAT, type SequenceBundleJson, type SequenceScore,
  exportSequenceOnnx, importOnnxModel, type OnnxImportOptions, type OnnxImportResult,
} from '../pipelines/index.js';
