/**
 * Argument checks for the evaluation functions. Each public function validates once at the edge,
 * collecting every problem into one `KilnError('EVAL_INPUT_INVALID')`; the kernels behind it trust their
 * input.
 */
import { KilnError } from '../core/errors.js';

/** Sample weights: finite, >= 0, one per row; rows of weight 0 do not count. */
export interface WeightOption {
  weight?: ArrayLike<number> | undefined;
}

/** Slice and group values: numbers, strings, booleans or null (its own group). */
export type GroupKey = string | number | boolean | null;

const MAX_LISTED = 3;

/** Collects problems with one call's arguments, then throws them as one error. */
export class ArgCheck {
  private readonly issues: { argument: string; message: string }[] = [];

  constructor(readonly fn: string) {}

  get ok(): boolean {
    return this.issues.length === 0;
  }

  add(argument: string, message: string): void {
    this.issues.push({ argument, message });
  }

  /** Throws `EVAL_INPUT_INVALID` naming the function and every problem found, if there were any. */
  done(): void {
    if (this.issues.length === 0) return;
    throw new KilnError('EVAL_INPUT_INVALID', `${this.fn}: ${this.issues.map((i) => i.message).join('; ')}`, {
      path: [this.fn, this.issues[0]!.argument],
      details: { issues: this.issues },
    });
  }
}

/** Throws at once: for options that make the rest of the checks meaningless. */
export function fail(fn: string, argument: string, message: string): never {
  const c = new ArgCheck(fn);
  c.add(argument, message);
  return c.done() as never;
}

function describeBad(name: string, first: number, value: unknown, count: number): string {
  const more = count > 1 ? ` (and ${count - 1} more)` : '';
  return `${name}[${first}] is ${String(value)}${more}`;
}

/** `y` is non-empty and every value is exactly 0 or 1. Returns the row count to check the rest with. */
export function checkLabels(c: ArgCheck, y: ArrayLike<number> | undefined | null, name = 'y'): number {
  if (y == null || typeof y.length !== 'number') {
    c.add(name, `${name} is missing; pass an array of 0/1 outcomes (1 = default)`);
    return -1;
  }
  if (y.length === 0) {
    c.add(name, `${name} is empty; pass at least one row`);
    return 0;
  }
  let nan = 0, bad = 0, firstNan = -1, firstBad = -1;
  for (let i = 0; i < y.length; i++) {
    const v = y[i]!;
    if (v === 0 || v === 1) continue;
    if (v !== v) { if (nan++ === 0) firstNan = i; } else if (bad++ === 0) firstBad = i;
  }
  if (nan) c.add(name, `${describeBad(name, firstNan, NaN, nan)}; labels must be 0 or 1 — drop rows whose outcome is not yet known`);
  if (bad) c.add(name, `${describeBad(name, firstBad, y[firstBad], bad)}; labels must be 0 or 1 (1 = default)`);
  return y.length;
}

/**
 * One finite score per row; with `probability`, each in [0, 1]. `n` is the expected length (from `y`),
 * or -1 when unknown, in which case only emptiness is checked.
 */
export function checkScores(c: ArgCheck, s: ArrayLike<number> | undefined | null, n: number, name = 'score', probability = false, against = 'y'): number {
  if (s == null || typeof s.length !== 'number') {
    c.add(name, `${name} is missing; pass one predicted probability of default per row`);
    return -1;
  }
  if (n >= 0 && s.length !== n) {
    c.add(name, `${name} has ${s.length} values but ${against} has ${n}; pass one value per row`);
    return s.length;
  }
  if (n < 0 && s.length === 0) {
    c.add(name, `${name} is empty; pass at least one row`);
    return 0;
  }
  let nan = 0, inf = 0, out = 0, firstNan = -1, firstInf = -1, firstOut = -1;
  for (let i = 0; i < s.length; i++) {
    const v = s[i]!;
    if (v !== v) { if (nan++ === 0) firstNan = i; } else if (v === Infinity || v === -Infinity) { if (inf++ === 0) firstInf = i; } else if (probability && (v < 0 || v > 1)) { if (out++ === 0) firstOut = i; }
  }
  if (nan) c.add(name, `${describeBad(name, firstNan, NaN, nan)}; score every row, or drop unscored rows before evaluating`);
  if (inf) c.add(name, `${describeBad(name, firstInf, s[firstInf], inf)}; values must be finite`);
  if (out) c.add(name, `${describeBad(name, firstOut, s[firstOut], out)}; expected a probability of default in [0, 1]`);
  return s.length;
}

/** Optional weights: one per row, finite, >= 0, with a positive total. */
export function checkWeights(c: ArgCheck, w: ArrayLike<number> | undefined | null, n: number, against = 'y'): void {
  if (w == null) return;
  if (typeof w.length !== 'number') { c.add('weight', 'weight must be an array of numbers (one per row) or omitted'); return; }
  if (n >= 0 && w.length !== n) { c.add('weight', `weight has ${w.length} values but ${against} has ${n}; pass one weight per row`); return; }
  let bad = 0, first = -1, total = 0;
  for (let i = 0; i < w.length; i++) {
    const v = w[i]!;
    if (!(v >= 0) || v === Infinity) { if (bad++ === 0) first = i; } else total += v;
  }
  if (bad) c.add('weight', `${describeBad('weight', first, w[first], bad)}; weights must be finite and >= 0`);
  else if (w.length > 0 && total <= 0) c.add('weight', 'weight sums to 0; at least one row needs a positive weight');
}

