export { trainModel, DEFAULT_PARAMS, SHAP_SAMPLE_ROWS, sampleRows, type TrainResult, type TrainOptions } from './train.js';
export { checkReasons, checkSplits, learnedNothing, reasonUnits, chanceAuc, CHANCE_AUC } from './guards.js';
export { evaluateModel, rankOrderBreaks, type Evaluation } from './evaluate.js';
export { renderReport, type ReportMeta } from './report.js';
export { modelCard } from './model-card.js';
export { loadModelDataset, describeSplit, type ModelDataset, type InputColumn, type Split } from './dataset.js';
export { checkModelSpec, type CheckedSpec } from './checks.js';
export { loadModelForScoring, type LoadedModel } from './load-model.js';
