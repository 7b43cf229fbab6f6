/**
 * How long a model swap holds the event loop of `kiln serve`. Trains two versions of a credit-sized
 * model on a plain table (N trees of depth 6, no early stopping: a bundle of several MB), opens a model
 * set on `risk@champion`, and moves the alias back and forth SWAPS times through a second registry
 * connection. Meanwhile a 1 ms timer measures the longest stall of the event loop (what a request in
 * flight would wait), next to the time each swap takes end to end; for comparison, the longest stall of
 * a load in one synchronous step (`loadLiveVersion`).
 *
 *   npx tsx bench/serve-swap.ts [--trees 600] [--swaps 10]
 */
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../src/core/rng.js';
import { trainModel } from '../src/pipelines/index.js';
import { ModelRegistry } from '../src/registry/index.js';
import { loadLiveVersion, openModelSet, type ModelEvent } from '../src/serve/index.js';
import { initProject, MetaStore, Project } from '../src/store/index.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { arg, machine, printTable } from './util.js';

const TREES = arg('trees', 600);
const SWAPS = arg('swaps', 10);

/** Longest gap between ticks of a 1 ms timer while `fn` runs (ms). */
async function longestStall<T>(fn: () => Promise<T>): Promise<{ value: T; stallMs: number }> {
  let last = performance.now();
  let worst = 0;
  const t = setInterval(() => { const now = performance.now(); worst = Math.max(worst, now - last); last = now; }, 1);
  try {
    const value = await fn();
    await new Promise((r) => setTimeout(r, 5));
    return { value, stallMs: worst };
  } finally { clearInterval(t); }
}

const dir = mkdtempSync(join(tmpdir(), 'kiln-bench-swap-'));
try {
  const config = (lr: number): string => `import { defineConfig } from 'kiln';\nexport default defineConfig({ name: 'swap-bench', models: ${JSON.stringify({ risk: {
    spine: { table: 'borrowers', key: 'id' }, label: { column: 'bad' }, columns: ['x1', 'x2', 'x3', 'x4', 'x5', 'x6', 'x7', 'x8', 'region'],
    split: { random: { valid: 0.2, test: 0.2, seed: 7 } }, defaultReason: 'Other factors',
    params: { max_depth: 6, learning_rate: lr, n_estimators: TREES, early_stopping_rounds: 1000000, min_child_weight: 1 },
  } })} });\n`;
  writeFileSync(join(dir, 'kiln.config.ts'), config(0.05));
  await initProject(dir);
  let project = await Project.open({ project: dir });
  const rng = new Rng(3);
  const lines = ['id,x1,x2,x3,x4,x5,x6,x7,x8,region,bad'];
  for (let i = 1; i <= 20_000; i++) {
    const x = Array.from({ length: 8 }, () => rng.uniform());
    const z = -2 + 2 * x[0]! - x[1]! + x[2]! * x[3]! + (i % 5 === 0 ? 0.5 : 0);
    lines.push(`${i},${x.map((v) => v.toFixed(4)).join(',')},r${i % 12},${rng.uniform() < 1 / (1 + Math.exp(-z)) ? 1 : 0}`);
  }
  writeFileSync(join(dir, 'b.csv'), `${lines.join('\n')}\n`);
  await project.offline.run(`CREATE TABLE borrowers AS SELECT * FROM read_csv('${join(dir, 'b.csv')}')`);
  await trainModel(project, 'risk', { quiet: true });
  project.close();
  writeFileSync(join(dir, 'kiln.config.ts'), config(0.03));
  project = await Project.open({ project: dir });
  await trainModel(project, 'risk', { quiet: true });
  project.releaseOffline();
  project.registry.setAlias('risk', 'champion', 1, { reason: 'bench' });
  const bytes = statSync(project.registry.getVersion('risk', 1).artifactPath!).size;

  const sync = await longestStall(async () => loadLiveVersion(project, 'risk@2'));
  const set = await openModelSet(project, ['risk@champion'], { pollMs: 0, log: () => {} });
  const swaps: number[] = [];
  set.onEvent((e: ModelEvent) => { if (e.kind === 'swap') swaps.push(e.ms); });
  const meta = MetaStore.open(project.paths.metaDb);
  const other = new ModelRegistry(meta.db);
  const stepped = await longestStall(async () => {
    for (let i = 0; i < SWAPS; i++) {
      other.setAlias('risk', 'champion', i % 2 === 0 ? 2 : 1, { reason: 'bench' });
      await set.refresh();
    }
  });
  await set.close();
  meta.close();
  project.close();
  swaps.sort((a, b) => a - b);
  console.log(`serve-swap: ${machine()}; bundle ${(bytes / 1e6).toFixed(2)} MB (${TREES} trees of depth 6), ${SWAPS} swaps`);
  printTable(['what', 'ms'], [
    ['swap, load + validate (median)', swaps[Math.floor(swaps.length / 2)]!.toFixed(1)],
    ['swap, load + validate (max)', swaps.at(-1)!.toFixed(1)],
    ['longest event-loop stall during swaps (stepped load)', stepped.stallMs.toFixed(1)],
    ['longest event-loop stall, one synchronous load', sync.stallMs.toFixed(1)],
  ]);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
