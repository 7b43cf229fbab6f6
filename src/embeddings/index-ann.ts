/**
 * Approximate nearest neighbours: `VectorIndex`, an HNSW graph through usearch (its npm package ships
 * its native binaries).
 *
 * HNSW (hierarchical navigable small world): each vector is a node linked to about `connectivity` (M)
 * near neighbours per layer; upper layers hold exponentially fewer nodes. A search descends greedily
 * from the top layer, then on the bottom layer keeps a beam of `expansionSearch` (ef) candidates and
 * returns the best k of it; `expansionAdd` is the beam used while inserting. Larger M and ef give higher
 * recall at lower speed. Distances are usearch's (see ann-common.ts): cos 1 - cosine, ip 1 - dot, l2 the
 * squared Euclidean distance.
 *
 * Filters: usearch's JavaScript API (v2) has no filtered (predicate) search, so a filtered query
 * over-fetches: it asks for max(4k, 32) neighbours, keeps those the filter allows, and if fewer than k
 * remain asks again for 4x as many, up to the whole index (then the answer is as good as the graph
 * search allows). A very selective filter therefore costs more; the result never contains a disallowed id.
 *
 * Persistence: `save(path)` writes usearch's file and a `path.json` sidecar (dimension, metric,
 * parameters, id kind, count: the JS API cannot read them from usearch's header), each to a temporary
 * file renamed into place, the sidecar last, so a reader sees either the old or the new pair.
 * `load(path, { view: true })` memory-maps the file (usearch's `view`): nothing is copied into the heap,
 * the index is read-only, and the file must stay in place while the index is used (renaming a new
 * file over it is safe: the mapping keeps the old one). `expansionSearch` can be chosen at load, which is
 * how one built graph is measured at several settings.
 */
