/**
 * The kiln demo on the embedded default, the whole lifecycle: creates a project (default ./demo-project,
 * or the first argument), simulates a lending world, builds features point in time, trains and evaluates
 * the credit model, serves it (three applicants scored with reasons, a decision record), then, in
 * `lifecycle/` beside it, walks a world through a shock month by month with monitoring and the
 * retrain-evaluate-promote loop, and prints where the reports are.
 *   npm run demo [-- DIR] [--borrowers N] [--months M] [--seed S] [--life-borrowers N] [--life-months M]
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatCount } from '../src/core/progress.js';
import { buildTrainingSet } from '../src/features/training/index.js';
import { materialize } from '../src/online/index.js';
import { trainModel } from '../src/pipelines/index.js';
import { simulate } from '../src/sim/index.js';
import { Project, initProject, listTables } from '../src/store/index.js';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const positional = process.argv.slice(2).filter((a, i, all) => !a.startsWith('--') && !all[i - 1]?.startsWith('--'));
const dir = resolve(positional[0] ?? 'demo-project');

const step = (s: string): void => console.log(`\n== ${s}`);
/** The merchant and the version before the cut-over, for the server's shadow look-up. */
const cutOver = { probe: '', previous: 0 };

step(`kiln init ${dir}`);
// The demo's config declares its features in TypeScript: examples/demo/features.ts, copied beside it.
if (!existsSync(join(dir, 'kiln.config.ts'))) {
  const { mkdirSync } = await import('node:fs');
  mkdirSync(dir, { recursive: true });
  copyFileSync(fileURLToPath(new URL('../examples/demo/features.ts', import.meta.url)), join(dir, 'features.ts'));
  writeFileSync(join(dir, 'kiln.config.ts'), `import { defineConfig, lastK } from 'kiln';
import { DEMO_FEATURES, DEMO_REASONS, DEMO_REASON_GROUPS, transactions } from './features.js';

/** The merchants of each borrower's last 50 transactions (180 days): what the merchant embedding is pooled over. */
const recentMerchants = lastK(transactions, { name: 'recent_merchants', k: 50, fields: ['merchant_id'], window: '180d' });

export default defineConfig({
  name: 'kiln-demo',
  description: 'The kiln demo: a simulated lending world and the credit features declared over it',
  features: [...DEMO_FEATURES, recentMerchants],
  embeddings: {
    merchants: {
      description: 'Merchants that borrowers visit in the same weeks are near each other (item2vec over each borrower\\'s transactions)',
      entity: 'merchant',
      source: { kind: 'sequences', table: 'transactions', by: 'borrower_id', item: 'merchant_id', time: 'ts' },
      trainer: 'item2vec', dim: 16, params: { epochs: 1, window: 3 },
      attributes: { table: 'merchants', key: 'merchant_id', columns: ['category', 'risk_tier'] },
    },
  },
  models: {
    credit: {
      description: 'Probability of 90+ days past due within 12 months of funding',
      intendedUse: 'Underwriting personal loans in the simulated lending world. A demonstration, not for real credit decisions.',
      spine: { table: 'loan_labels', timestamp: 'funded_at', key: 'borrower_id' },
      label: { column: 'default_12m', availableAt: 'label_available_at' },
      features: 'credit_v1',
      split: { validFrom: '2024-07-01', testFrom: '2024-10-01', testTo: '2025-01-01' },
      params: { max_depth: 4, learning_rate: 0.05, n_estimators: 600, early_stopping_rounds: 50 },
      monotone: { late_payments_365d: 1, max_days_past_due_365d: 1, gambling_share_90d: 1, income: -1 },
      // A text for every reason the model can give (training refuses textless reasons: REASONS_MISSING).
      reasons: DEMO_REASONS,
      reasonGroups: DEMO_REASON_GROUPS,
      fairness: { feature: 'protected_group' },
      slices: ['region'],
    },
    credit_emb: {
      description: 'The credit model plus where the borrower shops: the mean merchant embedding of the last 50 transactions',
      spine: { table: 'loan_labels', timestamp: 'funded_at', key: 'borrower_id' },
      label: { column: 'default_12m', availableAt: 'label_available_at' },
      features: 'credit_v1',
      embeddings: [{ space: 'merchants', pool: 'recent_merchants', reason: 'Where the borrower shops' }],
      split: { validFrom: '2024-07-01', testFrom: '2024-10-01', testTo: '2025-01-01' },
      params: { max_depth: 4, learning_rate: 0.05, n_estimators: 600, early_stopping_rounds: 50 },
      reasons: DEMO_REASONS,
      reasonGroups: DEMO_REASON_GROUPS,
    },
    credit_seq: {
      description: 'The same outcome from the last 20 transactions of each borrower: a GRU encoder, beside the GBDT',
      algorithm: 'sequence',
      spine: { table: 'loan_labels', timestamp: 'funded_at', key: 'borrower_id' },
      label: { column: 'default_12m', availableAt: 'label_available_at' },
      features: 'credit_v1',
      split: { validFrom: '2024-07-01', testFrom: '2024-10-01', testTo: '2025-01-01' },
      sequence: {
        input: 'recent_txns', encoder: 'gru', size: 32, epochs: 15,
        tasks: [
          { name: 'dpd30', column: 'dpd30_3m', table: 'early_labels', on: 'loan_id', availableAt: 'dpd30_3m_available_at' },
          { name: 'next_category', nextEvent: 'category' },
        ],
      },
    },
  },
});
`);
}
const { created } = await initProject(dir, { name: 'kiln-demo' });
console.log(created.length ? `created ${created.length} paths` : 'project already there');

