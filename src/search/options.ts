/**
 * The options of a BM25 index, checked once at the edge (every problem named with its path), and the
 * shared shapes of the search stage: ids, filters, documents and hits.
 */
import { KilnError } from '../core/errors.js';
import { resolveAnalyzerSpec, type AnalyzerSpec, type ResolvedAnalyzerSpec } from './analyzer.js';

/** A document's id: the key column's value of the table the index is built over. */
export type SearchId = string | number;

/** A predicate on the document id, or the set of allowed ids. */
export type SearchFilter = ((id: SearchId) => boolean) | ReadonlySet<SearchId>;

/** One row to index: its id and its text fields by name (null or absent = empty). */
export interface SearchDocument {
  id: SearchId;
  fields: Readonly<Record<string, string | null | undefined>>;
}

/** Ranked documents, best first. */
export interface SearchHits {
  ids: SearchId[];
  scores: Float64Array;
}

export interface FieldSpec {
  name: string;
  /** BM25F weight of a count in this field (default 1). */
  weight?: number;
  /** Length normalisation of this field (default: the index's b). */
  b?: number;
}

export interface PassageOptions {
  /** Tokens per passage (tokens before stop words are dropped, so a passage is that many words). */
  length: number;
  /** Tokens shared by consecutive passages of a field (default 0; less than length). */
  overlap?: number;
  /** Fields cut into passages (default: every indexed field). */
  fields?: readonly string[];
}

export interface Bm25Options {
  /** The text fields indexed, in order; a name alone has weight 1. */
  fields: readonly (string | FieldSpec)[];
  /** Term-frequency saturation (default 1.2). */
  k1?: number;
  /** Length normalisation, 0..1 (default 0.75). */
  b?: number;
  analyzer?: AnalyzerSpec;
  /** Cut documents into passages at index time, for retrieval-augmented generation (null: none). */
  passages?: PassageOptions | null;
  /** Fields whose text the index keeps and returns with passages (default: the passage fields). */
  store?: readonly string[];
}

export interface ResolvedField {
  name: string;
  weight: number;
  b: number;
}

export interface ResolvedBm25Options {
  fields: ResolvedField[];
  k1: number;
  b: number;
  analyzer: ResolvedAnalyzerSpec;
  passages: { length: number; overlap: number; fields: string[] } | null;
  store: string[];
}

export const MAX_FIELDS = 255;

function bad(message: string, path: (string | number)[]): KilnError {
  return new KilnError('SEARCH_PARAM_INVALID', message, { path });
}

function num(v: unknown, path: (string | number)[], lo: number, hi: number, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi) throw bad(`${path.join('.')} must be ${what} in [${lo}, ${hi}], got ${String(v)}`, path);
  return v;
}

function int(v: unknown, path: (string | number)[], lo: number, hi: number): number {
  if (!Number.isInteger(v)) throw bad(`${path.join('.')} must be an integer in [${lo}, ${hi}], got ${String(v)}`, path);
  return num(v, path, lo, hi, 'an integer');
}

function knownFields(names: unknown, all: readonly string[], path: string): string[] {
  if (!Array.isArray(names)) throw bad(`${path} must be an array of field names`, [path]);
  return names.map((n, i) => {
    if (typeof n !== 'string' || !all.includes(n)) throw bad(`${path}[${i}] '${String(n)}' is not an indexed field; use one of: ${all.join(', ')}`, [path, i]);
    return n;
  });
}

export function resolveBm25Options(o: Bm25Options): ResolvedBm25Options {
  if (o === null || typeof o !== 'object') throw bad('BM25 options must be an object { fields, k1?, b?, analyzer?, passages?, store? }', []);
  const k1 = num(o.k1 ?? 1.2, ['k1'], 0, 100, 'a number');
  const b = num(o.b ?? 0.75, ['b'], 0, 1, 'a number');
  if (!Array.isArray(o.fields) || o.fields.length === 0) throw bad('fields must name at least one text field, e.g. [\'title\', \'body\']', ['fields']);
  if (o.fields.length > MAX_FIELDS) throw bad(`fields has ${o.fields.length} entries; at most ${MAX_FIELDS}`, ['fields']);
  const fields = o.fields.map((f, i): ResolvedField => {
    const spec: FieldSpec = typeof f === 'string' ? { name: f } : f;
    if (spec === null || typeof spec !== 'object' || typeof spec.name !== 'string' || spec.name.length === 0) {
      throw bad(`fields[${i}] must be a field name or { name, weight?, b? }`, ['fields', i]);
    }
    return { name: spec.name, weight: num(spec.weight ?? 1, ['fields', i, 'weight'], 0, 1e6, 'a number'), b: num(spec.b ?? b, ['fields', i, 'b'], 0, 1, 'a number') };
  });
  const names = fields.map((f) => f.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) throw bad(`fields names '${dup}' twice; each field once`, ['fields']);
  let passages: ResolvedBm25Options['passages'] = null;
  if (o.passages !== undefined && o.passages !== null) {
    const p = o.passages;
    if (typeof p !== 'object') throw bad('passages must be { length, overlap?, fields? }', ['passages']);
    const length = int(p.length, ['passages', 'length'], 1, 1_000_000);
    const overlap = int(p.overlap ?? 0, ['passages', 'overlap'], 0, length - 1);
    passages = { length, overlap, fields: p.fields === undefined ? names : knownFields(p.fields, names, 'passages.fields') };
  }
  const store = o.store === undefined ? (passages?.fields ?? []) : knownFields(o.store, names, 'store');
  return { fields, k1, b, analyzer: resolveAnalyzerSpec(o.analyzer), passages, store };
}

/** The filter as a predicate. */
export function filterPredicate(filter: SearchFilter | undefined): ((id: SearchId) => boolean) | undefined {
  if (filter === undefined) return undefined;
  if (typeof filter === 'function') return filter;
  if (filter instanceof Set) return (id) => filter.has(id);
  throw new KilnError('SEARCH_PARAM_INVALID', 'filter must be a function of the document id or a Set of allowed ids', { path: ['filter'] });
}

export function checkK(k: unknown): number {
  if (!Number.isInteger(k) || (k as number) < 1) throw new KilnError('SEARCH_PARAM_INVALID', `k must be a positive integer, got ${String(k)}`, { path: ['k'] });
  return k as number;
}
