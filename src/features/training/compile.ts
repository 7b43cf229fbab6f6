/**
 * Compiles resolved features to one DuckDB statement that builds a point-in-time training set.
 *
 * Strategy (see docs/features.md for the measured alternatives): the distinct (entity, time) pairs of the
 * spine are probes; per source, each probe is hash-joined to its entity's events that are visible at the
 * probe time (event time before it, inside the longest window, available by then), window and filter
 * membership are computed once per pair as boolean flags, and one GROUP BY computes every feature of the
 * source with FILTERed aggregates, sharing identical partials. Finished values join back to the spine;
 * derived features are computed over them in dependency layers.
 */
import { aggregatorOf } from '../aggregators.js';
import type { ResolvedFeature } from '../registry.js';
import type { AggregateFeatureSpec, SourceSpec } from '../spec.js';
import { parseWindow } from '../window.js';
import { SQL_AGGREGATES, type SqlAggContext } from './sql-aggregates.js';
import { conditionSql, duckType, exprSql, quoteIdent, sqlLiteral } from './sql-text.js';

export type EventTimeBound = 'strict' | 'inclusive';

export interface CompileInput {
  /** Features in dependency order (inputs of derived features included). */
  readonly features: readonly ResolvedFeature[];
  /** Names whose columns appear in the output, in output order. */
  readonly selected: ReadonlySet<string>;
  /** Spine table: __row, __key, __t (TIMESTAMP) and the user columns. */
  readonly spine: string;
  /** User columns of the spine, in output order. */
  readonly spineColumns: readonly string[];
  readonly bound: EventTimeBound;
  /** Earliest and latest spine time as SQL TIMESTAMP literals, for pruning event scans. */
  readonly timeRange: { readonly min: string; readonly max: string } | null;
  readonly target: string;
  /** Features the band kernel computes (see bands/): then only the rest is compiled, into `restTable`. */
  readonly banded?: ReadonlySet<string>;
  /** With `banded`: the temp table to create for the spine and the SQL-computed features, in spine order. */
  readonly restTable?: string;
}

const windowSeconds = (f: AggregateFeatureSpec): number | null => {
  const w = parseWindow(f.window);
  return 'seconds' in w ? w.seconds : null;
};

/** Predicates on a source's rows that keep only events some probe can see (`maxWindow` in seconds; null: lifetime). */
export function eventPrune(src: SourceSpec, timeRange: CompileInput['timeRange'], strict: boolean, maxWindow: number | null, alias = ''): string[] {
  if (!timeRange) return [];
  const ts = `CAST(${alias}${quoteIdent(src.timestamp)} AS TIMESTAMP)`;
  const out = [`${ts} ${strict ? '<' : '<='} ${timeRange.max}`];
  if (maxWindow !== null) out.push(`${ts} ${strict ? '>=' : '>'} ${timeRange.min} - to_seconds(${maxWindow}::BIGINT)`);
  return out;
}

/** Interns SQL snippets under short aliases so that equal snippets are computed once. */
class Interner {
  readonly entries: [string, string][] = [];
  private readonly byText = new Map<string, string>();
  constructor(private readonly prefix: string) {}
  alias(text: string): string {
    let a = this.byText.get(text);
    if (a === undefined) {
      a = `${this.prefix}${this.byText.size}`;
      this.byText.set(text, a);
      this.entries.push([a, text]);
    }
    return a;
  }
}

interface SourcePlan {
  readonly ctes: string[];
  /** Finished SQL per output column. */
  readonly outputs: [string, string][];
  readonly joinAlias: string;
}

