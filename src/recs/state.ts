/**
 * What a fitted generator is, as plain typed arrays: the state its scores come from, saved with a
 * recommender (persist.ts) and turned back into the same scoring function on load, so a served
 * recommender scores with the code that was evaluated. Five scorers cover every generator:
 *   fixed        out = scores (popularity)
 *   item-item    out_j = colScale_j x sum over the user's items i of W[i, j] (EASE^R, co-occurrence)
 *   dot          out_i = x_u . y_i (ALS, BPR, two-tower, and any model with a vector per user)
 *   mean-cosine  out_i = cos(mean of the user's unit item vectors, v_i) + prior_i (item2vec user-mean)
 *   neighbours   out_j = mean over the user's items i of the similarity to j among i's k nearest + prior_j
 *                (item2vec item-to-item)
 */
import { KilnError } from '../core/errors.js';

export type ScoreFn = (user: number, out: Float32Array, seen: Int32Array) => void;

export type ScorerState =
  | { scorer: 'fixed'; scores: Float32Array }
  | { scorer: 'item-item'; n: number; weights: Float32Array; colScale?: Float32Array }
  | { scorer: 'dot'; dim: number; userVectors: Float32Array; itemVectors: Float32Array }
  | { scorer: 'mean-cosine'; dim: number; vectors: Float32Array; prior: Float32Array }
  | { scorer: 'neighbours'; k: number; nbItems: Int32Array; nbScores: Float32Array; prior: Float32Array };

export type ScorerKind = ScorerState['scorer'];

/** Scores from user and item vectors: out[i] = x_u . y_i. */
export function dotScorer(userVectors: Float32Array, itemVectors: Float32Array, dim: number): (user: number, out: Float32Array) => void {
  const nItems = itemVectors.length / dim;
  return (user, out) => {
    const o = user * dim;
    for (let i = 0; i < nItems; i++) {
      let s = 0;
      const oi = i * dim;
      for (let d = 0; d < dim; d++) s += userVectors[o + d]! * itemVectors[oi + d]!;
      out[i] = s;
    }
  };
}

/** Rows scaled to unit length (zero rows stay zero). */
export function unitRows(data: Float32Array, rows: number, dim: number): Float32Array {
  const out = new Float32Array(rows * dim);
  for (let i = 0; i < rows; i++) {
    let s = 0;
    for (let d = 0; d < dim; d++) s += data[i * dim + d]! ** 2;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let d = 0; d < dim; d++) out[i * dim + d] = data[i * dim + d]! * inv;
  }
  return out;
}

function bad(what: string): never {
  throw new KilnError('RECS_DATA_INVALID', `generator state: ${what}`, { path: ['state'] });
}

/** Checks a state's array sizes against the catalogue (a corrupt or foreign file fails here, not in a request). */
export function checkScorerState(s: ScorerState, nUsers: number, nItems: number): void {
  const len = (name: string, a: ArrayLike<number> | undefined, want: number): void => {
    if (!a || a.length !== want) bad(`${s.scorer}.${name} has ${a?.length ?? 'no'} values; expected ${want}`);
  };
  switch (s.scorer) {
    case 'fixed': len('scores', s.scores, nItems); break;
    case 'item-item':
      if (s.n !== nItems) bad(`item-item.n is ${s.n}; the catalogue has ${nItems} items`);
      len('weights', s.weights, nItems * nItems);
      if (s.colScale) len('colScale', s.colScale, nItems);
      break;
    case 'dot':
      if (!(Number.isInteger(s.dim) && s.dim > 0)) bad(`dot.dim must be a positive integer, got ${s.dim}`);
      len('userVectors', s.userVectors, nUsers * s.dim);
      len('itemVectors', s.itemVectors, nItems * s.dim);
      break;
    case 'mean-cosine':
      if (!(Number.isInteger(s.dim) && s.dim > 0)) bad(`mean-cosine.dim must be a positive integer, got ${s.dim}`);
      len('vectors', s.vectors, nItems * s.dim);
      len('prior', s.prior, nItems);
      break;
    case 'neighbours':
      if (!(Number.isInteger(s.k) && s.k > 0)) bad(`neighbours.k must be a positive integer, got ${s.k}`);
      len('nbItems', s.nbItems, nItems * s.k);
      len('nbScores', s.nbScores, nItems * s.k);
      len('prior', s.prior, nItems);
      break;
    default: bad(`unknown scorer '${String((s as { scorer?: unknown }).scorer)}'`);
  }
}

