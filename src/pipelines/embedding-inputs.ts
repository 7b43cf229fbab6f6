/**
 * Embedding spaces as model inputs (model spec `embeddings`, docs/embeddings.md).
 *
 * Training: every row reads the version of the space whose training data ended strictly before the row's
 * time (`EmbeddingRegistry.usableAt`), so nothing learned from the row's future reaches it; rows before
 * the first version get missing values. The vector is the row's own entity's (`id`: the spine key) or
 * the mean over the entities in the row's lastK feature (`pool`), each entity's vector from that same
 * version. The version the model is served with is fixed at training (the space's alias 'current', else
 * its newest version) and recorded in the bundle with its vectors' checksum; serving opens that version
 * and no other (EMBEDDING_VERSION_MISMATCH), until the model is retrained.
 */
import { KilnError, didYouMean } from '../core/errors.js';
import type { EmbeddingSpaceSpec, ModelEmbedding, ModelSpec } from '../config/index.js';
import { EmbeddingLookup, knownFrom, type EmbeddingVersion } from '../embeddings/index.js';
import type { FeatureRegistry } from '../features/index.js';
import type { Project } from '../store/index.js';
import { quoteIdent as q } from '../store/index.js';
import type { ModelBundleJson, ScoreRow } from './bundle.js';
import type { InputColumn, ModelDataset } from './dataset.js';

export type BundleEmbedding = NonNullable<ModelBundleJson['embeddings']>[number];

interface PlannedEmbedding {
  use: ModelEmbedding;
  space: EmbeddingSpaceSpec;
  prefix: string;
  columns: string[];
  served: EmbeddingVersion;
  /** The versions rows may read, oldest knowledge first (same dimension as the served one). */
  versions: EmbeddingVersion[];
  id?: string;
  pool?: { input: string; field: string };
}

export interface EmbeddingPlan {
  entries: PlannedEmbedding[];
  warnings: string[];
}

/** Resolves a model's `embeddings`: the spaces, their versions, the served version, the columns. */
export function planEmbeddings(project: Project, name: string, spec: ModelSpec, registry: FeatureRegistry): EmbeddingPlan {
  const warnings: string[] = [];
  const entries = spec.embeddings.map((use, k): PlannedEmbedding => {
    const path = ['models', name, 'embeddings', String(k)];
    const space = project.config.embeddings[use.space];
    if (!space) throw new KilnError('CONFIG_INVALID', `model '${name}': embeddings.${k}.space '${use.space}' is not a declared embedding space`, { path });
    if (!project.embeddings.has(use.space)) throw new KilnError('EMBEDDING_NOT_FOUND', `model '${name}' reads embedding space '${use.space}', which has no trained version; train it first: kiln embeddings train ${use.space} (with --until or --every for the versions older training rows may read)`, { path });
    const aliases = project.embeddings.aliases(use.space);
    const all = project.embeddings.versions(use.space);
    const served = aliases.current !== undefined ? project.embeddings.get(use.space, aliases.current) : all.reduce((a, b) => (knownFrom(b) > knownFrom(a) || (knownFrom(b) === knownFrom(a) && b.version > a.version) ? b : a));
    const versions = all.filter((v) => v.dim === served.dim).sort((a, b) => knownFrom(a) - knownFrom(b) || a.version - b.version);
    if (versions.length < all.length) warnings.push(`embedding space '${use.space}': ${all.length - versions.length} version(s) of another dimension than the served version ${served.version} (${served.dim}) are not read`);
    const prefix = use.prefix ?? use.space;
    const columns = Array.from({ length: served.dim }, (_, j) => `${prefix}_${j}`);
    if (use.pool === undefined) {
      if (!spec.spine.key) throw new KilnError('CONFIG_INVALID', `model '${name}': embeddings.${k} reads the vector of each row's own ${space.entity}, which needs spine.key (the ${space.entity} id); or pool over a lastK feature with pool: '<feature>'`, { path });
      return { use, space, prefix, columns, served, versions, id: spec.spine.key };
    }
    const f = registry.features.get(use.pool);
    if (!f) {
      const hint = didYouMean(use.pool, [...registry.features.keys()]);
      throw new KilnError('CONFIG_INVALID', `model '${name}': embeddings.${k}.pool '${use.pool}' is not a declared feature${hint ? `; did you mean '${hint}'?` : ''}`, { path: [...path, 'pool'] });
    }
    const def = f.spec as { type: string; op?: string; params?: { fields?: readonly string[] } };
    const fields = def.params?.fields;
    if (def.type !== 'aggregate' || def.op !== 'lastK' || !fields) throw new KilnError('CONFIG_INVALID', `model '${name}': embeddings.${k}.pool '${use.pool}' is not a lastK feature; pooling averages the vectors of the entities in a lastK list`, { path: [...path, 'pool'] });
    const field = use.field ?? fields[0]!;
    if (!fields.includes(field)) throw new KilnError('CONFIG_INVALID', `model '${name}': embeddings.${k}.field '${field}' is not a field of lastK '${use.pool}' (fields: ${fields.join(', ')})`, { path: [...path, 'field'] });
    return { use, space, prefix, columns, served, versions, pool: { input: use.pool, field } };
  });
  return { entries, warnings };
}

