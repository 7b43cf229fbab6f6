/**
 * Matrix factorisation for implicit feedback: the public face of ALS (als.ts) and BPR (bpr.ts).
 * `trainMf` takes (user, item, weight) triples as typed arrays, builds the user-major and item-major CSR
 * (csr.ts; duplicate pairs summed), trains the chosen method and returns an `MfModel` holding the user
 * and item factors (Float32Array, row-major, n x factors). Queries are exact, by brute force:
 * `recommend(user, k, excludeSeen)` scores every item by the dot product x_u . y_i and keeps the k best
 * (a size-k min-heap, O(items log k)), skipping the user's own items when asked; `similarItems(item, k)`
 * ranks every other item by cosine similarity of item factors (norms computed once, lazily).
 * Ties break by the lower item id, so results are deterministic.
 */
import { KilnError } from '../core/errors.js';
import { trainAls, type AlsOptions } from './als.js';
import { trainBpr, type BprOptions } from './bpr.js';
import { buildCsr, csrHas, type Csr } from './csr.js';

export interface Interactions {
  users: Int32Array;
  items: Int32Array;
  /** Interaction strength (counts, ratings); all ones when omitted. */
  weights?: Float32Array;
  nUsers: number;
  nItems: number;
}

export type MfSpec = ({ method: 'als' } & AlsOptions) | ({ method: 'bpr' } & BprOptions);

export interface Scored {
  id: number;
  score: number;
}

/** Keeps the k best (score, id) pairs; better = higher score, then lower id. */
function topK(n: number, k: number, score: (i: number) => number, skip: (i: number) => boolean): Scored[] {
  const ids: number[] = [];
  const sc: number[] = [];
  const worse = (a: number, b: number): boolean => sc[a]! < sc[b]! || (sc[a] === sc[b] && ids[a]! > ids[b]!);
  const swap = (a: number, b: number): void => {
    const ti = ids[a]!; ids[a] = ids[b]!; ids[b] = ti;
    const ts = sc[a]!; sc[a] = sc[b]!; sc[b] = ts;
  };
  const down = (p: number): void => {
    for (;;) {
      const l = 2 * p + 1;
      const r = l + 1;
      let m = p;
      if (l < ids.length && worse(l, m)) m = l;
      if (r < ids.length && worse(r, m)) m = r;
      if (m === p) return;
      swap(p, m);
      p = m;
    }
  };
  if (k <= 0) return [];
  for (let i = 0; i < n; i++) {
    if (skip(i)) continue;
    const s = score(i);
    if (ids.length < k) {
      ids.push(i);
      sc.push(s);
      let c = ids.length - 1;
      while (c > 0) {
        const p = (c - 1) >> 1;
        if (!worse(c, p)) break;
        swap(c, p);
        c = p;
      }
    } else if (s > sc[0]! || (s === sc[0] && i < ids[0]!)) {
      ids[0] = i;
      sc[0] = s;
      down(0);
    }
  }
  const out = ids.map((id, t) => ({ id, score: sc[t]! }));
  out.sort((a, b) => b.score - a.score || a.id - b.id);
  return out;
}

export class MfModel {
  private itemNorms: Float32Array | undefined;

  constructor(
    readonly method: 'als' | 'bpr',
    readonly factors: number,
    readonly userFactors: Float32Array,
    readonly itemFactors: Float32Array,
    readonly seen: Csr,
    /** Per-iteration ALS loss, or per-epoch BPR mean log-likelihood. */
    readonly trace: number[],
  ) {}

  get nUsers(): number { return this.seen.nRows; }
  get nItems(): number { return this.seen.nCols; }

  score(user: number, item: number): number {
    const f = this.factors;
    let s = 0;
    for (let a = 0; a < f; a++) s += this.userFactors[user * f + a]! * this.itemFactors[item * f + a]!;
    return s;
  }

  recommend(user: number, k: number, excludeSeen = true): Scored[] {
    if (!Number.isInteger(user) || user < 0 || user >= this.nUsers) {
      throw new KilnError('INVALID_ARGUMENT', `user ${user} is outside 0..${this.nUsers - 1}`);
    }
    return topK(this.nItems, k, (i) => this.score(user, i), (i) => excludeSeen && csrHas(this.seen, user, i));
  }

  similarItems(item: number, k: number): Scored[] {
    if (!Number.isInteger(item) || item < 0 || item >= this.nItems) {
      throw new KilnError('INVALID_ARGUMENT', `item ${item} is outside 0..${this.nItems - 1}`);
    }
    const f = this.factors;
    const y = this.itemFactors;
    if (!this.itemNorms) {
      const norms = new Float32Array(this.nItems);
      for (let i = 0; i < this.nItems; i++) {
        let s = 0;
        for (let a = 0; a < f; a++) s += y[i * f + a]! * y[i * f + a]!;
        norms[i] = Math.sqrt(s);
      }
      this.itemNorms = norms;
    }
    const norms = this.itemNorms;
    const nq = norms[item]! || 1;
    const cos = (j: number): number => {
      let s = 0;
      for (let a = 0; a < f; a++) s += y[item * f + a]! * y[j * f + a]!;
      return s / (nq * (norms[j]! || 1));
    };
    return topK(this.nItems, k, cos, (j) => j === item);
  }
}

export function trainMf(data: Interactions, spec: MfSpec): MfModel {
  const weights = data.weights ?? new Float32Array(data.users.length).fill(1);
  const byUser = buildCsr(data.users, data.items, weights, data.nUsers, data.nItems);
  if (spec.method === 'als') {
    const byItem = buildCsr(data.items, data.users, weights, data.nItems, data.nUsers);
    const r = trainAls(byUser, byItem, spec);
    return new MfModel('als', spec.factors ?? 32, r.userFactors, r.itemFactors, byUser, r.losses);
  }
  if (spec.method === 'bpr') {
    const r = trainBpr(byUser, spec);
    return new MfModel('bpr', spec.factors ?? 32, r.userFactors, r.itemFactors, byUser, r.logLik);
  }
  throw new KilnError('INVALID_ARGUMENT', `unknown MF method ${(spec as { method: string }).method}; use 'als' or 'bpr'`);
}
