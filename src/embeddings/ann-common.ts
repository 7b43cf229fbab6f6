/**
 * Shared pieces of kiln's vector indexes (the HNSW `VectorIndex` over usearch and the brute-force
 * `ExactIndex` that is its reference): the metric names and their distance definitions, input
 * validation that fails with a clear KilnError, id normalisation, filters, and a bounded max-heap for
 * exact top-k.
 *
 * Distances follow usearch so that both indexes rank and report the same numbers:
 *   cos: 1 - a.b / (|a| |b|)      ip: 1 - a.b      l2: sum (a_i - b_i)^2 (squared Euclidean).
 * Smaller is nearer for all three.
 *
 * Ids are unsigned 64-bit keys (usearch's key type). Callers may give numbers (non-negative safe
 * integers) or bigints; an index built from numbers only answers with numbers, otherwise with bigints.
 */
import { KilnError } from '../core/errors.js';

export type AnnMetric = 'cos' | 'ip' | 'l2';
export type AnnId = bigint | number;
export type IdKind = 'number' | 'bigint';

/** A predicate on the id, or a set of allowed ids (numbers or bigints; either form of an id matches). */
export type AnnFilter = ((id: AnnId) => boolean) | ReadonlySet<AnnId>;

export interface AnnHits {
  /** Nearest first; at most k, fewer when the index (or the filter) has fewer. */
  ids: AnnId[];
  distances: Float32Array;
}

export interface AnnSearchOptions {
  filter?: AnnFilter;
}

/** What both the HNSW and the exact index answer; `recallAt` compares two of them. */
export interface NeighborIndex {
  readonly dim: number;
  readonly metric: AnnMetric;
  readonly size: number;
  search(query: Float32Array, k: number, filter?: AnnFilter): AnnHits;
  searchBatch(queries: Float32Array, k: number, options?: AnnSearchOptions & { threads?: number }): AnnHits[];
}

export const ANN_METRICS: readonly AnnMetric[] = ['cos', 'ip', 'l2'];

/** Largest key usearch accepts: 2^64 - 1 is its "no key" marker. */
export const MAX_KEY = (1n << 64n) - 2n;

export function badInput(message: string, details?: unknown): KilnError {
  return new KilnError('INVALID_ARGUMENT', message, details === undefined ? {} : { details });
}

export function checkMetric(metric: unknown): AnnMetric {
  if (typeof metric !== 'string' || !(ANN_METRICS as readonly string[]).includes(metric)) {
    throw badInput(`vector index: metric must be one of ${ANN_METRICS.join(', ')}, got ${String(metric)}`);
  }
  return metric as AnnMetric;
}

export function checkPositiveInt(name: string, v: unknown, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max) {
    throw badInput(`vector index: ${name} must be an integer in 1..${max}, got ${String(v)}`);
  }
  return v;
}

/** Checks rows (n x dim, row-major) for shape and finite values; cos also needs non-zero rows. */
export function checkRows(what: string, rows: Float32Array, dim: number, metric: AnnMetric): number {
  if (!(rows instanceof Float32Array)) throw badInput(`vector index: ${what} must be a Float32Array`);
  if (rows.length === 0) throw badInput(`vector index: ${what} is empty`);
  if (rows.length % dim !== 0) {
    throw badInput(`vector index: ${what} has ${rows.length} values, not a multiple of the dimension ${dim} (wrong dimension?)`);
  }
  const n = rows.length / dim;
  for (let i = 0; i < n; i++) {
    let norm = 0;
    for (let j = i * dim, e = j + dim; j < e; j++) {
      const x = rows[j]!;
      if (!Number.isFinite(x)) throw badInput(`vector index: ${what} row ${i} has a non-finite value at column ${j - i * dim}`);
      norm += x * x;
    }
    if (metric === 'cos' && norm === 0) throw badInput(`vector index: ${what} row ${i} is all zeros, which has no cosine`);
  }
  return n;
}

