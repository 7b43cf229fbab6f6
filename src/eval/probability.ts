/**
 * Proper scoring rules for the predicted probability of default: log loss and the Brier score. Both are
 * weighted means over rows, lower is better, and need `score` in [0, 1].
 */
import { checkBinary } from './ranking.js';
import { ArgCheck, type WeightOption } from './validate.js';

/** float64 machine epsilon: scikit-learn's `eps='auto'` for float64 predictions. */
export const LOG_LOSS_EPS = 2.220446049250313e-16;

export interface LogLossOptions extends WeightOption {
  /** Probabilities are clipped to [eps, 1 − eps] so a confident miss costs a large finite loss. */
  eps?: number;
}

export function logLossKernel(y: ArrayLike<number>, p: ArrayLike<number>, w: ArrayLike<number> | null | undefined, eps: number): number {
  let s = 0, sw = 0;
  for (let i = 0; i < y.length; i++) {
    const pi = Math.min(Math.max(p[i]!, eps), 1 - eps);
    const qi = 1 - pi;
    const norm = qi + pi; // scikit-learn renormalises [1 − p, p] after clipping; kept for bit-parity
    const loss = -Math.log((y[i] === 1 ? pi : qi) / norm);
    const wi = w ? w[i]! : 1;
    s += wi * loss;
    sw += wi;
  }
  return s / sw;
}

/**
 * Mean negative log-likelihood of the outcomes under the predicted probabilities of default, with
 * probabilities clipped to [eps, 1 − eps] (default float64 epsilon, as scikit-learn's `log_loss` with
 * `eps='auto'`). Unlike scikit-learn, a window with one outcome only is allowed: the loss is defined.
 * @example logLoss([0, 1], [0.2, 0.7]) // (−ln 0.8 − ln 0.7) / 2 = 0.2899…
 */
export function logLoss(y: ArrayLike<number>, score: ArrayLike<number>, options?: LogLossOptions): number {
  const eps = options?.eps ?? LOG_LOSS_EPS;
  if (!(eps > 0 && eps < 0.5)) {
    const c = new ArgCheck('logLoss');
    c.add('eps', `eps is ${String(eps)}; expected a number in (0, 0.5), e.g. 1e-15`);
    c.done();
  }
  checkBinary('logLoss', y, score, options, null, true);
  return logLossKernel(y, score, options?.weight, eps);
}

export function brierKernel(y: ArrayLike<number>, p: ArrayLike<number>, w: ArrayLike<number> | null | undefined): number {
  let s = 0, sw = 0;
  for (let i = 0; i < y.length; i++) {
    const d = y[i]! - p[i]!;
    const wi = w ? w[i]! : 1;
    s += wi * d * d;
    sw += wi;
  }
  return s / sw;
}

/**
 * Brier score: weighted mean of (y − score)², in [0, 1]. Equals scikit-learn's `brier_score_loss`.
 * @example brier([0, 1], [0.2, 0.7]) // (0.04 + 0.09) / 2 = 0.065
 */
export function brier(y: ArrayLike<number>, score: ArrayLike<number>, options?: WeightOption): number {
  checkBinary('brier', y, score, options, null, true);
  return brierKernel(y, score, options?.weight);
}
