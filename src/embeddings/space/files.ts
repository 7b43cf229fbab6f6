import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KilnError } from '../../core/errors.js';
import type { AnnMetric } from '../ann-common.js';
import { VectorIndex } from '../index-ann.js';

/**
 * The files of one version of a space, in its folder:
 *   manifest.json     format, dimension, metric, size, the checksum of vectors.f32
 *   vectors.f32       size x dim float32, little-endian, row-major, in the order of ids.json
 *   ids.json          the entity ids (strings), row i = vector i = index key i
 *   attributes.json   optional: columns kept for filtered look-ups, { columns: { name: values[] } }
 *   encoder.json      optional: what encodes new inputs into this version (text LSA, two-tower towers)
 *   index.usearch     the HNSW graph (+ index.usearch.json), memory-mapped when the version is opened
 */
export const VERSION_FORMAT = 'kiln.embedding-version@1';

export interface VersionManifest {
  format: typeof VERSION_FORMAT;
  space: string;
  dim: number;
  metric: AnnMetric;
  size: number;
  /** sha256 of vectors.f32. */
  checksum: string;
}

export interface VersionContent {
  ids: string[];
  vectors: Float32Array;
  dim: number;
  metric: AnnMetric;
  attributes?: Record<string, (string | number | boolean | null)[]>;
  encoder?: unknown;
}

export function vectorsChecksum(vectors: Float32Array): string {
  return createHash('sha256').update(new Uint8Array(vectors.buffer, vectors.byteOffset, vectors.byteLength)).digest('hex');
}

/** Writes a version's files into `dir` (created; must not exist) and builds its index; returns the manifest. */
export function writeVersionFiles(dir: string, space: string, c: VersionContent, index: { connectivity?: number; expansionAdd?: number; expansionSearch?: number; threads?: number } = {}): { manifest: VersionManifest; index: VectorIndex } {
  const n = c.ids.length;
  if (c.vectors.length !== n * c.dim) throw new KilnError('INVALID_ARGUMENT', `embedding space '${space}': ${c.vectors.length} values for ${n} ids of dimension ${c.dim}`);
  mkdirSync(dir, { recursive: true });
  const bytes = new Uint8Array(c.vectors.buffer, c.vectors.byteOffset, c.vectors.byteLength);
  writeFileSync(join(dir, 'vectors.f32'), bytes);
  writeFileSync(join(dir, 'ids.json'), JSON.stringify(c.ids));
  if (c.attributes) writeFileSync(join(dir, 'attributes.json'), JSON.stringify({ columns: c.attributes }));
  if (c.encoder !== undefined) writeFileSync(join(dir, 'encoder.json'), JSON.stringify(c.encoder));
  const idx = VectorIndex.build(Int32Array.from({ length: n }, (_, i) => i), c.vectors, { dim: c.dim, metric: c.metric, ...index });
  idx.save(join(dir, 'index.usearch'));
  const manifest: VersionManifest = { format: VERSION_FORMAT, space, dim: c.dim, metric: c.metric, size: n, checksum: vectorsChecksum(c.vectors) };
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
  return { manifest, index: idx };
}

/** A version's vectors, ids and index, opened for look-ups (the index memory-mapped). */
export class VersionFiles {
  private readonly rowOf: Map<string, number>;
  private indexHandle: VectorIndex | undefined;

  private constructor(
    readonly dir: string,
    readonly manifest: VersionManifest,
    readonly ids: string[],
    readonly vectors: Float32Array,
    readonly attributes: Record<string, (string | number | boolean | null)[]> | null,
    readonly encoder: unknown,
  ) {
    this.rowOf = new Map(ids.map((id, i) => [id, i]));
  }

  get dim(): number { return this.manifest.dim; }
  get size(): number { return this.manifest.size; }
  get metric(): AnnMetric { return this.manifest.metric; }