const project = await Project.open({ project: dir });
let closed = false;
try {
  step('kiln sim: a seeded synthetic lending world (20% of borrowers with an order episode: surge then cash advances is the risky order)');
  const summary = await simulate(project.offline, { borrowers: flag('borrowers', 40_000), months: flag('months', 24), seed: flag('seed', 42), orderEpisodes: flag('order-episodes', 0.2) }, { progress: true });
  for (const t of summary.tables) project.meta.upsertTable({ name: t.name, timestampColumn: t.timestampColumn ?? null, keyColumn: t.keyColumn ?? null, source: 'sim', description: t.description });
  console.log(`${formatCount(summary.totalEvents)} events in ${summary.seconds.toFixed(1)}s (${formatCount(summary.eventsPerSecond)} events/s); shock at month ${summary.options.shockMonth ?? 'none'}`);

  step('kiln tables');
  for (const t of await listTables(project)) {
    const range = t.timeRange ? `${t.timeRange.from?.slice(0, 10)} .. ${t.timeRange.to?.slice(0, 10)}` : '';
    console.log(`${t.name.padEnd(18)} ${formatCount(t.rows).padStart(8)} rows  ${range}`);
  }

  step('defaults by month: new 90+ dpd defaults / loans open in their 12-month window (* = shock month)');
  const { start, end } = summary.stats;
  const shock = summary.options.shockMonth;
  const rows = await project.offline.all<{ month: string; mi: number; open: number; defaults: number; cohort: number | null }>(`
    WITH months AS (SELECT unnest(generate_series(TIMESTAMP '${start}', TIMESTAMP '${end}' - INTERVAL 1 MONTH, INTERVAL 1 MONTH)) AS m)
    SELECT strftime(m, '%Y-%m') AS month,
           datediff('month', TIMESTAMP '${start}', m)::INT AS mi,
           (SELECT count(*) FROM loan_labels l WHERE l.funded_at < m AND l.funded_at + INTERVAL 12 MONTH > m
               AND (l.defaulted_at IS NULL OR l.defaulted_at >= m))::INT AS open,
           (SELECT count(*) FROM loan_labels l WHERE l.defaulted_at >= m AND l.defaulted_at < m + INTERVAL 1 MONTH
               AND l.defaulted_at < l.funded_at + INTERVAL 12 MONTH)::INT AS defaults,
           (SELECT avg(default_12m::INT) FROM loan_labels l WHERE date_trunc('month', l.funded_at) = m
               AND l.funded_at + INTERVAL 12 MONTH <= TIMESTAMP '${end}') AS cohort
      FROM months ORDER BY m`);
  const rates = rows.map((r) => (r.open ? r.defaults / r.open : 0));
  const scale = 40 / Math.max(1e-9, ...rates);
  console.log(`month     open loans  defaults  monthly rate${' '.repeat(36)}12-month default rate of loans funded that month`);
  rows.forEach((r, i) => {
    const rate = rates[i]!;
    const cohort = r.cohort === null ? '  (not yet matured)' : `${(r.cohort * 100).toFixed(1).padStart(5)}%`;
    console.log(`${r.month}${r.mi === shock ? '*' : ' '}  ${String(r.open).padStart(9)}  ${String(r.defaults).padStart(8)}  ${(rate * 100).toFixed(2).padStart(5)}% ${'#'.repeat(Math.round(rate * scale)).padEnd(40)}  ${cohort}`);
  });

  step('kiln features training-set: credit_v1, point in time at each loan\'s funding');
  const out = join(dir, 'credit_v1.parquet');
  const ts = await buildTrainingSet(project, { spine: { table: 'loan_labels', timestamp: 'funded_at' }, features: 'credit_v1', out });
  console.log(`${formatCount(ts.rows)} rows x ${ts.columns.length} columns (${ts.features.length} features) in ${ts.seconds.toFixed(2)}s -> ${out}`);
  const preview = await project.offline.all<Record<string, number | string | null>>(`
    SELECT default_12m, count(*)::INT AS loans, round(avg(spend_90d), 0) AS spend_90d, round(avg(gambling_share_90d), 4) AS gambling_share_90d
      FROM read_parquet('${out}') WHERE default_12m IS NOT NULL GROUP BY ALL ORDER BY ALL`).catch(() => []);
  for (const r of preview) console.log(`  default_12m=${String(r.default_12m).padEnd(5)} loans=${String(r.loans).padStart(6)}  mean spend_90d=${r.spend_90d}  mean gambling_share_90d=${r.gambling_share_90d}`);

  step('kiln train credit: out-of-time evaluation, a tracked run, a registered version');
  const trained = await trainModel(project, 'credit');
  const m = trained.evaluation.metrics;
  console.log(`credit v${trained.version} (run ${trained.runId}): test AUC ${m.auc.toFixed(4)}  Gini ${m.gini.toFixed(4)}  KS ${m.ks.toFixed(4)}  log loss ${m.logLoss.toFixed(4)}  ECE ${m.ece.toFixed(4)} -> ${m.eceCalibrated?.toFixed(4) ?? '-'} calibrated`);
  const f = trained.evaluation.fairness;
  if (f) console.log(`fairness on ${f.feature} at PD cutoff ${trained.evaluation.cutoff}: ${f.groups.map((g) => `group ${g.group} approval ${((g.approvalRate ?? 0) * 100).toFixed(1)}% AIR ${g.adverseImpactRatio?.toFixed(3) ?? '-'}`).join(';  ')}`);
  const registry = project.registry;
  if (!registry.listModels().find((x) => x.name === 'credit')?.aliases.champion) {
    registry.setAlias('credit', 'champion', trained.version, { reason: 'first model of the demo', actor: 'kiln-demo' });
    console.log(`credit@champion -> version ${trained.version}`);
  }
  step('kiln train credit_seq: a GRU over each borrower\'s last 20 transactions, reported beside the GBDT');
  const seq = await trainModel(project, 'credit_seq', { quiet: true });
  console.log(`credit_seq v${seq.version} (run ${seq.runId}): test AUC ${seq.evaluation.metrics.auc.toFixed(4)}; its report compares, out of time:`);
  const comparison = JSON.parse(readFileSync(join(project.paths.artifactsDir, seq.runId, 'comparison.json'), 'utf8')) as { model: string; testAuc: number | null }[];
  for (const c of comparison) console.log(`  ${c.model.padEnd(32)} test AUC ${c.testAuc === null ? '-' : c.testAuc.toFixed(4)}`);
  await embeddingsDemo(project);
  const report = join(dir, 'credit-report.html');
  copyFileSync(join(project.paths.artifactsDir, trained.runId, 'report.html'), report);
  console.log(`report: ${report} (open it in a browser)`);

  step(`kiln online materialize: every borrower's features as of the world's end (${end})`);
  const m2 = await materialize(project, { asOf: end, quiet: true });
  console.log(`${formatCount(m2.events)} events of ${m2.sources.length} sources in ${m2.seconds.toFixed(1)}s`);
  const applicants = (await project.offline.all<{ borrower_id: number }>(`SELECT borrower_id FROM applications ORDER BY applied_at DESC, borrower_id LIMIT 3`)).map((r) => Number(r.borrower_id));
  project.close();
  closed = true;

  step('kiln serve --models credit@champion: three applicants scored by id, with reason codes');
  await serveDemo(dir, applicants, end);
  const reports = await lifecycle(dir);
  console.log(`\nproject: ${dir}\nreports:\n  model:      ${report}\n${reports.map((r) => `  ${r}`).join('\n')}\nnext: cd ${dir} && npx kiln tables && npx kiln decisions list\n      cd ${join(dir, 'lifecycle')} && npx kiln loop backtest credit --from ${backtestFrom()} --to ${backtestFrom(12)} --policy proxy`);
} finally {
  if (!closed) project.close();
}

