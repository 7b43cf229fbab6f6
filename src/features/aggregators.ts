/**
 * Aggregators declare their algebra: empty/add/merge/remove?/finish over a mergeable state. The naive
 * evaluator folds events with it; online tiles (a later step) merge tile states and slide windows with
 * `remove` where it exists. Shared code reads the declared properties and never asks which operator it
 * holds.
 */
import { list, record } from '../core/young.js';
import { lowerBound, mergeSorted, quantile } from './sorted.js';
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

/**
 * An observation as a class instance, not a literal: V8 pretenures literal sites whose objects survive (the
 * observations tiles keep), and a read's short-lived observations would then pin what they point to (see core/young.ts).
 */
class Obs implements Observation {
  constructor(readonly time: number, readonly tie: Scalar, readonly value: Scalar, readonly fields: Readonly<Record<string, Scalar>> | undefined) {}
}

/** An observation (`fields` for last-k). */
export function observation(time: number, tie: Scalar, value: Scalar, fields?: Readonly<Record<string, Scalar>>): Observation {
  return new Obs(time, tie, value, fields);
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
  /**
   * `finish(merge(copy of s, extra))` without changing or copying `s` (optional: operators with large
   * states declare it, so a read can finish a shared window state with a few edge events cheaply).
   */
  finishMerged?(s: S, extra: S, ctx: FinishContext): Out;
  /** A compact JSON-safe form of a state, for stores that keep text (default: the state as it is). */
  encode?(s: S): unknown;
  /** The inverse of `encode`; also reads the state's plain JSON form. */
  decode?(x: unknown): S;
}

/** The value of `s` merged with `extra` (null: nothing), leaving both as they were. */
export function finishMerged<S, Out>(agg: Aggregator<Observation, S, Out>, s: S, extra: S | null, ctx: FinishContext): Out {
  if (extra === null) return agg.finish(s, ctx);
  if (agg.finishMerged) return agg.finishMerged(s, extra, ctx);
  return agg.finish(agg.merge(agg.merge(agg.empty(), s), extra), ctx);
}

/** An entry of AGGREGATORS: what the operator takes, what it produces, and how to build its algebra. */
export interface AggregatorKind {
  /** Which column the operator aggregates: none (counts events), a numeric one, or any. */
  readonly column: 'none' | 'numeric' | 'any';
  /** The output; 'input' means the aggregated column's own type. */
  readonly output: OutputKind | 'input';
  /** Parameters the operator requires. */
  readonly params: readonly (keyof AggregateParams)[];
  /** Parameters only `finish` reads (the state does not depend on them): features differing only in these share one state. */
  readonly finishParams?: readonly (keyof AggregateParams)[];
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
  // -1/0/1, not a difference: a difference of µs timestamps is rarely a small integer, and returned it is a heap number
  return (a.time < b.time ? -1 : a.time > b.time ? 1 : 0) || compareScalar(a.tie, b.tie) || compareScalar(a.value, b.value) || compareFields(a.fields, b.fields);
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

// States as class instances, not literals (see `Obs`); states read from text are plain objects of the same fields.
class Moments { n = 0; sum = 0; }
const mean: AggregatorKind = {
  column: 'numeric', output: 'number', params: [], empty: 'null', windowed: true, summary: 'mean of non-null values',
  create: () => algebra<Moments, number | null>({
    empty: () => new Moments(),
    add: (s, x) => { const v = num(x); if (v !== null) { s.n++; s.sum += v; } return s; },
    merge: (a, b) => { a.n += b.n; a.sum += b.sum; return a; },
    remove: (s, x) => { const v = num(x); if (v !== null) { s.n--; s.sum -= v; } return s; },
    finish: (s) => (s.n > 0 ? s.sum / s.n : null),
  }),
};

/** Welford's running mean and sum of squared deviations; Chan et al. merge. Stable, unlike Σx² − (Σx)²/n. */
class Welford { n = 0; mean = 0; m2 = 0; }
const stddev: AggregatorKind = {
  column: 'numeric', output: 'number', params: [], empty: 'null', windowed: true,
  summary: 'sample standard deviation of non-null values (null below 2 values)',
  create: () => algebra<Welford, number | null>({
    empty: () => new Welford(),
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
      if (b.n === 0) return a;
      if (a.n === 0) { a.n = b.n; a.mean = b.mean; a.m2 = b.m2; return a; }
      const n = a.n + b.n;
      const d = b.mean - a.mean;
      a.m2 = a.m2 + b.m2 + (d * d * a.n * b.n) / n;
      a.mean += (d * b.n) / n;
      a.n = n;
      return a;
    },
    remove: (s, x) => {
      const v = num(x);
      if (v === null) return s;
      if (s.n <= 1) return new Welford();
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
      encode: (s) => (s === null ? null : s.fields ? [s.time, s.tie, s.value, s.fields] : [s.time, s.tie, s.value]),
      decode: (x) => (Array.isArray(x) ? observation(x[0] as number, x[1] as Scalar, x[2] as Scalar, x.length > 3 ? (x[3] as Record<string, Scalar>) : undefined) : (x as Observation | null)),
    }),
  };
}

