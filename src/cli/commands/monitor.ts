import type { Command } from 'commander';
import { KilnError } from '../../core/errors.js';
import { withProject } from '../project-option.js';
import { formatTable } from '../table.js';
import { parseWhen } from './decisions.js';

/**
 * `kiln monitor status`: drift of a model's decisions, window by window, against the reference of the
 * version that made them, and the alerts it raises. Reads the decision log and meta.sqlite only.
 */
interface StatusFlags { window?: string; since?: string; until?: string; version?: string; json: boolean; top: string }

function defaultModel(names: string[], given: string | undefined): string {
  if (given) return given;
  if (names.length === 1) return names[0]!;
  throw new KilnError('USAGE', names.length ? `say which model: kiln monitor status NAME (models: ${names.join(', ')})` : 'no models are declared in the config', { path: ['model'] });
}

const f3 = (x: number | null | undefined): string => (x === null || x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(3));

export function registerMonitor(program: Command): void {
  const monitor = program.command('monitor').description('drift, data quality and alerts over the decision log');
  monitor
    .command('status [model]')
    .description("a model's decisions window by window: score PSI, inputs drifted (CSI bands 0.1 / 0.25), data quality, alerts")
    .option('--window <size>', 'day, week or month (default: the config monitor.window, else week)')
    .option('--since <time>', 'decisions made at or after: ISO or an age (7d)')
    .option('--until <time>', 'decisions made before: ISO or an age')
    .option('--version <n>', 'only decisions of this version')
    .option('--top <n>', 'drifted inputs listed per window', '3')
    .option('--json', 'print JSON', false)
    .action(async (name: string | undefined, opts: StatusFlags, cmd: Command) => withProject(cmd, async (project) => {
      const { monitorStatus, parseWindowSize } = await import('../../monitor/index.js');
      const model = defaultModel(Object.keys(project.config.models), name);
      const version = opts.version === undefined ? undefined : Number(opts.version);
      if (version !== undefined && !(Number.isInteger(version) && version >= 1)) throw new KilnError('USAGE', `--version ${opts.version}: expected a version number`, { path: ['version'] });
      const top = Number(opts.top);
      const status = await monitorStatus(project, model, {
        ...(opts.window ? { window: parseWindowSize(opts.window) } : {}),
        ...(opts.since ? { since: parseWhen(opts.since, 'since') } : {}),
        ...(opts.until ? { until: parseWhen(opts.until, 'until') } : {}),
        ...(version !== undefined ? { version } : {}),
      });
      if (opts.json) { process.stdout.write(`${JSON.stringify(status, null, 2)}\n`); return; }
      if (!status.decisions) { process.stdout.write(`no decisions of ${model} in the decision log${opts.since || opts.until ? ' in that range' : ''}\n`); return; }
      const out: string[] = [`${model}: ${status.decisions} decisions, by ${status.window}`];
      for (const v of status.versions) {
        out.push('', `version ${v.version}`);
        if (v.note) { out.push(`  ${v.note}`); continue; }
        out.push(formatTable(['window', 'decisions', 'score PSI', 'mean pd', 'inputs moderate / significant', `top drifted (CSI)`, 'quality'], v.windows.map((w) => {
          const drifted = w.features.filter((f) => f.csi !== null).sort((a, b) => b.csi! - a.csi!).slice(0, top).map((f) => `${f.name} ${f3(f.csi)}`).join(', ');
          const quality = [
            w.features.filter((f) => f.nullSpike).length ? `${w.features.filter((f) => f.nullSpike).length} null spikes` : '',
            w.features.filter((f) => (f.outOfRange ?? 0) > 0).length ? `${w.features.filter((f) => (f.outOfRange ?? 0) > 0).length} out of range` : '',
            w.schema.added.length + w.schema.removed.length + w.schema.retyped.length ? 'schema changed' : '',
            w.volume?.anomaly ? 'volume' : '',
          ].filter(Boolean).join(', ') || 'ok';
          return [w.window, String(w.rows), `${f3(w.score.psi)} ${w.score.band}`, f3(w.score.mean), `${w.moderate} / ${w.significant}`, drifted || '-', quality];
        })));
      }
      const alerts = status.alerts;
      out.push('', alerts.length ? `${alerts.length} alerts (${alerts.filter((a) => a.severity === 'critical').length} critical, ${status.newAlerts} new; stored in meta.sqlite, de-duplicated by window):` : 'no alerts');
      for (const a of alerts.slice(-20)) out.push(`  ${a.severity.padEnd(8)} ${a.window}  v${a.version}  ${a.message}`);
      if (alerts.length > 20) out.push(`  ... and ${alerts.length - 20} earlier (--json lists all)`);
      process.stdout.write(`${out.join('\n')}\n`);
    }));
  monitor
    .command('report [model]')
    .description('an HTML report: drift heat map, score over time, performance by cohort, vintage curves, alerts')
    .requiredOption('-o, --out <file>', 'the HTML file to write')
    .option('--window <size>', 'day, week or month (default: the config monitor.window, else week)')
    .option('--since <time>', 'decisions made at or after: ISO or an age (7d)')
    .option('--until <time>', 'decisions made before: ISO or an age')
    .action(async (name: string | undefined, opts: { out: string; window?: string; since?: string; until?: string }, cmd: Command) => withProject(cmd, async (project) => {
      const { monitorReport, parseWindowSize } = await import('../../monitor/index.js');
      const model = defaultModel(Object.keys(project.config.models), name);
      const r = await monitorReport(project, model, opts.out, {
        ...(opts.window ? { window: parseWindowSize(opts.window) } : {}),
        ...(opts.since ? { since: parseWhen(opts.since, 'since') } : {}),
        ...(opts.until ? { until: parseWhen(opts.until, 'until') } : {}),
      });
      process.stdout.write(`${model}: ${r.decisions} decisions, ${r.windows} windows, ${r.alerts} alerts -> ${r.output}\n`);
    }));
}