/**
 * The embeddings platform on the demo: merchant vectors versioned by quarter (each trained on the
 * transactions before its date), a credit model that reads them point in time, then an encoder change
 * done safely: a new version built beside the old, looked up in shadow, compared (neighbour overlap and
 * the consumer's AUC on either), cut over by moving the alias; the consumer keeps the version it was
 * trained with until it is retrained.
 */
async function embeddingsDemo(project: Project): Promise<void> {
  const { trainSpace, EmbeddingLookup, compareVersions } = await import('../src/embeddings/index.js');
  const { loadLiveVersion } = await import('../src/serve/index.js');
  const reg = project.embeddings;
  step('kiln embeddings train merchants --every quarter --from 2024-04-01 --to 2024-10-01 --alias current: one version per cut, each from the transactions before it');
  let last = 0;
  for (const until of ['2024-04-01', '2024-07-01', '2024-10-01']) {
    const { version: v, seconds } = await trainSpace(project, 'merchants', { until, quiet: true, reason: 'demo backfill' });
    last = v.version;
    console.log(`merchants v${v.version}: ${v.size} merchants x ${v.dim}, data to ${v.dataTo?.slice(0, 10)}, ${formatCount(Number(v.metrics.pairs))} pairs at ${formatCount(Number(v.metrics.pairs_per_second))}/s, index recall@10 ${Number(v.metrics.index_recall_at_10).toFixed(3)}${v.lineage.alignedTo ? `, aligned to v${v.lineage.alignedTo.version}` : ''} (${seconds.toFixed(1)}s)`);
  }
  reg.setAlias('merchants', 'current', last, { reason: 'demo: first cut-over', actor: 'kiln-demo' });
  const lookup = new EmbeddingLookup(reg);
  const probe = lookup.files(reg.resolve('merchants@current')).ids[0]!;
  const show = (ref: string): string => lookup.neighbors(ref, { id: probe, k: 5 }).neighbors.map((n) => n.id).join(' ');

  step('kiln train credit_emb: credit_v1 plus the merchant embedding pooled over each borrower\'s last 50 transactions, point in time');
  const emb = await trainModel(project, 'credit_emb', { quiet: true });
  const cmp = JSON.parse(readFileSync(join(project.paths.artifactsDir, emb.runId, 'comparison.json'), 'utf8')) as { model: string; testAuc: number | null }[];
  console.log(`credit_emb v${emb.version} (run ${emb.runId}), served with merchants@${last}; its report compares, out of time:`);
  for (const c of cmp) console.log(`  ${c.model.padEnd(26)} test AUC ${c.testAuc === null ? '-' : c.testAuc.toFixed(4)}`);

  step('a new encoder version, built beside the old (every merchant re-embedded, its own index)');
  const { version: next } = await trainSpace(project, 'merchants', { quiet: true, reason: 'demo: retrained on all transactions' });
  console.log(`merchants v${next.version}: data to ${next.dataTo?.slice(0, 10)}, aligned to v${next.lineage.alignedTo?.version} (residual ${next.lineage.alignedTo?.residual.toFixed(3)})`);
  console.log(`shadow look-up, neighbours of merchant ${probe}:\n  current (v${last}):   ${show('merchants@current')}\n  candidate (v${next.version}): ${show(`merchants@${next.version}`)}`);
  step(`kiln embeddings compare merchants@current merchants@${next.version}`);
  const c = await compareVersions(project, 'merchants@current', `merchants@${next.version}`, { k: 10 });
  console.log(`neighbour overlap@10 ${c.overlap.toFixed(3)} over ${c.sampled} merchants; ${c.onlyInTo} new merchants, ${c.onlyInFrom} gone`);
  for (const k of c.consumers) console.log(`  consumer ${k.model} (trained on v${k.trainedOn}): test AUC ${k.aucFrom?.toFixed(4) ?? '-'} on v${c.from}, ${k.aucTo?.toFixed(4) ?? '-'} on v${c.to}`);
  step(`kiln embeddings alias merchants@${next.version} current --reason ...: the cut-over`);
  const moved = reg.setAlias('merchants', 'current', next.version, { reason: 'demo: neighbour overlap and consumer AUC checked', actor: 'kiln-demo' });
  Object.assign(cutOver, { probe, previous: last });
  const live = loadLiveVersion(project, 'credit_emb');
  const reads = live.kind === 'gbdt' ? live.embeddings?.entries.map((e) => `${e.space}@${e.version}`).join(', ') : '-';
  console.log(`merchants@current: v${moved.previousVersion} -> v${next.version}; credit_emb v${emb.version} is still served on ${reads}, the version it was trained with, until it is retrained`);
}

