/**
 * Aggregators declare their algebra: empty/add/merge/remove?/finish over a mergeable state. The naive
 * evaluator folds events with it; online tiles (a later step) merge tile states and slide windows with
 * `remove` where it exists. Shared code reads the declared properties and never asks which operator it
 * holds.
 */
import { TIME_UNIT_SECONDS, type AggregateParams, type OutputKind, type Scalar, type TimeUnit } from './spec.js';

/** One event as an aggregator sees it. */
export interface Observation {
  /** Event time, epoch microseconds. */
  readonly time: number;
  /** The source's tie-break value (or null): orders events with equal times. */
  readonly tie: Scalar;
  /** The aggregated column's value; null for operators without a column. */
  readonly value: Scalar;
  /** last-k: the declared fields of the event. */
  readonly fields?: Readonly<Record<string, Scalar>>;
}

export interface FinishContext {
  /** The time the value is read at (the spine time), epoch microseconds. */
  readonly at: number;
}

/**
 * A mergeable aggregation. `add`, `merge` and `remove` may reuse their first argument (ownership passes
 * in; do not use it afterwards), so folding a long window does not copy the state per event.
 */
export interface Aggregator<In, S, Out> {
  empty(): S;
  add(s: S, x: In): S;
  merge(a: S, b: S): S;
  /** Present only for invertible operators (an abelian group, not only a monoid). */
  remove?(s: S, x: In): S;
  finish(s: S, ctx: FinishContext): Out;
}

/** An entry of AGGREGATORS: what the operator takes, what it produces, and how to build its algebra. */
export interface AggregatorKind {
  /** Which column the operator aggregates: none (counts events), a numeric one, or any. */
  readonly column: 'none' | 'numeric' | 'any';
  /** The output; 'input' means the aggregated column's own type. */
  readonly output: OutputKind | 'input';
  /** Parameters the operator requires. */
  readonly params: readonly (keyof AggregateParams)[];
  /** The value with no events, as documented: '0', 'null' or '[]'. */
  readonly empty: '0' | 'null' | '[]';
  /** False for operators that read a snapshot as of the spine time rather than a window of events. */
  readonly windowed: boolean;
  readonly summary: string;
  create(params: AggregateParams): Aggregator<Observation, unknown, unknown>;
}

/** NULL sorts after every value, as in DuckDB's ordering of struct fields. */
export function compareScalar(a: Scalar, b: Scalar): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Event order: time, then the source's tie-break, then the value (for a total, reproducible order). */
export function compareObservation(a: Observation, b: Observation): number {
  return a.time - b.time || compareScalar(a.tie, b.tie) || compareScalar(a.value, b.value) || compareFields(a.fields, b.fields);
}

function compareFields(a: Observation['fields'], b: Observation['fields']): number {
  if (!a || !b) return 0;
  for (const k of Object.keys(a)) {
    const c = compareScalar(a[k] ?? null, b[k] ?? null);
    if (c) return c;
  }
  return 0;
}

const num = (x: Observation): number | null => (typeof x.value === 'number' ? x.value : x.value === null ? null : Number(x.value));

function algebra<S, Out>(a: Aggregator<Observation, S, Out>): Aggregator<Observation, unknown, unknown> {
  return a as Aggregator<Observation, unknown, unknown>;
}

const count: AggregatorKind = {
  column: 'none', output: 'number', params: [], empty: '0', windowed: true, summary: 'number of events',
  create: () => algebra<number, number>({
    empty: () => 0, add: (s) => s + 1, merge: (a, b) => a + b, remove: (s) => s - 1, finish: (s) => s,
  }),
};

const sum: AggregatorKind = {
  column: 'numeric', output: 'number', params: [], empty: '0', windowed: true, summary: 'sum of non-null values',
  create: () => algebra<number, number>({
    empty: () => 0,
    add: (s, x) => s + (num(x) ?? 0),
    merge: (a, b) => a + b,
    remove: (s, x) => s - (num(x) ?? 0),
    finish: (s) => s,
  }),
};

