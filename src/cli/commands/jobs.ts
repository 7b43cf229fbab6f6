import type { Command } from 'commander';
import { KilnError } from '../../core/errors.js';
import { formatTable } from '../table.js';
import { backfillRedis, statusText as backfillStatusText } from './backfill.js';

/**
 * `kiln jobs list|status|cancel`: the backfills and hyperparameter searches on the queue together
 * (docs/scale.md). A job's id says its kind: bf-... a backfill, tn-... a search.
 */

interface QueueFlags { queue?: string; redisUrl?: string }

type TuneStatus = import('../../tune/index.js').TuneStatus;

const queueOptions = (c: Command): Command => c
  .option('--queue <prefix>', 'the BullMQ key prefix (default kiln-backfill; `kiln worker --backfill-queue`)')
  .option('--redis-url <url>', 'Redis (default $KILN_REDIS_URL, else redis://127.0.0.1:6379)');

async function withJobs<T>(flags: QueueFlags, fn: (q: import('../../jobs/index.js').JobQueues) => Promise<T>): Promise<T> {
  const { JobQueues } = await import('../../jobs/index.js');
  const q = await JobQueues.connect(backfillRedis(flags));
  try {
    return await fn(q);
  } finally {
    await q.close();
  }
}

/** A search: a summary line and its trials. */
export function searchStatusText(s: TuneStatus, total: number): string {
  const counts = new Map<string, number>();
  for (const j of s.jobs) counts.set(j.state, (counts.get(j.state) ?? 0) + 1);
  const retries = s.jobs.reduce((n, j) => n + Math.max(0, j.attempts - 1), 0);
  const lines = [
    `search ${s.id}: ${s.state}, ${s.trialsDone}/${total} trials done; ${[...counts].map(([k, n]) => `${n} ${k}`).join(', ') || 'no trials enqueued'}; ${retries} retr${retries === 1 ? 'y' : 'ies'}`,
    `  ${s.spec.search} search of ${s.spec.model}, ${s.spec.trials} configurations, ${s.spec.minRounds}-${s.spec.maxRounds} rounds, parent run ${s.spec.parentRun}${s.best ? `; best valid AUC ${s.best.validAuc.toFixed(4)} (rung ${s.best.rung}, trial ${s.best.trial})` : ''}`,
  ];
  if (s.cancelled !== null) lines.push(`  cancelled: ${s.cancelled}`);
  lines.push(formatTable(['rung', 'trial', 'state', 'attempts', 'rounds', 'valid AUC', 'reason'],
    s.jobs.map((j) => [j.rung, j.trial, j.state, j.attempts, `${j.state === 'done' ? j.rounds : j.roundsDone ?? 0}/${j.rounds}`, j.validAuc === undefined ? '-' : j.validAuc.toFixed(4), j.reason ?? ''])));
  return `${lines.join('\n')}\n`;
}

export function registerJobs(program: Command): void {
  const jobs = program.command('jobs').description('backfills and hyperparameter searches on the queue together: list, status, cancel (docs/scale.md)');

  queueOptions(jobs.command('list').description('the latest jobs, newest first: kind, state, progress, retries')
    .option('--limit <n>', 'how many', '20')
    .option('--json', 'print JSON', false))
    .action(async (flags: QueueFlags & { limit: string; json: boolean }) => {
      const limit = Number(flags.limit);
      if (!/^\d+$/.test(flags.limit) || limit < 1) throw new KilnError('USAGE', `--limit ${flags.limit}: expected a whole number >= 1`, { path: ['limit'] });
      const list = await withJobs(flags, (q) => q.list(limit));
      if (flags.json) { process.stdout.write(`${JSON.stringify(list, null, 2)}\n`); return; }
      process.stdout.write(list.length
        ? `${formatTable(['id', 'kind', 'state', 'progress', 'retries', 'created'], list.map((j) => [j.id, j.kind, j.state, `${j.done}/${j.total}`, j.retries, j.createdAt]))}\n`
        : 'no jobs on this queue\n');
    });

  queueOptions(jobs.command('status <id>').description('a backfill (bf-...): its partitions; a search (tn-...): its trials with rung, state, attempts, rounds, valid AUC, reasons; a single job (ej-...): its state and result')
    .option('--json', 'print JSON', false))
    .action(async (id: string, flags: QueueFlags & { json: boolean }) => {
      const { jobKind, summaryOf } = await import('../../jobs/index.js');
      jobKind(id);
      const j = await withJobs(flags, (q) => q.status(id));
      if (flags.json) { process.stdout.write(`${JSON.stringify({ kind: j.kind, ...j.status }, null, 2)}\n`); return; }
      if (j.kind === 'job') {
        const s = j.status;
        process.stdout.write(`job ${s.id}: ${summaryOf(j).state}, embedding space ${s.spec.space}, ${s.result ? s.result.versions.length : s.progress?.done ?? 0}/${s.spec.cuts.length} versions, ${s.attempts} attempt(s)${s.cancelled !== null ? `; cancelled: ${s.cancelled}` : ''}\n`
          + (s.result ? `  versions ${s.result.versions.join(', ')} by ${s.result.worker} (attempt ${s.result.attempt}, ${s.result.seconds.toFixed(1)} s)\n` : '')
          + (s.reason ? `  last failure: ${s.reason}\n` : ''));
        return;
      }
      process.stdout.write(j.kind === 'backfill' ? backfillStatusText(j.status) : searchStatusText(j.status, summaryOf(j).total));
    });

  queueOptions(jobs.command('cancel <id>').description('stop a job: queued partitions or trials are dropped, running ones end without committing')
    .requiredOption('--reason <text>', 'why (shown by status)'))
    .action(async (id: string, flags: QueueFlags & { reason: string }) => {
      const { jobKind, summaryOf, cancellable } = await import('../../jobs/index.js');
      jobKind(id);
      const reason = flags.reason.trim();
      if (!reason) throw new KilnError('USAGE', '--reason: give a reason; status shows it', { path: ['reason'] });
      await withJobs(flags, async (q) => {
        const job = summaryOf(await q.status(id));
        const noun = job.kind === 'backfill' ? 'backfill' : job.kind === 'search' ? 'search' : 'job';
        if (!cancellable(job)) {
          process.stdout.write(`${noun} ${id} is ${job.state}${job.cancelled !== null ? ` (${job.cancelled})` : ''}: nothing to cancel\n`);
          return;
        }
        const r = await q.cancel(id, reason);
        const unit = job.kind === 'backfill' ? 'partition' : job.kind === 'search' ? 'trial' : 'job';
        process.stdout.write(`${noun} ${id} cancelled: ${r.removed} queued ${unit}(s) dropped, ${r.running} running (they end without committing)\n`);
      });
    });
}
