/**
 * The one interface of candidate generators: a score for every item given a user (`scoreAll`), and
 * from it the top n items the user has not interacted with in the generator's training data
 * (`candidates`; ties go to the lower item id). Every generator (popularity, EASE^R, ALS, BPR, item2vec,
 * two-tower) is a `ScoredGenerator` over its own scoring function, so ranking, exclusion and tie rules
 * live once here.
 */
import { KilnError } from '../core/errors.js';
import { VectorIndex } from '../embeddings/index.js';
import { sortedHas } from './metrics.js';
import { annQuery, checkScorerState, itemScorerFromState, scorerFromState, type ScoreFn, type ScoreItemsFn, type ScorerState } from './state.js';
import { userItems, type InteractionTable, type UserItems } from './table.js';

export interface Candidates {
  items: Int32Array;
  scores: Float32Array;
}

export interface CandidateGenerator {
  /** Name used for its features (`<name>.score`); the spec's name, else its kind. */
  readonly name: string;
  readonly kind: string;
  readonly nUsers: number;
  readonly nItems: number;
  /** Writes a score for every item (seen ones too) into out[0..nItems); higher is better. */
  scoreAll(user: number, out: Float32Array): void;
  /** The top n items the user has not seen in training, best first. */
  candidates(user: number, n: number): Candidates;
  /** Writes the scores of `items` (in order) into out[0..items.length): the values scoreAll gives them. */
  scoreItems(user: number, items: Int32Array, out: Float32Array): void;
  /** The user's training items, sorted ascending (what candidates excludes). */
  seenItems(user: number): Int32Array;
  /** What the scores come from, as typed arrays (absent: the generator cannot be saved). */
  readonly state?: ScorerState;
  /** Set when candidates come from an HNSW index over the state's item vectors. */
  readonly ann?: AnnSpec;
}

/**
 * Top n of `scores` (higher first, ties to the lower id), skipping the ids in the sorted
 * seen[from..to). NaN scores rank last.
 */
export function topN(scores: Float32Array, n: number, seen: Int32Array, from = 0, to = seen.length): Candidates {
  const size = Math.max(0, Math.min(n, scores.length));
  const hi = new Int32Array(size);
  const hs = new Float32Array(size);
  let len = 0;
  // min-heap on (score, -id): the root is the worst kept
  const worse = (sa: number, ia: number, sb: number, ib: number): boolean => sa < sb || (sa === sb && ia > ib);
  const siftDown = (p: number): void => {
    for (;;) {
      const l = 2 * p + 1;
      const r = l + 1;
      let m = p;
      if (l < len && worse(hs[l]!, hi[l]!, hs[m]!, hi[m]!)) m = l;
      if (r < len && worse(hs[r]!, hi[r]!, hs[m]!, hi[m]!)) m = r;
      if (m === p) return;
      const ts = hs[p]!; hs[p] = hs[m]!; hs[m] = ts;
      const ti = hi[p]!; hi[p] = hi[m]!; hi[m] = ti;
      p = m;
    }
  };
  let q = from;
  if (size > 0) {
    for (let i = 0; i < scores.length; i++) {
      while (q < to && seen[q]! < i) q++;
      if (q < to && seen[q] === i) continue;
      const raw = scores[i]!;
      const s = raw === raw ? raw : -Infinity;
      if (len < size) {
        let c = len++;
        hs[c] = s;
        hi[c] = i;
        while (c > 0) {
          const p = (c - 1) >> 1;
          if (!worse(hs[c]!, hi[c]!, hs[p]!, hi[p]!)) break;
          const ts = hs[p]!; hs[p] = hs[c]!; hs[c] = ts;
          const ti = hi[p]!; hi[p] = hi[c]!; hi[c] = ti;
          c = p;
        }
      } else if (worse(hs[0]!, hi[0]!, s, i)) {
        hs[0] = s;
        hi[0] = i;
        siftDown(0);
      }
    }
  }
  const order = Array.from({ length: len }, (_, t) => t).sort((a, b) => hs[b]! - hs[a]! || hi[a]! - hi[b]!);
  return { items: Int32Array.from(order, (t) => hi[t]!), scores: Float32Array.from(order, (t) => hs[t]!) };
}

/**
 * Approximate candidate retrieval for generators whose scores are inner products with item vectors
 * (ALS, BPR, two-tower, sequence: x_u . y_i; item2vec user-mean: the cosine to the mean of the user's
 * items, plus the item's popularity prior): an HNSW index (usearch, inner product, built on one thread so
 * the same vectors give the same graph) returns the `overFetch` x n nearest unseen items (default 2),
 * joined for item2vec by as many unseen items of highest prior (a term the vectors do not hold), and
 * they are ordered by their exact scores.
 */
export interface AnnSpec {
  connectivity?: number;
  expansionSearch?: number;
  overFetch?: number;
}

/**
 * A generator from a scoring function and the training interactions it excludes. Given a ScorerState
 * (state.ts) instead of a function, it scores from that state and can be saved and loaded; with `ann`,
 * its candidates come from an HNSW index over the state's item vectors.
 */
export class ScoredGenerator implements CandidateGenerator {
  readonly nUsers: number;
  readonly nItems: number;
  readonly state?: ScorerState;
  readonly ann?: AnnSpec;
  private readonly seen: UserItems;
  private readonly scratch: Float32Array;
  private readonly score: ScoreFn;
  private readonly scoreSome: ScoreItemsFn | null = null;
  private readonly index: VectorIndex | null = null;
  private readonly byPrior: Int32Array | null = null;

