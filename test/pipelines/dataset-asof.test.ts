/**
 * A training set as of a time (what the continuous-learning loop and its backtest train on): no spine
 * row at or after the time, and a label only where it was known by then (label.availableAt).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFeatureRegistry } from '../../src/features/index.js';
import { checkModelSpec, loadModelDataset } from '../../src/pipelines/index.js';
import { simulate } from '../../src/sim/index.js';
import { initProject, Project } from '../../src/store/index.js';
import { tempDir } from '../helpers.js';
import { creditConfigText } from '../serve/http-helpers.js';

let dir: string;
let cleanup: () => void;
let project: Project;

beforeAll(async () => {
  ({ dir, cleanup } = tempDir('kiln-asof-'));
  writeFileSync(join(dir, 'kiln.config.ts'), creditConfigText('asof-test', { max_depth: 3, n_estimators: 10 }));
  await initProject(dir);
  project = await Project.open({ project: dir });
  const s = await simulate(project.offline, { borrowers: 1500, seed: 3 });
  for (const t of s.tables) project.meta.upsertTable({ name: t.name, timestampColumn: t.timestampColumn ?? null, keyColumn: t.keyColumn ?? null, source: 'sim', description: t.description });
}, 60_000);

afterAll(() => { project?.close(); cleanup?.(); });

describe('loadModelDataset as of a time', () => {
  it('keeps spine rows before the time, with labels known by then', async () => {
    const spec = project.config.models.credit!;
    const registry = await loadFeatureRegistry(project.config.features);
    const checked = await checkModelSpec(project, 'credit', spec, registry);
    const asOf = '2024-12-15T00:00:00Z';
    const split = { validFrom: '2024-03-01', testFrom: '2024-06-01', testTo: '2025-01-01' };
    const data = await loadModelDataset(project, 'credit', { ...spec, split }, checked, { asOf });
    const all = await loadModelDataset(project, 'credit', { ...spec, split }, checked);
    const cut = Date.parse(asOf);
    const rows = (d: typeof data): number => d.splits.train.rows + d.splits.valid.rows + d.splits.test.rows;
    for (const s of Object.values(data.splits)) for (const t of s.timeMs!) expect(t).toBeLessThan(cut);
    // what SQL says was known then, window by window
    const [known] = await project.offline.all<{ n: number; pos: number }>(
      `SELECT count(*)::INT AS n, count(*) FILTER (WHERE default_12m)::INT AS pos FROM loan_labels
       WHERE funded_at < TIMESTAMP '2024-12-15' AND label_available_at <= TIMESTAMP '2024-12-15' AND default_12m IS NOT NULL`);
    expect(rows(data)).toBe(known!.n);
    expect(data.splits.train.positives + data.splits.valid.positives + data.splits.test.positives).toBe(known!.pos);
    // later labels (and rows) exist, and are left out
    expect(rows(all)).toBeGreaterThan(rows(data));
    expect(data.unlabelled).toBeGreaterThan(all.unlabelled - 1);
  }, 60_000);
});
