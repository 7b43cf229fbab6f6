import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { trainModel } from '../../src/pipelines/index.js';
import { ModelRegistry } from '../../src/registry/index.js';
import { initProject, Project } from '../../src/store/index.js';
import { tempDir } from '../helpers.js';
import { fails } from '../fails.js';

/** One row per borrower, no dates: like Give Me Some Credit. */
const GMSC = {
  spine: { table: 'borrowers_plain', key: 'id' },
  label: { column: 'bad' },
  columns: { exclude: ['id'] },
  split: { random: { valid: 0.15, test: 0.2, seed: 7 } },
  params: { max_depth: 3, learning_rate: 0.1, n_estimators: 120, early_stopping_rounds: 20 },
  defaultReason: 'Other factors in the credit record',
  reasons: { utilisation: 'Revolving utilisation is high' },
};

let dir: string;
let cleanup: () => void;
let project: Project;

async function reopen(models: Record<string, unknown>): Promise<Project> {
  project?.close();
  writeFileSync(join(dir, 'kiln.config.ts'), `import { defineConfig } from 'kiln';\nexport default defineConfig({ name: 'plain-test', models: ${JSON.stringify(models)} });\n`);
  project = await Project.open({ project: dir });
  return project;
}

beforeAll(async () => {
  ({ dir, cleanup } = tempDir('kiln-plain-'));
  await reopen({ gmsc: GMSC });
  await initProject(dir);
  // 4,000 borrowers: utilisation and late payments raise the risk; a declared split column too.
  const rng = new Rng(3);
  const lines = ['id,utilisation,late_count,age,region,split,bad'];
  for (let i = 1; i <= 4000; i++) {
    const u = rng.uniform() * 1.2;
    const late = Math.floor(rng.uniform() * rng.uniform() * 6);
    const age = 21 + Math.floor(rng.uniform() * 50);
    const region = ['north', 'south', 'east'][i % 3]!;
    const z = -3 + 2.5 * u + 0.6 * late - 0.02 * (age - 45);
    const bad = rng.uniform() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
    lines.push(`${i},${u.toFixed(4)},${late},${age},${region},${i % 10 < 7 ? 'train' : i % 10 < 8 ? 'valid' : 'test'},${bad}`);
  }
  const csv = join(dir, 'borrowers.csv');
  writeFileSync(csv, `${lines.join('\n')}\n`);
  await project.offline.run(`CREATE TABLE borrowers_plain AS SELECT * FROM read_csv('${csv}')`);
  // The same borrowers with a coded outcome, as a loan status: B and D are the bad ones.
  await project.offline.run(`CREATE TABLE borrowers_coded AS SELECT * EXCLUDE (bad), CASE WHEN bad = 1 THEN (CASE WHEN id % 2 = 0 THEN 'B' ELSE 'D' END) ELSE (CASE WHEN id % 3 = 0 THEN 'C' ELSE 'A' END) END AS status FROM borrowers_plain`);
});
afterAll(() => { project?.close(); cleanup(); });