  constructor(
    readonly name: string,
    readonly kind: string,
    train: InteractionTable,
    score: ScoreFn | ScorerState,
    ann?: AnnSpec,
  ) {
    this.nUsers = train.nUsers;
    this.nItems = train.nItems;
    this.seen = userItems(train);
    this.scratch = new Float32Array(train.nItems);
    if (typeof score === 'function') this.score = score;
    else {
      checkScorerState(score, train.nUsers, train.nItems);
      this.state = score;
      this.score = scorerFromState(score);
      this.scoreSome = itemScorerFromState(score);
    }
    if (ann) {
      const s = this.state;
      if (!s || (s.scorer !== 'dot' && s.scorer !== 'mean-cosine')) {
        throw new KilnError('RECS_PARAM_INVALID', `generator '${name}' (${kind}): ann needs item vectors (als, bpr, two-tower, sequence, item2vec user-mean)`, { path: ['generators', name, 'ann'] });
      }
      const over = ann.overFetch ?? 2;
      if (!(over >= 1 && Number.isFinite(over))) throw new KilnError('RECS_PARAM_INVALID', `generator '${name}': ann.overFetch must be a number >= 1, got ${over}`, { path: ['generators', name, 'ann', 'overFetch'] });
      const vectors = s.scorer === 'dot' ? s.itemVectors : s.vectors;
      if (s.scorer === 'mean-cosine') this.byPrior = Int32Array.from({ length: train.nItems }, (_, i) => i).sort((a, b) => s.prior[b]! - s.prior[a]! || a - b);
      this.index = VectorIndex.build(Int32Array.from({ length: train.nItems }, (_, i) => i), vectors, {
        dim: s.dim, metric: 'ip', threads: 1,
        ...(ann.connectivity !== undefined ? { connectivity: ann.connectivity } : {}), ...(ann.expansionSearch !== undefined ? { expansionSearch: ann.expansionSearch } : {}),
      });
      this.ann = { ...ann };
    }
  }

  private checkUser(user: number): void {
    if (!Number.isInteger(user) || user < 0 || user >= this.nUsers) {
      throw new KilnError('RECS_DATA_INVALID', `generator '${this.name}': user ${user} is outside 0..${this.nUsers - 1}`, { path: ['user'] });
    }
  }

  seenItems(user: number): Int32Array {
    this.checkUser(user);
    return this.seen.items.subarray(this.seen.offsets[user]!, this.seen.offsets[user + 1]!);
  }

  scoreAll(user: number, out: Float32Array): void {
    this.checkUser(user);
    if (out.length < this.nItems) throw new KilnError('RECS_DATA_INVALID', `generator '${this.name}': out has ${out.length} slots; needs ${this.nItems}`, { path: ['out'] });
    this.score(user, out, this.seenItems(user));
  }

  scoreItems(user: number, items: Int32Array, out: Float32Array): void {
    const seen = this.seenItems(user);
    if (this.scoreSome) { this.scoreSome(user, items, out, seen); return; }
    this.score(user, this.scratch, seen);
    for (let r = 0; r < items.length; r++) out[r] = this.scratch[items[r]!]!;
  }

  candidates(user: number, n: number): Candidates {
    if (!Number.isInteger(n) || n < 0) throw new KilnError('RECS_PARAM_INVALID', `generator '${this.name}': n must be an integer >= 0, got ${n}`, { path: ['n'] });
    if (this.index) return this.annCandidates(user, n);
    this.scoreAll(user, this.scratch);
    const seen = this.seenItems(user);
    return topN(this.scratch, n, seen);
  }

  private annCandidates(user: number, n: number): Candidates {
    const seen = this.seenItems(user);
    const want = Math.min(n, this.nItems - seen.length);
    if (want <= 0) return { items: new Int32Array(0), scores: new Float32Array(0) };
    const query = annQuery(this.state!, user, seen)!;
    const take = Math.min(this.nItems - seen.length, Math.ceil(want * (this.ann!.overFetch ?? 2)));
    let fetch = Math.min(this.nItems, take + seen.length);
    let got: number[] = [];
    for (;;) {
      got = [];
      for (const id of this.index!.search(query, fetch).ids) {
        const i = Number(id);
        if (!sortedHas(seen, 0, seen.length, i)) got.push(i);
        if (got.length === take) break;
      }
      if (got.length >= take || fetch >= this.nItems) break;
      fetch = Math.min(this.nItems, fetch * 2);
    }
    if (this.byPrior) {
      const have = new Set(got);
      let added = 0;
      for (let r = 0; r < this.byPrior.length && added < take; r++) {
        const i = this.byPrior[r]!;
        if (sortedHas(seen, 0, seen.length, i)) continue;
        added++;
        if (!have.has(i)) got.push(i);
      }
    }
    const items = Int32Array.from(got);
    const scores = new Float32Array(items.length);
    this.scoreItems(user, items, scores);
    const order = Array.from({ length: items.length }, (_, r) => r).sort((a, b) => scores[b]! - scores[a]! || items[a]! - items[b]!).slice(0, want);
    return { items: Int32Array.from(order, (r) => items[r]!), scores: Float32Array.from(order, (r) => scores[r]!) };
  }
}

/** Item interaction counts (distinct users per item) in a table. */
export function itemCounts(t: InteractionTable): Float32Array {
  const seen = userItems(t);
  const c = new Float32Array(t.nItems);
  for (let p = 0; p < seen.items.length; p++) c[seen.items[p]!]!++;
  return c;
}

/** Most popular first: the score of an item is how many users interacted with it. */
export function fitPopularity(train: InteractionTable, name = 'popularity'): CandidateGenerator {
  const counts = itemCounts(train);
  return new ScoredGenerator(name, 'popularity', train, { scorer: 'fixed', scores: counts });
}

export { dotScorer } from './state.js';
