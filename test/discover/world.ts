import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { simulate } from '../../src/sim/index.js';
import { initProject, Project } from '../../src/store/index.js';
import { DEMO_FEATURES_FILE, tempDir } from '../helpers.js';

/**
 * A small simulated world whose model `thin` knows only the borrower's profile and applications (no card
 * transactions): discovery over `transactions` has the simulator's planted signals to find. `outcomes`
 * declares the label's own table as a source, and `peek` a table written by the test that copies the
 * label one day before funding (a planted look-ahead leak); `merchant_txns` is a source of another entity.
 */
export const WORLD_CONFIG = `import { defineConfig, entity, eventSource } from 'kiln';
import { DEMO_FEATURES, borrower } from ${JSON.stringify(DEMO_FEATURES_FILE)};
const outcomes = eventSource('outcomes', { entity: borrower, table: 'loan_labels', timestamp: 'funded_at', columns: { loan_id: 'bigint' } });
const peek = eventSource('peek', { entity: borrower, table: 'peek', timestamp: 'ts', columns: { bad: 'double' } });
const merchant = entity('merchant', { key: 'merchant_id' });
const merchantTxns = eventSource('merchant_txns', { entity: merchant, table: 'transactions', timestamp: 'ts', columns: { amount: 'double' } });
export default defineConfig({
  name: 'discover-test',
  features: [...DEMO_FEATURES, outcomes, peek, merchant, merchantTxns],
  models: {
    thin: {
      spine: { table: 'loan_labels', timestamp: 'funded_at', key: 'borrower_id' },
      label: { column: 'default_12m', availableAt: 'label_available_at' },
      features: ['income', 'employment_tenure_months', 'applications_365d', 'txn_count_30d'],
      split: { validFrom: '2024-09-01', testFrom: '2024-11-01', testTo: '2025-01-01' },
    },
  },
});
`;

export async function discoverWorld(borrowers: number, seed: number): Promise<{ dir: string; project: Project; cleanup: () => void }> {
  const { dir, cleanup } = tempDir('kiln-discover-');
  writeFileSync(join(dir, 'kiln.config.ts'), WORLD_CONFIG);
  await initProject(dir);
  const project = await Project.open({ project: dir });
  await simulate(project.offline, { borrowers, seed }, { quiet: true });
  await project.offline.run(`CREATE TABLE peek AS SELECT borrower_id, funded_at - INTERVAL 1 DAY AS ts, CASE WHEN default_12m THEN 1.0 ELSE 0.0 END AS bad FROM loan_labels WHERE default_12m IS NOT NULL`);
  return { dir, project, cleanup: () => { project.close(); cleanup(); } };
}
