import type { Command } from 'commander';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { KilnError } from '../../core/errors.js';
import { onInterrupt } from '../../core/interrupt.js';
import { withProject } from '../project-option.js';

interface SimFlags { months: string; history: string; borrowers: string; seed: string; shockMonth?: string; start?: string; out: string; json: boolean; quiet: boolean; compare?: string }

const int = (flag: string, raw: string, min: number): number => {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new KilnError('USAGE', `--${flag} ${raw}: expected a whole number >= ${min}`, { path: [flag] });
  return n;
};

/** `kiln loop simulate`: the whole lifecycle on the simulated world, a month at a time, and its report. */
export function registerLoopSimulate(loop: Command): void {
  loop
    .command('simulate [model]')
    .description('advance a simulated world month by month: score the applications, monitor, let the loop retrain and promote through the shock; writes a report')
    .option('--months <n>', 'months the loop walks', '24')
    .option('--history <n>', 'months of history before the loop starts (the first champion is trained on them)', '18')
    .option('--borrowers <n>', 'borrowers in the simulated world', '8000')
    .option('--seed <n>', 'seed of the world', '42')
    .option('--shock-month <k>', "month of the shock counted from the world's start (default: 3 months after the loop starts), or 'none'")
    .option('--start <date>', 'first month of the world (YYYY-MM-01; default: so that the world ends last month)')
    .option('-o, --out <file>', 'the report', 'reports/loop-simulation.html')
    .option('--compare <policy>', 'also walk the same world with a named policy of loop.<model>.policies (another label, triggers or gates) and compare')
    .option('--json', 'print the timeline and outcome as JSON', false)
    .option('--quiet', 'no progress output', false)
    .action(async (name: string | undefined, f: SimFlags, cmd: Command) => withProject(cmd, async (project) => {
      const l = await import('../../loop/index.js');
      const models = Object.keys(project.config.models);
      const model = name ?? (models.length === 1 ? models[0]! : undefined);
      if (!model) throw new KilnError('USAGE', `say which model (models: ${models.join(', ') || 'none'})`, { path: ['model'] });
      const months = int('months', f.months, 1);
      const history = int('history', f.history, 1);
      const total = history + months;
      const now = new Date();
      const start = f.start ?? new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - total, 1)).toISOString().slice(0, 10);
      const shockMonth = f.shockMonth === undefined ? history + Math.min(3, months - 1) : f.shockMonth === 'none' ? null : int('shock-month', f.shockMonth, 0);
      const interrupt = onInterrupt();
      try {
        const result = await l.simulateLoop(project, {
          model, fromMonth: history, months, quiet: f.quiet, signal: interrupt.signal, ...(f.compare ? { compare: f.compare } : {}),
          sim: { borrowers: int('borrowers', f.borrowers, 100), months: total, seed: int('seed', f.seed, 0), start, shockMonth },
        });
        const horizonEnd = Date.UTC(Number(start.slice(0, 4)), Number(start.slice(5, 7)) - 1 + total, 1);
        const outcome = await l.loopSimOutcome(project, result, horizonEnd);
        const html = await l.renderLoopSimReport(result, outcome);
        const out = resolve(f.out);
        mkdirSync(dirname(out), { recursive: true });
        writeFileSync(`${out}.tmp`, html);
        renameSync(`${out}.tmp`, out);
        if (f.json) { process.stdout.write(`${JSON.stringify({ result, outcome, report: out }, null, 2)}\n`); return; }
        const pct = (x: number | null): string => (x === null ? '-' : `${(100 * x).toFixed(0)}%`);
        const runs = result.timeline.filter((m) => m.run);
        process.stdout.write(`${[
          `${model}: ${result.timeline.length} months from ${result.timeline[0]?.month}, shock ${result.shock ?? 'none'}; ${runs.length} loop runs (${runs.filter((m) => m.run!.outcome === 'promoted').length} promoted); ${result.seconds.toFixed(0)} s`,
          `detection delay ${outcome.detectionDelayMonths ?? '-'} months (first score-drift alert ${outcome.firstAlert ?? '-'}), promotion delay ${outcome.promotionDelayMonths ?? '-'} months (${outcome.firstPromotion ?? '-'})`,
          `AUC pre-shock ${outcome.preShockAuc?.toFixed(3) ?? '-'}; after the promotion: stale champion ${outcome.stalePostAuc?.toFixed(3) ?? '-'}, promoted ${outcome.promotedPostAuc?.toFixed(3) ?? '-'} -> recovery ${pct(outcome.recovery)} (target ${pct(l.RECOVERY_TARGET)}) on ${outcome.postRows} matured applicants`,
          ...(result.comparison ? [`policy '${result.comparison.policy}' (label ${result.comparison.label}): promotion delay ${result.comparison.outcome.promotionDelayMonths ?? '-'} months, promoted after ${result.comparison.outcome.promotedPostAuc?.toFixed(3) ?? '-'} vs stale ${result.comparison.outcome.stalePostAuc?.toFixed(3) ?? '-'} -> recovery ${pct(result.comparison.outcome.recovery)}`] : []),
          `label-free AUC estimates, mean |error| before / after the shock: CBPE ${outcome.cbpeErrorPre?.toFixed(3) ?? '-'} / ${outcome.cbpeErrorPost?.toFixed(3) ?? '-'}, shift-aware ${outcome.shiftErrorPre?.toFixed(3) ?? '-'} / ${outcome.shiftErrorPost?.toFixed(3) ?? '-'}`,
          `report: ${out}`,
        ].join('\n')}\n`);
      } finally {
        interrupt.dispose();
      }
    }));
}

