import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chanceAuc, learnedNothing, rankOrderBreaks, sampleRows, trainModel } from '../../src/pipelines/index.js';
import { ModelRegistry, getRun, listRuns } from '../../src/registry/index.js';
import { simulate } from '../../src/sim/index.js';
import { initProject, Project } from '../../src/store/index.js';
import { DEMO_FEATURES_FILE, tempDir } from '../helpers.js';
import { fails } from '../fails.js';

/** A small credit model over the simulator; every guard test varies one thing. */
const MODEL = {
  spine: { table: 'loan_labels', timestamp: 'funded_at', key: 'borrower_id' },
  label: { column: 'default_12m', availableAt: 'label_available_at' },
  features: ['income', 'late_payments_365d', 'spend_30d_by_category', 'gambling_share_90d', 'applications_30d'],
  split: { validFrom: '2024-07-01', testFrom: '2024-10-01', testTo: '2025-01-01' },
  params: { max_depth: 3, learning_rate: 0.1, n_estimators: 80, early_stopping_rounds: 20 },
  reasons: { income: 'Income insufficient for the amount of credit', late_payments_365d: 'Delinquency on recent payments', gambling_share_90d: 'Share of spending on gambling', applications_30d: 'Number of recent credit applications', spend_30d_by_category: 'Spending pattern by merchant category', spend_90d: 'Amount of recent spending', gambling_spend_90d: 'Spending on gambling' },
  minPositives: 10,
};

let dir: string;
let cleanup: () => void;
let project: Project;

async function reopen(models: Record<string, unknown>): Promise<Project> {
  project?.close();
  writeFileSync(join(dir, 'kiln.config.ts'), `import { defineConfig } from 'kiln';\nimport { DEMO_FEATURES } from ${JSON.stringify(DEMO_FEATURES_FILE)};\nexport default defineConfig({ name: 'guards-test', features: [...DEMO_FEATURES], models: ${JSON.stringify(models)} });\n`);
  project = await Project.open({ project: dir });
  return project;
}

beforeAll(async () => {
  ({ dir, cleanup } = tempDir('kiln-guards-'));
  await reopen({ credit: MODEL });
  await initProject(dir);
  await simulate(project.offline, { borrowers: 8_000, seed: 11 });
  // Derived spines: a count as label, a label of coin flips, and the loans moved two years past the data.
  await project.offline.run(`CREATE TABLE loan_counts AS SELECT *, (rowid % 300)::INT AS late_count FROM loan_labels`);
  await project.offline.run(`CREATE TABLE noise_labels AS SELECT * REPLACE ((hash(rowid * 7919) % 2)::INT AS default_12m) FROM loan_labels`);
  await project.offline.run(`CREATE TABLE late_loans AS SELECT * REPLACE (funded_at + INTERVAL 2 YEAR AS funded_at, label_available_at + INTERVAL 2 YEAR AS label_available_at) FROM loan_labels`);
});
afterAll(() => { project?.close(); cleanup(); });