describe('a model spec over a plain table (no spine time)', () => {
  it('trains on the spine columns with a seeded random split, with no month slices and no dates', async () => {
    await reopen({ gmsc: GMSC });
    const r = await trainModel(project, 'gmsc', { quiet: true });
    expect(r.evaluation.metrics.auc).toBeGreaterThan(0.7);
    expect(r.evaluation.byMonth).toEqual([]);
    expect(r.evaluation.rows).toBe(800);
    const mv = new ModelRegistry(project.meta.db).resolve('gmsc');
    expect(mv.signature.features.map((f) => f.name)).toEqual(['utilisation', 'late_count', 'age', 'region', 'split']);
    const html = readFileSync(join(project.paths.artifactsDir, r.runId, 'report.html'), 'utf8');
    const card = readFileSync(join(project.paths.artifactsDir, r.runId, 'model-card.md'), 'utf8');
    expect(html).toContain('random split, seed 7');
    expect(card).toContain('random split, seed 7');
    expect(card).toContain('(a plain table: no time)');
    for (const text of [html, card]) expect(text).not.toMatch(/1970|undefined|NaN/);
    // The same seed gives the same split and the same model.
    const again = await trainModel(project, 'gmsc', { quiet: true });
    expect(again.evaluation.metrics.auc).toBe(r.evaluation.metrics.auc);
  });

  it('takes a declared split column, and listed columns', async () => {
    await reopen({ gmsc: { ...GMSC, columns: ['utilisation', 'late_count', 'age'], split: { column: 'split' } } });
    const r = await trainModel(project, 'gmsc', { quiet: true });
    expect(r.evaluation.rows).toBe(800);
    const card = readFileSync(join(project.paths.artifactsDir, r.runId, 'model-card.md'), 'utf8');
    expect(card).toContain("declared by column `split`: train 2800 rows");
    expect(new ModelRegistry(project.meta.db).resolve('gmsc').signature.features.map((f) => f.name)).toEqual(['utilisation', 'late_count', 'age']);
  });

  it('refuses inputs that are the label or unknown, and a split column with other values', async () => {
    await reopen({ gmsc: { ...GMSC, columns: ['utilisation', 'bad', 'utilization'] } });
    const e = await fails(trainModel(project, 'gmsc', { quiet: true }), 'CONFIG_INVALID');
    expect(e.message).toContain("columns: 'bad' is the label, key, time or split column of the spine and cannot be a model input");
    expect(e.message).toContain("columns: 'utilization' is not a column of 'borrowers_plain'; did you mean 'utilisation'?");
    await reopen({ gmsc: { ...GMSC, split: { column: 'region' } } });
    const s = await fails(trainModel(project, 'gmsc', { quiet: true }), 'CONFIG_INVALID');
    expect(s.message).toMatch(/split column 'region' .* found '(north|south|east)' \(\d+ rows\)/);
  });

  it('refuses at config load: no inputs, features or an out-of-time split without a spine time', async () => {
    const bad = async (model: Record<string, unknown>): Promise<string> => (await fails(reopen({ gmsc: model }), 'CONFIG_INVALID')).message;
    const { columns: _c, ...noInputs } = GMSC;
    expect(await bad(noInputs)).toMatch(/give 'features' .* or 'columns'/);
    expect(await bad({ ...GMSC, features: ['income'] })).toContain("a spine without 'timestamp' (a plain table) can only use 'columns'");
    expect(await bad({ ...GMSC, split: { validFrom: '2024-01-01', testFrom: '2024-06-01', testTo: '2025-01-01' } })).toContain('an out-of-time split needs spine.timestamp');
    expect(await bad({ ...GMSC, split: { random: { valid: 0.5, test: 0.5 } } })).toContain('valid + test must leave rows for training');
  });

  it('takes a coded label through label.positive, the same model as its 0/1 column', async () => {
    const coded = { ...GMSC, spine: { table: 'borrowers_coded', key: 'id' }, label: { column: 'status', positive: ['B', 'D'] } };
    await reopen({ gmsc: GMSC, coded });
    const plain = await trainModel(project, 'gmsc', { quiet: true });
    const r = await trainModel(project, 'coded', { quiet: true });
    expect(r.evaluation.metrics.auc).toBeCloseTo(plain.evaluation.metrics.auc, 10);
    expect(new ModelRegistry(project.meta.db).resolve('coded').signature.features.map((f) => f.name)).not.toContain('status');
    const card = readFileSync(join(project.paths.artifactsDir, r.runId, 'model-card.md'), 'utf8');
    expect(card).toContain('label `status` (1 = B or D)');
    // Without label.positive the text label is refused, naming its values; a positive list that matches nothing too.
    await reopen({ coded: { ...coded, label: { column: 'status' } } });
    expect((await fails(trainModel(project, 'coded', { quiet: true }), 'LABEL_NOT_BINARY')).message).toContain('label.positive');
    await reopen({ coded: { ...coded, label: { column: 'status', positive: ['b'] } } });
    expect((await fails(trainModel(project, 'coded', { quiet: true }), 'LABEL_NOT_BINARY')).message).toMatch(/matches no row .* 'A' \(\d+ rows\)/);
  });
});
