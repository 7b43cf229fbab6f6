/**
 * The per-user stratified random split of Microsoft's `recommenders` benchmark: each user's rows are
 * shuffled (Fisher-Yates, one seeded Rng stream, users in id order) and the first round(ratio x n) go to
 * train, the rest to test, so every user with enough rows appears on both sides in the same proportion.
 * round() is half-to-even, as Python's (their split index); a user with one row keeps it in train.
 * The same function carves a validation split out of train.
 */
import { Rng } from '../core/rng.js';
import { checkInteractions, subsetInteractions, throwIssues, type InteractionTable } from './table.js';

export interface SplitOptions {
  /** Share of each user's rows that goes to the first part (default 0.75). */
  ratio?: number;
  seed?: number;
}

export interface Split {
  train: InteractionTable;
  test: InteractionTable;
}

/** Round half to even (Python's round). */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** Row indices of each part: per user, a seeded shuffle then the first round(ratio x n) rows. */
export function stratifiedRows(t: InteractionTable, opts: SplitOptions = {}): { first: Int32Array; second: Int32Array } {
  const ratio = opts.ratio ?? 0.75;
  const seed = opts.seed ?? 42;
  throwIssues('RECS_PARAM_INVALID', 'split options', [
    ...(ratio > 0 && ratio < 1 ? [] : [{ path: ['ratio'], message: `must be in (0, 1), got ${ratio}` }]),
    ...(Number.isInteger(seed) ? [] : [{ path: ['seed'], message: `must be an integer, got ${seed}` }]),
  ]);
  const n = t.users.length;
  const start = new Int32Array(t.nUsers + 1);
  for (let k = 0; k < n; k++) start[t.users[k]! + 1]!++;
  for (let u = 0; u < t.nUsers; u++) start[u + 1]! += start[u]!;
  const fill = start.slice(0, t.nUsers);
  const rows = new Int32Array(n);
  for (let k = 0; k < n; k++) rows[fill[t.users[k]!]!++] = k;
  const rng = new Rng(seed, 0x5911);
  const first: number[] = [];
  const second: number[] = [];
  for (let u = 0; u < t.nUsers; u++) {
    const a = start[u]!;
    const m = start[u + 1]! - a;
    for (let i = m - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      const tmp = rows[a + i]!;
      rows[a + i] = rows[a + j]!;
      rows[a + j] = tmp;
    }
    const cut = m === 1 ? 1 : roundHalfEven(ratio * m);
    for (let i = 0; i < m; i++) (i < cut ? first : second).push(rows[a + i]!);
  }
  const sorted = (xs: number[]): Int32Array => Int32Array.from(xs).sort();
  return { first: sorted(first), second: sorted(second) };
}

/**
 * A fold in [0, k) for every row: each user's rows are shuffled (seeded) and dealt round-robin, so every
 * fold holds about 1/k of each user's rows (a user with fewer than k rows is absent from some folds).
 */
export function stratifiedFolds(t: InteractionTable, k: number, seed = 42): Int32Array {
  throwIssues('RECS_PARAM_INVALID', 'fold options', [
    ...(Number.isInteger(k) && k >= 2 ? [] : [{ path: ['folds'], message: `must be an integer >= 2, got ${k}` }]),
    ...(Number.isInteger(seed) ? [] : [{ path: ['seed'], message: `must be an integer, got ${seed}` }]),
  ]);
  const byUser: number[][] = Array.from({ length: t.nUsers }, () => []);
  for (let r = 0; r < t.users.length; r++) byUser[t.users[r]!]!.push(r);
  const rng = new Rng(seed, 0x5912);
  const fold = new Int32Array(t.users.length);
  for (const rows of byUser) {
    for (let i = rows.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      const tmp = rows[i]!;
      rows[i] = rows[j]!;
      rows[j] = tmp;
    }
    rows.forEach((r, p) => { fold[r] = p % k; });
  }
  return fold;
}

/**
 * Splits interactions per user at random: `train` gets round(ratio x n) of each user's rows.
 * @example
 * const { train, test } = stratifiedSplit(table, { ratio: 0.75, seed: 42 });
 */
export function stratifiedSplit(t: InteractionTable, opts: SplitOptions = {}): Split {
  checkInteractions(t);
  const { first, second } = stratifiedRows(t, opts);
  return { train: subsetInteractions(t, first), test: subsetInteractions(t, second) };
}
