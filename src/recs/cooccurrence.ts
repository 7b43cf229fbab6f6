/**
 * Sequence co-occurrence: items a user interacted with close together in time. Each user's items in
 * time order (row order without times); every pair at most `window` steps apart adds decay^(d - 1)
 * to T_ij and T_ji (d = their distance in steps). A user's score for item j is
 *   sum_{i in the user's items} T_ij / count_j^popularityExponent
 * (count_j = the item's interactions; the exponent discounts items that co-occur with everything).
 * Under a random split the held-out items sit between the user's training items in time, and what
 * other users took next to those items points at them; EASE^R, which sees only sets, misses that.
 * T is items x items Float32 (maxItems bounds it, as for EASE^R).
 */
import { ScoredGenerator, type CandidateGenerator } from './generator.js';
import { throwIssues, type InteractionTable } from './table.js';

export interface CooccurrenceOptions {
  /** Largest distance in steps between two items that count (default 3). */
  window?: number;
  /** Weight per extra step (default 0.5). */
  decay?: number;
  /** Divide by count_j to this power (default 0.5). */
  popularityExponent?: number;
  maxItems?: number;
}

/**
 * Fits the co-occurrence generator on the training interactions.
 * @example
 * const co = fitCooccurrence(train, { window: 3, decay: 0.5 });
 */
export function fitCooccurrence(train: InteractionTable, opts: CooccurrenceOptions = {}, name = 'cooccurrence'): CandidateGenerator {
  const window = opts.window ?? 3;
  const decay = opts.decay ?? 0.5;
  const alpha = opts.popularityExponent ?? 0.5;
  const maxItems = opts.maxItems ?? 8192;
  const n = train.nItems;
  throwIssues('RECS_PARAM_INVALID', 'co-occurrence options', [
    ...(Number.isInteger(window) && window >= 1 ? [] : [{ path: ['window'], message: `must be an integer >= 1, got ${window}` }]),
    ...(decay > 0 && decay <= 1 ? [] : [{ path: ['decay'], message: `must be in (0, 1], got ${decay}` }]),
    ...(Number.isFinite(alpha) && alpha >= 0 ? [] : [{ path: ['popularityExponent'], message: `must be a finite number >= 0, got ${alpha}` }]),
    ...(n <= maxItems ? [] : [{ path: ['maxItems'], message: `the catalogue has ${n} items, above maxItems ${maxItems} (items^2 floats); raise maxItems` }]),
  ]);
  const times = train.times;
  const rows = Int32Array.from({ length: train.users.length }, (_, k) => k)
    .sort((a, b) => train.users[a]! - train.users[b]! || (times ? times[a]! - times[b]! : 0) || a - b);
  const t = new Float32Array(n * n);
  const count = new Float32Array(n);
  for (let s = 0; s < rows.length; s++) {
    const u = train.users[rows[s]!]!;
    const i = train.items[rows[s]!]!;
    count[i]!++;
    let w = 1;
    for (let d = 1; d <= window && s + d < rows.length; d++, w *= decay) {
      if (train.users[rows[s + d]!] !== u) break;
      const j = train.items[rows[s + d]!]!;
      if (j === i) continue;
      t[i * n + j]! += w;
      t[j * n + i]! += w;
    }
  }
  const scale = Float32Array.from(count, (c) => (c > 0 ? 1 / Math.pow(c, alpha) : 0));
  return new ScoredGenerator(name, 'cooccurrence', train, { scorer: 'item-item', n, weights: t, colScale: scale });
}
