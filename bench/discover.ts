/**
 * Does discovery find signal that holds out of time? For each seed: discovery on a model's training spine
 * (validation window only), then a GBDT with the model's parameters on the current features, and on the
 * current features plus the selected candidates, both early-stopped on the validation window and scored
 * on the test window, which discovery never saw.
 *
 *   npx tsx bench/discover.ts sim   [--borrowers 20000] [--seeds 5] [--budget 150]
 *   npx tsx bench/discover.ts berka [--seeds 5] [--budget 150]      (split seeds; skipped without the data)
 *
 * sim: a simulated world per seed; the model `thin` (income, tenure, applications, 30-day transaction
 * count: test/discover/world.ts) and discovery over `transactions`, whose planted signals it should find.
 * berka: the Berka loans (examples/berka), `loan_default` with its random split re-drawn per seed.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { execSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ModelSpec } from '../src/config/index.js';
import { discoverFeatures, planDefinitions, type DiscoverResult } from '../src/discover/index.js';
import { auc } from '../src/eval/index.js';
import { loadFeatureRegistry } from '../src/features/index.js';
import { train, type GbdtParams } from '../src/gbdt/index.js';
import { DEFAULT_PARAMS, checkModelSpec, loadModelDataset } from '../src/pipelines/index.js';
import { loadProjectFeatures } from '../src/features/training/index.js';
import type { Project } from '../src/store/index.js';
import { defaultData, runExample } from '../examples/berka/run.js';
import { discoverWorld } from '../test/discover/world.js';

const args = process.argv.slice(2);
const flag = (name: string, dflt: number): number => { const i = args.indexOf(`--${name}`); return i >= 0 ? Number(args[i + 1]) : dflt; };
const mode = args[0] === 'berka' ? 'berka' : 'sim';
const seeds = flag('seeds', 5), budget = flag('budget', 150), borrowers = flag('borrowers', 20_000);

/** Test AUC of the model's GBDT on the current features, and on them plus the selected candidates. */
async function outOfTime(project: Project, model: string, spec: ModelSpec, r: DiscoverResult, seed: number): Promise<{ before: number; after: number; selected: string[] }> {
  const selected = r.candidates.filter((c) => c.status === 'selected');
  const source = loadFeatureRegistry(project.config.features).sources.get(r.source)!;
  const definitions = [...project.config.features, ...planDefinitions(selected.map((c) => c.candidate.plan), source, new Set(r.defined))];
  const checked = await checkModelSpec(project, model, spec, await loadProjectFeatures(project));
  const names = selected.map((c) => c.name);
  const data = await loadModelDataset(project, model, spec, { ...checked, features: [...checked.features, ...names], extra: [], sources: [] }, { definitions });
  const { train: tr, valid, test } = data.splits;
  const params = { ...DEFAULT_PARAMS, ...spec.params, seed } as GbdtParams;
  const fit = async (cols: number[]): Promise<number> => {
    const b = await train({
      features: cols.map((j) => tr.features[j]!), label: tr.label, featureNames: cols.map((j) => data.inputs[j]!.name),
      categorical: cols.filter((j) => data.inputs[j]!.kind === 'categorical').map((j) => data.inputs[j]!.name),
      valid: { features: cols.map((j) => valid.features[j]!), label: valid.label }, params,
    });
    return auc(test.label, b.predict(cols.map((j) => test.features[j]!)));
  };
  const all = data.inputs.map((_, j) => j);
  const current = all.filter((j) => !names.includes(data.inputs[j]!.feature));
  return { before: await fit(current), after: names.length ? await fit(all) : await fit(current), selected: names };
}

const stats = (x: number[]): string => {
  const m = x.reduce((a, b) => a + b, 0) / x.length;
  const sd = Math.sqrt(x.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(1, x.length - 1));
  return `${m.toFixed(4)} ± ${sd.toFixed(4)}`;
};

console.log(`load: ${execSync('uptime').toString().trim()} (2 shared cores)`);
const rows: { seed: number; before: number; after: number; seconds: number; selected: string[] }[] = [];
if (mode === 'sim') {
  for (let seed = 1; seed <= seeds; seed++) {
    const w = await discoverWorld(borrowers, seed);
    try {
      const r = await discoverFeatures(w.project, { source: 'transactions', model: 'thin', budget, quiet: true });
      const o = await outOfTime(w.project, 'thin', w.project.config.models.thin!, r, 7);
      rows.push({ seed, ...o, seconds: r.seconds });
      console.log(`seed ${seed}: test AUC ${o.before.toFixed(4)} -> ${o.after.toFixed(4)} (discovery ${r.seconds.toFixed(1)} s, ${r.candidates.length} evaluated) selected: ${o.selected.join(', ')}`);
    } finally { w.cleanup(); }
  }
} else {
  const data = defaultData();
  if (!existsSync(join(data, 'loan.asc'))) { console.log(`skipped: no Berka data at ${data} (set BERKA_DATA)`); process.exit(0); }
  const dir = mkdtempSync(join(tmpdir(), 'kiln-berka-discover-'));
  try {
    await runExample(dir, data, { quiet: true });
    const { Project } = await import('../src/store/index.js');
    const project = await Project.open({ project: dir });
    try {
      const base = project.config.models.loan_default!;
      for (let seed = 1; seed <= seeds; seed++) {
        const spec = { ...base, split: { random: { valid: 0.2, test: 0.25, seed } } } as ModelSpec;
        const r = await discoverFeatures(project, { source: 'transactions', model: 'loan_default', spec, budget, quiet: true });
        const o = await outOfTime(project, 'loan_default', spec, r, 7);
        rows.push({ seed, ...o, seconds: r.seconds });
        console.log(`split seed ${seed}: test AUC ${o.before.toFixed(4)} -> ${o.after.toFixed(4)} (discovery ${r.seconds.toFixed(1)} s, ${r.candidates.length} evaluated, valid ${r.rows.valid.positives}/${r.rows.valid.rows}, test ${r.rows.test.positives}/${r.rows.test.rows}) selected: ${o.selected.join(', ') || 'none'}`);
      }
    } finally { project.close(); }
  } finally { rmSync(dir, { recursive: true, force: true }); }
}
console.log(`\n${mode}: test AUC before ${stats(rows.map((r) => r.before))}, after ${stats(rows.map((r) => r.after))}, delta ${stats(rows.map((r) => r.after - r.before))} over ${rows.length} seeds; discovery ${stats(rows.map((r) => r.seconds))} s`);
