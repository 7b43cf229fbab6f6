import type { Command } from 'commander';
import { KilnError } from '../../core/errors.js';
import { withProject } from '../project-option.js';
import { formatTable } from '../table.js';

/**
 * `kiln backfill training-set|score|status|cancel|list`: a point-in-time training set (or a version's scores) partitioned by entity hash,
 * computed by `kiln worker` processes from a BullMQ queue on Redis (docs/scale.md).
 */

interface QueueFlags { queue?: string; redisUrl?: string }

/** The Redis connection and queue prefix of --redis-url / --queue. */
export function backfillRedis(flags: QueueFlags): { connection: { host: string; port: number; password?: string; db?: number }; prefix?: string } {
  let url: URL;
  const raw = flags.redisUrl ?? process.env.KILN_REDIS_URL ?? 'redis://127.0.0.1:6379';
  try { url = new URL(raw); } catch { throw new KilnError('USAGE', `--redis-url ${raw}: expected a URL like redis://127.0.0.1:6379`, { path: ['redis-url'] }); }
  return {
    connection: { host: url.hostname, port: Number(url.port || 6379), ...(url.password ? { password: decodeURIComponent(url.password) } : {}), ...(url.pathname.length > 1 ? { db: Number(url.pathname.slice(1)) } : {}) },
    ...(flags.queue ? { prefix: flags.queue } : {}),
  };
}

const queueOptions = (c: Command): Command => c
  .option('--queue <prefix>', 'the BullMQ key prefix of the backfill queue (default kiln-backfill; `kiln worker --backfill-queue`)')
  .option('--redis-url <url>', 'Redis (default $KILN_REDIS_URL, else redis://127.0.0.1:6379)');

type Status = import('../../backfill/index.js').BackfillStatus;

/** The text of `kiln backfill status` (and `kiln jobs status bf-...`). */
export function statusText(s: Status): string {
  const counts = new Map<string, number>();
  for (const p of s.parts) counts.set(p.state, (counts.get(p.state) ?? 0) + 1);
  const lines = [
    `backfill ${s.id}: ${s.state}, ${s.done}/${s.total} parts done, ${s.rows} rows; ${[...counts].map(([k, n]) => `${n} ${k}`).join(', ')}; ${s.retries} retr${s.retries === 1 ? 'y' : 'ies'}`,
    `  ${s.spec.kind === 'score' ? `scores of ${s.spec.model}` : s.spec.kind === 'materialize' ? `online store ${s.spec.online!.prefix} as of ${s.spec.online!.asOf},` : 'features'} ${Array.isArray(s.spec.features) ? s.spec.features.join(',') : s.spec.features}, ${s.spec.kind === 'materialize' ? 'entities' : `spine ${s.spec.spine.table}`} by ${s.spec.spine.key}, out ${s.spec.dir}`,
  ];
  if (s.cancelled !== null) lines.push(`  cancelled: ${s.cancelled}`);
  if (s.manifest) lines.push(`  manifest ${s.manifest}`);
  const failures = s.parts.filter((p) => p.reason && p.state !== 'done');
  for (const f of failures) lines.push(`  partition ${f.partition} ${f.state} after ${f.attempts} attempt(s): ${f.reason}`);
  lines.push(formatTable(['part', 'state', 'attempts', 'stalls', 'spine rows', 'rows', 'worker / stage'],
    s.parts.map((p) => [p.partition, p.state, p.attempts, p.stalls, p.plannedRows, p.rows ?? '', p.worker ?? p.stage ?? ''])));
  return `${lines.join('\n')}\n`;
}

interface SpineFlags { spine?: string; partitions: string; key?: string; timestamp?: string; out?: string; wait: boolean; json: boolean }

