/**
 * `VectorSearch`: semantic search over a text encoder's vectors (TextLsa trained on the collection, or an
 * ONNX sentence encoder). A document's text is its chosen fields joined by a newline; its vector goes
 * into an exact (brute-force) or HNSW index under its row number; the score is the inner product of unit
 * vectors (the cosine). A query whose vector is all zeros (no word the encoder knows) finds nothing.
 */
import { ExactIndex, VectorIndex, type NeighborIndex, type TextEncoder } from '../embeddings/index.js';
import { KilnError } from '../core/errors.js';
import { checkK, filterPredicate, type SearchDocument, type SearchFilter, type SearchHits, type SearchId } from './options.js';

export const VECTOR_INDEX_KINDS = ['exact', 'hnsw'] as const;
export type VectorIndexKind = (typeof VECTOR_INDEX_KINDS)[number];

export interface VectorSearchOptions {
  /** Fields whose text is encoded (joined by a newline). */
  fields: readonly string[];
  /** Default 'exact'. */
  index?: VectorIndexKind;
  /** Texts per encoder call (default 64). */
  batchSize?: number;
}

function isZero(v: Float32Array): boolean {
  for (let i = 0; i < v.length; i++) if (v[i] !== 0) return false;
  return true;
}

export class VectorSearch {
  private constructor(
    readonly encoder: TextEncoder,
    readonly ids: readonly SearchId[],
    /** Unit vectors, row-major [ids.length, dim]. */
    readonly vectors: Float32Array,
    private readonly index: NeighborIndex,
    private readonly rows: Map<SearchId, number>,
  ) {}

  get dim(): number {
    return this.encoder.dim;
  }

  get size(): number {
    return this.ids.length;
  }

  /**
   * Encodes every row's fields and indexes the vectors.
   * @example const vs = await VectorSearch.build(rows, TextLsa.fit(texts, { dim: 256 }), { fields: ['title', 'body'] });
   */
  static async build(rows: Iterable<SearchDocument>, encoder: TextEncoder, options: VectorSearchOptions): Promise<VectorSearch> {
    const fields = options?.fields;
    if (!Array.isArray(fields) || fields.length === 0 || fields.some((f) => typeof f !== 'string')) {
      throw new KilnError('SEARCH_PARAM_INVALID', 'vector search: fields must name at least one text field', { path: ['fields'] });
    }
    const batch = options.batchSize ?? 64;
    if (!Number.isInteger(batch) || batch < 1) throw new KilnError('SEARCH_PARAM_INVALID', `vector search: batchSize must be a positive integer, got ${String(batch)}`, { path: ['batchSize'] });
    const ids: SearchId[] = [];
    const texts: string[] = [];
    for (const r of rows) {
      ids.push(r.id);
      texts.push(fields.map((f) => r.fields[f] ?? '').join('\n'));
    }
    const dim = encoder.dim;
    const vectors = new Float32Array(ids.length * dim);
    for (let s = 0; s < texts.length; s += batch) vectors.set(await encoder.encode(texts.slice(s, s + batch)), s * dim);
    return VectorSearch.fromVectors(ids, vectors, encoder, options.index);
  }

  /** A search over vectors already encoded (row-major [ids.length, encoder.dim]) by `encoder`. */
  static fromVectors(ids: readonly SearchId[], vectors: Float32Array, encoder: TextEncoder, index: VectorIndexKind = 'exact'): VectorSearch {
    const dim = encoder.dim;
    if (vectors.length !== ids.length * dim) {
      throw new KilnError('SEARCH_DATA_INVALID', `vector search: ${vectors.length} values for ${ids.length} ids of dimension ${dim}`, { path: ['vectors'] });
    }
    const rows = new Map<SearchId, number>();
    ids.forEach((id, i) => {
      if (rows.has(id)) throw new KilnError('SEARCH_DATA_INVALID', `vector search: id ${JSON.stringify(id)} repeats; ids must be unique`, { path: ['ids', i] });
      rows.set(id, i);
    });
    if (!(VECTOR_INDEX_KINDS as readonly string[]).includes(index)) {
      throw new KilnError('SEARCH_PARAM_INVALID', `vector search: index '${String(index)}' is unknown; use one of: ${VECTOR_INDEX_KINDS.join(', ')}`, { path: ['index'] });
    }
    const keys = Array.from(ids, (_, i) => i);
    const ann = index === 'exact' ? ExactIndex.build(keys, vectors, { dim, metric: 'ip' }) : VectorIndex.build(keys, vectors, { dim, metric: 'ip' });
    return new VectorSearch(encoder, ids, vectors, ann, rows);
  }

  /** The query's unit vector. */
  async encodeQuery(query: string): Promise<Float32Array> {
    return (await this.encoder.encode([query])).slice(0, this.dim);
  }

  /** The k nearest documents to a query text, by cosine. */
  async search(query: string, k: number, filter?: SearchFilter): Promise<SearchHits> {
    return this.searchVector(await this.encodeQuery(query), k, filter);
  }

  /** The k nearest documents to a query vector (unit length), by inner product. */
  searchVector(vector: Float32Array, k: number, filter?: SearchFilter): SearchHits {
    checkK(k);
    if (isZero(vector)) return { ids: [], scores: new Float64Array(0) };
    const pred = filterPredicate(filter);
    const hits = this.index.search(vector, Math.min(k, this.size), pred && ((row) => pred(this.ids[Number(row)]!)));
    return { ids: hits.ids.map((row) => this.ids[Number(row)]!), scores: Float64Array.from(hits.distances, (d) => 1 - d) };
  }

  /** Inner product of the query vector with each given document's vector (0 for an unknown id). */
  scoreDocs(vector: Float32Array, ids: readonly SearchId[]): Float64Array {
    const out = new Float64Array(ids.length);
    const d = this.dim;
    ids.forEach((id, j) => {
      const r = this.rows.get(id);
      if (r === undefined) return;
      let s = 0;
      for (let c = 0; c < d; c++) s += vector[c]! * this.vectors[r * d + c]!;
      out[j] = s;
    });
    return out;
  }
}