/** The scoring function of a state. */
export function scorerFromState(s: ScorerState): ScoreFn {
  switch (s.scorer) {
    case 'fixed': return (_u, out) => out.set(s.scores);
    case 'item-item': {
      const { n, weights: w, colScale } = s;
      return (_u, out, seen) => {
        out.fill(0, 0, n);
        for (let p = 0; p < seen.length; p++) {
          const row = w.subarray(seen[p]! * n, seen[p]! * n + n);
          for (let j = 0; j < n; j++) out[j]! += row[j]!;
        }
        if (colScale) for (let j = 0; j < n; j++) out[j]! *= colScale[j]!;
      };
    }
    case 'dot': return dotScorer(s.userVectors, s.itemVectors, s.dim);
    case 'mean-cosine': {
      const { dim, vectors: v, prior } = s;
      const n = prior.length;
      const mean = new Float32Array(dim);
      const byMean = (unit: Float32Array): (u: number, out: Float32Array) => void => dotScorer(unit, v, dim);
      return (_u, out, seen) => {
        mean.fill(0);
        for (let p = 0; p < seen.length; p++) for (let d = 0; d < dim; d++) mean[d]! += v[seen[p]! * dim + d]!;
        byMean(unitRows(mean, 1, dim))(0, out);
        for (let i = 0; i < n; i++) out[i]! += prior[i]!;
      };
    }
    case 'neighbours': {
      const { k, nbItems, nbScores, prior } = s;
      const n = prior.length;
      return (_u, out, seen) => {
        out.fill(0, 0, n);
        for (let p = 0; p < seen.length; p++) {
          const o = seen[p]! * k;
          for (let q = 0; q < k; q++) out[nbItems[o + q]!]! += nbScores[o + q]! / seen.length;
        }
        for (let i = 0; i < n; i++) out[i]! += prior[i]!;
      };
    }
    default: return bad(`unknown scorer '${String((s as { scorer?: unknown }).scorer)}'`);
  }
}

/** Scores of the given items only: out[r] = score of items[r], equal to the value scorerFromState writes for it. */
export type ScoreItemsFn = (user: number, items: Int32Array, out: Float32Array, seen: Int32Array) => void;

/**
 * The scoring of given items for the scorers where that is cheaper than scoring all (dot, item-item,
 * fixed, mean-cosine), with the same float32 roundings as scorerFromState so a candidate's score does
 * not depend on which was used; null for the others (the caller scores all and reads the items).
 */
export function itemScorerFromState(s: ScorerState): ScoreItemsFn | null {
  switch (s.scorer) {
    case 'fixed': return (_u, items, out) => { for (let r = 0; r < items.length; r++) out[r] = s.scores[items[r]!]!; };
    case 'item-item': {
      const { n, weights: w, colScale } = s;
      const acc = new Float32Array(1);
      return (_u, items, out, seen) => {
        for (let r = 0; r < items.length; r++) {
          const j = items[r]!;
          acc[0] = 0;
          for (let p = 0; p < seen.length; p++) acc[0] += w[seen[p]! * n + j]!;
          if (colScale) acc[0] *= colScale[j]!;
          out[r] = acc[0]!;
        }
      };
    }
    case 'dot': {
      const { dim, userVectors: x, itemVectors: y } = s;
      return (user, items, out) => {
        const o = user * dim;
        for (let r = 0; r < items.length; r++) {
          let v = 0;
          const oi = items[r]! * dim;
          for (let d = 0; d < dim; d++) v += x[o + d]! * y[oi + d]!;
          out[r] = v;
        }
      };
    }
    case 'mean-cosine': {
      const { dim, vectors: v, prior } = s;
      const mean = new Float32Array(dim);
      const cell = new Float32Array(1);
      return (_u, items, out, seen) => {
        mean.fill(0);
        for (let p = 0; p < seen.length; p++) for (let d = 0; d < dim; d++) mean[d]! += v[seen[p]! * dim + d]!;
        const unit = unitRows(mean, 1, dim);
        for (let r = 0; r < items.length; r++) {
          let dot = 0;
          const oi = items[r]! * dim;
          for (let d = 0; d < dim; d++) dot += unit[d]! * v[oi + d]!;
          cell[0] = dot;
          cell[0] += prior[items[r]!]!;
          out[r] = cell[0]!;
        }
      };
    }
    default: return null;
  }
}

/** The query vector of a user for an ANN search over the state's item vectors (dot: x_u; mean-cosine: the unit mean of the user's items). */
export function annQuery(s: ScorerState, user: number, seen: Int32Array): Float32Array | null {
  if (s.scorer === 'dot') return s.userVectors.subarray(user * s.dim, (user + 1) * s.dim);
  if (s.scorer === 'mean-cosine') {
    const mean = new Float32Array(s.dim);
    for (let p = 0; p < seen.length; p++) for (let d = 0; d < s.dim; d++) mean[d]! += s.vectors[seen[p]! * s.dim + d]!;
    return unitRows(mean, 1, s.dim);
  }
  return null;
}
