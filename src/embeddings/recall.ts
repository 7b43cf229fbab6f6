/**
 * Held-out recall@k of a dot-product recommender: for each user with held-out pairs, rank every item the
 * user has no training pair with by u . v (ties: lower item id first), and count the held-out items in
 * the top k. A user's recall is hits / min(k, held-out items), so 1 is reachable (Liang et al. 2018);
 * the result is the mean over users. Any scorer whose score is a dot product fits: a popularity
 * ranking is user vectors [1] and item vectors [count].
 */
import { KilnError } from '../core/errors.js';

export interface Pairs {
  user: Int32Array;
  item: Int32Array;
}

export function heldOutRecall(userVectors: Float32Array, itemVectors: Float32Array, dim: number, train: Pairs, test: Pairs, k: number): number {
  const users = userVectors.length / dim;
  const items = itemVectors.length / dim;
  if (!Number.isInteger(users) || !Number.isInteger(items)) throw new KilnError('INVALID_ARGUMENT', `heldOutRecall: vectors are not whole rows of ${dim}`, { path: ['dim'] });
  if (!Number.isInteger(k) || k <= 0) throw new KilnError('INVALID_ARGUMENT', `heldOutRecall: k must be a positive integer, got ${k}`, { path: ['k'] });
  const byUser = (p: Pairs): Map<number, Set<number>> => {
    const m = new Map<number, Set<number>>();
    for (let t = 0; t < p.user.length; t++) {
      const u = p.user[t]!;
      const i = p.item[t]!;
      if (!(u >= 0 && u < users && i >= 0 && i < items)) throw new KilnError('INVALID_ARGUMENT', `heldOutRecall: pair ${t} (${u}, ${i}) is outside ${users} users x ${items} items`, { path: ['pairs', t] });
      let s = m.get(u);
      if (!s) m.set(u, (s = new Set()));
      s.add(i);
    }
    return m;
  };
  const seen = byUser(train);
  const held = byUser(test);
  const scores = new Float32Array(items);
  const topIds = new Int32Array(k);
  const topScores = new Float32Array(k);
  let sum = 0;
  let counted = 0;
  for (const [u, truth] of [...held.entries()].sort((a, b) => a[0] - b[0])) {
    const skip = seen.get(u);
    let want = 0;
    for (const i of truth) if (!skip?.has(i)) want++;
    if (want === 0) continue;
    for (let i = 0; i < items; i++) {
      let s = 0;
      for (let d = 0; d < dim; d++) s += userVectors[u * dim + d]! * itemVectors[i * dim + d]!;
      scores[i] = s;
    }
    let size = 0;
    for (let i = 0; i < items; i++) {
      if (skip?.has(i)) continue;
      const s = scores[i]!;
      if (size === k && !(s > topScores[k - 1]!)) continue;
      let at = size < k ? size++ : k - 1;
      while (at > 0 && topScores[at - 1]! < s) {
        topScores[at] = topScores[at - 1]!;
        topIds[at] = topIds[at - 1]!;
        at--;
      }
      topScores[at] = s;
      topIds[at] = i;
    }
    let hits = 0;
    for (let t = 0; t < size; t++) if (truth.has(topIds[t]!)) hits++;
    sum += hits / Math.min(k, want);
    counted++;
  }
  if (counted === 0) throw new KilnError('INVALID_ARGUMENT', 'heldOutRecall: no user has a held-out item outside its training pairs', { path: ['test'] });
  return sum / counted;
}
