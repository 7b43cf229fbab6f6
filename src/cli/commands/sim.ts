import type { Command } from 'commander';
import { KilnError } from '../../core/errors.js';
import { onInterrupt } from '../../core/interrupt.js';
import { formatCount } from '../../core/progress.js';
import type { SimOptionsInput } from '../../sim/index.js';
import { formatTable } from '../table.js';
import { projectOption } from '../project-option.js';

function int(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n)) throw new KilnError('USAGE', `--${name} ${v}: expected an integer`);
    return n;
  };
}

export function registerSim(program: Command): void {
  program
    .command('sim')
    .description('write a seeded synthetic lending world (borrowers, transactions, loans, repayments, labels) into the offline store')
    .option('--borrowers <n>', 'number of borrowers', int('borrowers'), 10_000)
    .option('--months <m>', 'months simulated', int('months'), 24)
    .option('--seed <s>', 'random seed: the same arguments give byte-identical tables', int('seed'), 42)
    .option('--shock-month <k>', "0-based month of the regime shift, or 'none' (default: the middle month when months >= 12)")
    .option('--start <date>', 'first day of the horizon, YYYY-MM-01', '2024-01-01')
    .option('--txns-per-month <x>', 'mean card/bank transactions per borrower-month', (v: string) => Number(v), 4)
    .option('--order-episodes <p>', 'share of borrowers with an order episode (surge then cash advances, or the reverse; see docs/simulator.md)', (v: string) => Number(v), 0)
    .option('--quiet', 'no progress output', false)
    .action(async (opts: { borrowers: number; months: number; seed: number; shockMonth?: string; start: string; txnsPerMonth: number; orderEpisodes: number; quiet: boolean }, cmd: Command) => {
      const input: SimOptionsInput = { borrowers: opts.borrowers, months: opts.months, seed: opts.seed, start: opts.start, txnsPerMonth: opts.txnsPerMonth, orderEpisodes: opts.orderEpisodes };
      if (opts.shockMonth !== undefined) input.shockMonth = opts.shockMonth === 'none' ? null : int('shock-month')(opts.shockMonth);
      const [{ simulate }, { Project }] = await Promise.all([import('../../sim/index.js'), import('../../store/index.js')]);
      const project = await Project.open(projectOption(cmd));
      const interrupt = onInterrupt();
      try {
        const summary = await simulate(project.offline, input, { progress: !opts.quiet, quiet: opts.quiet, signal: interrupt.signal });
        for (const t of summary.tables) {
          project.meta.upsertTable({ name: t.name, timestampColumn: t.timestampColumn ?? null, keyColumn: t.keyColumn ?? null, source: 'sim', description: t.description });
        }
        const o = summary.options;
        process.stdout.write(`simulated ${formatCount(o.borrowers)} borrowers over ${o.months} months from ${o.start} (seed ${o.seed}, shock ${o.shockMonth === null ? 'none' : `at month ${o.shockMonth}`})\n`);
        process.stdout.write(`${formatTable(['table', 'rows', 'time column', 'key'], summary.tables.map((t) => [t.name, formatCount(t.rows), t.timestampColumn ?? '-', t.keyColumn ?? '-']))}\n`);
        const s = summary.stats;
        process.stdout.write(`${formatCount(summary.totalEvents)} events in ${summary.seconds.toFixed(1)}s (${formatCount(summary.eventsPerSecond)} events/s); approval rate ${(s.approvalRate * 100).toFixed(1)}%, 12-month default rate ${(s.defaultRate12m * 100).toFixed(1)}% of ${formatCount(s.maturedLoans)} matured loans\n`);
      } finally {
        interrupt.dispose();
        project.close();
      }
    });
}
