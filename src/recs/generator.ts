/**
 * The one interface of candidate generators: a score for every item given a user (`scoreAll`), and
 * from it the top n items the user has not interacted with in the generator's training data
 * (`candidates`; ties go to the lower item id). Every generator (popularity, EASE^R, ALS, BPR, item2vec,
 * two-tower) is a `ScoredGenerator` over its own scoring function, so ranking, exclusion and tie rules
 * live once here.
 */
import { KilnError } from '../core/errors.js';
import { checkScorerState, scorerFromState, type ScoreFn, type ScorerState } from './state.js';
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
  /** The user's training items, sorted ascending (what candidates excludes). */
  seenItems(user: number): Int32Array;
  /** What the scores come from, as typed arrays (absent: the generator cannot be saved). */
  readonly state?: ScorerState;
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
 * A generator from a scoring function and the training interactions it excludes. Given a ScorerState
 * (state.ts) instead of a function, it scores from that state and can be saved and loaded.
 */
export class ScoredGenerator implements CandidateGenerator {
  readonly nUsers: number;
  readonly nItems: number;
  readonly state?: ScorerState;
  private readonly seen: UserItems;
  private readonly scratch: Float32Array;
  private readonly score: ScoreFn;

  constructor(
    readonly name: string,
    readonly kind: string,
    train: InteractionTable,
    score: ScoreFn | ScorerState,
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

  candidates(user: number, n: number): Candidates {
    if (!Number.isInteger(n) || n < 0) throw new KilnError('RECS_PARAM_INVALID', `generator '${this.name}': n must be an integer >= 0, got ${n}`, { path: ['n'] });
    this.scoreAll(user, this.scratch);
    const seen = this.seenItems(user);
    return topN(this.scratch, n, seen);
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
