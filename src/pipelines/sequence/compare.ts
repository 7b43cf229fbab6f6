/**
 * The side-by-side comparison of a sequence model's run report: out-of-time AUC of a GBDT on the
 * aggregates alone, of the same GBDT with the encoder's embeddings as more inputs (each row's embedding
 * computed point in time, from the events before its spine time), and of the sequence and joint models.
 */
import { auc } from '../../eval/index.js';
import { train, type GbdtParams } from '../../gbdt/index.js';
import type { ModelDataset } from '../dataset.js';

export interface ComparisonRow {
  model: string;
  inputs: string;
  validAuc: number | null;
  testAuc: number | null;
}

export const COMPARE_PARAMS = {
  objective: 'binary:logistic', learning_rate: 0.05, n_estimators: 600, max_depth: 4, min_child_weight: 5,
  subsample: 0.8, colsample_bytree: 0.8, early_stopping_rounds: 50, eval_metric: 'auc', seed: 7,
} as GbdtParams;

/** Valid and test AUC of a GBDT over the dataset's scalar inputs plus `extra` columns per split (embeddings). */
export async function gbdtAuc(data: ModelDataset, extra: Record<'train' | 'valid' | 'test', Float64Array[]> | null): Promise<{ valid: number; test: number } | null> {
  const { train: tr, valid: va, test: te } = data.splits;
  const cols = (s: 'train' | 'valid' | 'test'): Float64Array[] => [...data.splits[s].features, ...(extra ? extra[s] : [])];
  const names = [...data.inputs.map((c) => c.name), ...(extra ? extra.train.map((_, j) => `embedding_${j}`) : [])];
  if (names.length === 0 || tr.rows === 0 || va.rows === 0 || te.rows === 0) return null;
  const booster = await train({
    features: cols('train'), label: tr.label, featureNames: names,
    categorical: data.inputs.filter((c) => c.kind === 'categorical').map((c) => c.name),
    params: COMPARE_PARAMS, valid: { features: cols('valid'), label: va.label },
  });
  return { valid: auc(va.label, booster.predict(cols('valid'))), test: auc(te.label, booster.predict(cols('test'))) };
}

/** The comparison as an HTML section of the run report. */
export function comparisonHtml(rows: readonly ComparisonRow[], note: string, title = 'Sequence model against the GBDT'): string {
  const f = (x: number | null): string => (x === null ? '-' : x.toFixed(4));
  const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  return `<section><h2>${esc(title)}</h2><p class="note">${esc(note)}</p><table><thead><tr><th>model</th><th>inputs</th><th>validation AUC</th><th>test AUC (out of time)</th></tr></thead><tbody>${
    rows.map((r) => `<tr><td>${esc(r.model)}</td><td>${esc(r.inputs)}</td><td>${f(r.validAuc)}</td><td>${f(r.testAuc)}</td></tr>`).join('')
  }</tbody></table></section>`;
}
