/**
 * Full-ranking top-k metrics as Microsoft's `recommenders` computes them (binary relevance, no sampled
 * negatives). For one user with relevant set T and ranked list r_1..r_k:
 *   DCG@k  = sum_{i<=k, r_i in T} 1 / log2(i + 1)
 *   IDCG@k = sum_{i<=min(k, |T|)} 1 / log2(i + 1)
 *   nDCG@k = DCG@k / IDCG@k;  Recall@k = hits / |T|;  Precision@k = hits / k.
 * `evaluateTopK` averages them over the users with at least one test item they have not seen in train,
 * asks the recommender for k items per such user, and rejects a list that holds a seen item (the
 * protocol ranks unseen items only) or repeats one.
 */
import { KilnError } from '../core/errors.js';
import { userItems, type InteractionTable } from './table.js';

export interface RankingScores {
  ndcg: number;
  recall: number;
  precision: number;
  hits: number;
}

/** Binary search in a sorted Int32Array range. */
export function sortedHas(a: Int32Array, from: number, to: number, x: number): boolean {
  let lo = from;
  let hi = to - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = a[mid]!;
    if (v === x) return true;
    if (v < x) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

/** Metrics of one ranked list against the relevant items (sorted ascending, distinct). */
export function rankingScores(ranked: ArrayLike<number>, relevant: Int32Array, k: number): RankingScores {
  const depth = Math.min(k, ranked.length);
  let dcg = 0;
  let hits = 0;
  for (let i = 0; i < depth; i++) {
    if (sortedHas(relevant, 0, relevant.length, ranked[i]!)) {
      dcg += 1 / Math.log2(i + 2);
      hits++;
    }
  }
  let idcg = 0;
  for (let i = 0; i < Math.min(k, relevant.length); i++) idcg += 1 / Math.log2(i + 2);
  return { ndcg: idcg > 0 ? dcg / idcg : 0, recall: relevant.length > 0 ? hits / relevant.length : 0, precision: hits / k, hits };
}

export interface TopKReport {
  k: number;
  /** Users averaged over (those with an unseen test item). */
  users: number;
  ndcg: number;
  recall: number;
  precision: number;
}

export interface EvaluateOptions {
  train: InteractionTable;
  test: InteractionTable;
  k?: number;
  /** The top k unseen items for a user, best first. */
  recommend: (user: number, k: number) => ArrayLike<number>;
}

/** Throws unless train and test share their id spaces. */
export function checkSameIds(train: InteractionTable, test: InteractionTable): void {
  if (train.nUsers !== test.nUsers || train.nItems !== test.nItems) {
    throw new KilnError('RECS_DATA_INVALID', `train is ${train.nUsers} users x ${train.nItems} items but test is ${test.nUsers} x ${test.nItems}; split one table so both share its ids`, { path: ['test'] });
  }
}

/**
 * Mean nDCG@k, Recall@k and Precision@k over users with test items.
 * @example
 * const r = evaluateTopK({ train, test, k: 10, recommend: (u, k) => ease.candidates(u, k).items });
 */
export function evaluateTopK(opts: EvaluateOptions): TopKReport {
  const k = opts.k ?? 10;
  if (!Number.isInteger(k) || k < 1) throw new KilnError('RECS_PARAM_INVALID', `k must be a positive integer, got ${k}`, { path: ['k'] });
  const { train, test } = opts;
  checkSameIds(train, test);
  const seen = userItems(train);
  const held = userItems(test);
  let users = 0;
  let ndcg = 0;
  let recall = 0;
  let precision = 0;
  for (let u = 0; u < test.nUsers; u++) {
    const rel: number[] = [];
    for (let p = held.offsets[u]!; p < held.offsets[u + 1]!; p++) {
      const i = held.items[p]!;
      if (!sortedHas(seen.items, seen.offsets[u]!, seen.offsets[u + 1]!, i)) rel.push(i);
    }
    if (rel.length === 0) continue;
    const ranked = opts.recommend(u, k);
    const dup = new Set<number>();
    for (let r = 0; r < Math.min(k, ranked.length); r++) {
      const i = ranked[r]!;
      if (sortedHas(seen.items, seen.offsets[u]!, seen.offsets[u + 1]!, i)) {
        throw new KilnError('RECS_DATA_INVALID', `recommend(${u}) returned item ${i}, which the user has in train; recommenders must exclude seen items`, { path: ['recommend'] });
      }
      if (dup.has(i)) throw new KilnError('RECS_DATA_INVALID', `recommend(${u}) returned item ${i} twice`, { path: ['recommend'] });
      dup.add(i);
    }
    const s = rankingScores(ranked, Int32Array.from(rel), k);
    ndcg += s.ndcg;
    recall += s.recall;
    precision += s.precision;
    users++;
  }
  if (users === 0) throw new KilnError('RECS_DATA_INVALID', 'no user has a test item outside train; nothing to evaluate', { path: ['test'] });
  return { k, users, ndcg: ndcg / users, recall: recall / users, precision: precision / users };
}
