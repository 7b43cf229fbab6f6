/**
 * Next-item prediction offline (issue 18): each user's last interaction is held out and ranked against
 * every item the user has not interacted with in train (full ranking, no sampled negatives), as in the
 * SASRec / GRU4Rec evaluations.
 *
 *   leaveLastOut   test = each user's last row by time (ties: the later row; no times: the last row),
 *                  train = the rest; a user with fewer than 2 rows stays wholly in train. Applied to the
 *                  train part again it carves the validation split (each user's second-to-last row).
 *   evaluateNextItem  with rank r of the held-out item among the candidates (1 + the candidates scored
 *                  higher, ties to the lower id as topN orders them, NaN last):
 *                  HR@k = [r <= k] (Recall@k with one target), nDCG@k = [r <= k] / log2(r + 1), MRR = 1 / r,
 *                  averaged over users whose held-out item is not in their train rows.
 */
import { KilnError } from '../core/errors.js';
import { checkSameIds, sortedHas } from './metrics.js';
import type { Split } from './split.js';
import { checkInteractions, subsetInteractions, userItems, type InteractionTable } from './table.js';

/**
 * Holds out each user's last interaction (by time, ties to the later row) as test.
 * @example
 * const { train, test } = leaveLastOut(table);
 * const { train: fit, test: valid } = leaveLastOut(train);
 */
export function leaveLastOut(t: InteractionTable): Split {
  checkInteractions(t);
  const n = t.users.length;
  const last = new Int32Array(t.nUsers).fill(-1);
  const count = new Int32Array(t.nUsers);
  const times = t.times;
  for (let k = 0; k < n; k++) {
    const u = t.users[k]!;
    count[u]!++;
    const l = last[u]!;
    if (l < 0 || !times || times[k]! >= times[l]!) last[u] = k;
  }
  const held = new Uint8Array(n);
  for (let u = 0; u < t.nUsers; u++) if (count[u]! >= 2) held[last[u]!] = 1;
  const train: number[] = [];
  const test: number[] = [];
  for (let k = 0; k < n; k++) (held[k] ? test : train).push(k);
  return { train: subsetInteractions(t, Int32Array.from(train)), test: subsetInteractions(t, Int32Array.from(test)) };
}

export interface NextItemReport {
  k: number;
  /** Users averaged over: those with a held-out item not in their train rows. */
  users: number;
  /** Users whose held-out item is one of their train items (left out of the means). */
  skipped: number;
  hr: number;
  ndcg: number;
  mrr: number;
}

export interface NextItemOptions {
  train: InteractionTable;
  /** At most one row per user (leaveLastOut's test). */
  test: InteractionTable;
  k?: number;
  /** Writes a score for every item into out[0..nItems) (CandidateGenerator.scoreAll); higher is better. */
  scoreAll: (user: number, out: Float32Array) => void;
}

/**
 * The rank (1-based) of `target` among the items not in seen[from..to) (sorted), by `scores`: ties go
 * to the lower id and NaN ranks last, as topN orders them.
 */
export function rankOf(scores: Float32Array, target: number, seen: Int32Array, from = 0, to = seen.length): number {
  const raw = scores[target]!;
  const st = raw === raw ? raw : -Infinity;
  let rank = 1;
  let q = from;
  for (let i = 0; i < scores.length; i++) {
    while (q < to && seen[q]! < i) q++;
    if (i === target || (q < to && seen[q] === i)) continue;
    const r = scores[i]!;
    const s = r === r ? r : -Infinity;
    if (s > st || (s === st && i < target)) rank++;
  }
  return rank;
}

/**
 * Mean HR@k, nDCG@k and MRR of the held-out item over full ranking.
 * @example
 * const { train, test } = leaveLastOut(table);
 * const g = await fitGenerator({ kind: 'sequence' }, train);
 * const r = evaluateNextItem({ train, test, scoreAll: (u, out) => g.scoreAll(u, out) });
 */
export function evaluateNextItem(opts: NextItemOptions): NextItemReport {
  const k = opts.k ?? 10;
  if (!Number.isInteger(k) || k < 1) throw new KilnError('RECS_PARAM_INVALID', `k must be a positive integer, got ${k}`, { path: ['k'] });
  const { train, test } = opts;
  checkSameIds(train, test);
  const target = new Int32Array(test.nUsers).fill(-1);
  for (let r = 0; r < test.users.length; r++) {
    const u = test.users[r]!;
    if (target[u]! >= 0) throw new KilnError('RECS_DATA_INVALID', `test holds more than one row for user ${u}; next-item evaluation holds out one item per user (leaveLastOut)`, { path: ['test', 'users', r] });
    target[u] = test.items[r]!;
  }
  const seen = userItems(train);
  const scores = new Float32Array(train.nItems);
  let users = 0;
  let skipped = 0;
  let hr = 0;
  let ndcg = 0;
  let mrr = 0;
  for (let u = 0; u < test.nUsers; u++) {
    const t = target[u]!;
    if (t < 0) continue;
    const from = seen.offsets[u]!;
    const to = seen.offsets[u + 1]!;
    if (sortedHas(seen.items, from, to, t)) { skipped++; continue; }
    opts.scoreAll(u, scores);
    const rank = rankOf(scores, t, seen.items, from, to);
    if (rank <= k) {
      hr++;
      ndcg += 1 / Math.log2(rank + 1);
    }
    mrr += 1 / rank;
    users++;
  }
  if (users === 0) throw new KilnError('RECS_DATA_INVALID', 'no user has a held-out item outside train; nothing to evaluate', { path: ['test'] });
  return { k, users, skipped, hr: hr / users, ndcg: ndcg / users, mrr: mrr / users };
}