/** Weighted class totals, for the "both classes present" check and for rates. */
export function classTotals(y: ArrayLike<number>, w: ArrayLike<number> | undefined | null): { pos: number; neg: number; nPos: number; n: number } {
  let pos = 0, neg = 0, nPos = 0;
  for (let i = 0; i < y.length; i++) {
    const wi = w ? w[i]! : 1;
    if (y[i] === 1) { pos += wi; nPos++; } else neg += wi;
  }
  return { pos, neg, nPos, n: y.length };
}

/**
 * Throws when `y` (after weighting) has only one class, for metrics that compare the two outcomes.
 * Call after the other checks passed.
 */
export function requireBothClasses(fn: string, metric: string, y: ArrayLike<number>, w: ArrayLike<number> | undefined | null): void {
  const t = classTotals(y, w);
  if (t.pos > 0 && t.neg > 0) return;
  const nNeg = t.n - t.nPos;
  const what = t.nPos === 0 ? 'y has only one class (all 0)'
    : nNeg === 0 ? 'y has only one class (all 1)'
    : `y has both classes but all rows with y = ${t.pos > 0 ? 0 : 1} have weight 0`;
  // Its own code: a one-outcome window is a property of the data, not a malformed argument.
  throw new KilnError('METRIC_UNDEFINED', `${fn}: ${what}; ${metric} is undefined — evaluate on a window with both outcomes`, { path: ['y'] });
}

/** An integer option in [min, max]. */
export function checkInt(c: ArgCheck, name: string, v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    c.add(name, `${name} is ${typeof v === 'string' ? `'${v}'` : String(v)}; expected an integer in [${min}, ${max === Number.MAX_SAFE_INTEGER ? '∞' : max}]`);
  }
}

/** A string option from a closed set; the error lists the valid names. */
export function checkOneOf<T extends string>(c: ArgCheck, name: string, v: unknown, allowed: readonly T[]): v is T {
  if (typeof v === 'string' && (allowed as readonly string[]).includes(v)) return true;
  c.add(name, `${name} ${typeof v === 'string' ? `'${v}'` : String(v)} is unknown; use one of: ${allowed.join(', ')}`);
  return false;
}

/** Group keys: no NaN (map missing values to null or a label such as 'missing'). */
export function checkKeys(c: ArgCheck, name: string, keys: ArrayLike<GroupKey> | undefined | null, n: number, against = 'y'): void {
  if (keys == null || typeof keys.length !== 'number') { c.add(name, `${name} is missing; pass one group value per row`); return; }
  if (keys.length !== n) { c.add(name, `${name} has ${keys.length} values but ${against} has ${n}; pass one value per row`); return; }
  let bad = 0, first = -1;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    const ok = k === null || typeof k === 'string' || typeof k === 'boolean' || (typeof k === 'number' && k === k);
    if (!ok && bad++ === 0) first = i;
  }
  if (bad) c.add(name, `${describeBad(name, first, keys[first], bad)}; values must be strings, numbers, booleans or null — map missing values to null or a label such as 'missing'`);
}

/** Deterministic order for group keys: numbers ascending, then strings (code-unit order), booleans, null. */
export function compareKeys(a: GroupKey, b: GroupKey): number {
  const rank = (k: GroupKey): number => (typeof k === 'number' ? 0 : typeof k === 'string' ? 1 : typeof k === 'boolean' ? 2 : 3);
  const ra = rank(a), rb = rank(b);
  if (ra !== rb) return ra - rb;
  if (a === b) return 0;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'boolean') return a ? 1 : -1;
  return (a as string) < (b as string) ? -1 : 1;
}

/**
 * Rows grouped by key: `keys` in `compareKeys` order, `slot[i]` the key index of row i, `rows` the row
 * indices bucketed by slot (ascending within a slot), `start` the bucket offsets (length keys + 1).
 */
export function groupRows(values: ArrayLike<GroupKey>): { keys: GroupKey[]; slot: Uint32Array; rows: Uint32Array; start: Uint32Array } {
  const n = values.length;
  const index = new Map<GroupKey, number>();
  const firstSeen: GroupKey[] = [];
  const raw = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    let v = values[i]!;
    if (v === 0) v = 0; // -0 and +0 are one group
    let s = index.get(v);
    if (s === undefined) { s = firstSeen.length; index.set(v, s); firstSeen.push(v); }
    raw[i] = s;
  }
  const sortedIdx = firstSeen.map((_, i) => i).sort((a, b) => compareKeys(firstSeen[a]!, firstSeen[b]!));
  const remap = new Uint32Array(firstSeen.length);
  sortedIdx.forEach((old, neu) => { remap[old] = neu; });
  const slot = new Uint32Array(n);
  const start = new Uint32Array(firstSeen.length + 1);
  for (let i = 0; i < n; i++) { const s = remap[raw[i]!]!; slot[i] = s; start[s + 1]!++; }
  for (let k = 0; k < firstSeen.length; k++) start[k + 1]! += start[k]!;
  const fill = start.slice(0, firstSeen.length);
  const rows = new Uint32Array(n);
  for (let i = 0; i < n; i++) rows[fill[slot[i]!]!++] = i;
  return { keys: sortedIdx.map((i) => firstSeen[i]!), slot, rows, start };
}
