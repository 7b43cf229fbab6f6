/**
 * The feature DSL: builders that only produce frozen, JSON-serialisable specs. They never throw and never
 * read data; `loadFeatureRegistry` validates what they produce at the edge and reports every problem.
 */
import type { AggregatorName } from './aggregators.js';
import type {
  AggregateFeatureSpec, AggregateParams, BucketSpec, DefinitionMeta, EntitySpec, SourceColumns, SourceSpec, TimeUnit,
} from './spec.js';
import type {
  AggregateFeatureDef, ColumnOf, EntityDef, EventSourceDef, NumericColumnOf, SequenceRow, SnapshotSourceDef, SourceDef,
} from './types.js';
import { normaliseWhere, type FilterableColumnOf, type ValueOf, type Where } from './where.js';
import { formatWindow, parseWindow, type WindowString } from './window.js';

/** Deep-freezes a plain spec so that no builder result can be changed after the fact. */
export function freezeSpec<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) freezeSpec(v);
    Object.freeze(value);
  }
  return value;
}

/** The documentation fields of an options object: what versions ignore. */
export function metaOf(opts: DefinitionMeta): DefinitionMeta {
  const meta: { description?: string; owner?: string; tags?: readonly string[] } = {};
  if (opts.description !== undefined) meta.description = opts.description;
  if (opts.owner !== undefined) meta.owner = opts.owner;
  if (opts.tags !== undefined) meta.tags = [...opts.tags];
  return meta;
}

/**
 * An entity: what features describe, identified by a key column.
 * @example const borrower = entity('borrower', { key: 'borrower_id' });
 */
export function entity<const N extends string, const K extends string>(name: N, opts: { key: K } & DefinitionMeta): EntityDef<N, K> {
  const spec: EntitySpec = { kind: 'entity', name, key: opts.key, meta: metaOf(opts) };
  return freezeSpec(spec) as EntityDef<N, K>;
}

export interface SourceOptions<C extends SourceColumns> extends DefinitionMeta {
  entity: EntityDef;
  /** Offline-store table; defaults to the source name. */
  table?: string;
  /** Entity key column in the table; defaults to the entity's key. */
  key?: string;
  /** Event time (for snapshots: the time from which a row is valid). */
  timestamp: string;
  /** When each row became known (late data): a row counts only once available at the spine time. */
  availableAt?: string;
  /** A column that orders rows with equal timestamps (e.g. a transaction id) for first/last/last-k. */
  tiebreak?: ColumnOf<C>;
  /** The columns features may use, with their types; the compiler checks feature columns against them. */
  columns: C;
}

function source<N extends string, C extends SourceColumns, T extends 'event' | 'snapshot'>(type: T, name: N, opts: SourceOptions<C>): SourceDef<N, C, T> {
  const spec: SourceSpec = {
    kind: 'source', type, name, table: opts.table ?? name, entity: opts.entity?.name, key: opts.key ?? opts.entity?.key,
    timestamp: opts.timestamp, availableAt: opts.availableAt ?? null, tiebreak: opts.tiebreak ?? null,
    columns: { ...opts.columns }, meta: metaOf(opts),
  };
  return freezeSpec(spec) as SourceDef<N, C, T>;
}

/**
 * An event table: one row per event, keyed by entity and event time.
 * @example const txns = eventSource('transactions', { entity: borrower, timestamp: 'ts', columns: { amount: 'double', category: 'varchar' } });
 */
export function eventSource<const N extends string, const C extends SourceColumns>(name: N, opts: SourceOptions<C>): EventSourceDef<N, C> {
  return source('event', name, opts);
}

/**
 * A snapshot table of slowly changing attributes: each row holds from its timestamp on; features read
 * the latest row before the spine time (as-of).
 * @example const profile = snapshotSource('borrowers', { entity: borrower, timestamp: 'created_at', columns: { income: 'double' } });
 */
export function snapshotSource<const N extends string, const C extends SourceColumns>(name: N, opts: SourceOptions<C>): SnapshotSourceDef<N, C> {
  return source('snapshot', name, opts);
}