function planSource(src: SourceSpec, feats: readonly ResolvedFeature[], index: number, input: CompileInput): SourcePlan {
  const strict = input.bound === 'strict';
  const cols = new Interner('x');
  const colAlias = (c: string): string => cols.alias(`CAST(${quoteIdent(c)} AS ${duckType(src.columns[c]!)})`);
  const flags = new Interner('c');
  const parts = new Interner('p');
  const windows = new Set<number>();
  let lifetime = false;
  for (const f of feats) {
    const w = windowSeconds(f.spec as AggregateFeatureSpec);
    if (w === null) lifetime = true; else windows.add(w);
  }
  const maxWindow = windows.size ? Math.max(...windows) : 0;
  const tie = src.tiebreak === null ? null : `CAST(${quoteIdent(src.tiebreak)} AS ${duckType(src.columns[src.tiebreak]!)})`;

  const finishes: [string, { spec: AggregateFeatureSpec; ctx: SqlAggContext; aliases: string[] }][] = [];
  for (const f of feats) {
    const spec = f.spec as AggregateFeatureSpec;
    const w = windowSeconds(spec);
    const baseFilter: string[] = [];
    // strict: the window is [t − w, t); inclusive: (t − w, t]. Either way it spans exactly w.
    if (w !== null) baseFilter.push(flags.alias(`(e.ts ${strict ? '>=' : '>'} p.lo_${w})`));
    for (const c of spec.where) baseFilter.push(flags.alias(conditionSql(c, `e.${colAlias(c.column)}`)));
    const value = spec.column === null ? null : colAlias(spec.column);
    const fields = (spec.params.fields ?? []).map((name) => ({ name, sql: colAlias(name), type: duckType(src.columns[name]!) }));
    for (const o of f.outputs) {
      const filter = [...baseFilter];
      if (o.bucket !== null) filter.push(flags.alias(`(e.${colAlias(spec.by!.column)} = ${sqlLiteral(o.bucket)})`));
      const ctx: SqlAggContext = {
        value, time: 'ts', tie: tie === null ? null : 'tie', fields, filter: filter.length ? filter.join(' AND ') : null,
        params: spec.params, valueType: f.valueType ? duckType(f.valueType) : null,
      };
      const aliases = SQL_AGGREGATES[spec.op as keyof typeof SQL_AGGREGATES].parts(ctx).map((p) => parts.alias(p));
      finishes.push([o.column, { spec, ctx, aliases }]);
    }
  }

  const eventCols = [
    `${quoteIdent(src.key)} AS k`,
    `CAST(${quoteIdent(src.timestamp)} AS TIMESTAMP) AS ts`,
    ...(src.availableAt ? [`CAST(${quoteIdent(src.availableAt)} AS TIMESTAMP) AS av`] : []),
    ...(tie ? [`${tie} AS tie`] : []),
    ...cols.entries.map(([a, sql]) => `${sql} AS ${a}`),
  ];
  const prune = [`${quoteIdent(src.timestamp)} IS NOT NULL`, `${quoteIdent(src.key)} IS NOT NULL`, ...eventPrune(src, input.timeRange, strict, lifetime ? null : maxWindow)];
  const on = ['e.k = p.k', `e.ts ${strict ? '<' : '<='} p.t`];
  if (!lifetime) on.push(`e.ts ${strict ? '>=' : '>'} p.lo_${maxWindow}`);
  // Late data: a row counts only once it is available at the spine time (NULL: available at event time).
  if (src.availableAt) on.push(`(e.av IS NULL OR e.av ${strict ? '<' : '<='} p.t)`);

  const pairs = `pairs${index}`;
  const agg = `agg${index}`;
  const pairCols = ['p.pid', 'e.ts', ...(tie ? ['e.tie'] : []), ...cols.entries.map(([a]) => `e.${a}`), ...flags.entries.map(([a, sql]) => `${sql} AS ${a}`)];
  const ctes = [
    `${pairs} AS (SELECT ${pairCols.join(', ')} FROM __probes p JOIN (SELECT ${eventCols.join(', ')} FROM ${quoteIdent(src.table)} WHERE ${prune.join(' AND ')}) e ON ${on.join(' AND ')})`,
    `${agg} AS (SELECT pid, ${parts.entries.map(([a, sql]) => `${sql} AS ${a}`).join(', ')} FROM ${pairs} GROUP BY pid)`,
  ];
  const outputs = finishes.map(([column, { spec, ctx, aliases }]): [string, string] => [
    column,
    SQL_AGGREGATES[spec.op as keyof typeof SQL_AGGREGATES].finish(aliases.map((a) => `${agg}.${a}`), ctx, { spineTime: 's.__t' }),
  ]);
  return { ctes, outputs, joinAlias: agg };
}