// A Map keyed by the value itself: SameValueZero tells 1 from '1' (as DuckDB does) and keeps no hidden-class
// transitions per distinct value, which a plain object keyed by text did (the bulk of a cold online read).
// A state read from text stays flat pairs [value, count, value, count, ...] (distinct values) until something
// adds to it: a tile that is only merged from (most of a read's) never becomes a Map.
type DistinctState = Map<Scalar, number> | Scalar[];
function owned(s: DistinctState): Map<Scalar, number> {
  if (!Array.isArray(s)) return s;
  const m = new Map<Scalar, number>();
  for (let i = 0; i < s.length; i += 2) m.set(s[i]!, s[i + 1] as number);
  return m;
}
const countDistinct: AggregatorKind = {
  column: 'any', output: 'number', params: [], empty: '0', windowed: true, summary: 'number of distinct non-null values',
  create: () => algebra<DistinctState, number>({
    empty: () => new Map(),
    add: (s, x) => { const m = owned(s); if (x.value !== null) m.set(x.value, (m.get(x.value) ?? 0) + 1); return m; },
    merge: (a, b) => {
      const m = owned(a);
      // forEach and an indexed loop: no entry pair per value, as for-of over a Map allocates
      if (Array.isArray(b)) for (let i = 0; i < b.length; i += 2) m.set(b[i]!, (m.get(b[i]!) ?? 0) + (b[i + 1] as number));
      else b.forEach((n, k) => m.set(k, (m.get(k) ?? 0) + n));
      return m;
    },
    remove: (s, x) => {
      const m = owned(s);
      if (x.value === null) return m;
      const n = (m.get(x.value) ?? 0) - 1;
      if (n > 0) m.set(x.value, n); else m.delete(x.value);
      return m;
    },
    finish: (s) => (Array.isArray(s) ? s.length / 2 : s.size),
    encode: (s) => {
      if (Array.isArray(s)) return s;
      const flat: Scalar[] = [];
      s.forEach((n, k) => { flat.push(k, n); });
      return flat;
    },
    // also reads entries ([value, count][]) and the tagged form of plain tile JSON ({ $map: entries })
    decode: (x) => {
      const entries = Array.isArray(x) ? x : ((x as { $map?: unknown[] }).$map ?? []);
      return entries.length && Array.isArray(entries[0]) ? (entries as [Scalar, number][]).flat() : (entries as Scalar[]);
    },
    finishMerged: (s, extra) => {
      const m = owned(s);
      let n = m.size;
      if (Array.isArray(extra)) { for (let i = 0; i < extra.length; i += 2) if (!m.has(extra[i]!)) n++; }
      else for (const k of extra.keys()) if (!m.has(k)) n++;
      return n;
    },
  }),
};

const percentile: AggregatorKind = {
  column: 'numeric', output: 'number', params: ['p'], finishParams: ['p'], empty: 'null', windowed: true,
  summary: 'exact quantile p of non-null values, linear interpolation (DuckDB quantile_cont)',
  create: ({ p = 0.5 }) => algebra<number[], number | null>({
    empty: () => list(),
    add: (s, x) => {
      const v = num(x);
      if (v === null) return s;
      let i = s.length;
      s.push(v);
      while (i > 0 && s[i - 1]! > v) { s[i] = s[i - 1]!; i--; }
      s[i] = v;
      return s;
    },
    merge: mergeSorted,
    remove: (s, x) => { const v = num(x); if (v !== null) { const i = lowerBound(s, v); if (s[i] === v) s.splice(i, 1); } return s; },
    finish: (s) => quantile(s, [], p),
    finishMerged: (a, b) => quantile(a, b, p),
  }),
};