/** Group-by buckets: one output column per listed value (`<name>__<value>`); other values are ignored. */
export interface BucketInput<C extends SourceColumns, B extends string | number> {
  column: FilterableColumnOf<C>;
  /** The bucket values, frozen into the definition (see `discoverBuckets` to list them from data). */
  values: readonly B[];
}

export interface FeatureOptions<C extends SourceColumns, N extends string, B extends string | number> extends DefinitionMeta {
  name: N;
  /** Sliding window ending at the spine time: '1h', '7d', '30d', '365d', ... or 'lifetime'. */
  window: WindowString;
  /** Only events matching every condition count. */
  where?: Where<C>;
  by?: BucketInput<C, B>;
}
/** Options where the window is optional (lifetime by default). */
export type LifetimeFeatureOptions<C extends SourceColumns, N extends string, B extends string | number> =
  Omit<FeatureOptions<C, N, B>, 'window'> & { window?: WindowString };

function canonicalWindow(w: unknown): string {
  const parsed = parseWindow(w);
  return 'seconds' in parsed ? formatWindow(parsed.seconds) : String(w);
}

/** What every builder's options have in common, loosely typed: the validator checks the rest. */
interface RawOptions extends DefinitionMeta {
  name: string;
  window?: unknown;
  where?: unknown;
  by?: { column: string; values: readonly (string | number)[] };
}

function aggregate(op: AggregatorName, src: SourceSpec, column: string | null, options: unknown, params: AggregateParams = {}): AggregateFeatureSpec {
  const opts = options as RawOptions;
  const by: BucketSpec | null = opts.by ? { column: opts.by.column, values: [...opts.by.values] } : null;
  const spec: AggregateFeatureSpec = {
    kind: 'feature', type: 'aggregate', name: opts.name, source: src?.name, op, column,
    window: canonicalWindow(opts.window ?? 'lifetime'),
    where: normaliseWhere(opts.where as Record<string, unknown> | undefined), by, params, meta: metaOf(opts),
  };
  return freezeSpec(spec);
}

type Def<N extends string, T, B extends string | number> = AggregateFeatureDef<N, T, B>;

/** Number of events in the window. @example count(txns, { name: 'txn_count_30d', window: '30d' }) */
export function count<C extends SourceColumns, const N extends string, const B extends string | number = never>(
  src: EventSourceDef<string, C>, opts: FeatureOptions<C, N, B>): Def<N, number, B> {
  return aggregate('count', src, null, opts) as Def<N, number, B>;
}

/** Sum of a numeric column (0 with no events). @example sum(txns, 'amount', { name: 'spend_30d', window: '30d' }) */
export function sum<C extends SourceColumns, const N extends string, const B extends string | number = never>(
  src: EventSourceDef<string, C>, column: NumericColumnOf<C>, opts: FeatureOptions<C, N, B>): Def<N, number, B> {
  return aggregate('sum', src, column, opts) as Def<N, number, B>;
}

/** Mean of a numeric column (null with no values). */
export function mean<C extends SourceColumns, const N extends string, const B extends string | number = never>(
  src: EventSourceDef<string, C>, column: NumericColumnOf<C>, opts: FeatureOptions<C, N, B>): Def<N, number | null, B> {
  return aggregate('mean', src, column, opts) as Def<N, number | null, B>;
}

/** Smallest value of a numeric column. */
export function min<C extends SourceColumns, K extends NumericColumnOf<C>, const N extends string, const B extends string | number = never>(
  src: EventSourceDef<string, C>, column: K, opts: FeatureOptions<C, N, B>): Def<N, number | null, B> {
  return aggregate('min', src, column, opts) as Def<N, number | null, B>;
}

/** Largest value of a numeric column. */
export function max<C extends SourceColumns, K extends NumericColumnOf<C>, const N extends string, const B extends string | number = never>(
  src: EventSourceDef<string, C>, column: K, opts: FeatureOptions<C, N, B>): Def<N, number | null, B> {
  return aggregate('max', src, column, opts) as Def<N, number | null, B>;
}

