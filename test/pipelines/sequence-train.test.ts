/**
 * kiln train for sequence models, end to end on simulated data with order episodes: the version and its
 * bundle, the bundle reproducing the run's test AUC, the comparison with the GBDTs, multi-task heads, a
 * transformer joint model, and a run killed with SIGKILL resuming from its checkpoint to the same bytes.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auc } from '../../src/eval/index.js';
import { checkpointPath, exportModel, FusedModel, importModel, loadModelBundle, parseSequenceBundle, SequenceModel, trainModel } from '../../src/pipelines/index.js';
import { Project } from '../../src/store/index.js';
import { SEQUENCE_MODEL_BASE, simulatedProject } from '../helpers.js';

const BASE = SEQUENCE_MODEL_BASE;
const MODELS = {
  seq: { ...BASE, sequence: { input: 'recent_txns', encoder: 'gru', size: 12, epochs: 4, patience: 10, tasks: [
    { name: 'next_category', nextEvent: 'category' },
    { name: 'dpd30', column: 'dpd30_3m', table: 'early_labels', on: 'loan_id', availableAt: 'dpd30_3m_available_at' },
  ] } },
  badtask: { ...BASE, sequence: { input: 'recent_txns', encoder: 'gru', size: 4, epochs: 1, tasks: [{ name: 'dpd30', column: 'dpd30_3m', table: 'early_labels', on: 'loan_idx' }] } },
  seqtr: { ...BASE, sequence: { input: 'recent_txns', encoder: 'transformer', size: 8, heads: 2, layers: 1, epochs: 8, patience: 10, joint: true, compare: false } },
  fused: { ...BASE, sequence: { input: 'recent_txns', encoder: 'gru', size: 8, epochs: 3, register: 'gbdt', reason: 'Recent transaction pattern' }, params: { n_estimators: 80, max_depth: 3, learning_rate: 0.1 }, defaultReason: 'Other credit history factors' },
  slow: { ...BASE, sequence: { input: 'recent_txns', encoder: 'gru', size: 12, epochs: 12, patience: 20, compare: false, threads: 2 } },
};

let dir: string;
let cleanup: () => void;
let project: Project;

beforeAll(async () => {
  ({ dir, project, cleanup } = await simulatedProject('kiln-seq-', MODELS, { borrowers: 8000, seed: 5, orderEpisodes: 0.3 }, {
    borrower_seq: { entity: 'borrower', source: { kind: 'model', model: 'seq@1' }, trainer: 'sequence' },
  }));
}, 120_000);
afterAll(() => { project?.close(); cleanup(); });

/** The test split's lastK values and labels, read from the training set the run built. */
async function testRows(model: string): Promise<{ events: unknown[]; at: number; label: number }[]> {
  const rows = await project.offline.all<{ seq: unknown[]; at: number; label: number }>(
    `SELECT to_json(recent_txns)::VARCHAR AS seq, epoch_ms(funded_at)::DOUBLE AS at, default_12m::DOUBLE AS label FROM training_${model}
     WHERE funded_at >= TIMESTAMP '2024-10-01' AND funded_at < TIMESTAMP '2025-01-01' AND default_12m IS NOT NULL ORDER BY funded_at, rowid`);
  return rows.map((r) => ({ events: JSON.parse(r.seq as unknown as string) ?? [], at: Number(r.at) * 1000, label: Number(r.label) }));
}

