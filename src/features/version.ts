/**
 * A definition's version is the hash of its meaning: sha256 of the canonical JSON of its spec without
 * `meta`, together with the meaning of what it reads (the source's table, key, time columns and the types
 * of the columns it uses; for derived features the versions of their inputs). Descriptions and owners do
 * not change versions.
 */
import { createHash } from 'node:crypto';
import type { AggregateFeatureSpec, DefinitionSpec, EntitySpec, FeatureSetSpec, FeatureSpec, SourceSpec } from './spec.js';

/** Increment when the compiled semantics change, so that every version changes with them. */
export const FEATURE_FORMAT = 'kiln.feature@1';

/** JSON with object keys sorted at every level and undefined members dropped: equal data, equal text. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) return 'null';
    return JSON.stringify(value) ?? 'null';
  }
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export function withoutMeta<T extends DefinitionSpec>(spec: T): Omit<T, 'meta'> {
  const { meta: _meta, ...rest } = spec;
  return rest;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The columns of a source that an aggregate feature reads. */
export function columnsRead(f: AggregateFeatureSpec): string[] {
  const cols = new Set<string>();
  if (f.column) cols.add(f.column);
  for (const c of f.where) cols.add(c.column);
  if (f.by) cols.add(f.by.column);
  for (const c of f.params.fields ?? []) cols.add(c);
  return [...cols].sort();
}

/** Version of an aggregate feature: its spec, its source's time semantics and its columns' types. */
export function aggregateVersion(f: AggregateFeatureSpec, src: SourceSpec, ent: EntitySpec): string {
  const read = columnsRead(f);
  const source = {
    type: src.type, table: src.table, key: src.key, timestamp: src.timestamp, availableAt: src.availableAt, tiebreak: src.tiebreak,
    columns: Object.fromEntries(read.map((c) => [c, src.columns[c] ?? null])),
  };
  return sha256(canonicalJson({ format: FEATURE_FORMAT, feature: withoutMeta(f), source, entity: ent.name }));
}

/** Version of a derived feature: its expression and the versions of the features it reads. */
export function derivedVersion(f: FeatureSpec, inputs: Readonly<Record<string, string>>): string {
  return sha256(canonicalJson({ format: FEATURE_FORMAT, feature: withoutMeta(f), inputs }));
}

/** Version of a feature set: its name and its members' versions, in order. */
export function setVersion(s: FeatureSetSpec, members: readonly string[]): string {
  return sha256(canonicalJson({ format: FEATURE_FORMAT, set: s.name, members }));
}

/** The short form shown to people (12 hex digits). */
export function shortVersion(v: string): string {
  return v.slice(0, 12);
}
