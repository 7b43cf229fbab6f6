import type { Command } from 'commander';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { KilnError } from '../../core/errors.js';
import { projectOption } from '../project-option.js';

interface WorkerFlags {
  queue?: string; concurrency: string; loopsModule?: string; redisUrl?: string; lockDuration?: string; stalledInterval?: string;
  backfillQueue?: string; backfillConcurrency: string; backfillThreads?: string; backfills: boolean; trials: boolean; jobs: boolean;
}

/** A positive whole number from a flag, or a USAGE error naming it. */
function positiveInt(flag: string, raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new KilnError('USAGE', `--${flag} ${raw}: expected a whole number >= 1`, { path: [flag] });
  return n;
}

/**
 * `kiln worker`: executes the steps of loop runs, and the partitions of backfills (`kiln backfill`), from
 * the BullMQ queues on Redis until SIGTERM or SIGINT, which let the work running now finish (and be
 * recorded) before it exits 0. The loops it knows: kiln's registered ones and those of --loops-module.
 */
export function registerWorker(program: Command): void {
  program.command('worker').description('run loop steps, backfill partitions and search trials from the BullMQ queues on Redis until SIGTERM (see docs/loop.md, docs/scale.md)')
    .option('--queue <prefix>', 'the BullMQ key prefix of the queue (default kiln-loop)')
    .option('--concurrency <n>', 'steps run at once', '1')
    .option('--loops-module <file>', 'a module that registers loops (or exports `loops`: an array, or a function of { project })')
    .option('--redis-url <url>', 'Redis (default $KILN_REDIS_URL, else redis://127.0.0.1:6379)')
    .option('--lock-duration <ms>', "how long a step's job lock lasts without renewal: a dead worker's step moves on after about this", '30000')
    .option('--stalled-interval <ms>', 'how often jobs of dead workers are looked for', '30000')
    .option('--backfill-queue <prefix>', 'the BullMQ key prefix of the backfill queue (default kiln-backfill)')
    .option('--backfill-concurrency <n>', 'backfill partitions computed at once', '1')
    .option('--backfill-threads <n>', 'DuckDB threads per backfill partition (default: all cores)')
    .option('--no-backfills', 'take no backfill partitions')
    .option('--no-trials', 'take no search trials (kiln tune)')
    .option('--no-jobs', 'take no single jobs (embedding training: kiln embeddings train --on-workers)')
    .action(async (flags: WorkerFlags, cmd: Command) => {
      const concurrency = positiveInt('concurrency', flags.concurrency);
      const lockDurationMs = positiveInt('lock-duration', flags.lockDuration ?? '30000');
      const stalledIntervalMs = positiveInt('stalled-interval', flags.stalledInterval ?? '30000');
      const backfillConcurrency = positiveInt('backfill-concurrency', flags.backfillConcurrency);
      const backfillThreads = flags.backfillThreads === undefined ? undefined : positiveInt('backfill-threads', flags.backfillThreads);
      const url = new URL(flags.redisUrl ?? process.env.KILN_REDIS_URL ?? 'redis://127.0.0.1:6379');
      const [{ Project }, loop] = await Promise.all([import('../../store/index.js'), import('../../loop/runner/index.js')]);
      const project = await Project.open(projectOption(cmd));
      const connection = { host: url.hostname, port: Number(url.port || 6379), ...(url.password ? { password: decodeURIComponent(url.password) } : {}), ...(url.pathname.length > 1 ? { db: Number(url.pathname.slice(1)) } : {}) };
      let worker: InstanceType<typeof loop.LoopWorker> | undefined;
      let backfills: InstanceType<typeof import('../../backfill/index.js').BackfillWorker> | undefined;
      let trials: InstanceType<typeof import('../../tune/index.js').TrialWorker> | undefined;
      let jobs: InstanceType<typeof import('../../jobs/index.js').JobWorker> | undefined;
      try {
        if (flags.loopsModule) await loop.loadLoopsModule(pathToFileURL(resolve(flags.loopsModule)).href, { project });
        // kiln's own loops: the retrain loop of every declared model
        const { retrainLoop } = await import('../../loop/index.js');
        for (const model of Object.keys(project.config.models)) loop.registerLoop(retrainLoop(project, model));
        const loops = loop.registeredLoops();
        if (Object.keys(loops).length === 0 && !flags.backfills && !flags.trials && !flags.jobs) throw new KilnError('USAGE', 'kiln worker: no loops are registered and --no-backfills --no-trials --no-jobs leave nothing to run; pass --loops-module FILE with the loops to run');
        const log = (line: string): void => { process.stderr.write(`${line}\n`); };
        if (Object.keys(loops).length > 0) {
          worker = new loop.LoopWorker(new loop.LoopStore(project.meta.db), loops, {
            connection, ...(flags.queue ? { prefix: flags.queue } : {}), concurrency, lockDurationMs, stalledIntervalMs, log,
          });
          await worker.ready();
        }
        if (flags.backfills) {
          const { BackfillWorker } = await import('../../backfill/index.js');
          backfills = new BackfillWorker(project, {
            connection, ...(flags.backfillQueue ? { prefix: flags.backfillQueue } : {}), concurrency: backfillConcurrency, lockDurationMs, stalledIntervalMs,
            ...(backfillThreads ? { threads: backfillThreads } : {}), log,
          });
          await backfills.ready();
        }
        if (flags.trials) {
          const { TrialWorker } = await import('../../tune/index.js');
          trials = new TrialWorker(project, { connection, ...(flags.backfillQueue ? { prefix: flags.backfillQueue } : {}), concurrency: 1, lockDurationMs, stalledIntervalMs, log });
          await trials.ready();
        }
        if (flags.jobs) {
          const { JobWorker } = await import('../../jobs/index.js');
          jobs = new JobWorker(project, { connection, ...(flags.backfillQueue ? { prefix: flags.backfillQueue } : {}), lockDurationMs, stalledIntervalMs, log });
          await jobs.ready();
        }
        process.stderr.write(`kiln worker: pid ${process.pid}, queue ${flags.queue ?? 'kiln-loop'}, loops ${Object.keys(loops).join(', ') || 'none'}, backfills ${flags.backfills ? `on ${flags.backfillQueue ?? 'kiln-backfill'}` : 'off'}, trials ${flags.trials ? 'on' : 'off'}, jobs ${flags.jobs ? 'on' : 'off'}\n`);
        await new Promise<void>((done) => {
          process.once('SIGTERM', done);
          process.once('SIGINT', done);
        });
        process.stderr.write('kiln worker: stopping after the steps running now\n');
      } finally {
        await Promise.all([worker?.close(), backfills?.close(), trials?.close(), jobs?.close()]);
        project.close();
      }
    });
}
