import type { Command } from 'commander';
import type { RunStatus } from '../../registry/index.js';
import type { Project } from '../../store/index.js';
import { formatTable } from '../table.js';
import { withProject } from '../project-option.js';

/** The project, with runs whose process died already marked failed before they are shown. */
function withRuns<T>(cmd: Command, fn: (p: Project) => T | Promise<T>): Promise<T> {
  return withProject(cmd, (project) => {
    void project.tracker;
    return fn(project);
  });
}

const fmt = (v: number | null): string => (v === null ? '-' : Number.isInteger(v) ? String(v) : v.toPrecision(6));

export function registerRuns(program: Command): void {
  const runs = program.command('runs').description('experiment runs: parameters, metrics, lineage and artifacts');
  runs
    .command('list')
    .description('recent runs, newest first')
    .option('--experiment <name>', 'only this experiment')
    .option('--status <status>', 'running, finished, failed or killed')
    .option('--limit <n>', 'at most this many', (v: string) => Number(v), 20)
    .option('--json', 'print JSON', false)
    .action(async (opts: { experiment?: string; status?: RunStatus; limit: number; json: boolean }, cmd: Command) => withRuns(cmd, (p) => {
      const rows = p.tracker.listRuns({ ...(opts.experiment ? { experiment: opts.experiment } : {}), ...(opts.status ? { status: opts.status } : {}), limit: opts.limit });
      if (opts.json) { process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`); return; }
      if (!rows.length) { process.stdout.write('no runs yet\n'); return; }
      process.stdout.write(`${formatTable(['run', 'experiment', 'name', 'status', 'started (UTC)', 'ended'], rows.map((r) => [r.id, r.experiment, r.name ?? '-', r.status, r.startedAt.slice(0, 19), r.endedAt?.slice(11, 19) ?? '-']))}\n`);
    }));
  runs
    .command('show <run>')
    .description('one run in full (a unique id prefix is enough)')
    .option('--json', 'print JSON', false)
    .action(async (id: string, opts: { json: boolean }, cmd: Command) => withRuns(cmd, (p) => {
      const r = p.tracker.getRun(id);
      if (opts.json) { process.stdout.write(`${JSON.stringify(r, null, 2)}\n`); return; }
      const out = [
        `run ${r.id}  (${r.experiment}${r.name ? ` / ${r.name}` : ''})  ${r.status}${r.error ? `: ${r.error}` : ''}`,
        `started ${r.startedAt}  ended ${r.endedAt ?? '-'}  git ${r.gitCommit ?? '-'}  config ${r.configHash ?? '-'}`,
        '', 'params:', ...Object.entries(r.params).map(([k, v]) => `  ${k} = ${v}`),
        '', 'metrics:', ...Object.entries(r.metrics).map(([k, v]) => `  ${k} = ${fmt(v)}${r.curves[k] ? `  (curve of ${r.curves[k]!.length} steps)` : ''}`),
      ];
      if (Object.keys(r.tags).length) out.push('', 'tags:', ...Object.entries(r.tags).map(([k, v]) => `  ${k} = ${v}`));
      if (r.lineage.length) out.push('', 'lineage:', ...r.lineage.map((l) => `  ${l.kind} ${l.name}${l.version ? `@${l.version}` : ''}`));
      if (r.artifacts.length) out.push('', 'artifacts:', ...r.artifacts.map((a) => `  ${a.path}  ${a.bytes} bytes  sha256 ${a.sha256.slice(0, 12)}`));
      process.stdout.write(`${out.join('\n')}\n`);
    }));
  runs
    .command('compare <a> <b>')
    .description('two runs side by side: parameters and metrics with deltas (b - a)')
    .option('--json', 'print JSON', false)
    .action(async (a: string, b: string, opts: { json: boolean }, cmd: Command) => withRuns(cmd, (p) => {
      const c = p.tracker.compareRuns(a, b);
      if (opts.json) { process.stdout.write(`${JSON.stringify(c, null, 2)}\n`); return; }
      const params = formatTable(['param', c.a.id, c.b.id, ''], c.params.map((x) => [x.key, x.a ?? '-', x.b ?? '-', x.same ? '' : '*']));
      const metrics = formatTable(['metric', c.a.id, c.b.id, 'delta'], c.metrics.map((x) => [x.key, fmt(x.a), fmt(x.b), x.delta === null ? '-' : `${x.delta >= 0 ? '+' : ''}${fmt(x.delta)}`]));
      process.stdout.write(`${params}\n\n${metrics}\n`);
    }));
}