/** What the training set must carry for the plan: the lastK features built, and per entry the ids or id lists read. */
export function embeddingDatasetOptions(plan: EmbeddingPlan): { sequences: { feature: string; sql: string }[]; raw: { name: string; sql: string }[] } {
  const sequences = [...new Set(plan.entries.flatMap((e) => (e.pool ? [e.pool.input] : [])))].map((feature) => ({ feature, sql: 'NULL' }));
  const raw = plan.entries.map((e, k) => ({
    name: `__emb_${k}`,
    sql: e.pool ? `coalesce(list_transform(${q(e.pool.input)}, x -> x.${q(e.pool.field)}::VARCHAR), [])` : `${q(e.id!)}::VARCHAR`,
  }));
  return { sequences, raw };
}

/** How many rows of each split read each version (for the run's lineage and the report). */
export type EmbeddingUsage = { space: string; served: number; rowsByVersion: Record<string, number>; missingRows: number }[];

/**
 * Fills the embedding columns of every split, point in time, and appends them to the dataset's inputs.
 * Returns the bundle entries (the served versions) and how many rows read each version.
 */
export function attachEmbeddings(project: Project, plan: EmbeddingPlan, data: ModelDataset): { bundle: BundleEmbedding[]; usage: EmbeddingUsage } {
  const lookup = new EmbeddingLookup(project.embeddings);
  const usage: EmbeddingUsage = [];
  plan.entries.forEach((e, k) => {
    const counts: Record<string, number> = {};
    let missing = 0;
    const ends = e.versions.map((v) => knownFrom(v));
    for (const split of Object.values(data.splits)) {
      const values = split.raw[`__emb_${k}`] ?? [];
      const cols = e.columns.map(() => new Float64Array(split.rows).fill(NaN));
      for (let i = 0; i < split.rows; i++) {
        // Newest version whose data ended strictly before the row's time; a table without time reads the served one.
        let v: EmbeddingVersion | null = e.served;
        if (split.timeMs) {
          const t = split.timeMs[i]!;
          let lo = 0, hi = ends.length;
          while (lo < hi) { const mid = (lo + hi) >> 1; if (ends[mid]! < t) lo = mid + 1; else hi = mid; }
          v = lo > 0 ? e.versions[lo - 1]! : null;
        }
        if (!v) { missing++; continue; }
        counts[v.version] = (counts[v.version] ?? 0) + 1;
        const files = lookup.files(v);
        const vec = embedValue(values[i], e.pool !== undefined, (id) => files.vector(id));
        if (vec) for (let j = 0; j < cols.length; j++) cols[j]![i] = vec[j]!;
      }
      split.features.push(...cols);
    }
    const version = `${e.space.entity}:${e.use.space}@${e.served.version}`;
    data.inputs.push(...e.columns.map((c): InputColumn => ({ name: c, feature: e.prefix, version, sqlType: 'FLOAT', kind: 'numeric' })));
    usage.push({ space: e.use.space, served: e.served.version, rowsByVersion: counts, missingRows: missing });
  });
  const bundle = plan.entries.map((e): BundleEmbedding => ({
    space: e.use.space, version: e.served.version, checksum: e.served.checksum, entity: e.space.entity, dim: e.served.dim, columns: e.columns,
    ...(e.id ? { id: e.id } : {}), ...(e.pool ? { pool: e.pool } : {}),
  }));
  return { bundle, usage };
}

