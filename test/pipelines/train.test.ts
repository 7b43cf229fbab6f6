import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KilnError } from '../../src/core/errors.js';
import { loadModelForScoring, trainModel } from '../../src/pipelines/index.js';
import { loadFeatureRegistry } from '../../src/features/index.js';
import { loadLiveVersion, servedFeatures, validateLive } from '../../src/serve/index.js';
import { simulate } from '../../src/sim/index.js';
import { initProject, Project } from '../../src/store/index.js';
import { DEMO_FEATURES_FILE, tempDir } from '../helpers.js';

const MODEL = {
  spine: { table: 'loan_labels', timestamp: 'funded_at', key: 'borrower_id' },
  label: { column: 'default_12m', availableAt: 'label_available_at' },
  features: 'credit_v1',
  split: { validFrom: '2024-07-01', testFrom: '2024-10-01', testTo: '2025-01-01' },
  params: { max_depth: 3, learning_rate: 0.1, n_estimators: 150, early_stopping_rounds: 20 },
  monotone: { late_payments_365d: 1, income: -1 },
  reasons: { late_payments_365d: 'Delinquency on recent payments', gambling_share_90d: 'Share of spending on gambling', spending: 'Spending high relative to income' },
  reasonGroups: { spending: ['spend_to_income', 'spend_30d', 'spend_90d'] },
  fairness: { feature: 'protected_group' },
  slices: ['region'],
  minPositives: 10,
  defaultReason: 'Other credit history factors',
};

function config(models: Record<string, unknown>): string {
  return `import { defineConfig } from 'kiln';\nimport { DEMO_FEATURES } from ${JSON.stringify(DEMO_FEATURES_FILE)};\nexport default defineConfig({ name: 'pipeline-test', features: [...DEMO_FEATURES], models: ${JSON.stringify(models)} });\n`;
}

let dir: string;
let cleanup: () => void;
let project: Project;

async function reopen(models: Record<string, unknown>): Promise<Project> {
  project?.close();
  writeFileSync(join(dir, 'kiln.config.ts'), config(models));
  project = await Project.open({ project: dir });
  return project;
}

beforeAll(async () => {
  ({ dir, cleanup } = tempDir('kiln-train-'));
  writeFileSync(join(dir, 'kiln.config.ts'), config({ credit: MODEL }));
  await initProject(dir);
  project = await Project.open({ project: dir });
  await simulate(project.offline, { borrowers: 12_000, seed: 5 });
});
afterAll(() => { project?.close(); cleanup(); });

async function fails(p: Promise<unknown>, code: string): Promise<string> {
  try { await p; } catch (e) {
    expect(e).toBeInstanceOf(KilnError);
    expect((e as KilnError).code).toBe(code);
    return (e as KilnError).message;
  }
  throw new Error(`expected ${code}`);
}

