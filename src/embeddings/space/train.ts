import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KilnError, didYouMean } from '../../core/errors.js';
import { Progress } from '../../core/progress.js';
import type { EmbeddingSpaceSpec } from '../../config/index.js';
import type { Project } from '../../store/index.js';
import { quoteIdent as q } from '../../store/index.js';
import { ExactIndex, recallAt } from '../ann-exact.js';
import { procrustes, relativeResidual, rotate } from './align.js';
import { removeStaged, VersionFiles, writeVersionFiles } from './files.js';
import type { EmbeddingRegistry, EmbeddingVersion } from '../../registry/index.js';
import { readAttributes, readInteractions, readSequences, readTexts } from './source.js';
import { trainItem2VecSpace, trainMfSpace, trainerParams, type Trained, type TrainerContext } from './trainers.js';
import { trainSpecialSpace } from './trainers-more.js';

export interface TrainSpaceOptions {
  /** Train only on data strictly before this time (ISO, UTC): a version as it could have been built then. */
  until?: string;
  quiet?: boolean;
  signal?: AbortSignal;
  reason?: string;
  /** Queries of the recall check (HNSW against exact search) at build; default 200. */
  recallQueries?: number;
  /** The queue job that trains it (recorded in the lineage: a retried job finds the version it registered). */
  job?: string;
}

export interface TrainSpaceResult {
  version: EmbeddingVersion;
  seconds: number;
}

/** The space's spec from the config, with a clear error (and a hint) for an unknown name. */
export function spaceSpec(project: Project, name: string): EmbeddingSpaceSpec {
  const spec = project.config.embeddings[name];
  if (spec) return spec;
  const names = Object.keys(project.config.embeddings);
  const hint = didYouMean(name, names);
  throw new KilnError('EMBEDDING_NOT_FOUND', `no embedding space '${name}' in ${project.paths.configFile}${hint ? `; did you mean '${hint}'?` : ''} (spaces: ${names.length ? names.join(', ') : 'none; declare one under embeddings: { ... }'})`, { path: ['embeddings', name] });
}

/** The DuckDB table of the offline store holding every version's vectors of a space. */
export function vectorsTable(space: string): string {
  return `embeddings_${space}`;
}

/**
 * `kiln embeddings train NAME`: reads the space's source (before `until`), trains, normalises (cos),
 * rotates onto the previous version (align), builds the HNSW index and checks its recall against exact
 * search, and registers an immutable version: files in its folder, vectors in the offline store, the
 * row with lineage and metrics in the registry. A failure leaves the previous versions as they were.
 */
