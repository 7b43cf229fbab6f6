/**
 * A project with two small trained versions of 'risk' (different trees, so their scores differ), for the
 * model-set tests: a plain table of borrowers, a few dozen trees each (a second or so to train).
 */
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../../src/core/rng.js';
import { bundleText, importModel, trainModel, type ModelBundleJson, type ScoreRow } from '../../src/pipelines/index.js';
import { initProject, MetaStore, Project } from '../../src/store/index.js';
import { ModelRegistry } from '../../src/registry/index.js';
import { tempDir } from '../helpers.js';

const MODEL = {
  spine: { table: 'borrowers', key: 'id' },
  label: { column: 'bad' },
  columns: ['utilisation', 'late_count', 'age', 'region'],
  split: { random: { valid: 0.2, test: 0.2, seed: 7 } },
  params: { max_depth: 3, learning_rate: 0.2, n_estimators: 30, early_stopping_rounds: 10 },
  defaultReason: 'Other factors in the credit record',
};

function configText(params: Record<string, unknown>): string {
  return `import { defineConfig } from 'kiln';\nexport default defineConfig({ name: 'serve-models', models: ${JSON.stringify({ risk: { ...MODEL, params: { ...MODEL.params, ...params } } })} });\n`;
}

export interface Fixture {
  dir: string;
  project: Project;
  /** Rows to score. */
  rows: ScoreRow[];
  /** A second connection to the registry, as another process would have. */
  other: { registry: ModelRegistry; close: () => void };
  /** Registers a copy of version `from`'s bundle, edited by `edit` (checksum recomputed), as a new version. */
  registerEdited(from: number, edit: (b: ModelBundleJson) => void): number;
  cleanup(): void;
}

/** Trains risk version 1 and 2 (different learning rates) and points 'champion' at 1. */
export async function modelFixture(name: string): Promise<Fixture> {
  const { dir, cleanup } = tempDir(`kiln-serve-${name}-`);
  writeFileSync(join(dir, 'kiln.config.ts'), configText({}));
  await initProject(dir);
  let project = await Project.open({ project: dir });
  const rng = new Rng(11);
  const lines = ['id,utilisation,late_count,age,region,bad'];
  for (let i = 1; i <= 1500; i++) {
    const u = rng.uniform() * 1.2;
    const late = Math.floor(rng.uniform() * rng.uniform() * 6);
    const age = 21 + Math.floor(rng.uniform() * 50);
    const region = ['north', 'south', 'east', 'west'][i % 4]!;
    const z = -2 + 2.5 * u + 0.6 * late - 0.02 * (age - 45) + (region === 'west' ? 0.5 : 0);
    lines.push(`${i},${u.toFixed(4)},${late},${age},${region},${rng.uniform() < 1 / (1 + Math.exp(-z)) ? 1 : 0}`);
  }
  const csv = join(dir, 'borrowers.csv');
  writeFileSync(csv, `${lines.join('\n')}\n`);
  await project.offline.run(`CREATE TABLE borrowers AS SELECT * FROM read_csv('${csv}')`);
  const rows = await project.offline.all<ScoreRow>('SELECT utilisation, late_count, age, region FROM borrowers ORDER BY id LIMIT 50');
  await trainModel(project, 'risk', { quiet: true });
  project.close();
  writeFileSync(join(dir, 'kiln.config.ts'), configText({ learning_rate: 0.05, max_depth: 2 }));
  project = await Project.open({ project: dir });
  await trainModel(project, 'risk', { quiet: true });
  project.releaseOffline();
  project.registry.setAlias('risk', 'champion', 1, { reason: 'first model' });
  const meta = MetaStore.open(project.paths.metaDb);
  let edits = 0;
  return {
    dir, project, rows,
    other: { registry: new ModelRegistry(meta.db), close: () => meta.close() },
    registerEdited(from, edit) {
      const json = JSON.parse(readFileSync(project.registry.getVersion('risk', from).artifactPath!, 'utf8')) as ModelBundleJson;
      edit(json);
      const { format: _f, checksum: _c, ...body } = json;
      const file = join(dir, `edited-${++edits}.kiln.json`);
      writeFileSync(file, bundleText(body));
      return importModel(project, file, { name: 'risk' }).version.version;
    },
    cleanup: () => { meta.close(); project.close(); cleanup(); },
  };
}

/** Copies a file aside and returns a function that puts it back. */
export function moveAside(path: string): () => void {
  const aside = `${path}.aside`;
  copyFileSync(path, aside);
  return () => copyFileSync(aside, path);
}