import { createRequire } from 'node:module';
import { closeSync, existsSync, openSync, readFileSync, readSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { KilnError } from '../core/errors.js';
import {
  type AnnFilter, type AnnHits, type AnnId, type AnnMetric, type AnnSearchOptions, type IdKind, type NeighborIndex,
  badInput, checkMetric, checkPositiveInt, checkRows, filterPredicate, normaliseIds, toId,
} from './ann-common.js';

interface UsearchMatches { keys: BigUint64Array; distances: Float32Array }
interface UsearchBatch extends UsearchMatches { counts: BigUint64Array; k: number; get(i: number): UsearchMatches }
interface UsearchIndex {
  add(keys: BigUint64Array, vectors: Float32Array, threads?: number): void;
  search(vectors: Float32Array, k: number, threads: number): UsearchMatches | UsearchBatch;
  size(): number;
  save(path: string): void;
  load(path: string): void;
  view(path: string): void;
}
interface UsearchModule {
  Index: new (config: {
    dimensions: number; metric: string; quantization: string; connectivity: number;
    expansion_add: number; expansion_search: number; multi: boolean;
  }) => UsearchIndex;
}

const usearch = createRequire(import.meta.url)('usearch') as UsearchModule;
const USEARCH_METRIC: Record<AnnMetric, string> = { cos: 'cos', ip: 'ip', l2: 'l2sq' };
const FORMAT = 1;

export interface VectorIndexOptions {
  dim: number;
  metric?: AnnMetric;
  /** HNSW M: links per node (default 16). */
  connectivity?: number;
  /** Beam width while inserting (default 128). */
  expansionAdd?: number;
  /** Beam width while searching (default 64). */
  expansionSearch?: number;
  /** Threads for building (default 0: all cores). */
  threads?: number;
}

interface Meta {
  format: number;
  dim: number;
  metric: AnnMetric;
  connectivity: number;
  expansionAdd: number;
  expansionSearch: number;
  idKind: IdKind;
  size: number;
  /** Byte length of usearch's file, checked at load (usearch crashes the process on a truncated file). */
  bytes: number;
}

export class VectorIndex implements NeighborIndex {
  private readonly meta: Meta;
  private readonly native: UsearchIndex;
  /** True when memory-mapped (read-only). */
  readonly viewed: boolean;

  private constructor(meta: Meta, native: UsearchIndex, viewed: boolean) {
    this.meta = meta;
    this.native = native;
    this.viewed = viewed;
  }

  private static make(m: Meta): UsearchIndex {
    return new usearch.Index({
      dimensions: m.dim, metric: USEARCH_METRIC[m.metric], quantization: 'f32', connectivity: m.connectivity,
      expansion_add: m.expansionAdd, expansion_search: m.expansionSearch, multi: false,
    });
  }

  /** Builds the graph from ids (numbers or bigints, distinct) and row-major vectors (ids.length x dim). */
  static build(ids: ArrayLike<AnnId>, vectors: Float32Array, options: VectorIndexOptions): VectorIndex {
    const dim = checkPositiveInt('dim', options.dim, 65536);
    const metric = checkMetric(options.metric ?? 'cos');
    const n = checkRows('vectors', vectors, dim, metric);
    const { keys, kind } = normaliseIds(ids, n);
    const meta: Meta = {
      format: FORMAT, dim, metric, idKind: kind, size: n, bytes: 0,
      connectivity: checkPositiveInt('connectivity', options.connectivity ?? 16, 1024),
      expansionAdd: checkPositiveInt('expansionAdd', options.expansionAdd ?? 128, 1 << 16),
      expansionSearch: checkPositiveInt('expansionSearch', options.expansionSearch ?? 64, 1 << 16),
    };
    const threads = options.threads ?? 0;
    if (!Number.isInteger(threads) || threads < 0) throw badInput(`vector index: threads must be a non-negative integer, got ${threads}`);
    const native = VectorIndex.make(meta);
    native.add(keys, vectors, threads);
    return new VectorIndex(meta, native, false);
  }

  get dim(): number { return this.meta.dim; }
  get metric(): AnnMetric { return this.meta.metric; }
  get size(): number { return this.meta.size; }
  get connectivity(): number { return this.meta.connectivity; }
  get expansionSearch(): number { return this.meta.expansionSearch; }

  private checkQueries(what: string, q: Float32Array): number {
    return checkRows(what, q, this.meta.dim, this.meta.metric);
  }

  private hits(m: UsearchMatches, k: number, pred?: (id: AnnId) => boolean): AnnHits {
    const ids: AnnId[] = [];
    const dist: number[] = [];
    for (let i = 0; i < m.keys.length && ids.length < k; i++) {
      const id = toId(m.keys[i]!, this.meta.idKind);
      if (pred !== undefined && !pred(id)) continue;
      ids.push(id);
      dist.push(m.distances[i]!);
    }
    return { ids, distances: Float32Array.from(dist) };
  }

  /** One query on one thread: the k nearest ids (nearest first), only ids the filter allows. */
  search(query: Float32Array, k: number, filter?: AnnFilter): AnnHits {
    checkPositiveInt('k', k);
    if (query.length !== this.meta.dim || this.checkQueries('query', query) !== 1) {
      throw badInput(`vector index: query has ${query.length} values, the index has dimension ${this.meta.dim}`);
    }
    if (filter === undefined) return this.hits(this.native.search(query, Math.min(k, this.size), 1) as UsearchMatches, k);
    return this.filtered(query, k, filterPredicate(filter));
  }

  private filtered(query: Float32Array, k: number, pred: (id: AnnId) => boolean): AnnHits {
    let fetch = Math.min(this.size, Math.max(4 * k, 32));
    for (;;) {
      const res = this.hits(this.native.search(query, fetch, 1) as UsearchMatches, k, pred);
      if (res.ids.length >= k || fetch >= this.size) return res;
      fetch = Math.min(this.size, fetch * 4);
    }
  }

  /** Queries (row-major, n x dim); unfiltered batches run on `threads` threads (0: all cores). */
  searchBatch(queries: Float32Array, k: number, options: AnnSearchOptions & { threads?: number } = {}): AnnHits[] {
    checkPositiveInt('k', k);
    const n = this.checkQueries('queries', queries);
    const { dim } = this.meta;
    if (options.filter !== undefined) {
      const pred = filterPredicate(options.filter);
      const out: AnnHits[] = [];
      for (let i = 0; i < n; i++) out.push(this.filtered(queries.subarray(i * dim, (i + 1) * dim), k, pred));
      return out;
    }
    const kk = Math.min(k, this.size);
    const res = this.native.search(queries, kk, options.threads ?? 0);
    if (n === 1) return [this.hits(res as UsearchMatches, k)];
    const batch = res as UsearchBatch;
    return Array.from({ length: n }, (_, i) => this.hits(batch.get(i), k));
  }

  /** Writes `path` (usearch's file) and `path.json` (the sidecar), each atomically. */
  save(path: string): void {
    const tmpIndex = `${path}.tmp-${process.pid}`;
    const tmpMeta = `${path}.json.tmp-${process.pid}`;
    try {
      this.native.save(tmpIndex);
      writeFileSync(tmpMeta, JSON.stringify({ ...this.meta, bytes: statSync(tmpIndex).size }));
      renameSync(tmpIndex, path);
      renameSync(tmpMeta, `${path}.json`);
    } catch (e) {
      rmSync(tmpIndex, { force: true });
      rmSync(tmpMeta, { force: true });
      throw new KilnError('FILE_UNWRITABLE', `vector index: cannot write ${path}: ${(e as Error).message}`, { cause: e });
    }
  }

  /**
   * Opens an index written by `save`: `view: true` memory-maps it (read-only, the file must stay),
   * otherwise it is read into memory. `expansionSearch` overrides the saved search beam.
   */
  static load(path: string, options: { view?: boolean; expansionSearch?: number } = {}): VectorIndex {
    if (!existsSync(path) || !existsSync(`${path}.json`)) {
      throw new KilnError('FILE_NOT_FOUND', `vector index: ${path} or its sidecar ${path}.json does not exist`);
    }
    let meta: Meta;
    try {
      meta = JSON.parse(readFileSync(`${path}.json`, 'utf8')) as Meta;
    } catch (e) {
      throw new KilnError('FILE_INVALID', `vector index: ${path}.json is not valid JSON`, { cause: e });
    }
    if (meta.format !== FORMAT) throw new KilnError('FILE_INVALID', `vector index: ${path}.json has format ${meta.format}, expected ${FORMAT}`);
    checkMetric(meta.metric);
    if (options.expansionSearch !== undefined) {
      meta = { ...meta, expansionSearch: checkPositiveInt('expansionSearch', options.expansionSearch, 1 << 16) };
    }
    checkUsearchFile(path, meta);
    const native = VectorIndex.make(meta);
    try {
      if (options.view === true) native.view(path);
      else native.load(path);
    } catch (e) {
      throw new KilnError('FILE_INVALID', `vector index: usearch cannot open ${path}: ${(e as Error).message}`, { cause: e });
    }
    if (native.size() !== meta.size) {
      throw new KilnError('FILE_INVALID', `vector index: ${path} holds ${native.size()} vectors, its sidecar says ${meta.size}`);
    }
    return new VectorIndex(meta, native, options.view === true);
  }
}

/**
 * usearch's native loader trusts its input (a junk or truncated file ends the process), so the file is
 * checked first: its length against the sidecar, then the layout usearch writes: a u32 row count and a
 * u32 row byte-width, the rows, then a header starting "usearch" whose population and dimension
 * (u64 at +17 and +33) must match the sidecar.
 */
function checkUsearchFile(path: string, meta: Meta): void {
  const bad = (why: string): KilnError => new KilnError('FILE_INVALID', `vector index: ${path} is not the index its sidecar describes: ${why}`);
  const size = statSync(path).size;
  if (size !== meta.bytes) throw bad(`${size} bytes, the sidecar says ${meta.bytes}`);
  const rowBytes = meta.dim * 4;
  const headAt = 8 + meta.size * rowBytes;
  if (size < headAt + 64) throw bad('too short');
  const buf = Buffer.alloc(64);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, buf, 0, 8, 0);
    if (buf.readUInt32LE(0) !== meta.size || buf.readUInt32LE(4) !== rowBytes) throw bad('vector matrix shape differs');
    readSync(fd, buf, 0, 64, headAt);
  } finally {
    closeSync(fd);
  }
  if (buf.toString('latin1', 0, 7) !== 'usearch') throw bad('no usearch header');
  if (buf.readBigUInt64LE(17) !== BigInt(meta.size) || buf.readBigUInt64LE(33) !== BigInt(meta.dim)) throw bad('header population or dimension differs');
}
