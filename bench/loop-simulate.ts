/**
 * The continuous-learning target of issue 14, over seeds: `kiln loop simulate` on the demo's lifecycle
 * config (the 12-month default label, rolling 12/3/3-month windows maturing 12 months, a quarterly
 * schedule and score drift as triggers, a 60-day cooldown, gates on AUC and the adverse impact ratio).
 * For each seed: detection and promotion delays, the first champion's AUC before the shock and after the
 * answering promotion, the promoted models' AUC on the same applicants, and the recovery (target >= 0.8).
 *   npx tsx bench/loop-simulate.ts [--seeds 42,7,99] [--borrowers 20000] [--history 20] [--months 40]
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { tempDir } from '../test/helpers.js';
import { arg, machine, printTable } from './util.js';

const seedsArg = process.argv.includes('--seeds') ? process.argv[process.argv.indexOf('--seeds') + 1]! : '42,7,99';
const SEEDS = seedsArg.split(',').map(Number);
const BORROWERS = arg('borrowers', 20000);
const HISTORY = arg('history', 20);
const MONTHS = arg('months', 40);
const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'kiln.js');

const CONFIG = `import { defineConfig } from 'kiln';
import { DEMO_FEATURES, DEMO_REASONS, DEMO_REASON_GROUPS } from './features.js';
export default defineConfig({
  name: 'bench-loop', features: [...DEMO_FEATURES],
  models: { credit: {
    spine: { table: 'loan_labels', timestamp: 'funded_at', key: 'borrower_id' },
    label: { column: 'default_12m', availableAt: 'label_available_at' },
    features: 'credit_v1', split: { validFrom: '2024-07-01', testFrom: '2024-10-01', testTo: '2025-01-01' },
    params: { max_depth: 3, learning_rate: 0.1, n_estimators: 120, early_stopping_rounds: 20 }, minPositives: 5,
    reasons: DEMO_REASONS, reasonGroups: DEMO_REASON_GROUPS, fairness: { feature: 'protected_group' }, slices: ['region'],
  } },
  loop: { credit: {
    windows: { validMonths: 3, testMonths: 3, maturityMonths: 12, trainMonths: 12 },
    triggers: { schedule: '0 0 1 */3 *', onDrift: { severity: 'significant' }, cooldown: '60d' },
    gates: { metrics: [{ metric: 'auc', maxDrop: 0.01 }, { metric: 'air', min: 0.8, perSlice: false }] },
  } },
});
`;

console.log(`machine: ${machine()}; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
const rows: string[][] = [];
let met = 0;
for (const seed of SEEDS) {
  const { dir, cleanup } = tempDir('kiln-bench-loop-');
  try {
    copyFileSync(join(ROOT, 'examples', 'demo', 'features.ts'), join(dir, 'features.ts'));
    writeFileSync(join(dir, 'kiln.config.ts'), CONFIG);
    spawnSync(process.execPath, [BIN, 'init', dir], { encoding: 'utf8' });
    const t0 = Date.now();
    const r = spawnSync(process.execPath, [BIN, 'loop', 'simulate', 'credit', '--months', String(MONTHS), '--history', String(HISTORY), '--borrowers', String(BORROWERS), '--seed', String(seed), '--json', '--quiet', '--project', dir, '-o', join(dir, 'report.html')], { encoding: 'utf8', maxBuffer: 1 << 28 });
    if (r.status !== 0) throw new Error(`kiln loop simulate (seed ${seed}) failed:\n${r.stderr}`);
    const { result, outcome } = JSON.parse(r.stdout) as { result: { timeline: { run: unknown }[] }; outcome: { detectionDelayMonths: number | null; promotionDelayMonths: number | null; preShockAuc: number | null; stalePostAuc: number | null; promotedPostAuc: number | null; recovery: number | null; postRows: number; cbpeErrorPre: number | null; cbpeErrorPost: number | null; shiftErrorPre: number | null; shiftErrorPost: number | null } };
    const f = (x: number | null, d = 3): string => (x === null ? '-' : x.toFixed(d));
    if (outcome.recovery !== null && outcome.recovery >= 0.8) met++;
    rows.push([String(seed), String(outcome.detectionDelayMonths ?? '-'), String(outcome.promotionDelayMonths ?? '-'), f(outcome.preShockAuc), f(outcome.stalePostAuc), f(outcome.promotedPostAuc), String(outcome.postRows),
      outcome.recovery === null ? '-' : `${(100 * outcome.recovery).toFixed(0)}%`, `${f(outcome.cbpeErrorPre)} / ${f(outcome.cbpeErrorPost)}`, `${f(outcome.shiftErrorPre)} / ${f(outcome.shiftErrorPost)}`, String(result.timeline.filter((m) => m.run).length), `${((Date.now() - t0) / 1000).toFixed(0)} s`]);
  } finally {
    cleanup();
  }
}
printTable(['seed', 'detection (months)', 'promotion (months)', 'AUC pre-shock', 'stale after', 'promoted after', 'applicants', 'recovery (target 80%)', 'CBPE |error| pre / post', 'shift-aware |error| pre / post', 'runs', 'time'], rows);
console.log(`\nrecovery >= 80% in ${met} of ${SEEDS.length} seeds; ${BORROWERS} borrowers, ${HISTORY} months of history, ${MONTHS} walked, shock 3 months in`);
