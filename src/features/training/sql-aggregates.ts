/**
 * The SQL side of each aggregator: the partial aggregates it needs over the (probe, event) pairs and how
 * to finish them into the feature value, with the empty value for probes without events. The compiler
 * shares identical partials between features (mean and sum of one column and window use one `sum`) and
 * never branches on operator names: it looks the operator up here.
 */
import type { AggregatorName } from '../aggregators.js';
import { TIME_UNIT_SECONDS, type AggregateParams, type TimeUnit } from '../spec.js';

export interface SqlAggContext {
  /** The aggregated column in the pair relation (already cast to its declared type), or null. */
  readonly value: string | null;
  /** Event time in the pair relation (TIMESTAMP). */
  readonly time: string;
  /** The source's tie-break column in the pair relation, or null. */
  readonly tie: string | null;
  /** last-k fields: output name and pair-relation column. */
  readonly fields: readonly { readonly name: string; readonly sql: string; readonly type: string }[];
  /** The feature's row filter (window, where, bucket) as a boolean SQL expression, or null for none. */
  readonly filter: string | null;
  readonly params: AggregateParams;
  /** DuckDB type of the feature value where it is the column's own type. */
  readonly valueType: string | null;
}

export interface FinishContext {
  /** The spine time (TIMESTAMP) in the final select. */
  readonly spineTime: string;
}

export interface SqlAggregate {
  /** Aggregate expressions over the pair relation. */
  parts(c: SqlAggContext): string[];
  /** The value from the parts' columns (each NULL when the probe saw no events). */
  finish(parts: readonly string[], c: SqlAggContext, f: FinishContext): string;
}

function filtered(expr: string, c: SqlAggContext, extra?: string): string {
  const conds = [c.filter, extra].filter((x): x is string => !!x);
  return conds.length ? `${expr} FILTER (WHERE ${conds.join(' AND ')})` : expr;
}

/** Struct ordering (time, tie-break, value...) with NULL fields last: the order compareObservation uses. */
function orderStruct(c: SqlAggContext, rest: readonly [string, string][]): string {
  const members: [string, string][] = [['t', c.time], ...(c.tie ? [['o', c.tie] as [string, string]] : []), ...rest];
  return `struct_pack(${members.map(([k, v]) => `${k} := ${v}`).join(', ')})`;
}

const one = (expr: (c: SqlAggContext) => string, finish: (p: string, c: SqlAggContext, f: FinishContext) => string): SqlAggregate => ({
  parts: (c) => [expr(c)],
  finish: ([p], c, f) => finish(p!, c, f),
});

const valueOf = (c: SqlAggContext): string => c.value ?? 'NULL';

export const SQL_AGGREGATES: Readonly<Record<AggregatorName, SqlAggregate>> = {
  count: one((c) => filtered('count(*)', c), (p) => `coalesce(${p}, 0)::BIGINT`),
  sum: one((c) => filtered(`sum(${valueOf(c)}::DOUBLE)`, c), (p) => `coalesce(${p}, 0)::DOUBLE`),
  mean: {
    parts: (c) => [filtered(`sum(${valueOf(c)}::DOUBLE)`, c), filtered(`count(${valueOf(c)})`, c)],
    finish: ([s, n]) => `CASE WHEN ${n} > 0 THEN ${s} / ${n} END`,
  },
  min: one((c) => filtered(`min(${valueOf(c)})`, c), (p, c) => `${p}::${c.valueType ?? 'DOUBLE'}`),
  max: one((c) => filtered(`max(${valueOf(c)})`, c), (p, c) => `${p}::${c.valueType ?? 'DOUBLE'}`),
  stddev: one((c) => filtered(`stddev_samp(${valueOf(c)}::DOUBLE)`, c), (p) => `${p}::DOUBLE`),
  first: one(
    (c) => filtered(`min(${orderStruct(c, [['v', valueOf(c)]])})`, c, `${valueOf(c)} IS NOT NULL`),
    (p, c) => `struct_extract(${p}, 'v')::${c.valueType ?? 'VARCHAR'}`,
  ),
  last: one(
    (c) => filtered(`max(${orderStruct(c, [['v', valueOf(c)]])})`, c, `${valueOf(c)} IS NOT NULL`),
    (p, c) => `struct_extract(${p}, 'v')::${c.valueType ?? 'VARCHAR'}`,
  ),
  latest: one(
    (c) => filtered(`max(${orderStruct(c, [['v', valueOf(c)]])})`, c),
    (p, c) => `struct_extract(${p}, 'v')::${c.valueType ?? 'VARCHAR'}`,
  ),
  countDistinct: one((c) => filtered(`count(DISTINCT ${valueOf(c)})`, c), (p) => `coalesce(${p}, 0)::BIGINT`),
  percentile: one((c) => filtered(`quantile_cont(${valueOf(c)}::DOUBLE, ${Number(c.params.p)})`, c), (p) => `${p}::DOUBLE`),
  timeSinceLast: one(
    (c) => filtered(`max(${c.time})`, c),
    (p, c, f) => `((epoch_us(${f.spineTime}) - epoch_us(${p})) / ${TIME_UNIT_SECONDS[(c.params.unit ?? 'd') as TimeUnit] * 1e6}.0)::DOUBLE`,
  ),
  lastK: one(
    (c) => filtered(`max(${orderStruct(c, c.fields.map((f, i) => [`f${i}`, f.sql]))}, ${Number(c.params.k)})`, c),
    (p, c) => {
      const type = `STRUCT(${['ts TIMESTAMP', ...c.fields.map((f) => `${quote(f.name)} ${f.type}`)].join(', ')})[]`;
      const el = `struct_pack(ts := x.t, ${c.fields.map((f, i) => `${quote(f.name)} := x.f${i}`).join(', ')})`;
      return `coalesce(list_transform(list_reverse(${p}), x -> ${el}), [])::${type}`;
    },
  ),
};

function quote(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
