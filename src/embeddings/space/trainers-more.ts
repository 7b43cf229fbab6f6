import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { KilnError } from '../../core/errors.js';
import type { Project } from '../../store/index.js';
import { quoteIdent as q } from '../../store/index.js';
import { OnnxTextEncoder, TextLsa } from '../text/index.js';
import type { InteractionData, TextData } from './source.js';
import { trainerParams, type Trained, type TrainerContext } from './trainers.js';

/** The trainers on the neural engine and the text encoders: two-tower, text-onnx, text-lsa, sequence. */
export async function trainSpecialSpace(project: Project, ctx: TrainerContext, data: InteractionData | TextData | null, until: string | null): Promise<Trained> {
  const { spec } = ctx;
  if (spec.trainer === 'text-lsa') return textLsa(ctx, data as TextData);
  if (spec.trainer === 'text-onnx') return textOnnx(project, ctx, data as TextData);
  if (spec.trainer === 'two-tower') {
    const { trainTwoTowerSpace } = await import('./trainer-two-tower.js');
    return trainTwoTowerSpace(project, ctx, data as InteractionData);
  }
  return sequenceEncoder(project, ctx, until);
}

function requireTexts(ctx: TrainerContext, data: TextData): void {
  if (data.ids.length === 0) throw new KilnError('EMBEDDING_NOT_FOUND', `embedding space '${ctx.space}': the source holds no texts`);
}

function textLsa(ctx: TrainerContext, data: TextData): Trained {
  requireTexts(ctx, data);
  const p = trainerParams(ctx.space, ctx.spec) as { minDf: number; maxFeatures: number };
  const t0 = performance.now();
  ctx.onProgress?.(0, 1, 'tf-idf + randomized SVD');
  const dim = Math.min(ctx.spec.dim!, Math.max(1, data.ids.length - 1));
  if (dim < ctx.spec.dim!) throw new KilnError('CONFIG_INVALID', `embedding space '${ctx.space}': text-lsa of dimension ${ctx.spec.dim} needs more than ${ctx.spec.dim} texts; the source holds ${data.ids.length}`, { path: ['embeddings', ctx.space, 'dim'] });
  const { model, vectors } = TextLsa.fitTransform(data.texts, { dim, seed: ctx.spec.seed, minDf: p.minDf, maxFeatures: p.maxFeatures });
  ctx.onProgress?.(1, 1);
  const seconds = (performance.now() - t0) / 1000;
  return { ids: data.ids, vectors, dim, params: p, encoder: model.toJSON(), metrics: { texts: data.ids.length, texts_per_second: Math.round(data.ids.length / Math.max(seconds, 1e-9)), train_seconds: seconds } };
}

async function textOnnx(project: Project, ctx: TrainerContext, data: TextData): Promise<Trained> {
  requireTexts(ctx, data);
  const p = trainerParams(ctx.space, ctx.spec) as { path: string; batchSize: number; maxLength: number };
  const dir = isAbsolute(p.path) ? p.path : resolve(project.paths.root, p.path);
  const t0 = performance.now();
  const enc = await OnnxTextEncoder.load(dir, { batchSize: p.batchSize, maxLength: p.maxLength });
  try {
    if (ctx.spec.dim !== undefined && ctx.spec.dim !== enc.dim) throw new KilnError('CONFIG_INVALID', `embedding space '${ctx.space}': dim ${ctx.spec.dim}, but the ONNX encoder in ${dir} outputs ${enc.dim}; leave dim out or set it to ${enc.dim}`, { path: ['embeddings', ctx.space, 'dim'] });
    const B = 256;
    const parts: Float32Array[] = [];
    for (let lo = 0; lo < data.texts.length; lo += B) {
      ctx.signal?.throwIfAborted();
      parts.push(await enc.encode(data.texts.slice(lo, lo + B), { batchSize: p.batchSize }));
      ctx.onProgress?.(Math.min(data.texts.length, lo + B), data.texts.length);
    }
    const vectors = new Float32Array(data.texts.length * enc.dim);
    let o = 0;
    for (const part of parts) { vectors.set(part, o); o += part.length; }
    const modelFile = join(dir, 'model.onnx');
    const sha = existsSync(modelFile) ? createHash('sha256').update(readFileSync(modelFile)).digest('hex') : null;
    const seconds = (performance.now() - t0) / 1000;
    return {
      ids: data.ids, vectors, dim: enc.dim, params: { ...p, path: dir }, encoder: { kind: 'onnx', path: dir, modelSha256: sha },
      metrics: { texts: data.ids.length, texts_per_second: Math.round(data.ids.length / Math.max(seconds, 1e-9)), model_sha256: sha, train_seconds: seconds },
    };
  } finally {
    await enc.release();
  }
}

/**
 * The encoder of a registered sequence model applied to every entity's lastK events as of the cut
 * (or now): one vector per entity, the model's pooled embedding.
 */