/** A month inside the lifecycle world's history for the backtest hint (the world ends last month). */
function backtestFrom(plus = 0): string {
  const now = new Date();
  const total = flag('life-months', 40) + flag('life-history', 20);
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - total + flag('life-history', 20) + 6 + plus, 1)).toISOString().slice(0, 10);
}

/**
 * The lifecycle through a shock, on a project of its own beside the demo's (`lifecycle/`): `kiln loop
 * simulate` walks a simulated world month by month (the month's funded applications decided by the
 * champion of the month into the decision log, monitoring, triggers, the retrain loop training on the
 * faster-maturing proxy label and promoting through the gates), then `kiln monitor report`.
 */
async function lifecycle(base: string): Promise<string[]> {
  const life = join(base, 'lifecycle');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(life, { recursive: true });
  copyFileSync(join(base, 'features.ts'), join(life, 'features.ts'));
  writeFileSync(join(life, 'kiln.config.ts'), `import { defineConfig } from 'kiln';
import { DEMO_FEATURES, DEMO_REASONS, DEMO_REASON_GROUPS } from './features.js';

export default defineConfig({
  name: 'kiln-demo-lifecycle',
  features: [...DEMO_FEATURES],
  models: {
    credit: {
      spine: { table: 'loan_labels', timestamp: 'funded_at', key: 'borrower_id' },
      label: { column: 'default_12m', availableAt: 'label_available_at' },
      features: 'credit_v1',
      split: { validFrom: '2024-07-01', testFrom: '2024-10-01', testTo: '2025-01-01' },
      params: { max_depth: 3, learning_rate: 0.1, n_estimators: 120, early_stopping_rounds: 20 },
      minPositives: 5,
      reasons: DEMO_REASONS, reasonGroups: DEMO_REASON_GROUPS,
      fairness: { feature: 'protected_group' }, slices: ['region'],
    },
  },
  monitor: { window: 'month', outcomes: { credit: { badAt: 'defaulted_at' } } },
  loop: {
    credit: {
      // The 12-month default matures a year after funding: a challenger is judged on outcomes after the
      // shock only a year and more after it. A faster proxy is a policy to backtest:
      //   kiln loop backtest credit --from ... --to ... --policy proxy
      windows: { validMonths: 3, testMonths: 3, maturityMonths: 12, trainMonths: 12 },
      policies: {
        proxy: {
          label: { table: 'early_labels', key: 'borrower_id', timestamp: 'funded_at', column: 'dpd60_3m', availableAt: 'dpd60_3m_available_at' },
          windows: { validMonths: 2, testMonths: 2, maturityMonths: 5, trainMonths: 9 },
        },
      },
      triggers: { schedule: '0 0 1 */3 *', onDrift: { severity: 'significant' }, cooldown: '60d' },
      gates: { metrics: [{ metric: 'auc', maxDrop: 0.01 }, { metric: 'air', min: 0.8, perSlice: false }] },
    },
  },
});
`);
  await initProject(life, { name: 'kiln-demo-lifecycle' });
  const bin = fileURLToPath(new URL('../bin/kiln.js', import.meta.url));
  const run = (args: string[]): Promise<number> => new Promise((ok, fail) => {
    const child = spawn(process.execPath, [bin, ...args, '--project', life], { stdio: 'inherit', env: { ...process.env } });
    child.on('error', fail);
    child.on('exit', (code) => ok(code ?? 1));
  });
  const simReport = join(life, 'reports', 'loop-simulation.html');
  const monReport = join(life, 'reports', 'monitor.html');
  step(`kiln loop simulate: ${flag('life-months', 40)} months through a shock, no human step (project ${life})`);
  const code = await run(['loop', 'simulate', 'credit', '--months', String(flag('life-months', 40)), '--history', String(flag('life-history', 20)), '--borrowers', String(flag('life-borrowers', 20_000)), '--seed', String(flag('seed', 42)), '-o', simReport]);
  if (code !== 0) throw new Error(`kiln loop simulate exited with ${code}`);
  step('kiln loop history: what the loop decided, and why');
  await run(['loop', 'history', 'credit', '--limit', '8']);
  step('kiln monitor report: drift by month, performance by cohort as labels matured, alerts');
  if (await run(['monitor', 'report', 'credit', '--window', 'month', '-o', monReport]) !== 0) throw new Error('kiln monitor report failed');
  return [`lifecycle:  ${simReport}`, `monitoring: ${monReport}`];
}

