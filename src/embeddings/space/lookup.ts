import { KilnError } from '../../core/errors.js';
import { VersionFiles } from './files.js';
import type { EmbeddingRegistry, EmbeddingVersion } from '../../registry/index.js';

export interface NeighborQuery {
  /** An entity of the space whose neighbours are wanted (left out of its own answer)... */
  id?: string;
  /** ...or a vector of the space's dimension. */
  vector?: readonly number[] | Float32Array;
  k?: number;
  /** Attribute values the neighbours must have (a list: any of them). */
  filters?: Record<string, unknown>;
  /** Ids never returned. */
  exclude?: readonly string[];
}

export interface Neighbor { id: string; score: number }

/**
 * Opened versions of embedding spaces, by (space, version), each loaded once: vector look-ups by id and
 * neighbour search on the version's HNSW index. References are 'space@alias', 'space@3' or 'space'.
 */
export class EmbeddingLookup {
  private readonly open = new Map<string, VersionFiles>();

  constructor(readonly registry: EmbeddingRegistry) {}

  version(ref: string): EmbeddingVersion {
    return this.registry.resolve(ref);
  }

  /** The files of a version, opened (and checksum-checked) on first use. */
  files(v: Pick<EmbeddingVersion, 'space' | 'version' | 'path' | 'checksum'>): VersionFiles {
    const key = `${v.space}@${v.version}`;
    let f = this.open.get(key);
    if (!f) { f = VersionFiles.open(v.path, v.checksum); this.open.set(key, f); }
    return f;
  }

  /** Vectors of ids (null for an id the version does not hold). */
  get(ref: string | EmbeddingVersion, ids: readonly string[]): { version: EmbeddingVersion; vectors: (Float32Array | null)[] } {
    const version = typeof ref === 'string' ? this.version(ref) : ref;
    const f = this.files(version);
    return { version, vectors: ids.map((id) => f.vector(id) ?? null) };
  }

  neighbors(ref: string | EmbeddingVersion, query: NeighborQuery): { version: EmbeddingVersion; neighbors: Neighbor[] } {
    const version = typeof ref === 'string' ? this.version(ref) : ref;
    const f = this.files(version);
    const k = query.k ?? 10;
    if (!Number.isInteger(k) || k < 1 || k > 10_000) throw new KilnError('INVALID_ARGUMENT', `k: expected a whole number 1..10000, got ${String(query.k)}`, { path: ['k'] });
    let vec: Float32Array;
    const exclude = [...(query.exclude ?? [])];
    if (query.id !== undefined) {
      const v = f.vector(query.id);
      if (!v) throw new KilnError('EMBEDDING_NOT_FOUND', `embedding space '${version.space}' version ${version.version} has no vector for ${version.entity} '${query.id}'`, { path: ['id'] });
      vec = v;
      exclude.push(query.id);
    } else if (query.vector !== undefined) {
      if (query.vector.length !== f.dim) throw new KilnError('INVALID_ARGUMENT', `vector: expected ${f.dim} numbers (the dimension of ${version.space}@${version.version}), got ${query.vector.length}`, { path: ['vector'] });
      vec = Float32Array.from(query.vector);
      if (!vec.every((x) => Number.isFinite(x))) throw new KilnError('INVALID_ARGUMENT', 'vector: every value must be a finite number', { path: ['vector'] });
    } else {
      throw new KilnError('INVALID_ARGUMENT', 'a neighbour query needs an id or a vector', { path: ['id'] });
    }
    return { version, neighbors: f.nearest(vec, k, { ...(query.filters ? { filters: query.filters } : {}), exclude }) };
  }

  /** Forgets opened versions (their index memory maps are released when collected). */
  clear(): void {
    this.open.clear();
  }
}

/**
 * How alike two versions' neighbourhoods are: for a seeded sample of ids both hold, the mean share of
 * the k neighbours they agree on (1 = the same neighbours, 0 = none), and how many ids each lacks.
 */
export function neighborOverlap(lookup: EmbeddingLookup, a: EmbeddingVersion, b: EmbeddingVersion, opts: { k?: number; sample?: number; seed?: number } = {}): { overlap: number; sampled: number; k: number; onlyInA: number; onlyInB: number } {
  const k = opts.k ?? 10;
  const fa = lookup.files(a), fb = lookup.files(b);
  const shared = fa.ids.filter((id) => fb.row(id) !== undefined);
  const onlyInA = fa.size - shared.length;
  const onlyInB = fb.size - shared.length;
  const m = Math.min(shared.length, opts.sample ?? 500);
  let s = ((opts.seed ?? 7) >>> 0) || 1;
  const picked = new Set<number>();
  while (picked.size < m) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    picked.add(m === shared.length ? picked.size : s % shared.length);
  }
  let sum = 0;
  for (const i of picked) {
    const id = shared[i]!;
    const na = new Set(fa.nearest(fa.vector(id)!, k, { exclude: [id] }).map((n) => n.id));
    const nb = fb.nearest(fb.vector(id)!, k, { exclude: [id] }).map((n) => n.id);
    sum += nb.filter((x) => na.has(x)).length / Math.max(1, Math.min(k, na.size));
  }
  return { overlap: m ? sum / m : 0, sampled: m, k, onlyInA, onlyInB };
}
