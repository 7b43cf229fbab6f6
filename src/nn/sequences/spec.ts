/**
 * What a sequence encoder reads: a `lastK` feature's declared fields, each with its source column type and
 * the way it is encoded, and how the values of one list element are read whatever form they arrive in.
 *
 * A lastK value is a list of events, oldest first, each `{ ts, <field>: value | null, ... }`, `[]` without
 * events. Its form depends on who produced it:
 * - the training set read with `OfflineStore.all` (DuckDB `STRUCT(ts TIMESTAMP, ...)[]`): `ts` and
 *   timestamp/date fields as Dates (milliseconds: the microseconds are lost), BIGINT fields as bigint;
 * - the training set read with `sequenceSql` (this file): `ts` and time fields as epoch µs numbers, exact;
 * - the naive evaluator: `ts` as epoch µs, fields as the event rows hold them;
 * - the online store (`getOnlineFeatures`): `ts` and time fields as ISO 8601 text with microseconds.
 * values.ts reads all of these (numbers are epoch µs), so offline and online values encode alike.
 *
 * This module sees feature definitions only structurally (src/nn imports nothing but core): a definition
 * with `op: 'lastK'` and `params.k`/`params.fields`, and its source's `columns`.
 */
import { KilnError } from '../../core/errors.js';

/** Column types a source may declare (features' SOURCE_COLUMN_TYPES). */
export type SequenceFieldType = 'boolean' | 'integer' | 'bigint' | 'double' | 'varchar' | 'timestamp' | 'date';
/**
 * categorical: an id per value (embedding); numeric: a normalised number and a missing flag; time: the
 * field's age at the row's as-of time, in seconds, signed log1p, normalised, and a missing flag.
 */
export type SequenceFieldKind = 'categorical' | 'numeric' | 'time';

export interface SequenceField {
  readonly name: string;
  readonly type: SequenceFieldType;
  readonly kind: SequenceFieldKind;
}

/** One lastK feature as an encoder's input. */
export interface SequenceSpec {
  /** The feature's name (its column in training sets and online rows). */
  readonly feature: string;
  /** The feature definition's version, when known: serving checks it against the definition it reads with. */
  readonly featureVersion: string | null;
  readonly k: number;
  readonly fields: readonly SequenceField[];
}

/** A lastK definition as the DSL builds it (only what is read here). */
export interface LastKDefinition {
  readonly name: string;
  readonly op: string;
  readonly source: string;
  readonly params: { readonly k?: number; readonly fields?: readonly string[] };
}

/** Its event source (only what is read here). */
export interface LastKSource {
  readonly name: string;
  readonly columns: Readonly<Record<string, string>>;
}

export interface SequenceSpecOptions {
  /** Fields to encode as categories although numeric (codes such as a merchant category code). */
  readonly categorical?: readonly string[];
  readonly featureVersion?: string;
}

const TYPES: readonly SequenceFieldType[] = ['boolean', 'integer', 'bigint', 'double', 'varchar', 'timestamp', 'date'];

/** The default encoding of a column type: text is categorical, times are ages, the rest numbers (booleans 0/1). */
export function defaultKind(type: SequenceFieldType): SequenceFieldKind {
  if (type === 'varchar') return 'categorical';
  if (type === 'timestamp' || type === 'date') return 'time';
  return 'numeric';
}

/**
 * The spec of a lastK feature over its source.
 * @example sequenceSpec(lastK(txns, { name: 'recent', k: 32, fields: ['amount', 'mcc'] }), txns, { categorical: ['mcc'] })
 */
export function sequenceSpec(def: LastKDefinition, source: LastKSource, opts: SequenceSpecOptions = {}): SequenceSpec {
  if (def.op !== 'lastK') throw new KilnError('INVALID_ARGUMENT', `feature '${def.name}' is a ${def.op} feature; a sequence encoder reads a lastK feature`);
  if (def.source !== source.name) throw new KilnError('INVALID_ARGUMENT', `feature '${def.name}' reads source '${def.source}', not '${source.name}'`);
  const k = def.params.k ?? 1;
  const names = def.params.fields ?? [];
  const categorical = new Set(opts.categorical ?? []);
  for (const c of categorical) {
    if (!names.includes(c)) throw new KilnError('INVALID_ARGUMENT', `'${c}' is not a field of lastK feature '${def.name}' (fields: ${names.join(', ') || 'none'})`);
  }
  const fields = names.map((name): SequenceField => {
    const type = source.columns[name];
    if (type === undefined || !TYPES.includes(type as SequenceFieldType)) {
      throw new KilnError('INVALID_ARGUMENT', `field '${name}' of lastK feature '${def.name}' has no column type in source '${source.name}'`);
    }
    const t = type as SequenceFieldType;
    if (categorical.has(name) && (t === 'timestamp' || t === 'date')) throw new KilnError('INVALID_ARGUMENT', `field '${name}' of lastK feature '${def.name}' is a time; it cannot be categorical`);
    return Object.freeze({ name, type: t, kind: categorical.has(name) ? 'categorical' : defaultKind(t) });
  });
  return Object.freeze({ feature: def.name, featureVersion: opts.featureVersion ?? null, k, fields: Object.freeze(fields) });
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * A DuckDB expression reading a training set's lastK column exactly: `ts` and time fields as epoch µs
 * (DOUBLE: exact below 2^53 µs), integers as DOUBLE, other fields as they are. `OfflineStore.all` would
 * give Dates, which keep only milliseconds.
 * @example `SELECT epoch_us(t)::DOUBLE AS at, ${sequenceSql('recent', spec)} AS seq FROM training_m`
 */
export function sequenceSql(column: string, spec: SequenceSpec): string {
  const members = [
    'ts := epoch_us(x.ts)::DOUBLE',
    ...spec.fields.map((f) => {
      const v = `x.${quoteIdent(f.name)}`;
      const expr = f.type === 'timestamp' || f.type === 'date' ? `epoch_us(${v}::TIMESTAMP)::DOUBLE` : f.type === 'integer' || f.type === 'bigint' ? `${v}::DOUBLE` : v;
      return `${quoteIdent(f.name)} := ${expr}`;
    }),
  ];
  return `coalesce(list_transform(${quoteIdent(column)}, x -> struct_pack(${members.join(', ')})), [])`;
}
