/**
 * Evaluation metrics (XGBoost's definitions) as plain objects in one registry. Each takes predictions
 * after the objective's link (probabilities, values or scores), n x K row-major.
 */
import { didYouMean, KilnError } from '../core/errors.js';
import type { ObjectiveName } from './params.js';

export type MetricName = 'auc' | 'logloss' | 'rmse' | 'mlogloss' | 'ndcg' | `ndcg@${number}`;

export interface MetricInput {
  pred: Float64Array;
  label: Float32Array;
  weight: Float32Array | null;
  nOutputs: number;
  groupPtr: Int32Array | null;
}

export interface Metric {
  name: MetricName;
  higherIsBetter: boolean;
  /** Objectives whose predictions the metric reads. */
  objectives: readonly ObjectiveName[];
  compute(m: MetricInput): number;
}

const PROB_EPS = 1e-16;

/** Weighted ROC AUC with ties counted half; NaN when one class is absent. */
export function auc({ pred, label, weight }: MetricInput): number {
  const n = label.length;
  const order = Uint32Array.from({ length: n }, (_, i) => i).sort((a, b) => pred[a]! - pred[b]! || a - b);
  let pos = 0;
  let neg = 0;
  let area = 0;
  for (let i = 0; i < n;) {
    const s = pred[order[i]!]!;
    let tp = 0;
    let tn = 0;
    for (; i < n && pred[order[i]!] === s; i++) {
      const r = order[i]!;
      const w = weight ? weight[r]! : 1;
      if (label[r] === 1) tp += w;
      else tn += w;
    }
    area += tp * (neg + tn / 2);
    pos += tp;
    neg += tn;
  }
  return pos > 0 && neg > 0 ? area / (pos * neg) : NaN;
}

function logloss({ pred, label, weight }: MetricInput): number {
  let s = 0;
  let sw = 0;
  for (let i = 0; i < label.length; i++) {
    const w = weight ? weight[i]! : 1;
    const p = Math.min(Math.max(pred[i]!, PROB_EPS), 1 - PROB_EPS);
    s -= w * (label[i] === 1 ? Math.log(p) : Math.log(1 - p));
    sw += w;
  }
  return s / sw;
}

function rmse({ pred, label, weight }: MetricInput): number {
  let s = 0;
  let sw = 0;
  for (let i = 0; i < label.length; i++) {
    const w = weight ? weight[i]! : 1;
    const d = pred[i]! - label[i]!;
    s += w * d * d;
    sw += w;
  }
  return Math.sqrt(s / sw);
}

function mlogloss({ pred, label, weight, nOutputs: K }: MetricInput): number {
  let s = 0;
  let sw = 0;
  for (let i = 0; i < label.length; i++) {
    const w = weight ? weight[i]! : 1;
    s -= w * Math.log(Math.max(pred[i * K + label[i]!]!, PROB_EPS));
    sw += w;
  }
  return s / sw;
}

/** Mean NDCG@k over query groups (gain 2^rel - 1); a group with no relevant item scores 1, as in XGBoost. */
export function ndcgAt(k: number, { pred, label, groupPtr }: MetricInput): number {
  const G = groupPtr ?? Int32Array.of(0, label.length);
  let total = 0;
  const nq = G.length - 1;
  for (let q = 0; q < nq; q++) {
    const b = G[q]!;
    const n = G[q + 1]! - b;
    const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => pred[b + y]! - pred[b + x]! || x - y);
    const ideal = Array.from({ length: n }, (_, i) => label[b + i]!).sort((x, y) => y - x);
    const top = Math.min(k, n);
    let dcg = 0;
    let idcg = 0;
    for (let r = 0; r < top; r++) {
      dcg += (2 ** label[b + order[r]!]! - 1) / Math.log2(r + 2);
      idcg += (2 ** ideal[r]! - 1) / Math.log2(r + 2);
    }
    total += idcg > 0 ? dcg / idcg : 1;
  }
  return total / nq;
}

const BASE: Record<string, Omit<Metric, 'name'>> = {
  auc: { higherIsBetter: true, objectives: ['binary:logistic'], compute: auc },
  logloss: { higherIsBetter: false, objectives: ['binary:logistic'], compute: logloss },
  rmse: { higherIsBetter: false, objectives: ['reg:squarederror', 'binary:logistic'], compute: rmse },
  mlogloss: { higherIsBetter: false, objectives: ['multi:softprob'], compute: mlogloss },
  ndcg: { higherIsBetter: true, objectives: ['rank:ndcg'], compute: (m) => ndcgAt(Infinity, m) },
};

export const METRIC_NAMES = ['auc', 'logloss', 'rmse', 'mlogloss', 'ndcg', 'ndcg@k'] as const;

/** Looks a metric up by name (ndcg@k for any positive integer k) and checks it fits the objective. */
export function resolveMetric(name: string, objective: ObjectiveName): Metric {
  const at = /^ndcg@([1-9][0-9]*)$/.exec(name);
  let metric: Metric | undefined;
  if (at) {
    const k = Number(at[1]);
    metric = { name: name as MetricName, higherIsBetter: true, objectives: ['rank:ndcg'], compute: (m) => ndcgAt(k, m) };
  } else if (Object.hasOwn(BASE, name)) {
    metric = { name: name as MetricName, ...BASE[name]! };
  }
  if (!metric) {
    const hint = didYouMean(name, Object.keys(BASE));
    throw new KilnError('GBDT_PARAM_INVALID', `eval_metric '${name}' is unknown${hint ? `; did you mean '${hint}'?` : ''} (use one of: ${METRIC_NAMES.join(', ')})`, { path: ['params', 'eval_metric'] });
  }
  if (!metric.objectives.includes(objective)) {
    throw new KilnError('GBDT_PARAM_INVALID', `eval_metric '${name}' does not apply to objective '${objective}'; it applies to ${metric.objectives.join(', ')}`, { path: ['params', 'eval_metric'] });
  }
  return metric;
}