/** The CREATE TABLE statement of a training set computed in SQL alone. */
export function compileTrainingSet(input: CompileInput): string {
  return `CREATE OR REPLACE TABLE ${quoteIdent(input.target)} AS ${compileTrainingQuery(input)}`;
}

/**
 * The SELECT of a training set's rows in spine order. With `banded` features (computed by the band
 * kernel), the statement that creates `restTable`: the spine and the other aggregates, without derived
 * features (the kernel's writer evaluates those).
 */
export function compileTrainingQuery(input: CompileInput): string {
  const banded = input.banded ?? new Set<string>();
  const aggregates = input.features.filter((f) => f.spec.type === 'aggregate' && !banded.has(f.name));
  const bySource = new Map<string, ResolvedFeature[]>();
  for (const f of aggregates) {
    if (!aggregatorOf((f.spec as AggregateFeatureSpec).op)) throw new Error(`internal: unknown operator in ${f.name}`);
    const list = bySource.get(f.source!.name) ?? [];
    list.push(f);
    bySource.set(f.source!.name, list);
  }
  const plans = [...bySource.values()].map((feats, i) => planSource(feats[0]!.source!, feats, i, input));

  const ctes: string[] = [];
  const windows = [...new Set(aggregates.map((f) => windowSeconds(f.spec as AggregateFeatureSpec)).filter((w): w is number => w !== null))];
  const bounds = windows.map((w) => `, t - to_seconds(${w}::BIGINT) AS lo_${w}`).join('');
  // One integer per distinct (entity, time): grouping by it is cheaper than by the pair.
  if (plans.length) ctes.push(`__probes AS MATERIALIZED (SELECT row_number() OVER () AS pid, k, t${bounds} FROM (SELECT DISTINCT __key AS k, __t AS t FROM ${quoteIdent(input.spine)}))`);
  for (const p of plans) ctes.push(...p.ctes);
  const base = [
    's.*',
    ...plans.flatMap((p) => p.outputs.map(([col, sql]) => `${sql} AS ${quoteIdent(col)}`)),
  ];
  const joins = plans.length ? ['LEFT JOIN __probes pr ON pr.k = s.__key AND pr.t = s.__t', ...plans.map((p) => `LEFT JOIN ${p.joinAlias} ON ${p.joinAlias}.pid = pr.pid`)] : [];
  const from = `SELECT ${base.join(', ')} FROM ${quoteIdent(input.spine)} s ${joins.join(' ')}`;
  if (banded.size) {
    if (!input.restTable) throw new Error('internal: banded features need a restTable');
    return `CREATE TEMP TABLE ${quoteIdent(input.restTable)} AS ${ctes.length ? `WITH ${ctes.join(',\n')}\n` : ''}${from} ORDER BY s.__row`;
  }
  ctes.push(`layer0 AS (${from})`);

  // Derived features in layers: each layer reads only columns of the layers before it.
  const depth = new Map<string, number>();
  const byName = new Map(input.features.map((f) => [f.name, f]));
  for (const f of input.features) {
    depth.set(f.name, f.spec.type === 'derived' ? 1 + Math.max(...f.inputs.map((i) => depth.get(i) ?? 0)) : 0);
  }
  const maxDepth = Math.max(0, ...depth.values());
  const columnOf = (ref: string, bucket?: string | number): string =>
    quoteIdent(bucket === undefined ? ref : byName.get(ref)!.outputs.find((o) => o.bucket === bucket)!.column);
  for (let d = 1; d <= maxDepth; d++) {
    const here = input.features.filter((f) => depth.get(f.name) === d);
    const exprs = here.map((f) => `${f.spec.type === 'derived' ? exprSql(f.spec.expr, columnOf) : 'NULL'} AS ${quoteIdent(f.name)}`);
    ctes.push(`layer${d} AS (SELECT *, ${exprs.join(', ')} FROM layer${d - 1})`);
  }
  const outCols = [
    ...input.spineColumns.map(quoteIdent),
    ...[...input.selected].flatMap((name) => byName.get(name)!.outputs.map((o) => quoteIdent(o.column))),
  ];
  return `WITH ${ctes.join(',\n')}\nSELECT ${outCols.join(', ')} FROM layer${maxDepth} ORDER BY __row`;
}