export async function trainSpace(project: Project, name: string, opts: TrainSpaceOptions = {}): Promise<TrainSpaceResult> {
  const t0 = performance.now();
  const spec = spaceSpec(project, name);
  const params = trainerParams(name, spec);
  const until = opts.until === undefined ? null : normaliseTime(opts.until);
  const store = project.offline;
  const reg = project.embeddings;
  const log = (line: string): void => { if (!opts.quiet) process.stderr.write(`${line}\n`); };
  const progress = new Progress({ label: `embeddings ${name}: ${spec.trainer}`, total: 1, unit: 'passes', ...(opts.quiet ? { quiet: true } : {}) });
  const ctx: TrainerContext = { space: name, spec, ...(opts.signal ? { signal: opts.signal } : {}), onProgress: (done, total, note) => { progress.setTotal(total); progress.update(done, note); } };

  log(`embeddings ${name}: reading ${describeSource(spec)}${until ? ` before ${until}` : ''}`);
  let trained: Trained;
  let range: { rows: number; dataFrom: string | null; dataTo: string | null };
  const src = spec.source;
  if (src.kind === 'sequences') {
    const data = await readSequences(store, name, src, spec.minCount, until);
    range = data;
    trained = await trainItem2VecSpace(ctx, data);
  } else if (src.kind === 'interactions' && (spec.trainer === 'als' || spec.trainer === 'bpr')) {
    const data = await readInteractions(store, name, src, spec.minCount, until);
    range = data;
    trained = trainMfSpace(ctx, data);
  } else if (src.kind === 'interactions') {
    const data = await readInteractions(store, name, src, spec.minCount, until);
    range = data;
    trained = await trainSpecialSpace(project, ctx, data, until);
  } else if (src.kind === 'text') {
    const data = await readTexts(store, name, src, until);
    range = data;
    trained = await trainSpecialSpace(project, ctx, data, until);
  } else {
    const r = await trainSpecialSpace(project, ctx, null, until);
    trained = r;
    range = { rows: r.ids.length, dataFrom: (r.metrics.data_from as string | null) ?? null, dataTo: (r.metrics.data_to as string | null) ?? null };
  }
  progress.finish();
  opts.signal?.throwIfAborted();
  if (trained.ids.length === 0) throw new KilnError('EMBEDDING_NOT_FOUND', `embedding space '${name}': nothing to embed in ${describeSource(spec)}${until ? ` before ${until}` : ''}`);

  // An all-zero vector (an empty text, an entity the trainer never updated) has no direction: left out.
  const dropped = dropZeroRows(trained);
  if (dropped) log(`embeddings ${name}: ${dropped} ${spec.entity}${dropped > 1 ? 's' : ''} with an all-zero vector left out (e.g. an empty text)`);
  if (trained.ids.length === 0) throw new KilnError('EMBEDDING_NOT_FOUND', `embedding space '${name}': every vector is zero; nothing to index`);
  let vectors = spec.metric === 'cos' ? unitRowsSafe(trained.vectors, trained.dim) : trained.vectors;
  // Rotate onto the latest version so that versions share axes.
  let alignedTo: { version: number; shared: number; residual: number } | null = null;
  const previous = reg.has(name) ? reg.resolve(name) : null;
  if (spec.align && previous && previous.dim === trained.dim) {
    const old = VersionFiles.open(previous.path, previous.checksum);
    const a: number[] = [], b: number[] = [];
    trained.ids.forEach((id, i) => { const r = old.row(id); if (r !== undefined) { a.push(i); b.push(r); } });
    const ai = Int32Array.from(a), bi = Int32Array.from(b);
    const R = procrustes(vectors, ai, old.vectors, bi, trained.dim);
    if (R) {
      vectors = rotate(vectors, R, trained.dim);
      alignedTo = { version: previous.version, shared: a.length, residual: relativeResidual(vectors, ai, old.vectors, bi, trained.dim) };
    } else {
      log(`embeddings ${name}: not aligned to version ${previous.version}: no entities in common`);
    }
  }

  const metric = spec.metric;
  const staged = join(reg.spaceDir(name), `.staged-${process.pid}-${Date.now()}`);
  try {
    const attributes = await readAttributes(store, name, spec, trained.ids);
    const built = writeVersionFiles(staged, name, { ids: trained.ids, vectors, dim: trained.dim, metric, ...(attributes ? { attributes } : {}), ...(trained.encoder !== undefined ? { encoder: trained.encoder } : {}) }, spec.index ?? {});
    const recall = recallCheck(built.index, vectors, trained.dim, metric, opts.recallQueries ?? 200, spec.seed);
    const configHash = existsSync(project.paths.configFile) ? createHash('sha256').update(readFileSync(project.paths.configFile)).digest('hex').slice(0, 16) : null;
    const sources = src.kind === 'model' ? [{ kind: 'model', name: src.model, version: (trained.metrics.model_version as string | undefined) ?? null, rows: range.rows }] : [{ kind: 'table', name: src.table, rows: range.rows }];
    const metrics = { ...trained.metrics, entities: trained.ids.length, ...(dropped ? { zero_vectors_left_out: dropped } : {}), [`index_recall_at_10`]: recall.recall, index_recall_queries: recall.queries, ...(alignedTo ? { align_residual: alignedTo.residual } : {}) };
    // The offline store's copy first, under the version number it will get; the registration then either
    // lands with it or not at all (a leftover copy of an unregistered number is replaced next time).
    const next = (previousMax(reg, name) ?? 0) + 1;
    await writeVectorsTable(project, name, next, trained.ids, vectors, trained.dim);
    const v = reg.register(name, staged, {
      entity: spec.entity, trainer: spec.trainer, dim: trained.dim, metric, size: trained.ids.length,
      dataFrom: range.dataFrom, dataTo: range.dataTo, trainedUntil: until, params: { ...trained.params, dim: trained.dim, seed: spec.seed, minCount: spec.minCount },
      metrics, lineage: { sources, configHash, spec, alignedTo, ...(opts.job ? { job: opts.job } : {}) }, checksum: built.manifest.checksum,
    }, { reason: opts.reason ?? `trained${until ? ` until ${until}` : ''}`, expectVersion: next });
    const seconds = (performance.now() - t0) / 1000;
    log(`embeddings ${name}: version ${v.version}, ${v.size} ${spec.entity} vectors of ${v.dim}, data ${v.dataFrom ?? '-'} .. ${v.dataTo ?? '-'}, index recall@10 ${recall.recall.toFixed(3)} in ${seconds.toFixed(1)}s`);
    return { version: v, seconds };
  } finally {
    removeStaged(staged);
  }
}

function previousMax(reg: EmbeddingRegistry, name: string): number | null {
  return reg.has(name) ? reg.versions(name).reduce((m, v) => Math.max(m, v.version), 0) : null;
}

