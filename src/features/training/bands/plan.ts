/**
 * The band plan of one event source: which of its features the band kernel computes, and the kernel's
 * layout for them. Features that share a filter (`where`) and a bucket form a *group*; every event is
 * assigned once to the groups it belongs to, and each group keeps running states (*slots*) of what its
 * features need: the event count, non-null count / sum / min / max / Welford moments of a numeric
 * column, a distinct count, the latest time. Windows nest, so walking a probe's events from the newest
 * back, each window's values are read off the running states when the walk crosses its edge (the band
 * between two window edges is merged into the states in one pass). Operators outside this algebra
 * (percentile, first/last, last-k, attributes) stay with the SQL engine.
 */
import type { ResolvedFeature } from '../../registry.js';
import type { AggregateFeatureSpec, Condition, SourceColumnType, SourceSpec } from '../../spec.js';
import { TIME_UNIT_SECONDS, type TimeUnit } from '../../spec.js';
import { parseWindow } from '../../window.js';

/** Operators the kernel computes. */
export const BAND_OPS = ['count', 'sum', 'mean', 'min', 'max', 'stddev', 'countDistinct', 'timeSinceLast'] as const;
export type BandOp = (typeof BAND_OPS)[number];

const NUMERIC: ReadonlySet<SourceColumnType> = new Set(['double', 'integer', 'bigint']);

/** Slot kinds and their state widths (doubles). */
export const SLOT = { count: 0, numeric: 1, distinct: 2, latest: 3 } as const;
export type SlotKind = (typeof SLOT)[keyof typeof SLOT];
/** Numeric slot fields: non-null count, sum, min, max, Welford n, mean, m2. */
export const NUM_WIDTH = 7;

/** Emit kinds: how one output column is read off its slot. */
export const EMIT = { count: 0, sum: 1, mean: 2, min: 3, max: 4, stddev: 5, distinct: 6, since: 7 } as const;

/** How an output column is stored: DOUBLE, BIGINT or INTEGER. */
export type OutputType = 'DOUBLE' | 'BIGINT' | 'INTEGER';

export interface BandOutput {
  readonly column: string;
  readonly type: OutputType;
  /** The value with no events is 0 (count, sum, distinct) rather than NULL. */
  readonly zeroWhenEmpty: boolean;
}

/** A column the kernel reads per event, as a DOUBLE SQL expression over the source table. */
export interface EventColumn {
  readonly sql: string;
  readonly role: 'value' | 'flag' | 'bucket' | 'code';
}

export interface BandPlan {
  readonly source: SourceSpec;
  /** Features the kernel computes, by name. */
  readonly features: ReadonlySet<string>;
  /** Event columns after key, time and availability, in read order. */
  readonly columns: readonly EventColumn[];
  /** Columns (indexes into `columns`) whose values are distinct-counted as numbers; a JS map codes them. */
  readonly codedColumns: readonly number[];
  /** Finite window lengths in µs, ascending; `lifetime` adds a last, unbounded window. */
  readonly windowsUs: readonly number[];
  readonly lifetime: boolean;
  /** Groups: filter index (-1: none) and dimension/bucket-code (-1: all events). */
  readonly groups: readonly { readonly filter: number; readonly dim: number; readonly code: number }[];
  /** Per group, its update program: triples (slot kind, state offset, event column or distinct slot). */
  readonly programs: readonly Int32Array[];
  /** Number of doubles of running state, and their initial values. */
  readonly init: Float64Array;
  /** Distinct slots: the coded column (index into `columns`) each counts. */
  readonly distinctColumns: readonly number[];
  /** Per window (finite ones, then lifetime): quadruples (emit kind, state offset, output index, unit divisor). */
  readonly emits: readonly Float64Array[];
  readonly outputs: readonly BandOutput[];
  /** Indexes into `columns` of the filter flags and bucket codes, per filter / dimension. */
  readonly filterColumns: readonly number[];
  readonly dimColumns: readonly number[];
  /** Bucket codes per dimension (number of values). */
  readonly dimSizes: readonly number[];
}

export interface BandPlanInput {
  readonly source: SourceSpec;
  readonly features: readonly ResolvedFeature[];
  /** Whether a column's values are safe to read as doubles (|v| < 2^53), for bigint min/max/distinct. */
  readonly safeBigint: (column: string) => boolean;
  /** Cast a source column to its declared type (SQL over the source table). */
  readonly colSql: (column: string) => string;
  readonly conditionSql: (c: Condition, col: string) => string;
  readonly literal: (v: string | number) => string;
}

