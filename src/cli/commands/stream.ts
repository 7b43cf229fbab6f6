import type { Command } from 'commander';
import { onInterrupt } from '../../core/interrupt.js';
import { formatCount } from '../../core/progress.js';
import { KilnError } from '../../core/errors.js';
import { projectOption } from '../project-option.js';

const positive = (flag: string, v: string | undefined): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new KilnError('USAGE', `${flag} ${v}: expected a whole number >= 1`);
  return n;
};

export function registerStream(program: Command): void {
  const stream = program.command('stream').description('events from a stream (Redis Streams or NATS JetStream) into the online and offline stores (docs/stream.md)');

  stream
    .command('consume <name>')
    .description('consume a declared stream: batches pushed online, appended offline, acked once both hold them; SIGTERM finishes the batch and exits 0')
    .option('--consumer <name>', 'consumer name in the Redis group (default: the host name; NATS consumers share the durable)')
    .option('--max-batches <n>', 'stop after this many batches')
    .option('--idle-exit <ms>', 'stop once no entry has arrived for this long (ms)')
    .option('--quiet', 'no progress lines', false)
    .option('--json', 'print the totals as JSON when it stops', false)
    .action(async (name: string, opts: { consumer?: string; maxBatches?: string; idleExit?: string; quiet: boolean; json: boolean }, cmd: Command) => {
      const { Project } = await import('../../store/index.js');
      const { consumeStream } = await import('../../stream/index.js');
      const maxBatches = positive('--max-batches', opts.maxBatches);
      const idleExitMs = positive('--idle-exit', opts.idleExit);
      const project = await Project.open(projectOption(cmd));
      const interrupt = onInterrupt();
      let lastLine = 0;
      try {
        if (!opts.quiet) process.stderr.write(`stream ${name}: consuming (SIGTERM or Ctrl-C finishes the batch in hand and stops)\n`);
        const t = await consumeStream(project, name, {
          signal: interrupt.signal,
          ...(opts.consumer ? { consumer: opts.consumer } : {}),
          ...(maxBatches !== undefined ? { maxBatches } : {}),
          ...(idleExitMs !== undefined ? { idleExitMs } : {}),
          onBatch: (b, tot) => {
            if (opts.quiet || (Date.now() - lastLine < 5000 && !b.deadLetters)) return;
            lastLine = Date.now();
            process.stderr.write(`stream ${name}  ${formatCount(tot.entries)} entries  ${formatCount(tot.onlineWritten)} online  ${formatCount(tot.appended)} appended  ${formatCount(tot.duplicates)} duplicates  ${formatCount(tot.deadLetters)} dead letters${b.lastEventMs !== null ? `  last event ${new Date(b.lastEventMs).toISOString()}` : ''}\n`);
          },
        });
        if (opts.json) process.stdout.write(`${JSON.stringify(t)}\n`);
        else process.stdout.write(`stream ${name}: stopped (${t.stopped}) after ${t.batches} batches: ${formatCount(t.entries)} entries, ${formatCount(t.onlineWritten)} events online, ${formatCount(t.appended)} rows appended, ${formatCount(t.duplicates)} duplicates skipped, ${formatCount(t.deadLetters)} dead letters\n`);
      } finally {
        interrupt.dispose();
        project.close();
      }
    });

  stream
    .command('status [name]')
    .description('lag, pending entries, last event time and dead letters of a declared stream (or of every one)')
    .option('--json', 'JSON output', false)
    .option('--limit <n>', 'dead letters listed per stream', '5')
    .action(async (name: string | undefined, opts: { json: boolean; limit: string }, cmd: Command) => {
      const { Project } = await import('../../store/index.js');
      const { streamStatus } = await import('../../stream/index.js');
      const limit = positive('--limit', opts.limit) ?? 5;
      const project = await Project.open(projectOption(cmd));
      try {
        const rows = await streamStatus(project, name, { limit });
        if (opts.json) { process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`); return; }
        if (rows.length === 0) { process.stdout.write('no streams declared (add `streams` to kiln.config.ts; see docs/stream.md)\n'); return; }
        for (const r of rows) {
          const nats = r.source === 'nats';
          process.stdout.write(`${r.name}  (${r.source} stream '${r.stream}', ${nats ? 'durable consumer' : 'group'} '${r.group}', table '${r.table}')\n`);
          process.stdout.write(`  length ${r.length}  lag ${r.lag ?? 'unknown'}  pending ${r.pending}  ${nats ? 'waiting pulls' : 'consumers'} ${r.consumers}${r.exists ? '' : `  (${nats ? 'consumer' : 'group'} not created yet)`}\n`);
          process.stdout.write(`  last event ${r.lastEventTime ?? '-'}  last batch ${r.lastBatchAt ?? '-'}  dead letters ${r.deadLetters}\n`);
          for (const d of r.recentDeadLetters) process.stdout.write(`    ${d.entryId}  ${d.receivedAt}  ${d.reason}\n`);
        }
      } finally {
        project.close();
      }
    });
}