const timeSinceLast: AggregatorKind = {
  column: 'none', output: 'number', params: ['unit'], finishParams: ['unit'], empty: 'null', windowed: true,
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
/** A last-k element: an observation, or, as read from text and not yet needed, its row [time, tie, value, ...fields]. */
type LastKItem = Observation | unknown[];

const lastK: AggregatorKind = {
  column: 'none', output: 'list', params: ['k', 'fields'], empty: '[]', windowed: true,
  summary: 'the last k events, oldest first, as (ts, fields...)',
  create: ({ k = 1, fields = [] }) => {
    const asObs = (e: LastKItem): Observation => {
      if (!Array.isArray(e)) return e;
      const fs = record<Record<string, Scalar>>();
      for (let f = 0; f < fields.length; f++) fs[fields[f]!] = e[3 + f] as Scalar;
      return observation(e[0] as number, e[1] as Scalar, e[2] as Scalar, fs);
    };
    // compareObservation over either form (an observation's fields are in the declared order)
    const field = (e: LastKItem, f: number): Scalar => (Array.isArray(e) ? (e[3 + f] as Scalar) : e.fields?.[fields[f]!] ?? null);
    const compare = (x: LastKItem, y: LastKItem): number => {
      if (!Array.isArray(x) && !Array.isArray(y)) return compareObservation(x, y);
      const tx = Array.isArray(x) ? (x[0] as number) : x.time;
      const ty = Array.isArray(y) ? (y[0] as number) : y.time;
      const c = (tx < ty ? -1 : tx > ty ? 1 : 0) || compareScalar(Array.isArray(x) ? (x[1] as Scalar) : x.tie, Array.isArray(y) ? (y[1] as Scalar) : y.tie)
        || compareScalar(Array.isArray(x) ? (x[2] as Scalar) : x.value, Array.isArray(y) ? (y[2] as Scalar) : y.value);
      if (c) return c;
      for (let f = 0; f < fields.length; f++) { const d = compareScalar(field(x, f), field(y, f)); if (d) return d; }
      return 0;
    };
    return algebra<LastKItem[], SequenceElement[]>({
      empty: () => list(),
      add: (s, x) => {
        // insert in order, in place (splice would allocate), then drop the oldest beyond k
        let i = s.length;
        s.push(x);
        while (i > 0 && compare(s[i - 1]!, x) > 0) { s[i] = s[i - 1]!; i--; }
        s[i] = x;
        if (s.length > k) s.shift();
        return s;
      },
      merge: (a, b) => {
        if (b.length === 0) return a;
        // the last k of two ordered lists, taken from their ends in one pass
        const n = Math.min(k, a.length + b.length);
        const out = new Array<LastKItem>(n);
        let i = a.length - 1;
        let j = b.length - 1;
        for (let m = n - 1; m >= 0; m--) out[m] = j < 0 || (i >= 0 && compare(a[i]!, b[j]!) > 0) ? a[i--]! : b[j--]!;
        return out;
      },
      // field by field, not `{ ...o.fields, ts }`: V8 (Node 20) keeps ~1/3 of object-spread clones alive through the
      // next young-generation collection (measured), which on a large heap is what sets a cold read's tail
      finish: (s) => s.map((e) => {
        const o = asObs(e);
        const row = record();
        for (let f = 0; f < fields.length; f++) row[fields[f]!] = o.fields?.[fields[f]!] ?? null;
        row.ts = o.time;
        return row as SequenceElement;
      }),
      // [time, tie, value, ...field values in declared order]: about half the text of the objects; rows read
      // back stay rows until finished (most of a read's tiles only lend an element or two to the merge)
      encode: (s) => s.map((e) => { if (Array.isArray(e)) return e; const row: unknown[] = [e.time, e.tie, e.value]; for (const f of fields) row.push(e.fields?.[f] ?? null); return row; }),
      decode: (x) => x as LastKItem[],
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
