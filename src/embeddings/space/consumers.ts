import { KilnError } from '../../core/errors.js';
import type { Project } from '../../store/index.js';
import type { ConsumerComparison } from './compare.js';
import type { EmbeddingVersion } from '../../registry/index.js';

/**
 * A consumer's downstream check before a cut-over: its newest registered version scores its test window
 * twice, its embedding columns filled from version `a` for every row, then from `b` (no retraining).
 * The difference says whether the consumer survives reading the candidate (same dimension, aligned
 * axes) until it is retrained. Both versions may postdate the test rows, so the figures compare the two
 * versions with each other; they are not an estimate of the consumer's performance on new rows.
 */
export async function consumerAuc(project: Project, model: string, a: EmbeddingVersion, b: EmbeddingVersion): Promise<ConsumerComparison> {
  const { auc } = await import('../../eval/index.js');
  const { loadProjectFeatures } = await import('../../features/training/index.js');
  const { checkModelSpec } = await import('../../pipelines/checks.js');
  const { loadModelDataset } = await import('../../pipelines/dataset.js');
  const { embeddingDatasetOptions, planEmbeddings, versionBundle, EmbeddingFiller } = await import('../../pipelines/index.js');
  let mv;
  try { mv = project.registry.resolve(model); } catch { return { model, trainedOn: null, aucFrom: null, aucTo: null }; }
  const bundle = versionBundle(mv);
  const entries = bundle.json.embeddings ?? [];
  const mine = entries.find((e) => e.space === a.space);
  if (!mine) return { model, trainedOn: null, aucFrom: null, aucTo: null };
  if (a.dim !== mine.dim || b.dim !== mine.dim) throw new KilnError('EMBEDDING_VERSION_MISMATCH', `consumer '${model}' reads ${mine.dim} columns of '${a.space}'; versions ${a.version} (${a.dim}) and ${b.version} (${b.dim}) must have that dimension to be compared on it`);
  const spec = project.config.models[model]!;
  const registry = await loadProjectFeatures(project);
  const plan = planEmbeddings(project, model, spec, registry);
  const data = await loadModelDataset(project, `${model}_compare`, spec, await checkModelSpec(project, model, spec, registry), embeddingDatasetOptions(plan));
  await project.offline.dropIfExists(`training_${model.replace(/[^A-Za-z0-9_]/g, '_')}_compare`);
  const test = data.splits.test;
  if (test.rows === 0 || test.positives === 0 || test.positives === test.rows) return { model, trainedOn: mine.version, aucFrom: null, aucTo: null };
  // The test rows as the bundle takes them: inputs by name (categories back to their text), the embedding's id or lastK values.
  const rows = Array.from({ length: test.rows }, (_, i) => {
    const row: Record<string, unknown> = {};
    data.inputs.forEach((c, j) => {
      const v = test.features[j]![i]!;
      row[c.name] = Number.isNaN(v) ? null : c.kind === 'categorical' ? c.categories![v] ?? null : v;
    });
    plan.entries.forEach((e, k) => {
      const v = test.raw[`__emb_${k}`]?.[i];
      if (e.pool) row[e.pool.input] = Array.isArray(v) ? v.map((id) => ({ [e.pool!.field]: id })) : [];
      else row[e.id!] = v ?? null;
    });
    return row;
  });
  const score = (v: EmbeddingVersion): number => {
    const filler = EmbeddingFiller.open(project, entries.map((e) => (e === mine ? { ...e, version: v.version, checksum: v.checksum } : e)), `consumer ${model}`);
    return auc(test.label, bundle.score(rows.map((r) => filler.fill(r))).probability);
  };
  return { model, trainedOn: mine.version, aucFrom: score(a), aucTo: score(b) };
}
