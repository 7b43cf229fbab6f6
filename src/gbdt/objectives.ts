/**
 * Objectives as plain objects in one registry. Each gives gradients and hessians for margins (XGBoost's
 * formulas, float32 outputs like XGBoost's GradientPair), the link from margin to prediction and the
 * base margin for base_score. Kernels write into caller-supplied arrays and allocate nothing per call.
 */
import type { MetricName } from './metrics.js';
import type { ObjectiveName } from './params.js';

export interface GradContext {
  /** n x K margins, row-major. */
  margin: Float64Array;
  label: Float32Array;
  weight: Float32Array | null;
  /** n x K outputs. */
  grad: Float32Array;
  hess: Float32Array;
  nRows: number;
  nOutputs: number;
  scalePosWeight: number;
  /** Query boundaries (group g = rows groupPtr[g]..groupPtr[g+1]), rank:ndcg only. */
  groupPtr: Int32Array | null;
}

export interface Objective {
  name: ObjectiveName;
  defaultMetric: MetricName;
  /** Margin that base_score stands for (XGBoost 1.7: logit for binary:logistic, identity otherwise). */
  baseMargin(baseScore: number): number;
  gradients(c: GradContext): void;
  /** One row's margins to predictions, in place: v[offset..offset + K). */
  link(v: Float64Array, offset: number, K: number): void;
}

/** Margins to predictions for every row, in place; n x K. */
export function transformAll(o: Objective, v: Float64Array, K: number): void {
  for (let r = 0; r < v.length; r += K) o.link(v, r, K);
}

const EPS = 1e-16;

export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** float32 constants of the logistic gradient (wasm-grad.ts computes the same four rows at a time). */
export const EXP32_CLAMP = 87;
export const INV_LN2_32 = Math.fround(1.4426950408889634);
export const LN2_HI_32 = 0.693359375;
export const LN2_LO_32 = Math.fround(-2.1219444005469057e-4);
/** 1 / n! for n = 0..7 (Taylor coefficients of e^r), float32. */
export const EXP32_C = [1, 1, 1 / 2, 1 / 6, 1 / 24, 1 / 120, 1 / 720, 1 / 5040].map(Math.fround);
export const HESS_EPS32 = Math.fround(EPS);

const f32 = Math.fround;

/**
 * binary:logistic grad and hess of one row into grad[i], hess[i], in float32 arithmetic step for step
 * as the WebAssembly kernel (wasm-grad.ts, which documents the method): each operation rounded with
 * Math.fround, so both give the same bits.
 */
export function logisticGrad32(m: number, y: number, w: number, grad: Float32Array, hess: Float32Array, i: number): void {
  let x = -f32(m);
  x = x < -EXP32_CLAMP ? -EXP32_CLAMP : x > EXP32_CLAMP ? EXP32_CLAMP : x;
  const k = Math.floor(f32(f32(x * INV_LN2_32) + 0.5));
  const r = f32(f32(x - f32(k * LN2_HI_32)) - f32(k * LN2_LO_32));
  let s = EXP32_C[7]!;
  for (let n = 6; n >= 0; n--) s = f32(f32(s * r) + EXP32_C[n]!);
  const e = f32(s * 2 ** k);
  const p = f32(1 / f32(1 + e));
  const q = f32(e * p);
  grad[i] = f32((y === 1 ? -q : f32(p - y)) * w);
  hess[i] = f32(Math.max(f32(p * q), HESS_EPS32) * w);
}

const binaryLogistic: Objective = {
  name: 'binary:logistic',
  defaultMetric: 'logloss',
  baseMargin: (p) => -Math.log(1 / p - 1),
  gradients({ margin, label, weight, grad, hess, nRows, scalePosWeight }) {
    const spw = f32(scalePosWeight);
    for (let i = 0; i < nRows; i++) {
      const y = label[i]!;
      const w = weight ? f32(weight[i]! * (y === 1 ? spw : 1)) : y === 1 ? spw : 1;
      logisticGrad32(margin[i]!, y, w, grad, hess, i);
    }
  },
  link(v, o) {
    v[o] = 1 / (1 + Math.exp(-v[o]!));
  },
};

const squaredError: Objective = {
  name: 'reg:squarederror',
  defaultMetric: 'rmse',
  baseMargin: (b) => b,
  gradients({ margin, label, weight, grad, hess, nRows }) {
    for (let i = 0; i < nRows; i++) {
      const w = weight ? weight[i]! : 1;
      grad[i] = (margin[i]! - label[i]!) * w;
      hess[i] = w;
    }
  },
  link() {},
};