  /** Opens the files in `dir`, checking the manifest and the vectors' checksum against `checksum`. */
  static open(dir: string, checksum?: string): VersionFiles {
    const file = (name: string): string => {
      const p = join(dir, name);
      if (!existsSync(p)) throw new KilnError('FILE_NOT_FOUND', `embedding version folder ${dir} lacks ${name}; the version's files were removed or never completed (train the space again)`);
      return p;
    };
    let manifest: VersionManifest;
    try {
      manifest = JSON.parse(readFileSync(file('manifest.json'), 'utf8')) as VersionManifest;
    } catch (e) {
      if (e instanceof KilnError) throw e;
      throw new KilnError('FILE_INVALID', `${join(dir, 'manifest.json')} is not valid JSON`, { cause: e });
    }
    if (manifest.format !== VERSION_FORMAT) throw new KilnError('FILE_INVALID', `${join(dir, 'manifest.json')}: format '${String(manifest.format)}', expected '${VERSION_FORMAT}'`);
    const buf = readFileSync(file('vectors.f32'));
    if (buf.byteLength !== manifest.size * manifest.dim * 4) {
      throw new KilnError('FILE_INVALID', `${join(dir, 'vectors.f32')} has ${buf.byteLength} bytes; the manifest says ${manifest.size} x ${manifest.dim} float32 (${manifest.size * manifest.dim * 4})`);
    }
    const vectors = new Float32Array(manifest.size * manifest.dim);
    new Uint8Array(vectors.buffer).set(buf);
    const sum = vectorsChecksum(vectors);
    if (sum !== manifest.checksum || (checksum !== undefined && sum !== checksum)) {
      throw new KilnError('FILE_INVALID', `${join(dir, 'vectors.f32')} does not match its checksum (sha256 ${sum.slice(0, 12)}..., registered ${(checksum ?? manifest.checksum).slice(0, 12)}...): the file was changed after the version was registered`);
    }
    const ids = JSON.parse(readFileSync(file('ids.json'), 'utf8')) as string[];
    if (!Array.isArray(ids) || ids.length !== manifest.size) throw new KilnError('FILE_INVALID', `${join(dir, 'ids.json')} holds ${Array.isArray(ids) ? ids.length : 'no'} ids; the manifest says ${manifest.size}`);
    const attrFile = join(dir, 'attributes.json');
    const attributes = existsSync(attrFile) ? (JSON.parse(readFileSync(attrFile, 'utf8')) as { columns: Record<string, (string | number | boolean | null)[]> }).columns : null;
    const encFile = join(dir, 'encoder.json');
    const encoder = existsSync(encFile) ? (JSON.parse(readFileSync(encFile, 'utf8')) as unknown) : null;
    return new VersionFiles(dir, manifest, ids, vectors, attributes, encoder);
  }

  /** The HNSW index, memory-mapped on first use. */
  get index(): VectorIndex {
    return (this.indexHandle ??= VectorIndex.load(join(this.dir, 'index.usearch'), { view: true }));
  }

  row(id: string): number | undefined {
    return this.rowOf.get(id);
  }

  /** The vector of `id` (a view into the version's vectors), or undefined when the version does not hold it. */
  vector(id: string): Float32Array | undefined {
    const r = this.rowOf.get(id);
    return r === undefined ? undefined : this.vectors.subarray(r * this.dim, (r + 1) * this.dim);
  }

  /** Rows whose attributes equal every given value (a list: any of its values). */
  rowsWhere(filters: Record<string, unknown>): Set<number> {
    const names = Object.keys(filters);
    if (names.length && !this.attributes) throw new KilnError('INVALID_ARGUMENT', `embedding space '${this.manifest.space}' keeps no attributes to filter on; declare attributes: { columns: [...] } in the space`);
    for (const n of names) {
      if (!this.attributes![n]) throw new KilnError('INVALID_ARGUMENT', `filter '${n}': embedding space '${this.manifest.space}' keeps no attribute '${n}' (attributes: ${Object.keys(this.attributes!).join(', ')})`);
    }
    const out = new Set<number>();
    for (let i = 0; i < this.size; i++) {
      let ok = true;
      for (const n of names) {
        const want = filters[n];
        const have = this.attributes![n]![i];
        if (Array.isArray(want) ? !want.some((w) => w === have || String(w) === String(have)) : !(want === have || String(want) === String(have))) { ok = false; break; }
      }
      if (ok) out.add(i);
    }
    return out;
  }

  /**
   * The k nearest entities to a vector (filters on attributes; `exclude` ids left out), nearest first, with
   * their similarity (1 - distance for cos and ip, the negated squared distance for l2).
   */
  nearest(query: Float32Array, k: number, opts: { filters?: Record<string, unknown>; exclude?: readonly string[] } = {}): { id: string; score: number }[] {
    const excluded = new Set((opts.exclude ?? []).map((id) => this.rowOf.get(id)).filter((r): r is number => r !== undefined));
    const allowed = opts.filters && Object.keys(opts.filters).length ? this.rowsWhere(opts.filters) : null;
    const filter = allowed || excluded.size ? (id: number | bigint): boolean => !excluded.has(Number(id)) && (allowed === null || allowed.has(Number(id))) : undefined;
    if (allowed !== null && allowed.size === 0) return [];
    const hits = this.index.search(query, k, filter);
    return hits.ids.map((r, i) => ({ id: this.ids[Number(r)]!, score: this.metric === 'l2' ? -hits.distances[i]! : 1 - hits.distances[i]! }));
  }
}

/** Removes a staged folder (a failed training's leftovers). */
export function removeStaged(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
