/**
 * Added predictive value with a fast GBDT, measured on the model's validation window: one screening model
 * on the current features plus every candidate (each candidate's share of the total split gain), then
 * add-one models (current features + one candidate) for the best-screened candidates, whose validation AUC
 * is compared with the current features' own. Seeded: the same data and seed give the same numbers.
 */
import { auc } from '../eval/index.js';
import { train, type GbdtParams } from '../gbdt/index.js';
import type { InputColumn, Split } from '../pipelines/index.js';

/** The fast GBDT discovery trains (depth 3, early stopping on the validation window). */
export function fastParams(seed: number): GbdtParams {
  return {
    objective: 'binary:logistic', learning_rate: 0.1, n_estimators: 200, max_depth: 3, min_child_weight: 5,
    subsample: 0.8, colsample_bytree: 0.8, early_stopping_rounds: 20, eval_metric: 'auc', seed,
  } as GbdtParams;
}

export interface GainData {
  inputs: readonly InputColumn[];
  train: Split;
  valid: Split;
}

/**
 * Validation AUC of a fast GBDT on the given input columns (indices into `data.inputs`); 0.5 with none.
 * @example await validAuc(data, [0, 1, 5], 7) // 0.71
 */
export async function validAuc(data: GainData, cols: readonly number[], seed: number): Promise<{ auc: number; gain: Map<number, number> }> {
  if (cols.length === 0) return { auc: 0.5, gain: new Map() };
  const names = cols.map((j) => data.inputs[j]!.name);
  const categorical = cols.filter((j) => data.inputs[j]!.kind === 'categorical').map((j) => data.inputs[j]!.name);
  const booster = await train({
    features: cols.map((j) => data.train.features[j]!), label: data.train.label, featureNames: names, categorical,
    valid: { features: cols.map((j) => data.valid.features[j]!), label: data.valid.label }, params: fastParams(seed),
  });
  const pred = booster.predict(cols.map((j) => data.valid.features[j]!));
  const imp = booster.featureImportance('total_gain');
  const total = Object.values(imp).reduce((a, b) => a + b, 0) || 1;
  return { auc: auc(data.valid.label, pred), gain: new Map(cols.map((j) => [j, (imp[data.inputs[j]!.name] ?? 0) / total])) };
}