/** Normalises ids to BigUint64Array, refusing negatives, fractions, keys >= 2^64 - 1 and duplicates. */
export function normaliseIds(ids: ArrayLike<AnnId>, n: number): { keys: BigUint64Array; kind: IdKind } {
  if (ids.length !== n) throw badInput(`vector index: ${ids.length} ids for ${n} vectors`);
  const keys = new BigUint64Array(n);
  let kind: IdKind = 'number';
  const seen = new Set<bigint>();
  for (let i = 0; i < n; i++) {
    const id = ids[i]!;
    let key: bigint;
    if (typeof id === 'number') {
      if (!Number.isSafeInteger(id) || id < 0) throw badInput(`vector index: id ${id} (position ${i}) is not a non-negative safe integer`);
      key = BigInt(id);
    } else if (typeof id === 'bigint') {
      if (id < 0n || id > MAX_KEY) throw badInput(`vector index: id ${id} (position ${i}) is outside 0..2^64-2`);
      key = id;
      kind = 'bigint';
    } else {
      throw badInput(`vector index: id at position ${i} is a ${typeof id}, not a number or bigint`);
    }
    if (seen.has(key)) throw badInput(`vector index: duplicate id ${key} (position ${i})`);
    seen.add(key);
    keys[i] = key;
  }
  return { keys, kind };
}

export function toId(key: bigint, kind: IdKind): AnnId {
  return kind === 'number' ? Number(key) : key;
}

/** A filter as a predicate on the caller's id form; a set matches an id given as number or bigint. */
export function filterPredicate(filter: AnnFilter): (id: AnnId) => boolean {
  if (typeof filter === 'function') return filter;
  if (filter instanceof Set) {
    return (id) => filter.has(id) || (typeof id === 'bigint' ? id <= BigInt(Number.MAX_SAFE_INTEGER) && filter.has(Number(id)) : filter.has(BigInt(id)));
  }
  throw badInput('vector index: filter must be a function of the id or a Set of allowed ids');
}

/** Distance between row a (offset ai of A) and row b (offset bi of B); cos expects unit rows. */
export function distance(metric: AnnMetric, A: Float32Array, ai: number, B: Float32Array, bi: number, dim: number): number {
  if (metric === 'l2') {
    let s = 0;
    for (let j = 0; j < dim; j++) {
      const t = A[ai + j]! - B[bi + j]!;
      s += t * t;
    }
    return s;
  }
  let dot = 0;
  for (let j = 0; j < dim; j++) dot += A[ai + j]! * B[bi + j]!;
  return 1 - dot;
}

/** Row-wise unit normalisation (a copy), used by cos so that its distance is 1 - dot. */
export function unitRows(rows: Float32Array, dim: number): Float32Array {
  const out = new Float32Array(rows.length);
  for (let o = 0; o < rows.length; o += dim) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += rows[o + j]! * rows[o + j]!;
    const inv = 1 / Math.sqrt(s);
    for (let j = 0; j < dim; j++) out[o + j] = rows[o + j]! * inv;
  }
  return out;
}

/**
 * Bounded max-heap of (distance, row) keeping the k smallest distances seen; ties broken by the lower
 * row so that exact results are deterministic.
 */
export class TopK {
  readonly d: Float64Array;
  readonly r: Int32Array;
  size = 0;
  constructor(readonly k: number) {
    this.d = new Float64Array(k);
    this.r = new Int32Array(k);
  }

  private worse(i: number, j: number): boolean {
    return this.d[i]! > this.d[j]! || (this.d[i] === this.d[j] && this.r[i]! > this.r[j]!);
  }

  private swap(i: number, j: number): void {
    const td = this.d[i]!; this.d[i] = this.d[j]!; this.d[j] = td;
    const tr = this.r[i]!; this.r[i] = this.r[j]!; this.r[j] = tr;
  }

  /** Threshold a candidate must beat once the heap is full. */
  bound(): number {
    return this.size < this.k ? Infinity : this.d[0]!;
  }

  push(dist: number, row: number): void {
    if (this.size < this.k) {
      let i = this.size++;
      this.d[i] = dist; this.r[i] = row;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!this.worse(i, p)) break;
        this.swap(i, p);
        i = p;
      }
      return;
    }
    if (dist > this.d[0]! || (dist === this.d[0] && row > this.r[0]!)) return;
    this.d[0] = dist; this.r[0] = row;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1, rr = l + 1;
      let m = i;
      if (l < this.size && this.worse(l, m)) m = l;
      if (rr < this.size && this.worse(rr, m)) m = rr;
      if (m === i) break;
      this.swap(i, m);
      i = m;
    }
  }

  /** Rows and distances, nearest first. */
  sorted(): { rows: number[]; dists: number[] } {
    const idx = Array.from({ length: this.size }, (_, i) => i);
    idx.sort((a, b) => this.d[a]! - this.d[b]! || this.r[a]! - this.r[b]!);
    return { rows: idx.map((i) => this.r[i]!), dists: idx.map((i) => this.d[i]!) };
  }
}
