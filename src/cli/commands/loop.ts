import type { Command } from 'commander';
import { KilnError } from '../../core/errors.js';
import { withProject } from '../project-option.js';
import { formatTable } from '../table.js';
import { registerLoopBacktest, registerLoopSimulate } from './loop-simulate.js';

/**
 * `kiln loop run|history`: the retrain-evaluate-promote loop of a model, run now (in this process, its
 * state in meta.sqlite: a killed run resumes on the next `kiln loop run`), and the decisions it made.
 */
function modelOf(names: string[], given: string | undefined): string {
  if (given) {
    if (!names.includes(given)) throw new KilnError('MODEL_NOT_FOUND', `no model '${given}' in the config (models: ${names.join(', ') || 'none'})`, { path: ['model'] });
    return given;
  }
  if (names.length === 1) return names[0]!;
  throw new KilnError('USAGE', names.length ? `say which model (models: ${names.join(', ')})` : 'no models are declared in the config', { path: ['model'] });
}

interface StepOut { end?: string; summary?: string; version?: number; previous?: number; reason?: string; passed?: boolean }

export function registerLoop(program: Command): void {
  const loop = program.command('loop').description('the retrain-evaluate-promote loop: run it, see what it decided, simulate it');
  registerLoopSimulate(loop);
  registerLoopBacktest(loop);
  loop
    .command('tick [model]')
    .description("evaluate the loop's triggers now (schedule, new score-drift alerts, matured labels; cooldown and coalescing) and start a run when they say so: run it from cron")
    .option('--now <time>', 'the time to evaluate at (ISO, UTC; default: now)')
    .option('--queue <prefix>', 'hand the run to `kiln worker`s on this BullMQ queue instead of running it here')
    .option('--redis-url <url>', 'Redis for --queue (default $KILN_REDIS_URL, else redis://127.0.0.1:6379)')
    .option('--json', 'print the result as JSON', false)
    .action(async (name: string | undefined, opts: { now?: string; queue?: string; redisUrl?: string; json: boolean }, cmd: Command) => withProject(cmd, async (project) => {
      const l = await import('../../loop/index.js');
      const model = modelOf(Object.keys(project.config.models), name);
      const now = opts.now === undefined ? new Date() : new Date(opts.now);
      if (!Number.isFinite(now.getTime())) throw new KilnError('USAGE', `--now ${opts.now}: expected an ISO time`, { path: ['now'] });
      const def = l.retrainLoop(project, model);
      const store = new l.LoopStore(project.meta.db);
      let runner: InstanceType<typeof l.InProcessRunner> | InstanceType<typeof l.BullMqRunner>;
      if (opts.queue) {
        const url = new URL(opts.redisUrl ?? process.env.KILN_REDIS_URL ?? 'redis://127.0.0.1:6379');
        runner = new l.BullMqRunner(store, { [def.name]: def }, { prefix: opts.queue, connection: { host: url.hostname, port: Number(url.port || 6379), ...(url.password ? { password: decodeURIComponent(url.password) } : {}) } });
      } else {
        runner = new l.InProcessRunner(store, { [def.name]: def }, { log: (line) => process.stderr.write(`${line}\n`) });
      }
      try {
        const r = await l.tickLoop(project, model, runner, { now });
        let outcome: string | null = null;
        if (r.runId && !opts.queue) {
          const run = await runner.runToEnd(r.runId);
          outcome = `${run.status}${run.outcome ? ` (${run.outcome})` : ''}`;
        }
        if (opts.json) { process.stdout.write(`${JSON.stringify({ ...r, outcome }, null, 2)}\n`); return; }
        process.stdout.write(`${[
          `${model}: triggers from ${r.since} to ${r.now}: ${r.events.length ? '' : 'no events'}`,
          ...r.events.map((e) => `  ${e.event.kind.padEnd(9)} ${e.action.padEnd(8)} ${e.reason}`),
          r.runId ? `run ${r.runId}${opts.queue ? ` queued on ${opts.queue} for kiln worker` : `: ${outcome}`}` : `no run${r.pending ? ` (${r.pending} events wait for the cooldown)` : ''}`,
        ].join('\n')}\n`);
      } finally {
        await runner.close();
      }
    }));
  loop
    .command('run [model]')
    .description('retrain a challenger on the rolling windows, evaluate it against the champion, apply the gates, promote / shadow / reject')
    .option('--as-of <time>', 'the run time (ISO, UTC): data and labels after it are not used (default: now)')
    .option('--force', 'register the challenger even if it learned nothing (the gates still decide)', false)
    .option('--json', 'print the run as JSON', false)
    .action(async (name: string | undefined, opts: { asOf?: string; force: boolean; json: boolean }, cmd: Command) => withProject(cmd, async (project) => {
      const l = await import('../../loop/index.js');
      const model = modelOf(Object.keys(project.config.models), name);
      const asOf = opts.asOf === undefined ? new Date() : new Date(opts.asOf);
      if (!Number.isFinite(asOf.getTime())) throw new KilnError('USAGE', `--as-of ${opts.asOf}: expected an ISO time (2025-06-01 or 2025-06-01T00:00:00Z)`, { path: ['as-of'] });
      const def = l.retrainLoop(project, model);
      const runner = new l.InProcessRunner(new l.LoopStore(project.meta.db), { [def.name]: def }, { log: (line) => process.stderr.write(`${line}\n`) });
      try {
        const resumed = await runner.resume();
        for (const id of resumed) process.stderr.write(`loop: resuming run ${id} left unfinished by a process that died\n`);
        const id = await runner.submit(def.name, { asOf: asOf.toISOString(), force: opts.force }, { kind: 'manual', detail: { actor: process.env.USER ?? null } }, { coalesce: true });
        process.stderr.write(`loop ${def.name}: run ${id} as of ${asOf.toISOString()}\n`);
        const run = await runner.runToEnd(id);
        if (opts.json) { process.stdout.write(`${JSON.stringify(run, null, 2)}\n`); return; }
        const out = (step: string): StepOut => (run.steps.find((s) => s.name === step)?.output ?? {}) as StepOut;
        process.stdout.write(`${[
          `run ${run.id}: ${run.status}${run.outcome ? ` (${run.outcome})` : ''}${run.error ? `: ${run.error}` : ''}`,
          ...run.steps.map((s) => `  ${s.name.padEnd(9)} ${s.status}${s.attempts > 1 ? ` after ${s.attempts} attempts` : ''}`),
          out('gate').summary ? `gates: ${out('gate').summary}` : '',
          out('train').reason ? `no challenger: ${out('train').reason}` : '',
        ].filter(Boolean).join('\n')}\n`);
        if (run.status !== 'succeeded') process.exitCode = 1;
      } finally {
        await runner.close();
      }
    }));
  loop
    .command('history [model]')
    .description('the runs of the loop and what each decided, newest first')
    .option('--limit <n>', 'at most this many runs', '20')
    .option('--json', 'print JSON', false)
    .action(async (name: string | undefined, opts: { limit: string; json: boolean }, cmd: Command) => withProject(cmd, async (project) => {
      const l = await import('../../loop/index.js');
      const model = modelOf(Object.keys(project.config.models), name);
      const limit = Number(opts.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new KilnError('USAGE', `--limit ${opts.limit}: expected a whole number >= 1`, { path: ['limit'] });
      const runs = new l.LoopStore(project.meta.db).listRuns({ loop: l.retrainLoopName(model), limit });
      if (opts.json) { process.stdout.write(`${JSON.stringify(runs, null, 2)}\n`); return; }
      if (!runs.length) { process.stdout.write(`no runs of the ${model} loop yet (kiln loop run ${model})\n`); return; }
      process.stdout.write(`${formatTable(['run', 'created (UTC)', 'as of', 'trigger', 'status', 'outcome', 'champion', 'challenger', 'gates'], runs.map((r) => {
        const get = (s: string): Record<string, unknown> => (r.steps.find((x) => x.name === s)?.output ?? {}) as Record<string, unknown>;
        const g = get('gate');
        return [r.id, r.createdAt.slice(0, 19).replace('T', ' '), String(r.input.asOf ?? '-').slice(0, 10), r.triggers.map((t) => t.kind).join('+'), r.status, r.outcome ?? '-',
          String(get('train').champion ?? '-'), String(get('train').version ?? '-'), String(g.summary ?? get('train').reason ?? r.error ?? '-').slice(0, 90)];
      }))}\n`);
    }));
}
