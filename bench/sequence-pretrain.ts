/**
 * Does self-supervised pre-training of the sequence encoder help? On a simulated project with order
 * episodes (the demo's features, orderEpisodes 0.3), kiln trains the same GRU sequence model with and
 * without `pretrain` (contrastive, CoLES; optionally next-event) for a few seeds, and prints the test AUC
 * of the sequence model, of the GBDT on its embeddings (+ the aggregates), of the joint model, and of
 * the GBDT on the aggregates alone, with the seconds each training took. Figures only, nothing asserted.
 *
 *   npx tsx bench/sequence-pretrain.ts [--borrowers 8000] [--seeds 2] [--epochs 6] [--pretrain-epochs 4] [--size 12] [--next-event 0]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { trainModel } from '../src/pipelines/index.js';
import { simulate } from '../src/sim/index.js';
import { initProject, Project } from '../src/store/index.js';
import { DEMO_FEATURES_FILE, tempDir } from '../test/helpers.js';
import { arg, machine, printTable } from './util.js';

const BORROWERS = arg('borrowers', 8000);
const SEEDS = arg('seeds', 2);
const EPOCHS = arg('epochs', 6);
const PRE_EPOCHS = arg('pretrain-epochs', 4);
const SIZE = arg('size', 12);
const NEXT_EVENT = arg('next-event', 0) > 0;

const BASE = {
  spine: { table: 'loan_labels', timestamp: 'funded_at', key: 'borrower_id' },
  label: { column: 'default_12m', availableAt: 'label_available_at' },
  features: 'credit_v1', algorithm: 'sequence',
  split: { validFrom: '2024-07-01', testFrom: '2024-10-01', testTo: '2025-01-01' },
  minPositives: 5,
};
const PRETRAIN: Record<string, unknown> = {
  none: null,
  contrastive: { method: 'contrastive', epochs: PRE_EPOCHS, minLength: 3 },
  ...(NEXT_EVENT ? { 'next-event': { method: 'next-event', epochs: PRE_EPOCHS, field: 'category' } } : {}),
};
const models: Record<string, unknown> = {};
for (let s = 0; s < SEEDS; s++) {
  for (const [name, pre] of Object.entries(PRETRAIN)) {
    models[`m_${name.replace('-', '_')}_${s}`] = { ...BASE, sequence: { input: 'recent_txns', encoder: 'gru', size: SIZE, epochs: EPOCHS, patience: EPOCHS, seed: 7 + s, ...(pre ? { pretrain: pre } : {}) } };
  }
}

const { dir, cleanup } = tempDir('kiln-bench-pre-');
try {
  writeFileSync(join(dir, 'kiln.config.ts'), `import { defineConfig } from 'kiln';\nimport { DEMO_FEATURES } from ${JSON.stringify(DEMO_FEATURES_FILE)};\nexport default defineConfig({ name: 'bench-pre', features: [...DEMO_FEATURES], models: ${JSON.stringify(models)} });\n`);
  await initProject(dir);
  const project = await Project.open({ project: dir });
  await simulate(project.offline, { borrowers: BORROWERS, seed: 5, orderEpisodes: 0.3 });
  console.log(`machine: ${machine()}\n${BORROWERS} borrowers, GRU size ${SIZE}, ${EPOCHS} epochs; pre-training ${PRE_EPOCHS} epochs\n`);
  const rows: (string | number)[][] = [];
  const f = (x: number | undefined): string => (x === undefined ? '-' : x.toFixed(4));
  for (const name of Object.keys(models)) {
    const r = await trainModel(project, name, { quiet: true });
    const comparison = JSON.parse(readFileSync(join(project.paths.artifactsDir, r.runId, 'comparison.json'), 'utf8')) as { model: string; testAuc: number }[];
    const at = (prefix: string): number | undefined => comparison.find((c) => c.model.startsWith(prefix))?.testAuc;
    const run = project.tracker.getRun(r.runId);
    const pre = run.curves.pretrain_loss?.map((p) => (p.value ?? NaN).toFixed(3)).join(' > ') ?? '-';
    const [, method, seed] = /^m_(.+)_(\d+)$/.exec(name)!;
    rows.push([method!, Number(seed) + 7, f(at('sequence model')), f(at('GBDT + sequence')), f(at('joint')), f(at('GBDT, aggregates')), pre, r.seconds.toFixed(0)]);
    console.log(`${name}: done in ${r.seconds.toFixed(0)} s`);
  }
  console.log('');
  printTable(['pre-training', 'seed', 'sequence model', 'GBDT + embeddings', 'joint', 'GBDT aggregates', 'pretrain loss by epoch', 'seconds'], rows);
  project.close();
} finally {
  cleanup();
}