/** Softmax in place over v[r..r + K). */
export function softmax(v: Float64Array, r: number, K: number): void {
  let mx = -Infinity;
  for (let k = 0; k < K; k++) mx = Math.max(mx, v[r + k]!);
  let s = 0;
  for (let k = 0; k < K; k++) { const e = Math.exp(v[r + k]! - mx); v[r + k] = e; s += e; }
  for (let k = 0; k < K; k++) v[r + k]! /= s;
}

const softprob: Objective = {
  name: 'multi:softprob',
  defaultMetric: 'mlogloss',
  baseMargin: (b) => b,
  gradients({ margin, label, weight, grad, hess, nRows, nOutputs: K }) {
    for (let i = 0, o = 0; i < nRows; i++, o += K) {
      let mx = -Infinity;
      for (let k = 0; k < K; k++) mx = Math.max(mx, margin[o + k]!);
      let s = 0;
      for (let k = 0; k < K; k++) s += Math.exp(margin[o + k]! - mx);
      const y = label[i]!;
      const w = weight ? weight[i]! : 1;
      for (let k = 0; k < K; k++) {
        const p = Math.exp(margin[o + k]! - mx) / s;
        grad[o + k] = (k === y ? p - 1 : p) * w;
        hess[o + k] = Math.max(2 * p * (1 - p), EPS) * w; // XGBoost's softmax hessian carries the factor 2
      }
    }
  },
  link: softmax,
};

/** Sorts positions from..to of `order` by score descending (ties by position), insertion sort for small groups. */
function sortByScoreDesc(order: Int32Array, n: number, score: Float64Array, base: number): void {
  const view = order.subarray(0, n);
  for (let i = 0; i < n; i++) view[i] = i;
  view.sort((a, b) => score[base + b]! - score[base + a]! || a - b);
}

/**
 * LambdaRank for NDCG: every pair in a query with different relevance, weighted by |delta NDCG| of
 * swapping the two at their current ranks (gain 2^rel - 1, discount 1/log2(2 + rank)). Per pair, as in
 * XGBoost: p = sigmoid(s_hi - s_lo), g = (p - 1) w, h = 2 max(p(1-p), eps) w.
 */
const rankNdcg: Objective = {
  name: 'rank:ndcg',
  defaultMetric: 'ndcg',
  baseMargin: (b) => b,
  gradients({ margin, label, weight, grad, hess, groupPtr }) {
    const G = groupPtr!;
    grad.fill(0, 0, G[G.length - 1]!);
    hess.fill(0, 0, G[G.length - 1]!);
    let maxGroup = 0;
    for (let q = 0; q + 1 < G.length; q++) maxGroup = Math.max(maxGroup, G[q + 1]! - G[q]!);
    const rankScratch = new Int32Array(maxGroup);
    const rankPos = new Int32Array(maxGroup);
    for (let q = 0; q + 1 < G.length; q++) {
      const b = G[q]!;
      const n = G[q + 1]! - b;
      if (n < 2) continue;
      // ideal DCG from labels sorted descending
      const ideal = Array.from({ length: n }, (_, i) => label[b + i]!).sort((x, y) => y - x);
      let idcg = 0;
      for (let i = 0; i < n; i++) idcg += (2 ** ideal[i]! - 1) / Math.log2(2 + i);
      if (idcg <= 0) continue;
      sortByScoreDesc(rankScratch, n, margin, b);
      for (let r = 0; r < n; r++) rankPos[rankScratch[r]!] = r;
      for (let i = 0; i < n; i++) {
        const li = label[b + i]!;
        for (let j = 0; j < n; j++) {
          const lj = label[b + j]!;
          if (!(li > lj)) continue;
          const delta = Math.abs(((2 ** li - 2 ** lj) * (1 / Math.log2(2 + rankPos[i]!) - 1 / Math.log2(2 + rankPos[j]!))) / idcg);
          const w = delta * (weight ? weight[b + i]! : 1);
          const p = 1 / (1 + Math.exp(-(margin[b + i]! - margin[b + j]!)));
          const g = (p - 1) * w;
          const h = 2 * Math.max(p * (1 - p), EPS) * w;
          grad[b + i]! += g;
          grad[b + j]! -= g;
          hess[b + i]! += h;
          hess[b + j]! += h;
        }
      }
    }
  },
  link() {},
};

export const OBJECTIVES = {
  'binary:logistic': binaryLogistic,
  'reg:squarederror': squaredError,
  'multi:softprob': softprob,
  'rank:ndcg': rankNdcg,
} as const satisfies Record<ObjectiveName, Objective>;
