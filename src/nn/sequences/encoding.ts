/**
 * A sequence encoding: how a lastK feature's events become tensors, learned once from the training rows
 * (learn.ts) and then frozen, so that serving encodes exactly as training did. It travels with the model
 * as versioned JSON (`toJSON` / `SequenceEncoding.fromJSON`).
 *
 * - categorical fields: a vocabulary, most frequent first; id 0 pads, 1 is out of vocabulary, 2 is null,
 *   and the vocabulary's values take ids 3, 4, ... (an embedding table has `vocabSize` rows);
 * - numeric and time fields: the mean and standard deviation of the (optionally signed-log1p) value;
 * - the event's age at the row's as-of time and the gap since the previous event (log1p of seconds), each
 *   with its mean and standard deviation.
 *
 * The numeric tensor's features at each step (`width` of them, `featureNames` in order): per numeric or
 * time field, its normalised value and a missing flag (value 0 when missing); then age, gap and a flag for
 * a gap that is unknown (the list's oldest event). Padding steps are all zero.
 */
import { KilnError } from '../../core/errors.js';
import type { SequenceFieldKind, SequenceFieldType, SequenceSpec } from './spec.js';

export const SEQUENCE_ENCODING_FORMAT = 'kiln.sequence-encoding';
export const SEQUENCE_ENCODING_VERSION = 1;

/** Reserved ids of every categorical field. */
export const PAD_ID = 0;
export const OOV_ID = 1;
export const NULL_ID = 2;
/** The id of a vocabulary's first (most frequent) value. */
export const FIRST_ID = 3;

export interface Moments {
  readonly mean: number;
  readonly std: number;
}

export interface CategoricalEncoding {
  readonly name: string;
  readonly type: SequenceFieldType;
  readonly kind: 'categorical';
  /** Values as text, most frequent first: value `vocab[i]` has id FIRST_ID + i. */
  readonly vocab: readonly string[];
}

export interface NumericEncoding extends Moments {
  readonly name: string;
  readonly type: SequenceFieldType;
  readonly kind: 'numeric' | 'time';
  /** Whether the value is signed-log1p'd before normalising (always for time fields). */
  readonly log: boolean;
}

export type FieldEncoding = CategoricalEncoding | NumericEncoding;

/** The JSON form. */
export interface SequenceEncodingJson {
  readonly format: typeof SEQUENCE_ENCODING_FORMAT;
  readonly version: number;
  readonly feature: string;
  readonly featureVersion: string | null;
  /** The feature's k. */
  readonly k: number;
  /** Time steps of the tensors (at most k): the latest `steps` events are kept. */
  readonly steps: number;
  readonly fields: readonly FieldEncoding[];
  readonly age: Moments;
  readonly gap: Moments;
  /** Training rows and events (after truncation to `steps`) the statistics come from. */
  readonly rows: number;
  readonly events: number;
}

export class SequenceEncoding {
  readonly feature: string;
  readonly featureVersion: string | null;
  readonly k: number;
  readonly steps: number;
  readonly fields: readonly FieldEncoding[];
  readonly categorical: readonly CategoricalEncoding[];
  readonly numeric: readonly NumericEncoding[];
  readonly age: Moments;
  readonly gap: Moments;
  readonly rows: number;
  readonly events: number;
  /** Numeric features per step: two per numeric or time field, then age, gap, gap unknown. */
  readonly width: number;
  private readonly textIds: readonly Map<string, number>[];
  private readonly numberIds: readonly Map<number, number>[];

  constructor(j: SequenceEncodingJson) {
    this.feature = j.feature;
    this.featureVersion = j.featureVersion;
    this.k = j.k;
    this.steps = j.steps;
    this.fields = Object.freeze(j.fields.map((f) => Object.freeze(f.kind === 'categorical' ? { ...f, vocab: Object.freeze([...f.vocab]) } : { ...f })));
    this.categorical = this.fields.filter((f): f is CategoricalEncoding => f.kind === 'categorical');
    this.numeric = this.fields.filter((f): f is NumericEncoding => f.kind !== 'categorical');
    this.age = Object.freeze({ mean: j.age.mean, std: j.age.std });
    this.gap = Object.freeze({ mean: j.gap.mean, std: j.gap.std });
    this.rows = j.rows;
    this.events = j.events;
    this.width = 2 * this.numeric.length + 3;
    this.textIds = this.categorical.map((f) => new Map(f.vocab.map((v, i) => [v, FIRST_ID + i])));
    // numbers and booleans are looked up without making their text: by value, for vocabulary entries that are a number's text
    this.numberIds = this.categorical.map((f) => {
      const m = new Map<number, number>();
      f.vocab.forEach((v, i) => { const x = Number(v); if (v !== '' && String(x) === v) m.set(x, FIRST_ID + i); });
      return m;
    });
    Object.freeze(this);
  }

  /** The id of a value of categorical field `c` (index into `categorical`). */
  idOf(c: number, v: unknown): number {
    if (v === null || v === undefined) return NULL_ID;
    if (typeof v === 'string') return this.textIds[c]!.get(v) ?? OOV_ID;
    if (typeof v === 'number') return this.numberIds[c]!.get(v) ?? OOV_ID;
    if (typeof v === 'boolean') return this.textIds[c]!.get(v ? 'true' : 'false') ?? OOV_ID;
    if (typeof v === 'bigint') return this.numberIds[c]!.get(Number(v)) ?? OOV_ID;
    return this.textIds[c]!.get(String(v)) ?? OOV_ID;
  }

  /** Rows of categorical field `c`'s embedding table (reserved ids included). */
  vocabSize(c: number): number {
    return FIRST_ID + this.categorical[c]!.vocab.length;
  }

