export { trainModel, type TrainResult } from './train.js';
export { evaluateModel, type Evaluation } from './evaluate.js';
export { renderReport, type ReportMeta } from './report.js';
export { modelCard } from './model-card.js';
export { loadModelDataset, type ModelDataset, type InputColumn, type Split } from './dataset.js';
export { checkModelSpec } from './checks.js';
export { loadModelForScoring, type LoadedModel } from './load-model.js';