/** The vector of one id, or the mean of a list of ids' vectors (those the version holds); null when none. */
function embedValue(value: unknown, pooled: boolean, vectorOf: (id: string) => Float32Array | undefined): Float64Array | null {
  if (!pooled) return value === null || value === undefined ? null : toF64(vectorOf(String(value)));
  if (!Array.isArray(value)) return null;
  let sum: Float64Array | null = null;
  let n = 0;
  for (const id of value) {
    if (id === null || id === undefined) continue;
    const v = vectorOf(typeof id === 'object' ? String(Object.values(id as object)[0]) : String(id));
    if (!v) continue;
    sum ??= new Float64Array(v.length);
    for (let j = 0; j < v.length; j++) sum[j]! += v[j]!;
    n++;
  }
  if (!sum) return null;
  for (let j = 0; j < sum.length; j++) sum[j]! /= n;
  return sum;
}

function toF64(v: Float32Array | undefined): Float64Array | null {
  return v ? Float64Array.from(v) : null;
}

/** Vectors of a version by id, as serving opens them. */
export interface VectorSource {
  readonly dim: number;
  vector(id: string): Float32Array | undefined;
}

/**
 * Serving's half: fills a row's embedding columns from the versions the model was trained with. A
 * direct entry reads the row's `id` input (or the request's entity id); a pooled entry the ids in the
 * row's lastK input (a list of events, `field` of each).
 */
export class EmbeddingFiller {
  constructor(readonly entries: readonly BundleEmbedding[], private readonly sources: readonly VectorSource[]) {}

  /** Opens the versions a bundle names, refusing any whose vectors are not the ones it was trained with. */
  static open(project: Project, entries: readonly BundleEmbedding[], where: string): EmbeddingFiller {
    const lookup = new EmbeddingLookup(project.embeddings);
    return new EmbeddingFiller(entries, entries.map((e) => {
      let v: EmbeddingVersion;
      try {
        v = project.embeddings.get(e.space, e.version);
      } catch (err) {
        throw new KilnError('EMBEDDING_VERSION_MISMATCH', `${where} was trained with embedding space ${e.space} version ${e.version}, which this project does not have (${(err as Error).message}); serve it where that version exists, or retrain the model`, { cause: err });
      }
      if (v.checksum !== e.checksum || v.dim !== e.dim) {
        throw new KilnError('EMBEDDING_VERSION_MISMATCH', `${where} was trained with embedding space ${e.space} version ${e.version} (vectors sha256 ${e.checksum.slice(0, 12)}..., dim ${e.dim}), but that version here holds other vectors (sha256 ${v.checksum.slice(0, 12)}..., dim ${v.dim}); kiln will not score it against vectors it was not trained on`);
      }
      return lookup.files(v);
    }));
  }

  /** The inputs a request gives for the embeddings: the id inputs and the lastK inputs. */
  get requestInputs(): { name: string; kind: 'id' | 'pool' }[] {
    const seen = new Set<string>();
    const out: { name: string; kind: 'id' | 'pool' }[] = [];
    for (const e of this.entries) {
      const name = e.pool ? e.pool.input : e.id!;
      if (!seen.has(name)) { seen.add(name); out.push({ name, kind: e.pool ? 'pool' : 'id' }); }
    }
    return out;
  }

  get columns(): string[] {
    return this.entries.flatMap((e) => e.columns);
  }

  /** The row with every embedding column filled (NaN-free: a missing vector leaves the columns null). */
  fill(row: Readonly<Record<string, unknown>>, entityId?: string | null): ScoreRow {
    const out: Record<string, ScoreRow[string]> = {};
    const skip = new Set(this.requestInputs.map((r) => r.name));
    for (const [k, v] of Object.entries(row)) if (!skip.has(k)) out[k] = v as ScoreRow[string];
    this.entries.forEach((e, k) => {
      const src = this.sources[k]!;
      let value: unknown;
      if (e.pool) {
        const events = row[e.pool.input];
        value = Array.isArray(events) ? events.map((ev) => (ev !== null && typeof ev === 'object' ? (ev as Record<string, unknown>)[e.pool!.field] : ev)) : null;
      } else {
        value = row[e.id!] ?? entityId ?? null;
      }
      const vec = embedValue(value, e.pool !== undefined, (id) => src.vector(id));
      e.columns.forEach((c, j) => { out[c] = vec ? vec[j]! : null; });
    });
    return out;
  }
}
