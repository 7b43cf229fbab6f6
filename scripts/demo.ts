/**
 * The kiln demo on the embedded default: creates a project (default ./demo-project, or the first
 * argument), simulates a lending world into it, and prints what is there.
 *   npm run demo [-- DIR] [--borrowers N] [--months M] [--seed S]
 */
import { resolve } from 'node:path';
import { formatCount } from '../src/core/progress.js';
import { simulate } from '../src/sim/index.js';
import { Project, initProject, listTables } from '../src/store/index.js';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const positional = process.argv.slice(2).filter((a, i, all) => !a.startsWith('--') && !all[i - 1]?.startsWith('--'));
const dir = resolve(positional[0] ?? 'demo-project');

const step = (s: string): void => console.log(`\n== ${s}`);

step(`kiln init ${dir}`);
const { created } = await initProject(dir, { name: 'kiln-demo' });
console.log(created.length ? `created ${created.length} paths` : 'project already there');

const project = await Project.open({ project: dir });
try {
  step('kiln sim: a seeded synthetic lending world');
  const summary = await simulate(project.offline, { borrowers: flag('borrowers', 20_000), months: flag('months', 24), seed: flag('seed', 42) }, { progress: true });
  for (const t of summary.tables) project.meta.upsertTable({ name: t.name, timestampColumn: t.timestampColumn ?? null, keyColumn: t.keyColumn ?? null, source: 'sim', description: t.description });
  console.log(`${formatCount(summary.totalEvents)} events in ${summary.seconds.toFixed(1)}s (${formatCount(summary.eventsPerSecond)} events/s); shock at month ${summary.options.shockMonth ?? 'none'}`);

  step('kiln tables');
  for (const t of await listTables(project)) {
    const range = t.timeRange ? `${t.timeRange.from?.slice(0, 10)} .. ${t.timeRange.to?.slice(0, 10)}` : '';
    console.log(`${t.name.padEnd(18)} ${formatCount(t.rows).padStart(8)} rows  ${range}`);
  }

  step('12-month default rate by funding month (matured loans; the shock month is marked *)');
  const shock = summary.options.shockMonth;
  const rows = await project.offline.all<{ month: string; loans: number; defaults: number; rate: number; m: number }>(`
    SELECT strftime(date_trunc('month', funded_at), '%Y-%m') AS month, count(*)::INT AS loans,
           sum(default_12m::INT)::INT AS defaults, avg(default_12m::INT) AS rate,
           datediff('month', TIMESTAMP '${summary.options.start}', date_trunc('month', funded_at))::INT AS m
      FROM loan_labels WHERE default_12m IS NOT NULL GROUP BY ALL ORDER BY month`);
  for (const r of rows) {
    const bar = '#'.repeat(Math.round(r.rate * 200));
    console.log(`${r.month}${r.m === shock ? '*' : ' '} ${String(r.loans).padStart(6)} loans  ${(r.rate * 100).toFixed(1).padStart(5)}%  ${bar}`);
  }
  console.log(`\nproject: ${dir}\nnext: cd ${dir} && npx kiln tables`);
} finally {
  project.close();
}
