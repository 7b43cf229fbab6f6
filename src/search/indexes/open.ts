import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KilnError } from '../../core/errors.js';
import type { Project } from '../../store/index.js';
import type { EmbeddingVersion } from '../../registry/index.js';
import { Bm25Index, type PassageHit } from '../bm25.js';
import { linearBlend, reciprocalRankFusion } from '../fusion.js';
import type { SearchHits, SearchId } from '../options.js';
import { searchDir, searchSpec, type SearchIndexDocs, type SearchIndexMeta } from './build.js';

export const SEARCH_MODES = ['lexical', 'vector', 'hybrid'] as const;
export type SearchMode = (typeof SEARCH_MODES)[number];

export interface SearchRequest {
  query: string;
  k?: number;
  /** Default: hybrid when the index has a vector side, else lexical. */
  mode?: SearchMode;
  /** Column values the documents must have (a list: any of them); columns from the index's `filters`. */
  filters?: Record<string, unknown>;
  /** Also return the best passages (indexes built with `passages`). */
  passages?: boolean;
}

export interface SearchHit {
  id: string;
  score: number;
  /** The stored columns of the document. */
  fields: Record<string, string | null>;
}

export interface SearchResponse {
  index: string;
  mode: SearchMode;
  hits: SearchHit[];
  passages?: PassageHit[];
  /** The embedding space version the vector side read. */
  vector?: { space: string; version: number };
}

interface VectorSide {
  version: EmbeddingVersion;
  encode(text: string): Promise<Float32Array>;
  search(vector: Float32Array, k: number, allowed: ReadonlySet<string> | null): SearchHits;
  release(): Promise<void>;
}

/** How many candidates each side gives a hybrid query before fusion. */
const FUSE_DEPTH = 100;

/** A built search index, opened for queries (`kiln search query`, `POST /v1/search/:index`). */
export class SearchIndexHandle {
  private readonly rowOf: Map<string, number>;

  private constructor(
    readonly name: string,
    readonly meta: SearchIndexMeta,
    readonly bm25: Bm25Index,
    readonly docs: SearchIndexDocs,
    private readonly vectorSide: VectorSide | null,
  ) {
    this.rowOf = new Map(docs.ids.map((id, i) => [id, i]));
  }

  static async open(project: Project, name: string): Promise<SearchIndexHandle> {
    const spec = searchSpec(project, name);
    const dir = searchDir(project, name);
    if (!existsSync(join(dir, 'meta.json'))) throw new KilnError('SEARCH_INDEX_NOT_FOUND', `search index '${name}' is not built yet: run kiln search build ${name}`, { path: ['search', name] });
    const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as SearchIndexMeta;
    if (JSON.stringify(meta.spec) !== JSON.stringify(spec)) process.stderr.write(`warning: search index '${name}' was built with another spec than the config's; rebuild it: kiln search build ${name}\n`);
    const bm25 = Bm25Index.load(join(dir, 'index.bm25'));
    const docs = JSON.parse(readFileSync(join(dir, 'docs.json'), 'utf8')) as SearchIndexDocs;
    const vectorSide = spec.vector ? await openVectorSide(project, name, spec.vector) : null;
    return new SearchIndexHandle(name, meta, bm25, docs, vectorSide);
  }

  get hasVector(): boolean {
    return this.vectorSide !== null;
  }

  get vectorVersion(): EmbeddingVersion | null {
    return this.vectorSide?.version ?? null;
  }

  /** Ids whose filter columns match every given value; null when no filter is given. */
  private allowed(filters: Record<string, unknown> | undefined): Set<string> | null {
    const names = Object.keys(filters ?? {});
    if (!names.length) return null;
    const attrs = this.docs.attributes;
    for (const n of names) {
      if (!attrs[n]) throw new KilnError('REQUEST_INVALID', `filters.${n}: search index '${this.name}' has no filter column '${n}' (filters: ${Object.keys(attrs).join(', ') || 'none; declare filters: [...] in the index'})`, { path: ['filters', n] });
    }
    const out = new Set<string>();
    for (let i = 0; i < this.docs.ids.length; i++) {
      if (names.every((n) => {
        const want = filters![n];
        const have = attrs[n]![i];
        return Array.isArray(want) ? want.some((w) => String(w) === String(have)) : String(want) === String(have);
      })) out.add(this.docs.ids[i]!);
    }
    return out;
  }

