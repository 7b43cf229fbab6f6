export { trainModel, DEFAULT_PARAMS, SHAP_SAMPLE_ROWS, type TrainResult, type TrainOptions } from './train.js';
export { checkReasons, checkSplits, learnedNothing, reasonUnits, CHANCE_AUC } from './guards.js';
export { evaluateModel, type Evaluation } from './evaluate.js';
export { renderReport, type ReportMeta } from './report.js';
export { modelCard } from './model-card.js';
export { loadModelDataset, describeSplit, type ModelDataset, type InputColumn, type Split } from './dataset.js';
export { checkModelSpec, type CheckedSpec } from './checks.js';
export { loadModelForScoring, type LoadedModel } from './load-model.js';