/** HNSW against exact search on a seeded sample of the vectors themselves as queries. */
function recallCheck(index: import('../index-ann.js').VectorIndex, vectors: Float32Array, dim: number, metric: 'cos' | 'ip' | 'l2', queries: number, seed: number): { recall: number; queries: number } {
  const n = vectors.length / dim;
  const m = Math.min(n, queries);
  const exact = ExactIndex.build(Int32Array.from({ length: n }, (_, i) => i), vectors, { dim, metric });
  const qs = new Float32Array(m * dim);
  let s = (seed >>> 0) || 1;
  for (let i = 0; i < m; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const r = m === n ? i : s % n;
    qs.set(vectors.subarray(r * dim, (r + 1) * dim), i * dim);
  }
  return { recall: recallAt(index, exact, qs, Math.min(10, n)), queries: m };
}

/** Removes the ids whose vector is all zeros (in place); returns how many. */
function dropZeroRows(t: Trained): number {
  const d = t.dim;
  const keep: number[] = [];
  for (let i = 0; i < t.ids.length; i++) {
    let any = false;
    for (let j = i * d; j < (i + 1) * d; j++) if (t.vectors[j] !== 0) { any = true; break; }
    if (any) keep.push(i);
  }
  const dropped = t.ids.length - keep.length;
  if (dropped === 0) return 0;
  const vectors = new Float32Array(keep.length * d);
  keep.forEach((i, r) => vectors.set(t.vectors.subarray(i * d, (i + 1) * d), r * d));
  t.ids = keep.map((i) => t.ids[i]!);
  t.vectors = vectors;
  return dropped;
}

/** Rows scaled to unit length (all-zero rows stay zero). */
function unitRowsSafe(x: Float32Array, d: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let o = 0; o < x.length; o += d) {
    let s = 0;
    for (let j = 0; j < d; j++) s += x[o + j]! * x[o + j]!;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let j = 0; j < d; j++) out[o + j] = x[o + j]! * inv;
  }
  return out;
}

/** Appends the version's vectors to `embeddings_<space>` (version, id, vector FLOAT[dim]), replacing any rows of that version. */
async function writeVectorsTable(project: Project, space: string, version: number, ids: readonly string[], vectors: Float32Array, dim: number): Promise<void> {
  const store = project.offline;
  const table = vectorsTable(space);
  await store.run(`CREATE TABLE IF NOT EXISTS ${q(table)} (version INTEGER NOT NULL, id VARCHAR NOT NULL, vector FLOAT[] NOT NULL)`);
  const staging = `__emb_${space}_${process.pid}`;
  await store.run(`CREATE OR REPLACE TEMP TABLE ${q(staging)} (id VARCHAR, ${Array.from({ length: dim }, (_, j) => `e${j} FLOAT`).join(', ')})`);
  try {
    const app = await store.con.createAppender(staging, 'main', 'temp');
    for (let i = 0; i < ids.length; i++) {
      app.appendVarchar(ids[i]!);
      for (let j = 0; j < dim; j++) app.appendFloat(vectors[i * dim + j]!);
      app.endRow();
    }
    app.flushSync();
    app.closeSync();
    await store.run('BEGIN TRANSACTION');
    try {
      await store.run(`DELETE FROM ${q(table)} WHERE version = ${version}`);
      await store.run(`INSERT INTO ${q(table)} SELECT ${version}, id, [${Array.from({ length: dim }, (_, j) => `e${j}`).join(', ')}]::FLOAT[] FROM ${q(staging)}`);
      await store.run('COMMIT');
    } catch (e) {
      await store.run('ROLLBACK');
      throw e;
    }
  } finally {
    await store.run(`DROP TABLE IF EXISTS temp.${q(staging)}`);
  }
}

function describeSource(spec: EmbeddingSpaceSpec): string {
  const s = spec.source;
  switch (s.kind) {
    case 'sequences': return `sequences of ${s.item} by ${s.by} from '${s.table}'`;
    case 'interactions': return `${s.user} x ${s.item} interactions from '${s.table}'`;
    case 'text': return `text of ${s.id} from '${s.table}'`;
    case 'model': return `the encoder of model ${s.model}`;
  }
}

/** An ISO time (a date is midnight UTC), checked. */
export function normaliseTime(t: string): string {
  const d = /^\d{4}-\d{2}-\d{2}$/.test(t) ? new Date(`${t}T00:00:00Z`) : new Date(t);
  if (Number.isNaN(d.getTime())) throw new KilnError('USAGE', `'${t}' is not a time: expected an ISO date or time, e.g. 2024-01-01 or 2024-01-01T12:00:00Z`);
  return d.toISOString();
}
