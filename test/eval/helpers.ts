/**
 * Seeded data and naive reference implementations (O(n²) or sort-everything) that the fast kernels in
 * src/eval are checked against.
 */
import { expect } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { isKilnError } from '../../src/core/errors.js';

export interface Data {
  y: Float64Array;
  score: Float64Array;
  weight: Float64Array;
}

/** n rows; `decimals` rounds scores (ties); weights in [0, 3) with ~10% zeros. */
export function randomData(seed: number, n: number, decimals?: number): Data {
  const r = new Rng(seed);
  const y = new Float64Array(n), score = new Float64Array(n), weight = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const z = r.normal();
    const pd = 1 / (1 + Math.exp(-(-1.5 + z)));
    y[i] = r.uniform() < pd ? 1 : 0;
    let s = 1 / (1 + Math.exp(-(-1.5 + 0.8 * z + 0.5 * r.normal())));
    if (decimals !== undefined) s = Math.round(s * 10 ** decimals) / 10 ** decimals;
    score[i] = s;
    weight[i] = r.uniform() < 0.1 ? 0 : 3 * r.uniform();
  }
  return { y, score, weight };
}

export function expectClose(actual: number | null | undefined, expected: number, tol = 1e-12): void {
  expect(actual).not.toBeNull();
  expect(actual).not.toBeUndefined();
  const a = actual as number;
  if (Math.abs(a - expected) > tol * Math.max(1, Math.abs(expected))) expect(a).toBe(expected);
}

export function expectAllClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-12): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!, e = expected[i]!;
    if (!(Math.abs(a - e) <= tol * Math.max(1, Math.abs(e)))) expect({ index: i, value: a }).toEqual({ index: i, value: e });
  }
}

/** Runs fn, expects a KilnError with this code whose message contains every fragment; returns it. */
export function expectKilnError(fn: () => unknown, ...fragments: string[]): Error {
  try {
    fn();
  } catch (e) {
    const oneClass = (e as Error).message.includes('has only one class') || (e as Error).message.includes('have weight 0');
    expect(isKilnError(e, oneClass ? 'METRIC_UNDEFINED' : 'EVAL_INPUT_INVALID'), String(e)).toBe(true);
    for (const f of fragments) expect((e as Error).message).toContain(f);
    return e as Error;
  }
  throw new Error(`expected a KilnError containing ${JSON.stringify(fragments)}`);
}

const wOf = (w: ArrayLike<number> | undefined, i: number): number => (w ? w[i]! : 1);

/** Weighted Mann–Whitney over all (default, non-default) pairs, ties half. */
export function naiveAuc(y: ArrayLike<number>, s: ArrayLike<number>, w?: ArrayLike<number>): number {
  let num = 0, P = 0, N = 0;
  for (let i = 0; i < y.length; i++) {
    if (y[i] === 1) P += wOf(w, i); else N += wOf(w, i);
    if (y[i] !== 1) continue;
    for (let j = 0; j < y.length; j++) {
      if (y[j] !== 0) continue;
      const pair = wOf(w, i) * wOf(w, j);
      if (s[i]! > s[j]!) num += pair; else if (s[i] === s[j]) num += pair / 2;
    }
  }
  return num / (P * N);
}

/** KS by scanning every row for every distinct threshold. */
export function naiveKs(y: ArrayLike<number>, s: ArrayLike<number>, w?: ArrayLike<number>): { statistic: number; score: number } {
  const ts = [...new Set(Array.from(s, (v) => v + 0))].sort((a, b) => a - b);
  let best = { statistic: 0, score: ts[0]! };
  let P = 0, N = 0;
  for (let i = 0; i < y.length; i++) if (y[i] === 1) P += wOf(w, i); else N += wOf(w, i);
  for (const t of ts) {
    let p = 0, q = 0;
    for (let i = 0; i < y.length; i++) if (s[i]! <= t) { if (y[i] === 1) p += wOf(w, i); else q += wOf(w, i); }
    const d = Math.abs(p / P - q / N);
    if (d > best.statistic + 1e-12) best = { statistic: d, score: t };
  }
  return best;
}

/** Average precision by scanning every row for every distinct threshold, highest first. */
export function naiveAp(y: ArrayLike<number>, s: ArrayLike<number>, w?: ArrayLike<number>): number {
  const ts = [...new Set(Array.from(s))].sort((a, b) => b - a);
  let P = 0;
  for (let i = 0; i < y.length; i++) if (y[i] === 1) P += wOf(w, i);
  let ap = 0, prev = 0;
  for (const t of ts) {
    let tp = 0, fp = 0;
    for (let i = 0; i < y.length; i++) if (s[i]! >= t) { if (y[i] === 1) tp += wOf(w, i); else fp += wOf(w, i); }
    if (tp + fp === 0) continue;
    ap += (tp / P - prev) * (tp / (tp + fp));
    prev = tp / P;
  }
  return ap;
}

/** Stable argsort with the comparator sort the radix sort replaces. */
export function naiveArgsort(s: ArrayLike<number>): Uint32Array {
  return Uint32Array.from({ length: s.length }, (_, i) => i).sort((a, b) => s[a]! - s[b]! || a - b);
}

/**
 * Lift groups by the documented rule, from a full sort: rows by score descending (index ascending),
 * each row's (or tie block's) weight interval midpoint decides its group.
 */
export function naiveLiftGroups(s: ArrayLike<number>, w: ArrayLike<number> | undefined, groups: number, together: boolean): number[] {
  const n = s.length;
  const rows = Array.from({ length: n }, (_, i) => i).sort((a, b) => s[b]! - s[a]! || a - b);
  let total = 0;
  for (let i = 0; i < n; i++) total += wOf(w, i);
  const out = new Array<number>(n);
  let before = 0;
  for (let p = 0; p < n;) {
    let q = p + 1;
    if (together) while (q < n && s[rows[q]!] === s[rows[p]!]) q++;
    let bw = 0;
    for (let k = p; k < q; k++) bw += wOf(w, rows[k]!);
    const g = Math.min(groups - 1, Math.floor(((2 * before + bw) * groups) / (2 * total)));
    for (let k = p; k < q; k++) out[rows[k]!] = g;
    before += bw;
    p = q;
  }
  return out;
}