describe('kiln train: sequence models', () => {
  it('trains a GRU with a next-event task, registers it, and reports it beside the GBDTs', async () => {
    const r = await trainModel(project, 'seq', { quiet: true });
    expect(r.version).toBe(1);
    expect(r.evaluation.metrics.auc).toBeGreaterThan(0.55);
    const run = project.tracker.getRun(r.runId);
    expect(run.curves.valid_auc!.length).toBe(4);
    expect(run.metrics.task_dpd30_train_labels).toBeGreaterThan(100);
    expect(run.metrics.task_next_category_train_labels).toBeGreaterThan(100);
    expect(run.artifacts.map((a) => a.path).sort()).toEqual(['comparison.json', 'model-card.md', 'model.kiln.json', 'report.html']);
    const comparison = JSON.parse(readFileSync(join(project.paths.artifactsDir, r.runId, 'comparison.json'), 'utf8')) as { model: string; testAuc: number }[];
    expect(comparison.map((c) => c.model)).toEqual(['GBDT, aggregates alone', 'GBDT + sequence embeddings', 'sequence model (this version)', 'joint model']);
    for (const c of comparison) expect(c.testAuc).toBeGreaterThan(0.5);
    const report = readFileSync(join(project.paths.artifactsDir, r.runId, 'report.html'), 'utf8');
    expect(report).toContain('Sequence model against the GBDT');
    const mv = project.registry.resolve('seq');
    expect(mv.signature.features[0]).toMatchObject({ name: 'recent_txns', type: 'SEQUENCE' });
    const bundle = parseSequenceBundle(readFileSync(mv.artifactPath!, 'utf8'));
    expect(bundle.net.heads.map((h) => h.name)).toEqual(['default', 'next_category', 'dpd30']);
    expect(Object.keys(bundle.classes.next_category!)).not.toHaveLength(0);
    expect(existsSync(checkpointPath(project, 'seq'))).toBe(false);
    expect(bundle.smoke!.rows.length).toBe(32);
    const again = new SequenceModel(bundle).scoreMany(bundle.smoke!.rows);
    again.forEach((s, i) => expect(s.pd).toBeCloseTo(bundle.smoke!.pd[i]!, 9));

    // The bundle alone scores the test rows as the run did (the same AUC), from the lastK values as JSON.
    const model = new SequenceModel(bundle);
    const rows = await testRows('seq');
    const scores = model.scoreMany(rows);
    const a = auc(Float64Array.from(rows, (x) => x.label), Float64Array.from(scores, (s) => s.pd));
    expect(a).toBeCloseTo(r.evaluation.metrics.auc, 3);
    const one = model.score(rows[0]!.events, rows[0]!.at);
    expect(one.pd).toBeCloseTo(scores[0]!.pd, 6);
    expect(one.embedding).toHaveLength(12);
    expect(one.tasks.dpd30).toBeGreaterThan(0);
    expect(one.tasks.dpd30).toBeLessThan(1);
    const probs = Object.values(one.tasks.next_category as Record<string, number>);
    expect(probs.reduce((s, p) => s + p, 0)).toBeCloseTo(1, 5);

    // kiln models export / import move the sequence bundle byte for byte.
    const file = join(dir, 'seq.kiln.json');
    const out = exportModel(project, 'seq@1', file);
    expect(readFileSync(file)).toEqual(readFileSync(mv.artifactPath!));
    const imported = importModel(project, file, { name: 'seq_copy' });
    expect(imported.provenance).toMatchObject({ model: 'seq', version: 1, runId: r.runId });
    expect(imported.version.signature).toEqual(mv.signature);
    expect(out.checksum).toBe(bundle.checksum);
    writeFileSync(file, readFileSync(file, 'utf8').replace('"default"', '"defaulx"'));
    expect(() => importModel(project, file, { name: 'seq_bad' })).toThrow(/checksum/);
  }, 240_000);

  it("embeds every borrower with the sequence model's encoder as an embedding space", async () => {
    const { trainSpace, EmbeddingLookup } = await import('../../src/embeddings/index.js');
    const { version } = await trainSpace(project, 'borrower_seq', { quiet: true, until: '2024-12-01' });
    expect([version.trainer, version.dim, version.entity]).toEqual(['sequence', 12, 'borrower']);
    expect(version.size).toBeGreaterThan(1000);
    expect(version.lineage.sources[0]).toMatchObject({ kind: 'model', name: 'seq@1', version: '1' });
    // The version's data ends no earlier than the encoder's own training rows.
    expect(version.dataTo! >= String(version.metrics.model_trained_to)).toBe(true);
    const lookup = new EmbeddingLookup(project.embeddings);
    const id = lookup.files(version).ids[0]!;
    expect(lookup.neighbors('borrower_seq', { id, k: 5 }).neighbors).toHaveLength(5);
  }, 60_000);

  it('names a task whose label table or key does not exist', async () => {
    await expect(trainModel(project, 'badtask', { quiet: true })).rejects.toThrow(/task 'dpd30' reads column 'loan_idx' of 'early_labels', column 'loan_idx' of the spine 'loan_labels', which do not exist/);
  });

  it('trains a transformer joint model with the scalar features as tabular inputs', async () => {
    const r = await trainModel(project, 'seqtr', { quiet: true });
    const bundle = parseSequenceBundle(readFileSync(project.registry.resolve('seqtr').artifactPath!, 'utf8'));
    expect(bundle.net.encoder.type).toBe('transformer');
    expect(bundle.net.tabular).toBeGreaterThan(30);
    expect(bundle.signature.features.length).toBeGreaterThan(30);
    expect(r.evaluation.metrics.auc).toBeGreaterThan(0.55);
  }, 240_000);

  it('fuses the encoder with a GBDT: the embedding as inputs, one reason, scoring from the lastK value', async () => {
    const r = await trainModel(project, 'fused', { quiet: true });
    const mv = project.registry.resolve('fused');
    const bundle = loadModelBundle(mv.artifactPath!);
    expect(bundle.json.encoder!.columns).toHaveLength(8);
    expect(bundle.signature.features.map((f) => f.name)).toContain('recent_txns_emb_7');
    expect(r.evaluation.reasonCodes?.frequency.some((f) => f.reason === 'recent_txns' && f.text === 'Recent transaction pattern')).toBe(true);
    const run = project.tracker.getRun(r.runId);
    expect(run.tags.fused_encoder).toBe('gru 8');
    const fused = new FusedModel(bundle);
    const names = bundle.signature.features.map((f) => f.name).filter((n) => !n.startsWith('recent_txns_emb_'));
    const rows = await project.offline.all<Record<string, unknown>>(
      `SELECT ${names.map((n) => `"${n}"`).join(', ')}, to_json(recent_txns)::VARCHAR AS recent_txns, epoch_ms(funded_at)::DOUBLE AS __at, default_12m::DOUBLE AS __y FROM training_fused
       WHERE funded_at >= TIMESTAMP '2024-10-01' AND funded_at < TIMESTAMP '2025-01-01' AND default_12m IS NOT NULL ORDER BY funded_at, rowid`);
    const input = rows.map((row) => ({ ...Object.fromEntries(names.map((n) => [n, typeof row[n] === 'bigint' ? Number(row[n]) : row[n]])), recent_txns: JSON.parse(row.recent_txns as string) ?? [] }));
    const scores = fused.score(input, (i) => Number(rows[i]!.__at) * 1000, { reasons: true });
    const a = auc(Float64Array.from(rows, (x) => Number(x.__y)), Float64Array.from(scores.probability));
    expect(a).toBeCloseTo(r.evaluation.metrics.auc, 3);
  }, 240_000);

  it('resumes a run killed with SIGKILL from its last checkpoint, ending with the same parameters', async () => {
    const bin = join(import.meta.dirname, '..', '..', 'bin', 'kiln.js');
    const ckpt = checkpointPath(project, 'slow');
    project.close();
    const child = spawn(process.execPath, [bin, 'train', 'slow', '--quiet'], { cwd: dir, env: { ...process.env, KILN_FROM_SOURCE: '1' }, stdio: 'ignore' });
    const t0 = Date.now();
    while (!existsSync(ckpt) && Date.now() - t0 < 120_000 && child.exitCode === null) await new Promise((r) => setTimeout(r, 20));
    expect(existsSync(ckpt)).toBe(true);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    project = await Project.open({ project: dir });
    const resumed = await trainModel(project, 'slow', { quiet: true });
    expect(project.tracker.getRun(resumed.runId).tags.resumed_from_checkpoint).toBe('true');
    const fresh = await trainModel(project, 'slow', { quiet: true });
    expect(project.tracker.getRun(fresh.runId).tags.resumed_from_checkpoint).toBeUndefined();
    const params = (v: number): string => JSON.stringify(parseSequenceBundle(readFileSync(project.registry.resolve(`slow@${v}`).artifactPath!, 'utf8')).params);
    expect(params(resumed.version)).toBe(params(fresh.version));
    rmSync(ckpt, { force: true });
  }, 300_000);
});