interface Moments { n: number; sum: number }
const mean: AggregatorKind = {
  column: 'numeric', output: 'number', params: [], empty: 'null', windowed: true, summary: 'mean of non-null values',
  create: () => algebra<Moments, number | null>({
    empty: () => ({ n: 0, sum: 0 }),
    add: (s, x) => { const v = num(x); if (v !== null) { s.n++; s.sum += v; } return s; },
    merge: (a, b) => ({ n: a.n + b.n, sum: a.sum + b.sum }),
    remove: (s, x) => { const v = num(x); if (v !== null) { s.n--; s.sum -= v; } return s; },
    finish: (s) => (s.n > 0 ? s.sum / s.n : null),
  }),
};

/** Welford's running mean and sum of squared deviations; Chan et al. merge. Stable, unlike Σx² − (Σx)²/n. */
interface Welford { n: number; mean: number; m2: number }
const stddev: AggregatorKind = {
  column: 'numeric', output: 'number', params: [], empty: 'null', windowed: true,
  summary: 'sample standard deviation of non-null values (null below 2 values)',
  create: () => algebra<Welford, number | null>({
    empty: () => ({ n: 0, mean: 0, m2: 0 }),
    add: (s, x) => {
      const v = num(x);
      if (v === null) return s;
      s.n++;
      const d = v - s.mean;
      s.mean += d / s.n;
      s.m2 += d * (v - s.mean);
      return s;
    },
    merge: (a, b) => {
      if (a.n === 0) return { ...b };
      if (b.n === 0) return a;
      const n = a.n + b.n;
      const d = b.mean - a.mean;
      return { n, mean: a.mean + (d * b.n) / n, m2: a.m2 + b.m2 + (d * d * a.n * b.n) / n };
    },
    remove: (s, x) => {
      const v = num(x);
      if (v === null) return s;
      if (s.n <= 1) return { n: 0, mean: 0, m2: 0 };
      const meanBefore = (s.mean * s.n - v) / (s.n - 1);
      s.m2 -= (v - s.mean) * (v - meanBefore);
      s.mean = meanBefore;
      s.n--;
      return s;
    },
    finish: (s) => (s.n > 1 ? Math.sqrt(Math.max(0, s.m2) / (s.n - 1)) : null),
  }),
};

function extreme(sign: 1 | -1, summary: string): AggregatorKind {
  return {
    column: 'numeric', output: 'input', params: [], empty: 'null', windowed: true, summary,
    create: () => algebra<number | null, number | null>({
      empty: () => null,
      add: (s, x) => { const v = num(x); return v === null ? s : s === null || (v - s) * sign > 0 ? v : s; },
      merge: (a, b) => (a === null ? b : b === null ? a : (b - a) * sign > 0 ? b : a),
      finish: (s) => s,
    }),
  };
}

/** Keeps the observation that sorts last (sign 1) or first (sign -1); `nulls` also keeps NULL values. */
function pick(sign: 1 | -1, nulls: boolean, windowed: boolean, summary: string): AggregatorKind {
  return {
    column: 'any', output: 'input', params: [], empty: 'null', windowed, summary,
    create: () => algebra<Observation | null, Scalar>({
      empty: () => null,
      add: (s, x) => (!nulls && x.value === null) ? s : s === null || compareObservation(x, s) * sign > 0 ? x : s,
      merge: (a, b) => (a === null ? b : b === null ? a : compareObservation(b, a) * sign > 0 ? b : a),
      finish: (s) => (s === null ? null : s.value),
    }),
  };
}

function keyOf(v: Scalar): string {
  return `${typeof v}:${String(v)}`;
}
const countDistinct: AggregatorKind = {
  column: 'any', output: 'number', params: [], empty: '0', windowed: true, summary: 'number of distinct non-null values',
  create: () => algebra<Record<string, number>, number>({
    empty: () => ({}),
    add: (s, x) => { if (x.value !== null) { const k = keyOf(x.value); s[k] = (s[k] ?? 0) + 1; } return s; },
    merge: (a, b) => { for (const [k, n] of Object.entries(b)) a[k] = (a[k] ?? 0) + n; return a; },
    remove: (s, x) => {
      if (x.value === null) return s;
      const k = keyOf(x.value);
      const n = (s[k] ?? 0) - 1;
      if (n > 0) s[k] = n; else delete s[k];
      return s;
    },
    finish: (s) => Object.keys(s).length,
  }),
};