  async search(req: SearchRequest): Promise<SearchResponse> {
    const k = req.k ?? 10;
    if (!Number.isInteger(k) || k < 1 || k > 1000) throw new KilnError('REQUEST_INVALID', `k: expected a whole number 1..1000, got ${String(req.k)}`, { path: ['k'] });
    if (typeof req.query !== 'string' || !req.query.trim()) throw new KilnError('REQUEST_INVALID', 'query: expected a non-empty text', { path: ['query'] });
    const mode = req.mode ?? (this.vectorSide ? 'hybrid' : 'lexical');
    if (mode !== 'lexical' && !this.vectorSide) throw new KilnError('REQUEST_INVALID', `mode '${mode}': search index '${this.name}' has no vector side; declare vector: { space } in the index (a text-lsa or text-onnx space over its ids)`, { path: ['mode'] });
    const allowed = this.allowed(req.filters);
    const depth = mode === 'hybrid' ? Math.max(k, FUSE_DEPTH) : k;
    const lexical = mode === 'vector' ? null : this.bm25.search(req.query, depth, allowed ?? undefined);
    const vector = mode === 'lexical' ? null : this.vectorSide!.search(await this.vectorSide!.encode(req.query), depth, allowed);
    const spec = this.meta.spec;
    let hits: SearchHits;
    if (lexical && vector) hits = spec.hybrid === 'rrf' ? reciprocalRankFusion([lexical, vector], { limit: k }) : linearBlend([lexical, vector], [spec.hybrid.lexical, spec.hybrid.vector], { limit: k });
    else hits = (lexical ?? vector)!;
    const out: SearchResponse = {
      index: this.name, mode,
      hits: hits.ids.slice(0, k).map((id, i) => ({ id: String(id), score: hits.scores[i]!, fields: this.fieldsOf(id) })),
      ...(this.vectorSide && mode !== 'lexical' ? { vector: { space: this.vectorSide.version.space, version: this.vectorSide.version.version } } : {}),
    };
    if (req.passages) {
      if (!this.bm25.passageCount) throw new KilnError('REQUEST_INVALID', `passages: search index '${this.name}' was built without passages; declare passages: { length } in the index and rebuild`, { path: ['passages'] });
      out.passages = this.bm25.searchPassages(req.query, k, allowed ?? undefined);
    }
    return out;
  }

  private fieldsOf(id: SearchId): Record<string, string | null> {
    const row = this.rowOf.get(String(id));
    const out: Record<string, string | null> = {};
    if (row === undefined) return out;
    for (const [c, values] of Object.entries(this.docs.stored)) out[c] = values[row] ?? null;
    return out;
  }

  async close(): Promise<void> {
    await this.vectorSide?.release();
  }
}

/** The vector side: a text space's version (its vectors and HNSW index) and the encoder its version keeps. */
async function openVectorSide(project: Project, name: string, v: { space: string; ref?: string | undefined }): Promise<VectorSide> {
  const { EmbeddingLookup, TextLsa, OnnxTextEncoder } = await import('../../embeddings/index.js');
  const reg = project.embeddings;
  const ref = v.ref ? (v.ref.includes('@') ? v.ref : `${v.space}@${v.ref}`) : Object.hasOwn(reg.aliases(v.space), 'current') ? `${v.space}@current` : v.space;
  const version = reg.resolve(ref);
  const files = new EmbeddingLookup(reg).files(version);
  const enc = files.encoder as { format?: string; kind?: string; path?: string } | null;
  let encode: (text: string) => Promise<Float32Array>;
  let release = async (): Promise<void> => {};
  if (version.trainer === 'text-lsa' && enc) {
    const model = TextLsa.fromJSON(enc as Parameters<typeof TextLsa.fromJSON>[0]);
    encode = async (text) => model.encodeSync([text]);
  } else if (version.trainer === 'text-onnx' && enc?.path) {
    const model = await OnnxTextEncoder.load(enc.path);
    encode = async (text) => model.encode([text]);
    release = () => model.release();
  } else {
    throw new KilnError('CONFIG_INVALID', `search index '${name}': vector.space '${v.space}' is a ${version.trainer} space; the vector side needs a text space (trainer text-lsa or text-onnx) whose version keeps its encoder`, { path: ['search', name, 'vector', 'space'] });
  }
  return {
    version, encode, release,
    search: (vector, k, allowed) => {
      const pred = allowed ? (row: number | bigint): boolean => allowed.has(files.ids[Number(row)]!) : undefined;
      const h = files.index.search(vector, Math.min(k, files.size), pred);
      return { ids: h.ids.map((r) => files.ids[Number(r)]!), scores: Float64Array.from(h.distances, (d) => 1 - d) };
    },
  };
}