/** Starts `kiln serve` on a free port, scores the applicants, shows one decision record, and stops it (SIGTERM). */
async function serveDemo(projectDir: string, ids: number[], asOf: string): Promise<void> {
  const port = await new Promise<number>((ok) => { const s = createNetServer().listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => ok(p)); }); });
  const bin = fileURLToPath(new URL('../bin/kiln.js', import.meta.url));
  const server = spawn(process.execPath, [bin, 'serve', '--project', projectDir, '--port', String(port), '--models', 'credit@champion,credit_emb'], { stdio: ['ignore', 'inherit', 'inherit'] });
  const exited = new Promise<number | null>((ok) => server.once('exit', (code) => ok(code)));
  const url = `http://127.0.0.1:${port}`;
  try {
    for (let t = Date.now(); ; await new Promise((r) => setTimeout(r, 100))) {
      if (server.exitCode !== null) throw new Error(`kiln serve exited with ${server.exitCode}`);
      if (await fetch(`${url}/readyz`).then((r) => r.ok, () => false)) break;
      if (Date.now() - t > 60_000) throw new Error('kiln serve was not ready within 60 s');
    }
    const res = await fetch(`${url}/v1/models/credit/predict`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ rows: ids.map((entityId) => ({ entityId, asOf })), reasons: true }),
    });
    const body = (await res.json()) as { results: { decisionId: string; version: number; entityId: string; score: { probability: number; points: number; declined: boolean }; reasons: { text: string }[] | null }[] };
    if (!res.ok) throw new Error(`predict answered ${res.status}: ${JSON.stringify(body)}`);
    console.log(`POST ${url}/v1/models/credit/predict  (${ids.length} rows, reasons: true)`);
    for (const r of body.results) {
      console.log(`  borrower ${r.entityId.padStart(6)}: credit v${r.version}  PD ${(r.score.probability * 100).toFixed(1).padStart(5)}%  ${r.score.points.toFixed(0)} points  ${r.score.declined ? 'DECLINE' : 'approve'}`);
      for (const reason of (r.reasons ?? []).slice(0, 3)) console.log(`      - ${reason.text}`);
    }
    const embRes = await fetch(`${url}/v1/models/credit_emb/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ rows: ids.map((entityId) => ({ entityId, asOf })) }) });
    const embBody = (await embRes.json()) as { results: { version: number; entityId: string; score: { probability: number } }[] };
    if (!embRes.ok) throw new Error(`predict credit_emb answered ${embRes.status}: ${JSON.stringify(embBody)}`);
    console.log(`POST ${url}/v1/models/credit_emb/predict  (the same applicants; the merchant embedding from their last 50 transactions in the online store)`);
    for (const r of embBody.results) console.log(`  borrower ${r.entityId.padStart(6)}: credit_emb v${r.version}  PD ${(r.score.probability * 100).toFixed(1).padStart(5)}%`);
    const nbRes = await fetch(`${url}/v1/embeddings/merchants/neighbors`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id: cutOver.probe, k: 5, shadow: cutOver.previous }) }).catch(() => null);
    if (nbRes?.ok) {
      const nb = (await nbRes.json()) as { version: number; neighbors: { id: string; score: number }[]; shadow?: { version: number; neighbors: { id: string }[]; overlap: number | null } };
      console.log(`POST ${url}/v1/embeddings/merchants/neighbors  (merchant ${cutOver.probe}, k 5, served merchants@current = v${nb.version}, shadow v${nb.shadow?.version ?? '-'})`);
      console.log(`  v${nb.version}: ${nb.neighbors.map((n) => `${n.id} (${n.score.toFixed(2)})`).join(' ')}\n  shadow: ${nb.shadow?.neighbors.map((n) => n.id).join(' ') ?? '-'}  overlap ${nb.shadow?.overlap?.toFixed(2) ?? '-'}`);
    }
    const id = body.results[0]!.decisionId;
    const rec = (await (await fetch(`${url}/v1/decisions/${id}`)).json()) as Record<string, unknown>;
    const features = rec.features as Record<string, unknown>;
    console.log(`GET ${url}/v1/decisions/${id}  (the durable decision record; also: kiln decisions show ${id})`);
    console.log(`  time ${String(rec.time)}, model ${String(rec.model)} v${String(rec.version)}, decided by ${String(rec.decidedBy)}, latency ${Number(rec.latencyMs).toFixed(2)} ms`);
    console.log(`  ${Object.keys(features).length} features as used, e.g. ${Object.entries(features).slice(0, 4).map(([k, v]) => `${k}=${typeof v === 'number' ? Number(v.toFixed(2)) : String(v)}`).join(', ')}`);
  } finally {
    server.kill('SIGTERM');
    const code = await exited;
    console.log(`kiln serve stopped (SIGTERM: drained, decision log flushed; exit code ${code})`);
  }
}
