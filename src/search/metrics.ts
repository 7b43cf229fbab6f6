/**
 * Relevance measures over a labelled collection, as trec_eval defines them:
 *   nDCG@k      DCG@k / ideal DCG@k, gain g (linear, or 2^g - 1), discount 1 / log2(rank + 1); the ideal
 *               ranking orders every judged document of the query by gain
 *   AP          sum over relevant documents found of precision at their rank / number of relevant
 *               documents (found or not); relevant = gain > 0; MAP is its mean over queries
 *   recall@k    relevant documents in the top k / relevant documents
 * A query with no relevant document is left out of every mean (its measures are undefined), and the
 * count of queries used is reported.
 */
import { KilnError } from '../core/errors.js';
import type { SearchId } from './options.js';

/** Judgements of one query: document id -> gain (0 = judged not relevant). */
export type Judgements = ReadonlyMap<SearchId, number>;

export type GainKind = 'linear' | 'exponential';

const gainOf = (g: number, kind: GainKind): number => (kind === 'exponential' ? 2 ** g - 1 : g);

/** nDCG@k of one ranking; NaN when no judged document has a positive gain. */
export function ndcgAtK(ranked: readonly SearchId[], judged: Judgements, k: number, gain: GainKind = 'linear'): number {
  const ideal = [...judged.values()].filter((g) => g > 0).sort((a, b) => b - a);
  let idcg = 0;
  for (let i = 0; i < Math.min(k, ideal.length); i++) idcg += gainOf(ideal[i]!, gain) / Math.log2(i + 2);
  if (idcg === 0) return NaN;
  let dcg = 0;
  for (let i = 0; i < Math.min(k, ranked.length); i++) {
    const g = judged.get(ranked[i]!) ?? 0;
    if (g > 0) dcg += gainOf(g, gain) / Math.log2(i + 2);
  }
  return dcg / idcg;
}

function relevantCount(judged: Judgements): number {
  let n = 0;
  for (const g of judged.values()) if (g > 0) n++;
  return n;
}

/** Average precision of one ranking; NaN without relevant documents. */
export function averagePrecision(ranked: readonly SearchId[], judged: Judgements): number {
  const nRel = relevantCount(judged);
  if (nRel === 0) return NaN;
  let hits = 0;
  let sum = 0;
  for (let i = 0; i < ranked.length; i++) {
    if ((judged.get(ranked[i]!) ?? 0) > 0) {
      hits++;
      sum += hits / (i + 1);
    }
  }
  return sum / nRel;
}

/** Share of the relevant documents in the top k; NaN without relevant documents. */
export function recallAtK(ranked: readonly SearchId[], judged: Judgements, k: number): number {
  const nRel = relevantCount(judged);
  if (nRel === 0) return NaN;
  let hits = 0;
  for (let i = 0; i < Math.min(k, ranked.length); i++) if ((judged.get(ranked[i]!) ?? 0) > 0) hits++;
  return hits / nRel;
}

export interface RunMeasures {
  /** Mean nDCG@10 (or @ndcgK). */
  ndcg: number;
  map: number;
  /** Mean recall@100 (or @recallK). */
  recall: number;
  /** Queries measured (those with at least one relevant document). */
  queries: number;
  /** Per query, in the order given: NaN where undefined. */
  perQuery: { ndcg: Float64Array; ap: Float64Array; recall: Float64Array };
}

export interface EvaluateOptions {
  ndcgK?: number;
  recallK?: number;
  gain?: GainKind;
}

const meanDefined = (a: Float64Array): number => {
  let s = 0;
  let n = 0;
  for (const v of a) if (!Number.isNaN(v)) { s += v; n++; }
  return n > 0 ? s / n : NaN;
};

/**
 * nDCG@10, MAP and recall@100 of rankings, one per query, against their judgements (same order).
 * @example evaluateRuns([['d3', 'd1']], [new Map([['d1', 2], ['d2', 1]])]).ndcg
 */
export function evaluateRuns(runs: readonly (readonly SearchId[])[], judgements: readonly Judgements[], o: EvaluateOptions = {}): RunMeasures {
  if (runs.length !== judgements.length) {
    throw new KilnError('SEARCH_DATA_INVALID', `evaluateRuns: ${runs.length} rankings for ${judgements.length} judged queries; give one ranking per query`, { path: ['runs'] });
  }
  const ndcgK = o.ndcgK ?? 10;
  const recallK = o.recallK ?? 100;
  const n = runs.length;
  const per = { ndcg: new Float64Array(n), ap: new Float64Array(n), recall: new Float64Array(n) };
  let queries = 0;
  for (let q = 0; q < n; q++) {
    per.ndcg[q] = ndcgAtK(runs[q]!, judgements[q]!, ndcgK, o.gain);
    per.ap[q] = averagePrecision(runs[q]!, judgements[q]!);
    per.recall[q] = recallAtK(runs[q]!, judgements[q]!, recallK);
    if (!Number.isNaN(per.ap[q]!)) queries++;
  }
  return { ndcg: meanDefined(per.ndcg), map: meanDefined(per.ap), recall: meanDefined(per.recall), queries, perQuery: per };
}
