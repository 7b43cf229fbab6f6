/**
 * Re-ranking a first-stage candidate list with kiln's GBDT (`rank:ndcg`, LambdaRank), on
 * query-document features:
 *   bm25            BM25F score over all fields
 *   bm25_<field>    BM25 of each field alone
 *   vector          cosine of the query's and the document's vectors (with a VectorSearch)
 *   coverage        share of the query's distinct terms found in the document
 *   doc_length      terms in the document
 *   query_terms     distinct terms of the query
 * Training groups are queries (one group per query, its candidates the rows, graded gains the labels).
 * `crossValidatedScores` scores each query with a ranker trained on the other folds only.
 */
import { KilnError } from '../core/errors.js';
import { Booster, train, type GbdtModelJson, type GbdtParams } from '../gbdt/index.js';
import type { Bm25Index } from './bm25.js';
import { crossValidate } from './folds.js';
import type { SearchHits, SearchId } from './options.js';
import type { VectorSearch } from './vector.js';

export const RERANKER_FORMAT = 'kiln.search-reranker@1';

/** Defaults of the ranker: small, shallow trees (a few hundred queries train it). */
export const RERANKER_PARAMS: GbdtParams = {
  objective: 'rank:ndcg', n_estimators: 200, learning_rate: 0.05, max_depth: 4, min_child_weight: 0.01, lambda: 1, subsample: 0.8, seed: 7, nthread: 1,
};

/** Computes the re-ranking features of candidates. */
export class QueryDocFeatures {
  readonly names: string[];

  constructor(readonly bm25: Bm25Index, readonly vector?: VectorSearch) {
    this.names = ['bm25', ...bm25.fields.map((f) => `bm25_${f}`), ...(vector ? ['vector'] : []), 'coverage', 'doc_length', 'query_terms'];
  }

  /** One column per feature (in `names` order), one row per candidate. */
  async columns(query: string, ids: readonly SearchId[], queryVector?: Float32Array): Promise<Float64Array[]> {
    const s = this.bm25.scoreDocs(query, ids);
    const cols = [s.total, ...s.perField];
    if (this.vector) cols.push(this.vector.scoreDocs(queryVector ?? (await this.vector.encodeQuery(query)), ids));
    cols.push(s.coverage, s.length, new Float64Array(ids.length).fill(s.queryTerms));
    return cols;
  }
}

/** One query's candidates: feature columns and, to train, the gain of each candidate. */
export interface RerankGroup {
  columns: readonly Float64Array[];
  gains?: ArrayLike<number>;
}

function stack(groups: readonly RerankGroup[], nFeatures: number): { features: Float64Array[]; sizes: number[] } {
  const sizes = groups.map((g) => g.columns[0]?.length ?? 0);
  const n = sizes.reduce((a, b) => a + b, 0);
  const features = Array.from({ length: nFeatures }, () => new Float64Array(n));
  let o = 0;
  groups.forEach((g, gi) => {
    if (g.columns.length !== nFeatures) {
      throw new KilnError('SEARCH_DATA_INVALID', `rerank: group ${gi} has ${g.columns.length} feature columns, expected ${nFeatures}`, { path: ['groups', gi, 'columns'] });
    }
    g.columns.forEach((c, j) => features[j]!.set(c, o));
    o += sizes[gi]!;
  });
  return { features, sizes };
}

export class Reranker {
  private constructor(readonly featureNames: string[], readonly booster: Booster) {}

  /**
   * Trains a ranker on labelled groups (queries with no candidate are skipped).
   * @example const ranker = await Reranker.train(groups, features.names);
   */
  static async train(groups: readonly RerankGroup[], featureNames: readonly string[], params: GbdtParams = {}): Promise<Reranker> {
    const used = groups.filter((g) => (g.columns[0]?.length ?? 0) > 0);
    if (used.length === 0) throw new KilnError('SEARCH_DATA_INVALID', 'rerank: no training group has candidates', { path: ['groups'] });
    const { features, sizes } = stack(used, featureNames.length);
    const label = new Float64Array(features[0]!.length);
    let o = 0;
    used.forEach((g, gi) => {
      if (g.gains === undefined || g.gains.length !== sizes[gi]) {
        throw new KilnError('SEARCH_DATA_INVALID', `rerank: training group ${gi} needs one gain per candidate (${sizes[gi]})`, { path: ['groups', gi, 'gains'] });
      }
      for (let i = 0; i < sizes[gi]!; i++) label[o + i] = g.gains[i]!;
      o += sizes[gi]!;
    });
    const booster = await train({ features, label, group: sizes, featureNames: [...featureNames], params: { ...RERANKER_PARAMS, ...params, objective: 'rank:ndcg' } });
    return new Reranker([...featureNames], booster);
  }

  /** Ranking scores of one group's candidates. */
  score(columns: readonly Float64Array[]): Float64Array {
    if ((columns[0]?.length ?? 0) === 0) return new Float64Array(0);
    return this.booster.predict(columns);
  }

  /** The candidates re-ordered by the ranker's score (ties keep the first-stage order). */
  rerank(ids: readonly SearchId[], columns: readonly Float64Array[]): SearchHits {
    return orderByScore(ids, this.score(columns));
  }

  toJSON(): { format: string; features: string[]; model: GbdtModelJson } {
    return { format: RERANKER_FORMAT, features: this.featureNames, model: this.booster.toJSON() };
  }

  static fromJSON(json: { format: string; features: string[]; model: GbdtModelJson }): Reranker {
    if (json?.format !== RERANKER_FORMAT) {
      throw new KilnError('MODEL_FORMAT_INVALID', `reranker JSON: format is '${String(json?.format)}', expected '${RERANKER_FORMAT}'`, { path: ['format'] });
    }
    return new Reranker(json.features, Booster.fromJSON(json.model));
  }
}

/** Ids ordered by score, best first; ties keep the given order. */
export function orderByScore(ids: readonly SearchId[], scores: Float64Array): SearchHits {
  const idx = Array.from(ids, (_, i) => i).sort((a, b) => scores[b]! - scores[a]! || a - b);
  return { ids: idx.map((i) => ids[i]!), scores: Float64Array.from(idx, (i) => scores[i]!) };
}

/**
 * Ranker scores of every group, each from a ranker trained on the groups of the other folds
 * (`fold[g]` the fold of group g, from `queryFolds`).
 */
export async function crossValidatedScores(groups: readonly RerankGroup[], fold: Int32Array, featureNames: readonly string[], params: GbdtParams = {}): Promise<Float64Array[]> {
  if (fold.length !== groups.length) throw new KilnError('SEARCH_PARAM_INVALID', `rerank: ${fold.length} folds for ${groups.length} groups`, { path: ['fold'] });
  return crossValidate(
    fold,
    (trainIdx) => Reranker.train(trainIdx.map((q) => groups[q]!), featureNames, params),
    (ranker, test) => test.map((q) => ranker.score(groups[q]!.columns)),
  );
}
