import type { Command } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { KilnError } from '../../core/errors.js';
import { onInterrupt } from '../../core/interrupt.js';
import { withProject } from '../project-option.js';
import { formatTable } from '../table.js';
import { backfillRedis } from './backfill.js';

/** `kiln tune NAME`: a hyperparameter search whose trials run on `kiln worker`s from the queue on Redis (docs/scale.md). */
export function registerTune(program: Command): void {
  program.command('tune <model>')
    .description("search a model's GBDT parameters (random or successive halving); trials run on 'kiln worker's, each a tracked run under one parent run; the best is trained and registered")
    .requiredOption('--space <json|file>', 'the search space: {"max_depth": [3, 8], "learning_rate": {"log": [0.01, 0.3]}, "subsample": {"uniform": [0.5, 1]}, "min_child_weight": {"choice": [1, 5, 20]}} (JSON or a .json file)')
    .option('--search <kind>', "'random' or 'halving'", 'random')
    .option('--trials <n>', 'configurations drawn (halving: at the first rung)', '12')
    .option('--seed <n>', 'seed of the draws', '7')
    .option('--eta <n>', 'halving: keep 1/eta per rung, rounds times eta', '3')
    .option('--min-rounds <n>', 'halving: rounds at the first rung (default: the model\'s rounds / eta^3)')
    .option('--max-rounds <n>', "rounds of a full trial (default: the model's n_estimators)")
    .option('--as-of <time>', 'train as of this time (as kiln train --as-of)')
    .option('--no-register', 'only search: do not train and register the best')
    .option('--force', 'register the best even when it learned nothing (as kiln train --force)', false)
    .option('--queue <prefix>', 'the BullMQ key prefix (default kiln-backfill, as `kiln worker --backfill-queue`)')
    .option('--redis-url <url>', 'Redis (default $KILN_REDIS_URL, else redis://127.0.0.1:6379)')
    .option('--json', 'print the result as JSON', false)
    .action(async (name: string, flags: { space: string; search: string; trials: string; seed: string; eta: string; minRounds?: string; maxRounds?: string; asOf?: string; register: boolean; force: boolean; queue?: string; redisUrl?: string; json: boolean }, cmd: Command) => {
      if (flags.search !== 'random' && flags.search !== 'halving') throw new KilnError('USAGE', `--search ${flags.search}: expected 'random' or 'halving'`, { path: ['search'] });
      const int = (flag: string, raw: string | undefined): number | undefined => {
        if (raw === undefined) return undefined;
        if (!/^\d+$/.test(raw)) throw new KilnError('USAGE', `--${flag} ${raw}: expected a whole number`, { path: [flag] });
        return Number(raw);
      };
      let raw: unknown;
      const text = flags.space.trim().startsWith('{') ? flags.space : existsSync(flags.space) ? readFileSync(flags.space, 'utf8') : null;
      if (text === null) throw new KilnError('FILE_NOT_FOUND', `--space ${flags.space}: neither JSON nor a file that exists`, { path: ['space'] });
      try { raw = JSON.parse(text); } catch (e) { throw new KilnError('USAGE', `--space: not valid JSON (${(e as Error).message})`, { path: ['space'] }); }
      const t = await import('../../tune/index.js');
      const space = t.parseSpace(raw);
      const queue = await t.TuneQueue.connect(backfillRedis(flags));
      const interrupt = onInterrupt();
      try {
        const r = await withProject(cmd, (project) => t.tuneModel(project, name, {
          search: flags.search as 'random' | 'halving', trials: int('trials', flags.trials)!, space, queue, seed: int('seed', flags.seed)!, eta: int('eta', flags.eta)!,
          ...(flags.minRounds ? { minRounds: int('min-rounds', flags.minRounds)! } : {}), ...(flags.maxRounds ? { maxRounds: int('max-rounds', flags.maxRounds)! } : {}),
          ...(flags.asOf ? { asOf: flags.asOf } : {}), register: flags.register, force: flags.force, signal: interrupt.signal,
          log: (line) => process.stderr.write(`${line}\n`),
        }));
        if (flags.json) { process.stdout.write(`${JSON.stringify(r, null, 2)}\n`); return; }
        process.stdout.write(`search ${r.id} (parent run ${r.parentRun}): best valid AUC ${r.best.validAuc.toFixed(4)}, trial ${r.best.trial} (run ${r.best.runId}) ${JSON.stringify(r.best.params)}\n`);
        process.stdout.write(`${formatTable(['rung', 'configurations', 'rounds', 'best valid AUC', 'failed'], r.rungs.map((x) => [x.rung, x.configs, x.rounds, x.bestValidAuc === null ? '-' : x.bestValidAuc.toFixed(4), x.failed]))}\n`);
        if (r.registered) process.stdout.write(`registered ${name} version ${r.registered.version} (run ${r.registered.runId}), test AUC ${r.registered.evaluation.metrics.auc.toFixed(4)}\n`);
      } finally {
        interrupt.dispose();
        await queue.close();
      }
    });
}
