/**
 * Argument checks shared by the performance monitors. Data that cannot be evaluated (a pd outside
 * [0, 1], a label that is not 0/1, a time that is not a number) throws `EVAL_INPUT_INVALID`; an option
 * out of range throws `INVALID_ARGUMENT`. Every message names the function, the argument or field, and
 * what was expected.
 */
import { KilnError } from '../../core/errors.js';

export function badData(fn: string, argument: string, message: string): never {
  throw new KilnError('EVAL_INPUT_INVALID', `${fn}: ${message}`, { path: [fn, argument] });
}

export function badOption(fn: string, option: string, message: string): never {
  throw new KilnError('INVALID_ARGUMENT', `${fn}: ${message}`, { path: [fn, option] });
}

/** A non-empty array of probabilities in [0, 1]; returns its length. */
export function checkProbabilities(fn: string, name: string, p: ArrayLike<number> | null | undefined, n = -1): number {
  if (p == null || typeof p.length !== 'number') badData(fn, name, `${name} is missing; pass one predicted probability of default per row`);
  if (n >= 0 && p.length !== n) badData(fn, name, `${name} has ${p.length} values but ${n} were expected; pass one value per row`);
  if (p.length === 0) badData(fn, name, `${name} is empty; pass at least one row`);
  for (let i = 0; i < p.length; i++) {
    const v = p[i]!;
    if (!(v >= 0 && v <= 1)) badData(fn, name, `${name}[${i}] is ${String(v)}; expected a probability of default in [0, 1]`);
  }
  return p.length;
}

/** Weights: one per row, finite, >= 0, positive total. */
export function checkWeightArray(fn: string, name: string, w: ArrayLike<number> | null | undefined, n: number): void {
  if (w == null || typeof w.length !== 'number') badData(fn, name, `${name} is missing; pass one weight per row`);
  if (w.length !== n) badData(fn, name, `${name} has ${w.length} values but there are ${n} rows; pass one weight per row`);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const v = w[i]!;
    if (!(v >= 0 && v < Infinity)) badData(fn, name, `${name}[${i}] is ${String(v)}; weights must be finite and >= 0`);
    total += v;
  }
  if (!(total > 0)) badData(fn, name, `${name} sums to 0; at least one row needs a positive weight`);
}

/** A finite time in epoch milliseconds. */
export function checkTime(fn: string, field: string, v: unknown): void {
  if (typeof v !== 'number' || !Number.isFinite(v)) badData(fn, field, `${field} is ${String(v)}; expected a time in epoch milliseconds`);
}

/** An integer option in [min, max]. */
export function checkIntOption(fn: string, name: string, v: unknown, min: number, max: number): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) badOption(fn, name, `${name} is ${String(v)}; expected an integer in [${min}, ${max}]`);
}
