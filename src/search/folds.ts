/**
 * Cross-validation over queries: every query is scored by a model fitted on the other folds only.
 * Folds are a seeded shuffle of the queries dealt round-robin, so fold sizes differ by at most one.
 */
import { KilnError } from '../core/errors.js';
import { Rng } from '../core/rng.js';

/** The fold (0..k-1) of each of n queries. */
export function queryFolds(n: number, k: number, seed: number): Int32Array {
  if (!Number.isInteger(k) || k < 2 || k > n) {
    throw new KilnError('SEARCH_PARAM_INVALID', `folds must be an integer in [2, ${n}] (the number of queries), got ${String(k)}`, { path: ['folds'] });
  }
  const order = Array.from({ length: n }, (_, i) => i);
  const rng = new Rng(seed, 0x5ea2c4);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const fold = new Int32Array(n);
  order.forEach((q, i) => { fold[q] = i % k; });
  return fold;
}

/**
 * Runs `fit` on the queries outside each fold and `apply` to the queries inside it; returns the applied
 * results in query order.
 */
export async function crossValidate<M, R>(
  fold: Int32Array,
  fit: (train: number[]) => M | Promise<M>,
  apply: (model: M, test: number[]) => R[] | Promise<R[]>,
): Promise<R[]> {
  const k = Math.max(...fold) + 1;
  const out = new Array<R>(fold.length);
  for (let f = 0; f < k; f++) {
    const train: number[] = [];
    const test: number[] = [];
    fold.forEach((g, q) => (g === f ? test : train).push(q));
    const model = await fit(train);
    const res = await apply(model, test);
    test.forEach((q, i) => { out[q] = res[i]!; });
  }
  return out;
}
