/**
 * kiln train with `sequence.pretrain` on a small simulated project: contrastive (CoLES) and next-event
 * pre-training of the encoder run before supervised training, log their `pretrain_loss` curve, leave no
 * checkpoint behind, and the model registers; a next-event field that is not categorical is refused.
 */
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkpointPath, parseSequenceBundle, trainModel } from '../../src/pipelines/index.js';
import type { Project } from '../../src/store/index.js';
import { SEQUENCE_MODEL_BASE, simulatedProject } from '../helpers.js';

const BASE = SEQUENCE_MODEL_BASE;
const MODELS = {
  coles: { ...BASE, sequence: { input: 'recent_txns', encoder: 'gru', size: 8, epochs: 1, compare: false, pretrain: { method: 'contrastive', epochs: 2, minLength: 3 } } },
  nextev: { ...BASE, sequence: { input: 'recent_txns', encoder: 'transformer', size: 8, heads: 2, layers: 1, epochs: 1, compare: false, pretrain: { method: 'next-event', epochs: 2, field: 'category' } } },
  fusedss: { ...BASE, sequence: { input: 'recent_txns', encoder: 'gru', size: 8, epochs: 1, register: 'gbdt', pretrain: { method: 'contrastive', epochs: 1 } }, params: { n_estimators: 30 }, defaultReason: 'Other factors' },
  badfield: { ...BASE, sequence: { input: 'recent_txns', encoder: 'gru', size: 8, epochs: 1, compare: false, pretrain: { method: 'next-event', epochs: 1, field: 'amount' } } },
};

let dir: string;
let cleanup: () => void;
let project: Project;

beforeAll(async () => {
  ({ dir, project, cleanup } = await simulatedProject('kiln-pre-', MODELS, { borrowers: 2000, seed: 3, orderEpisodes: 0.3 }));
}, 120_000);
afterAll(() => { project?.close(); cleanup(); });

describe('kiln train: self-supervised pre-training', () => {
  for (const [model, epochs] of [['coles', 2], ['nextev', 2]] as const) {
    it(`${model}: pre-trains the encoder, logs the pretrain_loss curve and registers`, async () => {
      const r = await trainModel(project, model, { quiet: true });
      expect(r.version).toBe(1);
      const run = project.tracker.getRun(r.runId);
      const curve = run.curves.pretrain_loss!;
      expect(curve).toHaveLength(epochs);
      for (const x of curve) expect(x.value).toBeGreaterThan(0);
      expect(run.metrics.valid_auc).toBeGreaterThan(0.3);
      expect(existsSync(checkpointPath(project, model))).toBe(false);
      expect(existsSync(`${checkpointPath(project, model)}.pretrain`)).toBe(false);
      const bundle = parseSequenceBundle(readFileSync(project.registry.resolve(model).artifactPath!, 'utf8'));
      expect(bundle.params.map((p) => p.name)).toEqual(bundle.params.map((p) => p.name).filter((n) => !n.startsWith('pretrain.')));
      expect(bundle.params.map((p) => p.name)).toContain('pool.empty');
      expect(Number.isFinite(r.evaluation.metrics.auc)).toBe(true);
    }, 180_000);
  }

  it('refuses next-event pre-training on a field that is not categorical', async () => {
    await expect(trainModel(project, 'badfield', { quiet: true })).rejects.toThrow(/'amount' is not one \(categorical fields: category/);
  }, 120_000);

  it('fuses the label-free (pre-trained) encoder with the GBDT', async () => {
    const r = await trainModel(project, 'fusedss', { quiet: true });
    expect(project.tracker.getRun(r.runId).tags.fused_encoder).toBe('gru 8 (contrastive pre-training, no labels)');
    const bundle = JSON.parse(readFileSync(project.registry.resolve('fusedss').artifactPath!, 'utf8')) as { encoder: { columns: string[] } };
    expect(bundle.encoder.columns).toHaveLength(8);
  }, 120_000);
});
