/**
 * Compile-time types of the DSL. Definitions are plain specs; these types add phantom members (never set
 * at run time) that carry what each feature produces, so that misspelled columns and non-numeric operands
 * fail to compile and a feature set's row type can be inferred.
 */
import type {
  AggregateFeatureSpec, DerivedFeatureSpec, EntitySpec, FeatureSetSpec, SourceColumns, SourceColumnType, SourceSpec,
} from './spec.js';
import type { ValueOf } from './where.js';

declare const OUTPUT: unique symbol;
declare const BUCKETS: unique symbol;
declare const MEMBERS: unique symbol;

/** Phantom members of a feature: its value type and its bucket values (never when not bucketed). */
export interface FeatureBrand<N extends string, T, B extends string | number> {
  readonly name: N;
  readonly [OUTPUT]?: T;
  readonly [BUCKETS]?: B;
}

export type EntityDef<N extends string = string, K extends string = string> = EntitySpec & { readonly name: N; readonly key: K };

export type SourceDef<N extends string = string, C extends SourceColumns = SourceColumns, T extends 'event' | 'snapshot' = 'event' | 'snapshot'> =
  SourceSpec & { readonly name: N; readonly type: T; readonly columns: C };
export type EventSourceDef<N extends string = string, C extends SourceColumns = SourceColumns> = SourceDef<N, C, 'event'>;
export type SnapshotSourceDef<N extends string = string, C extends SourceColumns = SourceColumns> = SourceDef<N, C, 'snapshot'>;

export type AggregateFeatureDef<N extends string = string, T = unknown, B extends string | number = never> =
  AggregateFeatureSpec & FeatureBrand<N, T, B>;
export type DerivedFeatureDef<N extends string = string> = DerivedFeatureSpec & FeatureBrand<N, number | null, never>;
/** Any feature definition, for parameters that accept every feature. */
export type AnyFeatureDef = (AggregateFeatureSpec | DerivedFeatureSpec) & FeatureBrand<string, unknown, string | number>;
/** A feature whose value is a number (or null): what derived expressions accept. */
export type NumericFeatureDef = (AggregateFeatureSpec | DerivedFeatureSpec) & FeatureBrand<string, number | null, never>;

export type FeatureSetDef<N extends string = string, F extends readonly AnyFeatureDef[] = readonly AnyFeatureDef[]> =
  FeatureSetSpec & { readonly name: N; readonly [MEMBERS]?: F };

/** Column names of a source. */
export type ColumnOf<C extends SourceColumns> = keyof C & string;
/** Column names whose declared type is numeric (double, integer, bigint). */
export type NumericColumnOf<C extends SourceColumns> = {
  [K in keyof C & string]: C[K] extends 'double' | 'integer' | 'bigint' ? K : never;
}[keyof C & string];

/** The TypeScript type of a column value in a training row: timestamps read back as ISO strings. */
export type RowValueOf<T extends SourceColumnType> = ValueOf<T>;

/** One element of a last-k list in a training row. */
export type SequenceRow<C extends SourceColumns, F extends ColumnOf<C>> = { readonly ts: string } & { readonly [K in F]: RowValueOf<C[K]> | null };

type OutputOf<D> = D extends { readonly [OUTPUT]?: infer T } ? Exclude<T, undefined> : never;
type BucketOf<D> = D extends { readonly [BUCKETS]?: infer B } ? Exclude<B, undefined> : never;
type Simplify<T> = { [K in keyof T]: T[K] } & {};

/**
 * The row type of a feature set: one member per feature, `<name>__<bucket>` per bucket of a bucketed one.
 * @example type TrainingRow = InferFeatures<typeof creditV1>;
 */
export type InferFeatures<S> = S extends FeatureSetDef<string, infer F>
  ? Simplify<
      { [D in F[number] as [BucketOf<D>] extends [never] ? D['name'] : never]: OutputOf<D> } &
      { [D in F[number] as [BucketOf<D>] extends [never] ? never : `${D['name']}__${BucketOf<D>}`]: OutputOf<D> }
    >
  : never;