function lowerBound(a: readonly number[], v: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (a[mid]! < v) lo = mid + 1; else hi = mid; }
  return lo;
}
const percentile: AggregatorKind = {
  column: 'numeric', output: 'number', params: ['p'], empty: 'null', windowed: true,
  summary: 'exact quantile p of non-null values, linear interpolation (DuckDB quantile_cont)',
  create: ({ p = 0.5 }) => algebra<number[], number | null>({
    empty: () => [],
    add: (s, x) => { const v = num(x); if (v !== null) s.splice(lowerBound(s, v), 0, v); return s; },
    merge: (a, b) => [...a, ...b].sort((x, y) => x - y),
    remove: (s, x) => { const v = num(x); if (v !== null) { const i = lowerBound(s, v); if (s[i] === v) s.splice(i, 1); } return s; },
    finish: (s) => {
      if (s.length === 0) return null;
      const pos = p * (s.length - 1);
      const lo = Math.floor(pos);
      const hi = Math.ceil(pos);
      return lo === hi ? s[lo]! : s[lo]! + (pos - lo) * (s[hi]! - s[lo]!);
    },
  }),
};

const timeSinceLast: AggregatorKind = {
  column: 'none', output: 'number', params: ['unit'], empty: 'null', windowed: true,
  summary: 'time from the latest event to the spine time, in the declared unit',
  create: ({ unit = 'd' }) => algebra<number | null, number | null>({
    empty: () => null,
    add: (s, x) => (s === null || x.time > s ? x.time : s),
    merge: (a, b) => (a === null ? b : b === null ? a : Math.max(a, b)),
    finish: (s, ctx) => (s === null ? null : (ctx.at - s) / (TIME_UNIT_SECONDS[unit as TimeUnit] * 1e6)),
  }),
};

/** One element of a last-k list: the event time (epoch µs in JavaScript, TIMESTAMP in DuckDB) and fields. */
export type SequenceElement = { readonly ts: number } & Readonly<Record<string, Scalar>>;
const lastK: AggregatorKind = {
  column: 'none', output: 'list', params: ['k', 'fields'], empty: '[]', windowed: true,
  summary: 'the last k events, oldest first, as (ts, fields...)',
  create: ({ k = 1 }) => {
    const trim = (s: Observation[]): Observation[] => (s.length > k ? s.slice(s.length - k) : s);
    return algebra<Observation[], SequenceElement[]>({
      empty: () => [],
      add: (s, x) => {
        let i = s.length;
        while (i > 0 && compareObservation(s[i - 1]!, x) > 0) i--;
        s.splice(i, 0, x);
        return trim(s);
      },
      merge: (a, b) => trim([...a, ...b].sort(compareObservation)),
      finish: (s) => s.map((o) => ({ ...o.fields, ts: o.time }) as SequenceElement),
    });
  },
};

/**
 * The registry of aggregation operators. Each entry declares its column, output, parameters, empty value
 * and algebra; the validator, the SQL compiler and the naive evaluator look entries up by the spec's `op`.
 */
export const AGGREGATORS = {
  count,
  sum,
  mean,
  min: extreme(-1, 'smallest non-null value'),
  max: extreme(1, 'largest non-null value'),
  stddev,
  first: pick(-1, false, true, 'the earliest non-null value'),
  last: pick(1, false, true, 'the latest non-null value'),
  countDistinct,
  percentile,
  timeSinceLast,
  lastK,
  latest: pick(1, true, false, 'the value of the latest row as of the spine time (snapshot attributes)'),
} as const satisfies Record<string, AggregatorKind>;

export type AggregatorName = keyof typeof AGGREGATORS;

export function aggregatorOf(op: string): AggregatorKind | undefined {
  return Object.hasOwn(AGGREGATORS, op) ? AGGREGATORS[op as AggregatorName] : undefined;
}