/** Plans a backfill (the snapshot), enqueues its partitions, and with --wait follows it to the end. */
async function planAndFollow(cmd: Command, flags: QueueFlags & SpineFlags, plan: Pick<import('../../backfill/index.js').PlanOptions, 'features' | 'eventTimeBound' | 'score' | 'materialize'>): Promise<void> {
  const b = await import('../../backfill/index.js');
  const partitions = b.checkPartitions(/^\d+$/.test(flags.partitions) ? Number(flags.partitions) : Number.NaN);
  const redis = backfillRedis(flags);
  const spec = await withProject(cmd, (project) => b.planBackfill(project, {
    ...plan, partitions, ...(flags.spine ? { spine: { table: flags.spine, ...(flags.key ? { key: flags.key } : {}), ...(flags.timestamp ? { timestamp: flags.timestamp } : {}) } } : {}),
    ...(flags.out ? { out: flags.out } : {}), log: (line) => process.stderr.write(`${line}\n`),
  }));
  const queue = await b.BackfillQueue.connect(redis);
  try {
    await queue.enqueue(spec);
    process.stderr.write(`backfill ${spec.id}: ${spec.partitions} partition jobs on queue ${redis.prefix ?? b.BACKFILL_PREFIX}; run 'kiln worker' to compute them, 'kiln backfill status ${spec.id}' to watch\n`);
    if (!flags.wait) {
      process.stdout.write(flags.json ? `${JSON.stringify(spec, null, 2)}\n` : `${spec.id}\n`);
      return;
    }
    let last = '';
    for (;;) {
      const s = await queue.status(spec.id);
      const line = `backfill ${s.id}: ${s.done}/${s.total} parts, ${s.rows} rows, ${s.parts.filter((p) => p.state === 'active').length} running, ${s.retries} retries, ${s.state}`;
      if (line !== last) { process.stderr.write(`${line}\n`); last = line; }
      if (s.state !== 'running') {
        process.stdout.write(flags.json ? `${JSON.stringify(s, null, 2)}\n` : statusText(s));
        if (s.state !== 'done') process.exitCode = 1;
        return;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    await queue.close();
  }
}

export function registerBackfill(program: Command): void {
  const bf = program.command('backfill').description('feature backfills partitioned by entity, run by `kiln worker`s from a queue on Redis (docs/scale.md)');

  queueOptions(bf.command('training-set')
    .description('enqueue a point-in-time training set as N partitions by entity hash; workers write part-NNNNN.parquet and _manifest.json')
    .requiredOption('--features <set>', 'a feature set, or feature names separated by commas')
    .requiredOption('--spine <table>', 'the spine table of the offline store')
    .requiredOption('--partitions <n>', 'how many partitions (jobs)')
    .option('--key <column>', "the spine's entity key column (default: the table's key)")
    .option('--timestamp <column>', "the spine's time column (default: the table's timestamp)")
    .option('--out <dir>', 'a new or empty folder for the parts (default <dataDir>/backfills/<id>)')
    .option('--event-time-bound <bound>', "'strict' (events before the spine time) or 'inclusive'", 'strict')
    .option('--wait', 'follow the backfill until it ends, a line per change', false)
    .option('--json', 'print the backfill (and with --wait its final status) as JSON', false))
    .action(async (flags: QueueFlags & SpineFlags & { features: string; eventTimeBound: string }, cmd: Command) => {
      const features = flags.features.includes(',') ? flags.features.split(',').map((s) => s.trim()).filter(Boolean) : flags.features;
      await planAndFollow(cmd, flags, { features, eventTimeBound: flags.eventTimeBound as 'strict' | 'inclusive' });
    });

  queueOptions(bf.command('score')
    .description("score a spine as N partitions by entity hash with one version (pinned when planned), kiln score's code in each worker; part-NNNNN.parquet and _manifest.json")
    .requiredOption('--model <ref>', 'the version: name@alias, name@version or name (the latest); pinned to its version now')
    .requiredOption('--spine <table>', 'the spine table of the offline store (entity key and time: each row scored as of its time)')
    .requiredOption('--partitions <n>', 'how many partitions (jobs)')
    .option('--key <column>', "the spine's entity key column (default: the table's key)")
    .option('--timestamp <column>', "the spine's time column (default: the table's timestamp)")
    .option('--reasons [which]', "adverse-action reasons: for declined rows, or 'all'")
    .option('--out <dir>', 'a new or empty folder for the parts (default <dataDir>/backfills/<id>)')
    .option('--wait', 'follow the backfill until it ends, a line per change', false)
    .option('--json', 'print the backfill (and with --wait its final status) as JSON', false))
    .action(async (flags: QueueFlags & SpineFlags & { model: string; reasons?: string | boolean }, cmd: Command) => {
      if (flags.reasons !== undefined && flags.reasons !== true && flags.reasons !== 'all') throw new KilnError('USAGE', `--reasons ${String(flags.reasons)}: give --reasons (declined rows) or --reasons all`, { path: ['reasons'] });
      await planAndFollow(cmd, flags, { features: [], score: { model: flags.model, ...(flags.reasons ? { reasons: flags.reasons === 'all' ? 'all' : true } : {}) } });
    });

  queueOptions(bf.command('materialize')
    .description("the Redis online store's state as of a time, partitioned by entity hash: each worker stages its entities and commits them in one MULTI; the manifest is recorded once all are in")
    .requiredOption('--partitions <n>', 'how many partitions (jobs)')
    .option('--features <set>', 'a feature set, or feature names separated by commas (default: what the online store serves)')
    .option('--as-of <time>', 'events strictly before this time (ISO UTC; default now)')
    .option('--online-prefix <prefix>', "the online store's key prefix (default online.keyPrefix, else kiln:<project>:)")
    .option('--out <dir>', 'a new or empty folder for the part records (default <dataDir>/backfills/<id>)')
    .option('--wait', 'follow the backfill until it ends, a line per change', false)
    .option('--json', 'print the backfill (and with --wait its final status) as JSON', false))
    .action(async (flags: QueueFlags & SpineFlags & { features?: string; asOf?: string; onlinePrefix?: string }, cmd: Command) => {
      const features = flags.features === undefined ? undefined : flags.features.includes(',') ? flags.features.split(',').map((s) => s.trim()).filter(Boolean) : flags.features;
      await planAndFollow(cmd, flags, { features: features ?? [], materialize: { ...(flags.asOf ? { asOf: flags.asOf } : {}), ...(flags.onlinePrefix ? { prefix: flags.onlinePrefix } : {}) } });
    });

  queueOptions(bf.command('status <id>')
    .description('parts done / total, failures with their reasons, retries, and each partition')
    .option('--json', 'print the status as JSON', false))
    .action(async (id: string, flags: QueueFlags & { json: boolean }) => {
      const b = await import('../../backfill/index.js');
      const queue = await b.BackfillQueue.connect(backfillRedis(flags));
      try {
        const s = await queue.status(id);
        process.stdout.write(flags.json ? `${JSON.stringify(s, null, 2)}\n` : statusText(s));
      } finally {
        await queue.close();
      }
    });

  queueOptions(bf.command('cancel <id>')
    .description('stop a backfill: queued partitions are dropped, running ones end without committing')
    .option('--reason <text>', 'why (shown by status)', 'cancelled from the command line'))
    .action(async (id: string, flags: QueueFlags & { reason: string }) => {
      const b = await import('../../backfill/index.js');
      const queue = await b.BackfillQueue.connect(backfillRedis(flags));
      try {
        const r = await queue.cancel(id, flags.reason);
        process.stdout.write(`backfill ${id} cancelled: ${r.removed} queued partition(s) dropped, ${r.running} running (they end without committing)\n`);
      } finally {
        await queue.close();
      }
    });

  queueOptions(bf.command('list').description('the latest backfills on the queue').option('--limit <n>', 'how many', '20'))
    .action(async (flags: QueueFlags & { limit: string }) => {
      const b = await import('../../backfill/index.js');
      const limit = Number(flags.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new KilnError('USAGE', `--limit ${flags.limit}: expected a whole number >= 1`, { path: ['limit'] });
      const queue = await b.BackfillQueue.connect(backfillRedis(flags));
      try {
        const rows: (string | number)[][] = [];
        for (const id of await queue.list(limit)) {
          const s = await queue.status(id);
          rows.push([id, s.state, `${s.done}/${s.total}`, s.rows, s.retries, s.spec.createdAt]);
        }
        process.stdout.write(rows.length ? `${formatTable(['id', 'state', 'parts', 'rows', 'retries', 'created'], rows)}\n` : 'no backfills on this queue\n');
      } finally {
        await queue.close();
      }
    });
}