/** Whether the kernel can compute a feature (given whether bigint columns hold safe values). */
export function bandEligible(f: ResolvedFeature, safeBigint: (column: string) => boolean): boolean {
  if (f.spec.type !== 'aggregate' || !f.source || f.source.type !== 'event') return false;
  const spec = f.spec as AggregateFeatureSpec;
  if (!(BAND_OPS as readonly string[]).includes(spec.op)) return false;
  if (!('seconds' in parseWindow(spec.window))) return false;
  if (spec.column === null) return spec.op === 'count' || spec.op === 'timeSinceLast';
  const type = f.source.columns[spec.column];
  if (type === undefined) return false;
  if (spec.op === 'countDistinct') return type !== 'bigint' || safeBigint(spec.column);
  if (!NUMERIC.has(type)) return false;
  if ((spec.op === 'min' || spec.op === 'max') && type === 'bigint') return safeBigint(spec.column);
  return true;
}

const windowUs = (spec: AggregateFeatureSpec): number => {
  const w = parseWindow(spec.window);
  return 'seconds' in w && w.seconds !== null ? w.seconds * 1e6 : Infinity;
};

/** Builds the plan of the kernel-eligible features of one source (`features` are all of that source). */
export function planBands(input: BandPlanInput): BandPlan | null {
  const feats = input.features.filter((f) => bandEligible(f, input.safeBigint));
  if (!feats.length) return null;
  const columns: EventColumn[] = [];
  const columnIndex = new Map<string, number>();
  const column = (sql: string, role: EventColumn['role']): number => {
    const key = `${role}:${sql}`;
    let i = columnIndex.get(key);
    if (i === undefined) { i = columns.length; columns.push({ sql, role }); columnIndex.set(key, i); }
    return i;
  };
  const src = input.source;
  const codedColumns: number[] = [];
  const valueColumn = (name: string, distinct: boolean): number => {
    const type = src.columns[name]!;
    const cast = input.colSql(name);
    if (!distinct) return column(`${cast}::DOUBLE`, 'value');
    // Distinct values as exact doubles, coded in JS; text as its rank among the column's values.
    let sql: string;
    if (type === 'varchar') sql = `(dense_rank() OVER (ORDER BY ${cast}) - 1)::DOUBLE`;
    else if (type === 'boolean') sql = `${cast}::INTEGER::DOUBLE`;
    else if (type === 'timestamp' || type === 'date') sql = `epoch_us(${cast}::TIMESTAMP)::DOUBLE`;
    else sql = `${cast}::DOUBLE`;
    const i = column(`CASE WHEN ${cast} IS NULL THEN NULL ELSE ${sql} END`, 'code');
    if (!codedColumns.includes(i)) codedColumns.push(i);
    return i;
  };

  // Filters and dimensions.
  const filterKeys = new Map<string, number>();
  const filterColumns: number[] = [];
  const filterOf = (where: readonly Condition[]): number => {
    if (!where.length) return -1;
    const key = JSON.stringify(where);
    let i = filterKeys.get(key);
    if (i === undefined) {
      const cond = where.map((c) => input.conditionSql(c, input.colSql(c.column))).join(' AND ');
      i = filterColumns.length;
      filterColumns.push(column(`CASE WHEN ${cond} THEN 1.0 ELSE 0.0 END`, 'flag'));
      filterKeys.set(key, i);
    }
    return i;
  };
  const dims: { column: string; values: (string | number)[] }[] = [];
  for (const f of feats) {
    const by = (f.spec as AggregateFeatureSpec).by;
    if (!by) continue;
    let d = dims.find((x) => x.column === by.column);
    if (!d) { d = { column: by.column, values: [] }; dims.push(d); }
    for (const v of by.values) if (!d.values.includes(v)) d.values.push(v);
  }
  const dimColumns = dims.map((d) => {
    const cast = input.colSql(d.column);
    const cases = d.values.map((v, i) => `WHEN ${cast} = ${input.literal(v)} THEN ${i}`).join(' ');
    return column(`(CASE ${cases} ELSE -1 END)::DOUBLE`, 'bucket');
  });

  // Groups and their slots.
  const groups: { filter: number; dim: number; code: number }[] = [];
  const groupIndex = new Map<string, number>();
  const slots: { kind: SlotKind; offset: number; col: number }[][] = [];
  const slotIndex = new Map<string, { kind: SlotKind; offset: number; col: number }>();
  const init: number[] = [];
  const distinctColumns: number[] = [];
  const groupOf = (filter: number, dim: number, code: number): number => {
    const key = `${filter}/${dim}/${code}`;
    let g = groupIndex.get(key);
    if (g === undefined) { g = groups.length; groups.push({ filter, dim, code }); slots.push([]); groupIndex.set(key, g); }
    return g;
  };
  const slotOf = (g: number, kind: SlotKind, col: number): { kind: SlotKind; offset: number; col: number } => {
    const key = `${g}/${kind}/${col}`;
    let s = slotIndex.get(key);
    if (s === undefined) {
      const offset = init.length;
      if (kind === SLOT.numeric) init.push(0, 0, Infinity, -Infinity, 0, 0, 0);
      else if (kind === SLOT.latest) init.push(NaN);
      else init.push(0);
      let ref = col;
      if (kind === SLOT.distinct) { ref = distinctColumns.length; distinctColumns.push(col); }
      s = { kind, offset, col: ref };
      slotIndex.set(key, s);
      slots[g]!.push(s);
    }
    return s;
  };

  const windowsUs = [...new Set(feats.map((f) => windowUs(f.spec as AggregateFeatureSpec)).filter((w) => w !== Infinity))].sort((a, b) => a - b);
  const lifetime = feats.some((f) => windowUs(f.spec as AggregateFeatureSpec) === Infinity);
  const emits: number[][] = [...windowsUs, ...(lifetime ? [Infinity] : [])].map(() => []);
  const windowSlot = (w: number): number => (w === Infinity ? windowsUs.length : windowsUs.indexOf(w));
  const outputs: BandOutput[] = [];
  for (const f of feats) {
    const spec = f.spec as AggregateFeatureSpec;
    const filter = filterOf(spec.where);
    const dim = spec.by ? dims.findIndex((d) => d.column === spec.by!.column) : -1;
    const wi = windowSlot(windowUs(spec));
    for (const o of f.outputs) {
      const code = o.bucket === null ? -1 : dims[dim]!.values.indexOf(o.bucket);
      const g = groupOf(filter, dim, code);
      const out = outputs.length;
      let kind: number;
      let slot: { offset: number };
      let unit = 0;
      let type: OutputType = 'DOUBLE';
      let zero = false;
      switch (spec.op as BandOp) {
        case 'count': kind = EMIT.count; slot = slotOf(g, SLOT.count, -1); type = 'BIGINT'; zero = true; break;
        case 'countDistinct': kind = EMIT.distinct; slot = slotOf(g, SLOT.distinct, valueColumn(spec.column!, true)); type = 'BIGINT'; zero = true; break;
        case 'timeSinceLast':
          kind = EMIT.since; slot = slotOf(g, SLOT.latest, -1);
          unit = TIME_UNIT_SECONDS[(spec.params.unit ?? 'd') as TimeUnit] * 1e6;
          break;
        default: {
          const op = spec.op as 'sum' | 'mean' | 'min' | 'max' | 'stddev';
          kind = EMIT[op];
          slot = slotOf(g, SLOT.numeric, valueColumn(spec.column!, false));
          zero = op === 'sum';
          if (op === 'min' || op === 'max') {
            const t = src.columns[spec.column!]!;
            type = t === 'bigint' ? 'BIGINT' : t === 'integer' ? 'INTEGER' : 'DOUBLE';
          }
        }
      }
      emits[wi]!.push(kind, slot.offset, out, unit);
      outputs.push({ column: o.column, type, zeroWhenEmpty: zero });
    }
  }
  const programs = slots.map((list) => Int32Array.from(list.flatMap((s) => [s.kind, s.offset, s.col])));
  return {
    source: src, features: new Set(feats.map((f) => f.name)), columns, codedColumns, windowsUs, lifetime, groups, programs,
    init: Float64Array.from(init), distinctColumns, emits: emits.map((e) => Float64Array.from(e)), outputs,
    filterColumns, dimColumns, dimSizes: dims.map((d) => d.values.length),
  };
}