  /** Names of the numeric tensor's features, in order. */
  featureNames(): string[] {
    return [...this.numeric.flatMap((f) => [f.name, `${f.name}:missing`]), 'age', 'gap', 'gap:unknown'];
  }

  /** Whether this encoding reads `spec` (same feature, k and fields): serving checks it before encoding. */
  matches(spec: SequenceSpec): boolean {
    return spec.feature === this.feature && spec.k === this.k && spec.fields.length === this.fields.length
      && spec.fields.every((f, i) => f.name === this.fields[i]!.name && f.type === this.fields[i]!.type && f.kind === this.fields[i]!.kind)
      && (spec.featureVersion === null || this.featureVersion === null || spec.featureVersion === this.featureVersion);
  }

  toJSON(): SequenceEncodingJson {
    return {
      format: SEQUENCE_ENCODING_FORMAT, version: SEQUENCE_ENCODING_VERSION, feature: this.feature, featureVersion: this.featureVersion,
      k: this.k, steps: this.steps,
      fields: this.fields.map((f) => (f.kind === 'categorical'
        ? { name: f.name, type: f.type, kind: f.kind, vocab: [...f.vocab] }
        : { name: f.name, type: f.type, kind: f.kind, log: f.log, mean: f.mean, std: f.std })),
      age: { mean: this.age.mean, std: this.age.std }, gap: { mean: this.gap.mean, std: this.gap.std }, rows: this.rows, events: this.events,
    };
  }

  /** Reads the JSON form (an object, or its text), checking every member. */
  static fromJSON(x: unknown): SequenceEncoding {
    let j: unknown = x;
    if (typeof x === 'string') {
      try {
        j = JSON.parse(x);
      } catch (e) {
        throw new KilnError('MODEL_FORMAT_INVALID', `a sequence encoding is not JSON: ${(e as Error).message}`);
      }
    }
    return new SequenceEncoding(checkJson(j));
  }
}

const KINDS: readonly SequenceFieldKind[] = ['categorical', 'numeric', 'time'];
const TYPES: readonly SequenceFieldType[] = ['boolean', 'integer', 'bigint', 'double', 'varchar', 'timestamp', 'date'];

function bad(what: string): never {
  throw new KilnError('MODEL_FORMAT_INVALID', `a sequence encoding is damaged: ${what}`);
}

function obj(v: unknown, what: string): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) bad(`${what} is not an object`);
  return v as Record<string, unknown>;
}

function finite(v: unknown, what: string, positive = false): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || (positive && !(v > 0))) bad(`${what} is ${JSON.stringify(v)}, not a ${positive ? 'positive ' : ''}number`);
  return v;
}

function count(v: unknown, what: string, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) bad(`${what} is ${JSON.stringify(v)}, not an integer >= ${min}`);
  return v;
}

function moments(v: unknown, what: string): Moments {
  const o = obj(v, what);
  return { mean: finite(o.mean, `${what}.mean`), std: finite(o.std, `${what}.std`, true) };
}

function checkJson(x: unknown): SequenceEncodingJson {
  const o = obj(x, 'the encoding');
  if (o.format !== SEQUENCE_ENCODING_FORMAT) bad(`format is ${JSON.stringify(o.format)}, not '${SEQUENCE_ENCODING_FORMAT}'`);
  const version = count(o.version, 'version', 1);
  if (version > SEQUENCE_ENCODING_VERSION) {
    throw new KilnError('MODEL_FORMAT_TOO_NEW', `the sequence encoding has version ${version}; this kiln reads up to ${SEQUENCE_ENCODING_VERSION}: upgrade kiln`);
  }
  if (typeof o.feature !== 'string' || o.feature === '') bad('feature is not a name');
  if (o.featureVersion !== null && typeof o.featureVersion !== 'string') bad('featureVersion is neither text nor null');
  const k = count(o.k, 'k', 1);
  const steps = count(o.steps, 'steps', 1);
  if (steps > k) bad(`steps ${steps} exceed k ${k}`);
  if (!Array.isArray(o.fields)) bad('fields is not a list');
  const names = new Set<string>();
  const fields = o.fields.map((v, i): FieldEncoding => {
    const f = obj(v, `fields[${i}]`);
    if (typeof f.name !== 'string' || names.has(f.name)) bad(`fields[${i}].name is missing or repeated`);
    names.add(f.name);
    if (!TYPES.includes(f.type as SequenceFieldType)) bad(`fields[${i}].type is ${JSON.stringify(f.type)}`);
    if (!KINDS.includes(f.kind as SequenceFieldKind)) bad(`fields[${i}].kind is ${JSON.stringify(f.kind)}`);
    const base = { name: f.name, type: f.type as SequenceFieldType };
    if (f.kind === 'categorical') {
      if (!Array.isArray(f.vocab) || f.vocab.some((s) => typeof s !== 'string') || new Set(f.vocab).size !== f.vocab.length) bad(`fields[${i}].vocab is not a list of distinct texts`);
      return { ...base, kind: 'categorical', vocab: f.vocab as string[] };
    }
    if (typeof f.log !== 'boolean') bad(`fields[${i}].log is not a boolean`);
    return { ...base, kind: f.kind as 'numeric' | 'time', log: f.log, ...moments(f, `fields[${i}]`) };
  });
  return {
    format: SEQUENCE_ENCODING_FORMAT, version, feature: o.feature, featureVersion: o.featureVersion, k, steps, fields,
    age: moments(o.age, 'age'), gap: moments(o.gap, 'gap'), rows: count(o.rows, 'rows', 0), events: count(o.events, 'events', 0),
  };
}