async function sequenceEncoder(project: Project, ctx: TrainerContext, until: string | null): Promise<Trained> {
  const src = ctx.spec.source;
  if (src.kind !== 'model') throw new KilnError('CONFIG_INVALID', `embedding space '${ctx.space}': trainer 'sequence' reads source { kind: 'model', model: 'NAME@ALIAS' }`);
  const p = trainerParams(ctx.space, ctx.spec) as { batchSize: number };
  const { SequenceModel, parseSequenceBundle, SEQUENCE_BUNDLE_FORMAT } = await import('../../pipelines/index.js');
  const { buildTrainingSet } = await import('../../features/training/index.js');
  const { sequenceSql, sequenceSpec } = await import('../../nn/index.js');
  const mv = project.registry.resolve(src.model);
  const text = mv.artifactPath && existsSync(mv.artifactPath) ? readFileSync(mv.artifactPath, 'utf8') : null;
  const format = text ? (JSON.parse(text) as { format?: string }).format : undefined;
  if (!text || format !== SEQUENCE_BUNDLE_FORMAT) throw new KilnError('CONFIG_INVALID', `embedding space '${ctx.space}': model ${mv.model}@${mv.version} is not a sequence model (its bundle is ${format ?? 'missing'}); the sequence trainer embeds with a model trained with algorithm: 'sequence'`, { path: ['embeddings', ctx.space, 'source', 'model'] });
  const model = new SequenceModel(parseSequenceBundle(text, mv.artifactPath!));
  const input = model.bundle.input;
  const asOf = until ?? new Date().toISOString();
  const table = `embedding_spine_${ctx.space}`;
  const { loadProjectFeatures } = await import('../../features/training/index.js');
  const registry = await loadProjectFeatures(project);
  const f = registry.features.get(input);
  if (!f || !f.source) throw new KilnError('CONFIG_INVALID', `embedding space '${ctx.space}': model ${mv.model}@${mv.version} reads '${input}', which the config no longer declares as a lastK feature`);
  ctx.onProgress?.(0, 2, `lastK '${input}' of every ${f.entity.name} as of ${asOf}`);
  await buildTrainingSet(project, { spine: { entities: 'all', asOf }, features: [input], table });
  const key = f.entity.key;
  const seq = sequenceSpec(f.spec as Parameters<typeof sequenceSpec>[0], f.source as Parameters<typeof sequenceSpec>[1], { featureVersion: f.version });
  const reader = await project.offline.con.runAndReadAll(`SELECT ${q(key)}::VARCHAR AS k, ${sequenceSql(input, seq)} AS s FROM ${q(table)} ORDER BY 1`);
  await project.offline.dropIfExists(table);
  const [keys, seqs] = reader.getColumnsJS() as [string[], unknown[][]];
  const atUs = Date.parse(asOf) * 1000;
  const D = model.net.embeddingDim;
  const ids: string[] = [];
  const vectors: number[] = [];
  const B = p.batchSize;
  for (let lo = 0; lo < (keys?.length ?? 0); lo += B) {
    ctx.signal?.throwIfAborted();
    const rows = keys!.slice(lo, lo + B).map((_, i) => ({ events: (seqs![lo + i] ?? []) as unknown[], at: atUs }));
    const scored = model.scoreMany(rows);
    scored.forEach((s, i) => {
      if (((seqs![lo + i] ?? []) as unknown[]).length === 0) return;
      ids.push(keys![lo + i]!);
      for (let j = 0; j < D; j++) vectors.push(s.embedding[j]!);
    });
    ctx.onProgress?.(1 + Math.min(1, (lo + B) / keys!.length), 2);
  }
  if (ctx.spec.dim !== undefined && ctx.spec.dim !== D) throw new KilnError('CONFIG_INVALID', `embedding space '${ctx.space}': dim ${ctx.spec.dim}, but model ${mv.model}@${mv.version} embeds in ${D}; leave dim out or set it to ${D}`, { path: ['embeddings', ctx.space, 'dim'] });
  const range = await project.offline.all<{ lo: unknown; hi: unknown }>(`SELECT min(${q(f.source.timestamp)})::VARCHAR AS lo, max(${q(f.source.timestamp)})::VARCHAR AS hi FROM ${q(f.source.table)} WHERE ${q(f.source.timestamp)} < TIMESTAMP '${asOf.replace('T', ' ').replace(/Z$/, '')}'`);
  const iso = (v: unknown): string | null => (v === null || v === undefined ? null : new Date(`${String(v).replace(' ', 'T')}Z`).toISOString());
  // The encoder learned from its own training rows too: the version's data ends at the later of the two.
  const trainedTo = mv.runId ? (project.tracker.getRun(mv.runId).lineage.find((l) => l.kind === 'training_set')?.details as { to?: string | null } | undefined)?.to ?? null : null;
  const eventsTo = iso(range[0]?.hi);
  const modelTo = trainedTo ? iso(trainedTo) : null;
  const dataTo = eventsTo && modelTo ? (eventsTo > modelTo ? eventsTo : modelTo) : eventsTo ?? modelTo;
  return {
    ids, vectors: Float32Array.from(vectors), dim: D, params: { ...p, model: `${mv.model}@${mv.version}`, input, asOf },
    metrics: { model_version: `${mv.version}`, entities_without_events: (keys?.length ?? 0) - ids.length, data_from: iso(range[0]?.lo), data_to: dataTo, model_trained_to: modelTo },
  };
}
