/**
 * Exact (brute-force) nearest neighbours, the reference that HNSW results are measured against, and
 * `recallAt`, the measure.
 *
 * `ExactIndex` has the `VectorIndex` API (build, search with a filter, batch search, save, load). A
 * search scans every row: for cos the rows are unit-normalised once at build and the query per search,
 * so its distance is 1 - dot; ip is 1 - dot; l2 is the squared Euclidean distance. A bounded max-heap
 * keeps the k nearest, ties broken by insertion order, so results are deterministic. A filter is applied
 * before the distance, so filtered search is exact too.
 *
 * recall@k of an approximate index against the exact one, over a set of queries, is the mean over
 * queries of |approx top-k ∩ exact top-k| / |exact top-k|.
 *
 * File format (little-endian): "KILNEXA1", u32 JSON length, JSON {dim, metric, n, idKind}, zero padding
 * to a multiple of 8, n u64 keys, n x dim f32 rows (unit rows for cos). Written to a temporary file and
 * renamed, so a reader never sees half a file.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { KilnError } from '../core/errors.js';
import {
  type AnnFilter, type AnnHits, type AnnId, type AnnMetric, type AnnSearchOptions, type IdKind, type NeighborIndex,
  badInput, checkMetric, checkPositiveInt, checkRows, distance, filterPredicate, normaliseIds, toId, TopK, unitRows,
} from './ann-common.js';

const MAGIC = 'KILNEXA1';

export interface ExactIndexOptions {
  dim: number;
  metric?: AnnMetric;
}

export class ExactIndex implements NeighborIndex {
  readonly dim: number;
  readonly metric: AnnMetric;
  private readonly keys: BigUint64Array;
  private readonly idKind: IdKind;
  private readonly rows: Float32Array;
  private readonly idsOut: AnnId[];

  private constructor(dim: number, metric: AnnMetric, keys: BigUint64Array, idKind: IdKind, rows: Float32Array) {
    this.dim = dim;
    this.metric = metric;
    this.keys = keys;
    this.idKind = idKind;
    this.rows = rows;
    this.idsOut = Array.from(keys, (k) => toId(k, idKind));
  }

  /** Builds from ids (numbers or bigints) and row-major vectors (ids.length x dim). */
  static build(ids: ArrayLike<AnnId>, vectors: Float32Array, options: ExactIndexOptions): ExactIndex {
    const dim = checkPositiveInt('dim', options.dim, 65536);
    const metric = checkMetric(options.metric ?? 'cos');
    const n = checkRows('vectors', vectors, dim, metric);
    const { keys, kind } = normaliseIds(ids, n);
    return new ExactIndex(dim, metric, keys, kind, metric === 'cos' ? unitRows(vectors, dim) : vectors.slice());
  }

  get size(): number {
    return this.keys.length;
  }

  search(query: Float32Array, k: number, filter?: AnnFilter): AnnHits {
    checkPositiveInt('k', k);
    checkRows('query', query, this.dim, this.metric);
    if (query.length !== this.dim) throw badInput(`vector index: query has ${query.length} values, the index has dimension ${this.dim}`);
    return this.searchRow(this.metric === 'cos' ? unitRows(query, this.dim) : query, 0, k, filter === undefined ? undefined : filterPredicate(filter));
  }

  searchBatch(queries: Float32Array, k: number, options: AnnSearchOptions & { threads?: number } = {}): AnnHits[] {
    checkPositiveInt('k', k);
    const n = checkRows('queries', queries, this.dim, this.metric);
    const q = this.metric === 'cos' ? unitRows(queries, this.dim) : queries;
    const pred = options.filter === undefined ? undefined : filterPredicate(options.filter);
    const out: AnnHits[] = [];
    for (let i = 0; i < n; i++) out.push(this.searchRow(q, i * this.dim, k, pred));
    return out;
  }

  private searchRow(q: Float32Array, qo: number, k: number, pred: ((id: AnnId) => boolean) | undefined): AnnHits {
    const top = new TopK(Math.min(k, this.size));
    const { dim, rows, metric } = this;
    for (let r = 0; r < this.keys.length; r++) {
      if (pred !== undefined && !pred(this.idsOut[r]!)) continue;
      top.push(distance(metric, rows, r * dim, q, qo, dim), r);
    }
    const { rows: rs, dists } = top.sorted();
    return { ids: rs.map((r) => this.idsOut[r]!), distances: Float32Array.from(dists) };
  }

  /** Writes the index to `path` atomically (temporary file, then rename). */
  save(path: string): void {
    const json = Buffer.from(JSON.stringify({ dim: this.dim, metric: this.metric, n: this.size, idKind: this.idKind }));
    const head = 8 + 4 + json.length;
    const pad = (8 - (head % 8)) % 8;
    const buf = Buffer.alloc(head + pad + this.size * 8 + this.rows.length * 4);
    buf.write(MAGIC, 0, 'latin1');
    buf.writeUInt32LE(json.length, 8);
    json.copy(buf, 12);
    let o = head + pad;
    Buffer.from(this.keys.buffer, this.keys.byteOffset, this.keys.byteLength).copy(buf, o);
    o += this.keys.byteLength;
    Buffer.from(this.rows.buffer, this.rows.byteOffset, this.rows.byteLength).copy(buf, o);
    const tmp = `${path}.tmp-${process.pid}`;
    try {
      writeFileSync(tmp, buf);
      renameSync(tmp, path);
    } catch (e) {
      throw new KilnError('FILE_UNWRITABLE', `exact index: cannot write ${path}: ${(e as Error).message}`, { cause: e });
    }
  }

  /** Reads an index written by `save`; `view` is accepted for API parity (the rows are read into memory). */
  static load(path: string, _options: { view?: boolean } = {}): ExactIndex {
    let buf: Buffer;
    try {
      buf = readFileSync(path);
    } catch (e) {
      throw new KilnError('FILE_NOT_FOUND', `exact index: cannot read ${path}: ${(e as Error).message}`, { cause: e });
    }
    if (buf.length < 12 || buf.toString('latin1', 0, 8) !== MAGIC) throw new KilnError('FILE_INVALID', `exact index: ${path} is not a kiln exact index`);
    const len = buf.readUInt32LE(8);
    const meta = JSON.parse(buf.toString('utf8', 12, 12 + len)) as { dim: number; metric: AnnMetric; n: number; idKind: IdKind };
    const head = 12 + len;
    const o = head + ((8 - (head % 8)) % 8);
    if (buf.length !== o + meta.n * 8 + meta.n * meta.dim * 4) throw new KilnError('FILE_INVALID', `exact index: ${path} is truncated or corrupt`);
    const copy = new Uint8Array(buf.length - o);
    copy.set(buf.subarray(o));
    const keys = new BigUint64Array(copy.buffer, 0, meta.n);
    const rows = new Float32Array(copy.buffer, meta.n * 8, meta.n * meta.dim);
    return new ExactIndex(meta.dim, checkMetric(meta.metric), keys, meta.idKind, rows);
  }
}

/** Mean over queries (row-major, n x dim) of |approx top-k ∩ exact top-k| / |exact top-k|. */
export function recallAt(index: NeighborIndex, exact: NeighborIndex, queries: Float32Array, k: number, filter?: AnnFilter): number {
  if (index.dim !== exact.dim || index.metric !== exact.metric) {
    throw badInput(`recallAt: indexes differ (dim ${index.dim}/${exact.dim}, metric ${index.metric}/${exact.metric})`);
  }
  const opts = filter === undefined ? {} : { filter };
  const got = index.searchBatch(queries, k, opts);
  const want = exact.searchBatch(queries, k, opts);
  let sum = 0;
  let counted = 0;
  for (let i = 0; i < want.length; i++) {
    const truth = new Set(want[i]!.ids.map(String));
    if (truth.size === 0) continue;
    let hit = 0;
    for (const id of got[i]!.ids) if (truth.has(String(id))) hit++;
    sum += hit / truth.size;
    counted++;
  }
  if (counted === 0) throw badInput('recallAt: no query has any exact neighbour (empty filter?)');
  return sum / counted;
}
