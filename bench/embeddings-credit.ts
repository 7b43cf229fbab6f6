/**
 * The credit evidence of issue 17: out-of-time AUC of the demo's credit GBDT (credit_v1 aggregates)
 * with and without a borrower embedding from an embedding space, read point in time (each training row
 * reads the newest version whose data ended before it; versions are backfilled by quarter):
 *   - merchants: item2vec over each borrower's merchants, pooled (mean) over the last 50 transactions;
 *   - borrowers: ALS borrower factors from the borrower x merchant interactions, the row's own borrower.
 * Each seed is a new simulated world (the simulator's seed) and the GBDT's seed; the paired difference
 * (with - without, same world and seed) is what is reported. The run report of `kiln train` shows the
 * same comparison per model (comparison.json); the sequence encoder's is in credit_seq's report (docs/nn.md).
 *
 *   npx tsx bench/embeddings-credit.ts [--borrowers 40000] [--seeds 3]
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { trainSpace } from '../src/embeddings/index.js';
import { trainModel } from '../src/pipelines/index.js';
import { simulate } from '../src/sim/index.js';
import { initProject, Project } from '../src/store/index.js';
import { arg, machine, printTable } from './util.js';

const FEATURES = join(import.meta.dirname, '..', 'examples', 'demo', 'features.ts');
const borrowers = arg('borrowers', 40_000);
const seeds = arg('seeds', 3);

function config(seed: number): string {
  const base = `spine: { table: 'loan_labels', timestamp: 'funded_at', key: 'borrower_id' }, label: { column: 'default_12m', availableAt: 'label_available_at' },
      features: 'credit_v1', split: { validFrom: '2024-07-01', testFrom: '2024-10-01', testTo: '2025-01-01' },
      params: { seed: ${seed} }, reasons: DEMO_REASONS, reasonGroups: DEMO_REASON_GROUPS`;
  return `import { defineConfig, lastK } from 'kiln';
import { DEMO_FEATURES, DEMO_REASONS, DEMO_REASON_GROUPS, transactions } from ${JSON.stringify(FEATURES)};
export default defineConfig({
  name: 'emb-credit', features: [...DEMO_FEATURES, lastK(transactions, { name: 'recent_merchants', k: 50, fields: ['merchant_id'], window: '180d' })],
  embeddings: {
    merchants: { entity: 'merchant', source: { kind: 'sequences', table: 'transactions', by: 'borrower_id', item: 'merchant_id', time: 'ts' }, trainer: 'item2vec', dim: 16, params: { epochs: 1, window: 3 }, seed: ${seed} },
    borrowers: { entity: 'borrower', source: { kind: 'interactions', table: 'transactions', user: 'borrower_id', item: 'merchant_id', time: 'ts', side: 'user' }, trainer: 'als', dim: 16, params: { iterations: 10 }, seed: ${seed} },
  },
  models: {
    pooled: { ${base}, embeddings: [{ space: 'merchants', pool: 'recent_merchants', reason: 'Where the borrower shops' }] },
    direct: { ${base}, embeddings: [{ space: 'borrowers', reason: 'Borrower shopping profile' }] },
  },
});
`;
}

const rows: (string | number)[][] = [];
const diffs: Record<string, number[]> = { pooled: [], direct: [] };
console.log(`# bench/embeddings-credit: ${borrowers} borrowers, ${seeds} seeds; ${machine()}`);
for (let seed = 1; seed <= seeds; seed++) {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-emb-credit-'));
  try {
    writeFileSync(join(dir, 'kiln.config.ts'), config(seed));
    await initProject(dir);
    const project = await Project.open({ project: dir });
    try {
      await simulate(project.offline, { borrowers, months: 24, seed, orderEpisodes: 0.2 });
      for (const space of ['merchants', 'borrowers']) for (const until of ['2024-04-01', '2024-07-01', '2024-10-01']) await trainSpace(project, space, { until, quiet: true });
      for (const model of ['pooled', 'direct'] as const) {
        const r = await trainModel(project, model, { quiet: true });
        const run = project.tracker.getRun(r.runId);
        const without = run.metrics.compare_gbdt_without_embeddings_test_auc!;
        const withEmb = run.metrics.compare_gbdt_with_embeddings_test_auc!;
        diffs[model]!.push(withEmb - without);
        rows.push([seed, model, without.toFixed(4), withEmb.toFixed(4), (withEmb - without).toFixed(4)]);
        console.log(`seed ${seed} ${model}: ${without.toFixed(4)} -> ${withEmb.toFixed(4)}`);
      }
    } finally {
      project.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
printTable(['seed', 'embedding', 'test AUC without', 'test AUC with', 'difference'], rows);
for (const [m, d] of Object.entries(diffs)) {
  const mean = d.reduce((a, b) => a + b, 0) / d.length;
  const sd = Math.sqrt(d.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, d.length - 1));
  console.log(`${m}: mean difference ${mean.toFixed(4)} +- ${sd.toFixed(4)} (sample std over ${d.length} worlds)`);
}