describe('kiln train', () => {
  it('trains, evaluates out of time, records the run and registers a version with its signature', async () => {
    const r = await trainModel(project, 'credit', { quiet: true });
    expect(r.version).toBe(1);
    const ev = r.evaluation;
    expect(ev.metrics.auc).toBeGreaterThan(0.62);
    expect(ev.metrics.gini).toBeCloseTo(2 * ev.metrics.auc - 1, 5);
    expect(ev.metrics.ks).toBeGreaterThan(0.1);
    expect(ev.lift).toHaveLength(10);
    expect(ev.byMonth.map((m) => m.slice)).toEqual(['2024-10', '2024-11', '2024-12']);
    expect(ev.slices.region!.length).toBeGreaterThan(3);
    expect(ev.fairness!.groups.map((g) => g.group).sort()).toEqual(['group_a', 'group_b']);
    const run = project.tracker.getRun(r.runId);
    expect(run.status).toBe('finished');
    expect(run.metrics.auc).toBe(ev.metrics.auc);
    expect(run.curves.valid_auc!.length).toBeGreaterThan(5);
    expect(run.lineage.filter((l) => l.kind === 'feature').length).toBeGreaterThan(30);
    expect(run.lineage.find((l) => l.kind === 'training_set')?.version).toMatch(/^[0-9a-f]+-[0-9a-f]+-[0-9a-f]+$/);
    expect(run.artifacts.map((a) => a.path).sort()).toEqual(['coverage.json', 'evaluation.json', 'model-card.md', 'model.kiln.json', 'reference-sample.json', 'report.html']);
    const mv = project.registry.resolve('credit');
    expect(mv.runId).toBe(r.runId);
    expect(mv.signature.features.some((f) => f.name === 'protected_group')).toBe(false);
    expect(mv.signature.features.find((f) => f.name === 'income')).toMatchObject({ type: 'DOUBLE', version: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const html = readFileSync(join(project.paths.artifactsDir, r.runId, 'report.html'), 'utf8');
    for (const s of ['ROC (test window)', 'Calibration', 'Cumulative gain', 'Score distribution by outcome', 'Approval rate versus bad rate', 'By region', 'Fairness at the cutoff']) expect(html).toContain(s);
    expect((html.match(/<svg/g) ?? []).length).toBeGreaterThanOrEqual(7);
    const card = readFileSync(join(project.paths.artifactsDir, r.runId, 'model-card.md'), 'utf8');
    expect(card).toContain('# Model card: credit v1');
    expect(card).toContain('## Fairness');
    expect(existsSync(mv.artifactPath!)).toBe(true);
  });

  it('enforces the signature when a version is loaded for scoring, and scores like training did', async () => {
    const mv = project.registry.resolve('credit@1');
    const loaded = loadModelForScoring(project, 'credit@1', mv.signature.features);
    expect(loaded.calibrator?.kind).toBe('platt');
    expect(loaded.booster.featureNames).toEqual(mv.signature.features.map((f) => f.name));
    // The bundle keeps the reason config: declined rows get the configured texts, grouped features as one reason.
    expect(loaded.bundle.json.reasons?.groups.spending).toEqual(['spend_to_income', 'spend_30d', 'spend_90d']);
    expect(loaded.bundle.json.reasons?.texts.spending).toBe('Spending high relative to income');
    const offered = mv.signature.features.map((f) => (f.name === 'income' ? { ...f, version: 'changed' } : f)).filter((f) => f.name !== 'spend_30d');
    let err: unknown;
    try { loadModelForScoring(project, 'credit@1', offered); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(KilnError);
    expect((err as KilnError).code).toBe('SIGNATURE_MISMATCH');
    expect((err as KilnError).message).toContain("feature 'spend_30d' is missing");
    expect((err as KilnError).message).toContain("feature 'income' is at definition version changed");
  });

  // serve (src/serve/models): what the online definitions serve matches what training produced, type by type
  it('registers a version whose signature the online definitions serve, with a smoke sample that reproduces', () => {
    const live = loadLiveVersion(project, 'credit@1');
    const served = servedFeatures(loadFeatureRegistry(project.config.features));
    const inputs = live.info.signature.features.filter((f) => !f.version?.startsWith('column:'));
    expect(inputs.length).toBeGreaterThan(30);
    expect(validateLive(live, { definitions: served })).toEqual({ warnings: [], smokeRows: 32, featuresChecked: inputs.length });
    const types = new Set(inputs.map((f) => f.type));
    expect(types.size).toBeGreaterThan(1); // more than DOUBLE: the type mapping is exercised
  });

  it('refuses a prohibited-basis feature as an input before training anything', async () => {
    await reopen({ credit: { ...MODEL, features: ['income', 'protected_group'], fairness: undefined } });
    const before = project.tracker.listRuns().length;
    const m = await fails(trainModel(project, 'credit', { quiet: true }), 'CONFIG_INVALID');
    expect(m).toContain("feature 'protected_group' is tagged 'prohibited-basis'");
    expect(m).toContain('nothing was trained');
    expect(project.tracker.listRuns()).toHaveLength(before);
  });

  it('guards against label leakage and unknown names, listing every problem', async () => {
    await reopen({ credit: { ...MODEL, monotone: { incom: -1 }, reasons: { nope: 'x' }, slices: ['colour'] } });
    const m = await fails(trainModel(project, 'credit', { quiet: true }), 'CONFIG_INVALID');
    expect(m).toContain("monotone constraint on 'incom' is not one of the model's features; did you mean 'income'?");
    expect(m).toContain("reason text for 'nope'");
    expect(m).toContain("slice 'colour' is neither a column of 'loan_labels' nor a feature");
  });

  it('says which window is unusable when a split has too few positives', async () => {
    await reopen({ credit: { ...MODEL, split: { validFrom: '2024-07-01', testFrom: '2024-10-01', testTo: '2024-10-02' }, minPositives: 10 } });
    const m = await fails(trainModel(project, 'credit', { quiet: true }), 'SPLIT_EMPTY');
    expect(m).toMatch(/the test window has \d+ positives \(default_12m = 1\) among \d+ rows; at least 10 are needed/);
  });

  it('names an unknown model', async () => {
    await reopen({ credit: MODEL });
    expect(await fails(trainModel(project, 'credti', { quiet: true }), 'MODEL_NOT_FOUND')).toContain("no model 'credti'");
  });
});
