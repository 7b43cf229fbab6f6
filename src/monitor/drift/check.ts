/**
 * Argument checks shared by the drift kernels. Each public function validates once at its edge and
 * throws `KilnError('INVALID_ARGUMENT')` whose message names the function, the argument and what was
 * expected, and whose `path` is [function, argument]; the kernels behind the checks trust their input.
 */
import { KilnError } from '../../core/errors.js';

/** Throws INVALID_ARGUMENT for `fn`'s `argument`. */
export function invalid(fn: string, argument: string, message: string): never {
  throw new KilnError('INVALID_ARGUMENT', `${fn}: ${message}`, { path: [fn, argument] });
}

/** An array-like of anything (numbers, strings, null). */
export function requireArray(fn: string, name: string, v: unknown): void {
  if (v == null || typeof v === 'string' || typeof (v as { length?: unknown }).length !== 'number') {
    invalid(fn, name, `${name} must be an array; got ${v === null ? 'null' : typeof v}`);
  }
}

/** True for the values that mean "missing" in a numeric column: NaN, null, undefined. */
export function isMissing(v: number | null | undefined): boolean {
  return v == null || v !== v;
}

/**
 * Non-missing values of a numeric sample, copied into a Float64Array (NaN and null dropped). Throws
 * when a value is not a number, or is infinite and `finite` is set.
 */
export function presentValues(fn: string, name: string, values: ArrayLike<number>, finite = false): Float64Array {
  requireArray(fn, name, values);
  const out = new Float64Array(values.length);
  let k = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number | null | undefined;
    if (v == null || v !== v) continue;
    if (typeof v !== 'number') invalid(fn, name, `${name}[${i}] is ${JSON.stringify(v)}; expected a number (NaN or null for missing)`);
    if (finite && (v === Infinity || v === -Infinity)) invalid(fn, name, `${name}[${i}] is ${v}; expected finite numbers (NaN or null for missing)`);
    out[k++] = v;
  }
  return k === out.length ? out : out.slice(0, k);
}

/** Like `presentValues`, but at least one value must remain. */
export function nonEmptySample(fn: string, name: string, values: ArrayLike<number>): Float64Array {
  const x = presentValues(fn, name, values, true);
  if (x.length === 0) invalid(fn, name, `${name} has no non-missing values; pass at least one number`);
  return x;
}

/** Counts or weights: finite, >= 0. With `positive`, their sum must be > 0. Returns the sum. */
export function checkCounts(fn: string, name: string, v: ArrayLike<number>, positive = true): number {
  requireArray(fn, name, v);
  if (v.length === 0) invalid(fn, name, `${name} is empty; pass one count (or proportion) per bin`);
  let sum = 0;
  for (let i = 0; i < v.length; i++) {
    const c = v[i]!;
    if (typeof c !== 'number' || !(c >= 0) || c === Infinity) {
      invalid(fn, name, `${name}[${i}] is ${String(c)}; counts must be finite and >= 0`);
    }
    sum += c;
  }
  if (positive && !(sum > 0)) invalid(fn, name, `${name} sums to 0; at least one bin needs a positive count`);
  return sum;
}

/** Two count vectors over the same bins. */
export function checkSameLength(fn: string, a: string, av: ArrayLike<number>, b: string, bv: ArrayLike<number>): void {
  if (av.length !== bv.length) invalid(fn, b, `${b} has ${bv.length} bins but ${a} has ${av.length}; pass counts over the same bins`);
}

/** An optional number option in [min, max] (bounds inclusive unless `openMin`). */
export function checkNumberOption(fn: string, name: string, v: unknown, min: number, max: number, openMin = false): void {
  if (v === undefined) return;
  if (typeof v !== 'number' || v !== v || v > max || v < min || (openMin && v === min)) {
    invalid(fn, name, `${name} is ${String(v)}; expected a number in ${openMin ? '(' : '['}${min}, ${max === Infinity ? '∞)' : `${max}]`}`);
  }
}

/** Ascending sort of a Float64Array in place (typed-array sort is numeric). */
export function sortInPlace(x: Float64Array): Float64Array {
  return x.sort();
}
