/**
 * Hybrid search: fusing the rankings of several retrievers (BM25, vectors) into one.
 *
 * Reciprocal rank fusion (Cormack, Clarke and Buettcher, 2009): score(d) = sum over lists of
 * 1 / (k + rank of d in the list), rank from 1, k = 60; a list without d adds nothing.
 * Linear blend: each list's scores are min-max normalised within the query ((s - min) / (max - min),
 * all 1 when the list's scores are equal), a document missing from a list gets 0 there, and
 * score(d) = sum_i w_i norm_i(d). `fitBlendWeights` chooses w on training queries: a grid over the
 * simplex (weights >= 0 summing to 1, step 0.05 by default) maximising mean nDCG@10.
 * Ties in a fused list go to the document met first, reading the lists in order, each best first.
 */
import { KilnError } from '../core/errors.js';
import { ndcgAtK, type Judgements } from './metrics.js';
import type { SearchHits, SearchId } from './options.js';

export const RRF_K = 60;

function fused(order: Map<SearchId, number>, limit: number): SearchHits {
  const ids = [...order.keys()];
  const s = [...order.values()];
  const idx = Array.from(ids, (_, i) => i).sort((a, b) => s[b]! - s[a]! || a - b).slice(0, limit);
  return { ids: idx.map((i) => ids[i]!), scores: Float64Array.from(idx, (i) => s[i]!) };
}

function checkLists(lists: readonly SearchHits[], what: string): void {
  if (!Array.isArray(lists) || lists.length === 0) throw new KilnError('SEARCH_PARAM_INVALID', `${what}: give at least one ranked list`, { path: ['lists'] });
}

/**
 * Reciprocal rank fusion of ranked lists.
 * @example reciprocalRankFusion([bm25.search(q, 100), await vectors.search(q, 100)]).ids.slice(0, 10)
 */
export function reciprocalRankFusion(lists: readonly SearchHits[], options: { k?: number; limit?: number } = {}): SearchHits {
  checkLists(lists, 'reciprocalRankFusion');
  const k = options.k ?? RRF_K;
  if (!Number.isFinite(k) || k < 0) throw new KilnError('SEARCH_PARAM_INVALID', `reciprocalRankFusion: k must be a number >= 0, got ${String(k)}`, { path: ['k'] });
  const acc = new Map<SearchId, number>();
  for (const l of lists) l.ids.forEach((id, r) => acc.set(id, (acc.get(id) ?? 0) + 1 / (k + r + 1)));
  return fused(acc, options.limit ?? acc.size);
}

/** Min-max normalised scores of a list, in its order. */
export function minMaxNormalise(scores: Float64Array): Float64Array {
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of scores) { lo = Math.min(lo, s); hi = Math.max(hi, s); }
  return Float64Array.from(scores, (s) => (hi > lo ? (s - lo) / (hi - lo) : 1));
}

/** The blend of the lists with the given weights (one per list). */
export function linearBlend(lists: readonly SearchHits[], weights: readonly number[], options: { limit?: number } = {}): SearchHits {
  checkLists(lists, 'linearBlend');
  if (weights.length !== lists.length || weights.some((w) => !Number.isFinite(w))) {
    throw new KilnError('SEARCH_PARAM_INVALID', `linearBlend: ${weights.length} weights for ${lists.length} lists; give one finite weight per list`, { path: ['weights'] });
  }
  const acc = new Map<SearchId, number>();
  lists.forEach((l, i) => {
    const norm = minMaxNormalise(l.scores);
    l.ids.forEach((id, r) => acc.set(id, (acc.get(id) ?? 0) + weights[i]! * norm[r]!));
  });
  return fused(acc, options.limit ?? acc.size);
}

/** Every weight vector on the simplex grid with the given step, in lexicographic order. */
export function simplexGrid(m: number, step: number): number[][] {
  const n = Math.round(1 / step);
  const out: number[][] = [];
  const rec = (prefix: number[], left: number): void => {
    if (prefix.length === m - 1) {
      out.push([...prefix, left].map((u) => u / n));
      return;
    }
    for (let u = 0; u <= left; u++) rec([...prefix, u], left - u);
  };
  rec([], n);
  return out;
}

export interface BlendExample {
  /** Each retriever's ranked list for the query, in the order the weights take. */
  lists: readonly SearchHits[];
  judged: Judgements;
}

export interface FittedBlend {
  weights: number[];
  /** Mean nDCG@k of the training queries with these weights. */
  ndcg: number;
}

/**
 * The blend weights that maximise mean nDCG@k on the training queries (ties: the weights nearest to
 * equal, then the first in grid order).
 */
export function fitBlendWeights(examples: readonly BlendExample[], options: { step?: number; ndcgK?: number } = {}): FittedBlend {
  const step = options.step ?? 0.05;
  const k = options.ndcgK ?? 10;
  if (!(step > 0 && step <= 1) || Math.abs(1 / step - Math.round(1 / step)) > 1e-9) {
    throw new KilnError('SEARCH_PARAM_INVALID', `fitBlendWeights: step must divide 1 (0.05, 0.1, 0.25...), got ${String(step)}`, { path: ['step'] });
  }
  const used = examples.filter((e) => [...e.judged.values()].some((g) => g > 0));
  if (used.length === 0) throw new KilnError('SEARCH_DATA_INVALID', 'fitBlendWeights: no training query has a relevant document', { path: ['examples'] });
  const m = used[0]!.lists.length;
  if (used.some((e) => e.lists.length !== m)) throw new KilnError('SEARCH_DATA_INVALID', 'fitBlendWeights: every example needs the same number of lists', { path: ['examples'] });
  const norms = used.map((e) => e.lists.map((l) => minMaxNormalise(l.scores)));
  let best: FittedBlend = { weights: [], ndcg: -Infinity };
  let bestSpread = Infinity;
  for (const w of simplexGrid(m, step)) {
    let sum = 0;
    used.forEach((e, q) => {
      const acc = new Map<SearchId, number>();
      e.lists.forEach((l, i) => l.ids.forEach((id, r) => acc.set(id, (acc.get(id) ?? 0) + w[i]! * norms[q]![i]![r]!)));
      sum += ndcgAtK(fused(acc, k).ids, e.judged, k);
    });
    const mean = sum / used.length;
    const spread = w.reduce((s, x) => s + (x - 1 / m) ** 2, 0);
    if (mean > best.ndcg + 1e-12 || (Math.abs(mean - best.ndcg) <= 1e-12 && spread < bestSpread)) {
      best = { weights: w, ndcg: mean };
      bestSpread = spread;
    }
  }
  return best;
}