/** `kiln loop backtest`: a policy replayed over the stored history, against never retraining and a fixed schedule. */
export function registerLoopBacktest(loop: Command): void {
  loop
    .command('backtest [model]')
    .description('replay a retraining policy over the stored history in a sandbox copy: what it would have promoted and when, and the AUC that would have followed, against never retraining and a quarterly schedule')
    .requiredOption('--from <date>', 'first month (ISO date)')
    .requiredOption('--to <date>', 'end month, exclusive (ISO date)')
    .option('--policy <name>', 'a named policy of loop.<model>.policies (default: the loop settings)')
    .option('-o, --out <file>', 'the report', 'reports/loop-backtest.html')
    .option('--json', 'print the result as JSON', false)
    .option('--quiet', 'no progress output', false)
    .action(async (name: string | undefined, f: { from: string; to: string; policy?: string; out: string; json: boolean; quiet: boolean }, cmd: Command) => withProject(cmd, async (project) => {
      const l = await import('../../loop/index.js');
      const models = Object.keys(project.config.models);
      const model = name ?? (models.length === 1 ? models[0]! : undefined);
      if (!model || !models.includes(model)) throw new KilnError(model ? 'MODEL_NOT_FOUND' : 'USAGE', model ? `no model '${model}' in the config (models: ${models.join(', ')})` : `say which model (models: ${models.join(', ') || 'none'})`, { path: ['model'] });
      const interrupt = onInterrupt();
      try {
        const r = await l.backtestLoop(project, { model, from: f.from, to: f.to, quiet: f.quiet, signal: interrupt.signal, ...(f.policy ? { policy: f.policy } : {}) });
        const out = resolve(f.out);
        mkdirSync(dirname(out), { recursive: true });
        writeFileSync(`${out}.tmp`, await l.renderBacktestReport(r));
        renameSync(`${out}.tmp`, out);
        if (f.json) { process.stdout.write(`${JSON.stringify({ ...r, report: out }, null, 2)}\n`); return; }
        const a = (x: number | null): string => (x === null ? '-' : x.toFixed(3));
        process.stdout.write(`${[
          `${model}: ${r.from} .. ${r.to}, first champion v${r.firstChampion} (as of ${r.from}); ${r.seconds.toFixed(0)} s`,
          ...r.policies.map((p) => `  ${p.name.padEnd(10)} runs ${String(p.runs).padStart(2)}  promoted ${p.promotions.join(', ') || '-'}  training ${p.trainingSeconds.toFixed(0)} s  pooled AUC ${a(p.pooledAuc)} on ${p.labelled} labelled`),
          `report: ${out}`,
        ].join('\n')}\n`);
      } finally {
        interrupt.dispose();
      }
    }));
}