describe('guards in kiln train', () => {
  it('names the empty window and the data time range when a split date is off (SPLIT_EMPTY, not a TypeError)', async () => {
    await reopen({ credit: { ...MODEL, split: { validFrom: '2024-07-01', testFrom: '2034-10-01', testTo: '2035-01-01' } } });
    const e = await fails(trainModel(project, 'credit', { quiet: true }), 'SPLIT_EMPTY');
    expect(e.message).toContain('test [2034-10-01, 2035-01-01) window has no labelled rows');
    expect(e.message).toMatch(/the spine's time runs from 2\d{3}-\d\d-\d\d [\d:.]+ to 2\d{3}-\d\d-\d\d/);
    expect(e.path).toEqual(['models', 'credit', 'split']);
  });

  it('refuses a label that is not 0/1, naming values and counts (LABEL_NOT_BINARY)', async () => {
    await reopen({ credit: { ...MODEL, spine: { ...MODEL.spine, table: 'loan_counts' }, label: { column: 'late_count' } } });
    const before = listRuns(project.meta.db).length;
    const e = await fails(trainModel(project, 'credit', { quiet: true }), 'LABEL_NOT_BINARY');
    expect(e.message).toContain("label.column 'late_count' of 'loan_counts' is not binary: it has 300 distinct values");
    expect(e.message).toMatch(/e\.g\. \d+ \(\d+ rows\), /);
    expect(listRuns(project.meta.db)).toHaveLength(before);
  });

  it('refuses reasons without text unless a default is configured (REASONS_MISSING)', async () => {
    const reasons: Record<string, string> = { ...MODEL.reasons };
    delete reasons.income;
    delete reasons.spend_30d_by_category;
    await reopen({ credit: { ...MODEL, reasons } });
    const e = await fails(trainModel(project, 'credit', { quiet: true }), 'REASONS_MISSING');
    expect(e.message).toContain('2 of 7 possible adverse-action reasons have no text: spend_30d_by_category, income');
    expect(e.details).toEqual({ missing: ['spend_30d_by_category', 'income'] });
    await reopen({ credit: { ...MODEL, reasons, defaultReason: 'Other factors in the credit record' } });
    const r = await trainModel(project, 'credit', { quiet: true });
    const freq = r.evaluation.reasonCodes!.frequency;
    expect(freq.length).toBeGreaterThan(0);
    expect(freq.filter((f) => f.text === null)).toEqual([]);
    // A bucketed feature is one reason with one text, not one textless reason per bucket.
    expect(freq.some((f) => f.reason.startsWith('spend_30d_by_category__'))).toBe(false);
  });

  it('does not register a model that learned nothing, unless forced (MODEL_LEARNED_NOTHING)', async () => {
    await reopen({ noise: { ...MODEL, spine: { ...MODEL.spine, table: 'noise_labels' } } });
    const e = await fails(trainModel(project, 'noise', { quiet: true }), 'MODEL_LEARNED_NOTHING');
    expect(e.message).toMatch(/learned nothing: (the best iteration is 0|the (validation|test) AUC is 0\.\d+, no better than chance \(at most 0\.5\d+ for \d+ rows with \d+ positives\))/);
    const failed = listRuns(project.meta.db).find((r) => r.experiment === 'noise')!;
    expect(getRun(project.meta.db, failed.id).status).toBe('failed');
    expect(() => new ModelRegistry(project.meta.db).resolve('noise')).toThrow();
    const r = await trainModel(project, 'noise', { quiet: true, force: true });
    expect(r.version).toBe(1);
    expect(r.warnings.join(' ')).toContain('registered although it learned nothing');
    expect(getRun(project.meta.db, r.runId).tags.forced).toMatch(/best iteration is 0|no better than chance/);
  });

  it('warns when spine rows lie beyond the end of a source, in the result, the run and the report', async () => {
    await reopen({ late: { ...MODEL, spine: { ...MODEL.spine, table: 'late_loans' }, split: { validFrom: '2026-07-01', testFrom: '2026-10-01', testTo: '2027-01-01' } } });
    const r = await trainModel(project, 'late', { quiet: true, force: true });
    const w = r.warnings.find((x) => x.startsWith("source 'transactions'"));
    expect(w).toMatch(/ends at 20\d\d-.*: \d+ of \d+ rows \(100\.0%\) are later and see none of its data/);
    const run = getRun(project.meta.db, r.runId);
    expect(run.tags.coverage_warnings).toContain("source 'transactions'");
    const coverage = JSON.parse(readFileSync(join(project.paths.artifactsDir, r.runId, 'coverage.json'), 'utf8')) as { coverage: { source: string; afterLastShare: number }[] };
    expect(coverage.coverage.find((c) => c.source === 'transactions')!.afterLastShare).toBe(1);
    // Snapshots stay valid after their last row: never reported as ending too early.
    expect(coverage.coverage.find((c) => c.source === 'profile')!.afterLastShare).toBe(0);
    const html = readFileSync(join(project.paths.artifactsDir, r.runId, 'report.html'), 'utf8');
    expect(html).toContain('source &#39;transactions&#39;');
    const card = readFileSync(join(project.paths.artifactsDir, r.runId, 'model-card.md'), 'utf8');
    expect(card).toContain('## Warnings');
  });

  it('flags deciles that break the rank order, in the evaluation, the report and the card', async () => {
    expect(rankOrderBreaks([{ group: 1, rate: 0.3 }, { group: 2, rate: 0.2 }, { group: 3, rate: 0.25 }, { group: 4, rate: null }, { group: 5, rate: 0.01 }])).toEqual([2]);
    expect(rankOrderBreaks([{ group: 1, rate: 0.3 }, { group: 2, rate: 0.2 }])).toEqual([]);
    await reopen({ credit: MODEL });
    const r = await trainModel(project, 'credit', { quiet: true });
    expect(r.evaluation.rankOrderBreaks).toEqual(rankOrderBreaks(r.evaluation.lift));
    const html = readFileSync(join(project.paths.artifactsDir, r.runId, 'report.html'), 'utf8');
    expect(html).toContain('<th>rank order</th>');
    const card = readFileSync(join(project.paths.artifactsDir, r.runId, 'model-card.md'), 'utf8');
    expect(card).toMatch(r.evaluation.rankOrderBreaks.length ? /\*\*Rank order breaks\*\* at decile/ : /Rank order holds/);
  });

  it('puts chance at 0.5 plus two standard errors of the AUC, never below 0.51', () => {
    expect(chanceAuc(1000, 500)).toBeCloseTo(0.5 + 2 * Math.sqrt(1001 / (12 * 500 * 500)), 10);
    expect(chanceAuc(1_000_000, 500_000)).toBe(0.51);
    expect(learnedNothing(0, [{ name: 'validation', auc: 0.9, rows: 1000, positives: 100 }])).toMatch(/best iteration is 0/);
    expect(learnedNothing(12, [{ name: 'validation', auc: 0.53, rows: 1000, positives: 100 }])).toMatch(/validation AUC is 0\.5300, no better than chance/);
    expect(learnedNothing(12, [{ name: 'validation', auc: 0.75, rows: 1000, positives: 100 }])).toBeNull();
  });

  it('explains a seeded sample of at most SHAP_SAMPLE_ROWS test rows', () => {
    const a = sampleRows(100_000, 5000, 7);
    expect(a.length).toBe(5000);
    expect(Array.from(a)).toEqual(Array.from(sampleRows(100_000, 5000, 7)));
    expect(Array.from(a)).not.toEqual(Array.from(sampleRows(100_000, 5000, 8)));
    for (let i = 1; i < a.length; i++) expect(a[i]!).toBeGreaterThan(a[i - 1]!);
    expect(a[a.length - 1]!).toBeGreaterThan(90_000);
    expect(Array.from(sampleRows(10, 5000, 7))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
});