/** Sample standard deviation of a numeric column (null below two values). */
export function stddev<C extends SourceColumns, const N extends string, const B extends string | number = never>(
  src: EventSourceDef<string, C>, column: NumericColumnOf<C>, opts: FeatureOptions<C, N, B>): Def<N, number | null, B> {
  return aggregate('stddev', src, column, opts) as Def<N, number | null, B>;
}

/** Exact quantile `p` of a numeric column (linear interpolation). */
export function percentile<C extends SourceColumns, const N extends string, const B extends string | number = never>(
  src: EventSourceDef<string, C>, column: NumericColumnOf<C>, opts: FeatureOptions<C, N, B> & { p: number }): Def<N, number | null, B> {
  return aggregate('percentile', src, column, opts, { p: opts.p }) as Def<N, number | null, B>;
}

/** The earliest non-null value of a column in the window. */
export function first<C extends SourceColumns, K extends ColumnOf<C>, const N extends string, const B extends string | number = never>(
  src: EventSourceDef<string, C>, column: K, opts: FeatureOptions<C, N, B>): Def<N, ValueOf<C[K]> | null, B> {
  return aggregate('first', src, column, opts) as Def<N, ValueOf<C[K]> | null, B>;
}

/** The latest non-null value of a column in the window. */
export function last<C extends SourceColumns, K extends ColumnOf<C>, const N extends string, const B extends string | number = never>(
  src: EventSourceDef<string, C>, column: K, opts: FeatureOptions<C, N, B>): Def<N, ValueOf<C[K]> | null, B> {
  return aggregate('last', src, column, opts) as Def<N, ValueOf<C[K]> | null, B>;
}

/** Number of distinct non-null values of a column (0 with no events). */
export function countDistinct<C extends SourceColumns, const N extends string, const B extends string | number = never>(
  src: EventSourceDef<string, C>, column: ColumnOf<C>, opts: FeatureOptions<C, N, B>): Def<N, number, B> {
  return aggregate('countDistinct', src, column, opts) as Def<N, number, B>;
}

/** Time from the latest event (in the window, lifetime by default) to the spine time; null without one. */
export function timeSinceLast<C extends SourceColumns, const N extends string, const B extends string | number = never>(
  src: EventSourceDef<string, C>, opts: LifetimeFeatureOptions<C, N, B> & { unit?: TimeUnit }): Def<N, number | null, B> {
  return aggregate('timeSinceLast', src, null, opts, { unit: opts.unit ?? 'd' }) as Def<N, number | null, B>;
}

/**
 * The last `k` events before the spine time, oldest first, as a list of (ts, fields...): the sequence a
 * sequence encoder consumes, extracted by one definition for training and serving.
 * @example lastK(txns, { name: 'recent_txns', k: 20, fields: ['amount', 'category'] })
 */
export function lastK<C extends SourceColumns, const F extends ColumnOf<C>, const N extends string>(
  src: EventSourceDef<string, C>, opts: Omit<LifetimeFeatureOptions<C, N, never>, 'by'> & { k: number; fields: readonly F[] },
): Def<N, SequenceRow<C, F>[], never> {
  return aggregate('lastK', src, null, opts, { k: opts.k, fields: [...opts.fields] }) as Def<N, SequenceRow<C, F>[], never>;
}

/**
 * A snapshot attribute as of the spine time: the value of the entity's latest row before it.
 * @example attribute(profile, 'income', { name: 'income' })
 */
export function attribute<C extends SourceColumns, K extends ColumnOf<C>, const N extends string>(
  src: SnapshotSourceDef<string, C>, column: K, opts: { name: N } & DefinitionMeta): Def<N, ValueOf<C[K]> | null, never> {
  return aggregate('latest', src, column, { ...opts, window: 'lifetime' }) as Def<N, ValueOf<C[K]> | null, never>;
}
