/**
 * Look-ups on one opened version (`ServedVersion`), as the HTTP routes answer them: a vector by id,
 * vectors of a batch, the k nearest neighbours of an id or a vector. Bad input is a REQUEST_INVALID
 * naming the field (checked here against the version: its dimension, its attributes); an id the version
 * does not hold is EMBEDDING_NOT_FOUND. Pure reads: nothing is awaited, so one request reads one version.
 */
import { KilnError } from '../../core/errors.js';
import type { ServedVersion } from './set.js';

export type FilterValue = string | number | boolean | null;

export interface NeighborsQuery {
  readonly id?: string | undefined;
  readonly vector?: readonly number[] | undefined;
  readonly k: number;
  readonly filters?: Readonly<Record<string, FilterValue | readonly FilterValue[]>> | undefined;
  readonly exclude?: readonly string[] | undefined;
}

export interface NeighborHit { readonly id: string; readonly score: number }

/** The vector of `id` as a plain array; EMBEDDING_NOT_FOUND when the version does not hold it. */
export function vectorOf(v: ServedVersion, id: string, path: (string | number)[]): number[] {
  const x = v.files.vector(id);
  if (!x) throw new KilnError('EMBEDDING_NOT_FOUND', `embedding space '${v.space}' version ${v.info.version} has no vector for ${v.info.entity} '${id}'`, { path });
  return Array.from(x);
}

/** Vectors of ids, null for those the version does not hold. */
export function vectorsOf(v: ServedVersion, ids: readonly string[]): (number[] | null)[] {
  return ids.map((id) => {
    const x = v.files.vector(id);
    return x ? Array.from(x) : null;
  });
}

/** Checks the parts of a query that depend on the version (dimension, attribute names). */
function checkQuery(v: ServedVersion, q: NeighborsQuery): void {
  if (q.vector !== undefined && q.vector.length !== v.files.dim) {
    throw new KilnError('REQUEST_INVALID', `neighbors: vector: expected ${v.files.dim} numbers (the dimension of ${v.space} version ${v.info.version}), got ${q.vector.length}`, { path: ['vector'] });
  }
  const names = Object.keys(q.filters ?? {});
  if (!names.length) return;
  const attrs = v.files.attributes;
  if (!attrs) throw new KilnError('REQUEST_INVALID', `neighbors: filters: embedding space '${v.space}' version ${v.info.version} keeps no attributes to filter on (declare attributes: { columns: [...] } in the space)`, { path: ['filters'] });
  const bad = names.find((n) => !attrs[n]);
  if (bad !== undefined) throw new KilnError('REQUEST_INVALID', `neighbors: filters.${bad}: embedding space '${v.space}' keeps no attribute '${bad}' (attributes: ${Object.keys(attrs).join(', ')})`, { path: ['filters', bad] });
}

/** The k nearest entities (nearest first, the query id left out) with their similarity. */
export function neighborsOf(v: ServedVersion, q: NeighborsQuery): NeighborHit[] {
  checkQuery(v, q);
  const exclude = [...(q.exclude ?? [])];
  let query: Float32Array;
  if (q.id !== undefined) {
    const x = v.files.vector(q.id);
    if (!x) throw new KilnError('EMBEDDING_NOT_FOUND', `embedding space '${v.space}' version ${v.info.version} has no vector for ${v.info.entity} '${q.id}'`, { path: ['id'] });
    query = x;
    exclude.push(q.id);
  } else {
    query = Float32Array.from(q.vector!);
  }
  const filters = q.filters && Object.keys(q.filters).length ? { filters: q.filters as Record<string, unknown> } : {};
  return v.files.nearest(query, q.k, { ...filters, exclude });
}

/**
 * The share of ids two neighbour lists have in common: |a ∩ b| / max(|a|, |b|); 1 when both are empty.
 * @example listOverlap(['a', 'b'], ['b', 'c']) // 0.5
 */
export function listOverlap(a: readonly string[], b: readonly string[]): number {
  const n = Math.max(a.length, b.length);
  if (n === 0) return 1;
  const inA = new Set(a);
  let common = 0;
  for (const id of new Set(b)) if (inA.has(id)) common++;
  return common / n;
}
