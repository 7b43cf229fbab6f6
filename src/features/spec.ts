/**
 * The plain-data contract of kiln's feature definitions. The DSL builders only produce these frozen,
 * JSON-serialisable objects; the DuckDB compiler, the naive evaluator and (later) the online engine read
 * only them. A definition's version hashes everything here except `meta`.
 */

/** Value types a source may declare for its columns (a subset of the config's column types). */
export const SOURCE_COLUMN_TYPES = ['boolean', 'integer', 'bigint', 'double', 'varchar', 'timestamp', 'date'] as const;
export type SourceColumnType = (typeof SOURCE_COLUMN_TYPES)[number];
export type SourceColumns = Readonly<Record<string, SourceColumnType>>;

/** Documentation that does not change what a definition computes; excluded from versions. */
export interface DefinitionMeta {
  readonly description?: string;
  readonly owner?: string;
  readonly tags?: readonly string[];
}

export interface EntitySpec {
  readonly kind: 'entity';
  readonly name: string;
  /** The key column name that spines and sources use by default. */
  readonly key: string;
  readonly meta: DefinitionMeta;
}

/**
 * Where feature values come from. `event`: one row per event (windowed aggregations); `snapshot`: rows
 * of slowly changing attributes, each valid from its timestamp (joined as-of).
 */
export interface SourceSpec {
  readonly kind: 'source';
  readonly type: 'event' | 'snapshot';
  readonly name: string;
  /** The offline-store table. */
  readonly table: string;
  readonly entity: string;
  /** The entity key column in `table`. */
  readonly key: string;
  /** Event time (or valid-from time for snapshots). */
  readonly timestamp: string;
  /** When the row became known to the system (late data); NULL means at event time. */
  readonly availableAt: string | null;
  /** Breaks ties between rows with equal timestamps for first/last/last-k (else the values do). */
  readonly tiebreak: string | null;
  readonly columns: SourceColumns;
  readonly meta: DefinitionMeta;
}

export type Scalar = string | number | boolean | null;

/** One normalised filter condition; a feature's `where` is the AND of its conditions. */
export interface Condition {
  readonly column: string;
  readonly op: ConditionOp;
  /** A scalar for comparisons, a list for in/notIn, null for isNull/notNull. */
  readonly value: Scalar | readonly Scalar[];
}
export const CONDITION_OPS = ['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'in', 'notIn', 'isNull', 'notNull'] as const;
export type ConditionOp = (typeof CONDITION_OPS)[number];

/** Group-by buckets: one output column per value, `<feature>__<label>`. */
export interface BucketSpec {
  readonly column: string;
  readonly values: readonly (string | number)[];
}

/** Operator parameters; only the ones an operator declares are set. */
export interface AggregateParams {
  /** last-k: how many events. */
  readonly k?: number;
  /** last-k: the event fields kept in each list element (besides `ts`). */
  readonly fields?: readonly string[];
  /** percentile: the quantile in [0, 1]. */
  readonly p?: number;
  /** time-since-last: the unit of the result. */
  readonly unit?: TimeUnit;
}
export type TimeUnit = 's' | 'm' | 'h' | 'd';
export const TIME_UNIT_SECONDS: Readonly<Record<TimeUnit, number>> = { s: 1, m: 60, h: 3600, d: 86_400 };

export interface AggregateFeatureSpec {
  readonly kind: 'feature';
  readonly type: 'aggregate';
  readonly name: string;
  /** The source's name; the feature's entity is the source's. */
  readonly source: string;
  /** A key of AGGREGATORS. */
  readonly op: string;
  readonly column: string | null;
  /** Canonical window text ('7d', '90m', 'lifetime'): equal lengths are written the same way. */
  readonly window: string;
  readonly where: readonly Condition[];
  readonly by: BucketSpec | null;
  readonly params: AggregateParams;
  readonly meta: DefinitionMeta;
}

/** Expressions of derived features: plain data, evaluated the same way by SQL and by JavaScript. */
export type Expr =
  | { readonly ref: string; readonly bucket?: string | number }
  | { readonly lit: number }
  | { readonly fn: ExprFn; readonly args: readonly Expr[] };
export const EXPR_FNS = ['add', 'sub', 'mul', 'div', 'neg', 'abs', 'ln1p', 'sqrt', 'least', 'greatest', 'coalesce'] as const;
export type ExprFn = (typeof EXPR_FNS)[number];

export interface DerivedFeatureSpec {
  readonly kind: 'feature';
  readonly type: 'derived';
  readonly name: string;
  /** The entity is that of the referenced features (they must share one). */
  readonly expr: Expr;
  readonly meta: DefinitionMeta;
}

export type FeatureSpec = AggregateFeatureSpec | DerivedFeatureSpec;

export interface FeatureSetSpec {
  readonly kind: 'featureSet';
  readonly name: string;
  readonly features: readonly string[];
  readonly meta: DefinitionMeta;
}

export type DefinitionSpec = EntitySpec | SourceSpec | FeatureSpec | FeatureSetSpec;

/** What a feature produces, declared per operator; derived features produce numbers. */
export type OutputKind = 'number' | 'value' | 'list';
