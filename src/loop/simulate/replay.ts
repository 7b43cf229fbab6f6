/**
 * The month-by-month replay shared by `kiln loop simulate` and `kiln loop backtest`: from a first
 * champion, each month's rows are decided by that month's champion into the decision log, monitoring
 * reads them (score drift against the champion's reference), and the triggers of the policy see the
 * month's events (schedule, score-drift alerts, labels matured since the last run); a run of the
 * retrain loop as of the month's end decides. With no triggers (the 'never' policy) the first
 * champion decides every month.
 */
import { KilnError } from '../../core/errors.js';
import { Progress } from '../../core/progress.js';
import { monthStartUtc } from '../../core/time.js';
import type { ModelSpec, LoopModelSpec } from '../../config/index.js';
import { cbpe, monitorStatus } from '../../monitor/index.js';
import { versionBundle } from '../../pipelines/index.js';
import { decisionLogDir, decisionLogOf, openDecisionLog } from '../../serve/index.js';
import type { Project } from '../../store/index.js';
import { maturedSince, retrainLoop } from '../retrain/index.js';
import { challengerSpec } from '../retrain/windows.js';
import { InProcessRunner, LoopStore } from '../runner/index.js';
import { cronTimes, decideTrigger, parseCron, pendingRunDue, type TriggerEvent, type TriggerSpec } from '../triggers/index.js';
import { decide, type Application } from './applications.js';

export interface MonthRow {
  month: string;
  decisions: number;
  champion: number;
  scorePsi: number | null;
  significantInputs: number;
  alerts: number;
  /** Critical score-drift alerts (PSI >= 0.25). */
  critical: number;
  /** Score-drift alerts of any severity (PSI >= 0.1). */
  scoreDrift: number;
  cbpeAuc: number | null;
  events: string[];
  /** The loop run of the month: its outcome, the challenger, the gates' summary, its windows and its time. */
  run: { id: string; outcome: string | null; challenger: number | null; summary: string | null; split: { validFrom: string; testFrom: string; testTo: string } | null; seconds: number } | null;
}

export interface ReplayOptions {
  readonly model: string;
  readonly spec: ModelSpec;
  readonly loop: LoopModelSpec;
  /** Month starts (epoch ms) to walk, in order; the rows of each. */
  readonly months: readonly number[];
  readonly rows: ReadonlyMap<number, readonly Application[]>;
  /** The policy's triggers; null: never retrain. */
  readonly triggers: TriggerSpec | null;
  readonly label: string;
  readonly quiet?: boolean;
  readonly signal?: AbortSignal;
}

const monthLabel = (ms: number): string => new Date(ms).toISOString().slice(0, 7);

export async function replayMonths(project: Project, o: ReplayOptions): Promise<MonthRow[]> {
  const log = (line: string): void => { if (!o.quiet) process.stderr.write(`${o.label}: ${line}\n`); };
  const alias = o.loop.alias ?? 'champion';
  const def = retrainLoop(project, o.model, o.loop);
  const runner = new InProcessRunner(new LoopStore(project.meta.db), { [def.name]: def });
  const decisions = await openDecisionLog(decisionLogOf(project));
  const timeline: MonthRow[] = [];
  const triggers = o.triggers;
  let pending: TriggerEvent[] = [];
  let lastRunEnd: Date | null = null;
  let lastLabelCheck = o.months[0] ?? 0;
  const progress = new Progress({ label: o.label, total: o.months.length, unit: 'months', ...(o.quiet ? { quiet: true } : {}) });
  try {
    for (const from of o.months) {
      if (o.signal?.aborted) {
        throw new KilnError('INTERRUPTED', `${o.label}: interrupted before ${monthLabel(from)}; the ${timeline.length} months walked are in the decision log and the loop's runs (kiln loop history), and a run in progress was left to resume`);
      }
      const to = monthStartUtc(from, 1);
      const champion = project.registry.resolve(`${o.model}@${alias}`).version;
      const bundle = versionBundle(project.registry.getVersion(o.model, champion));
      const recs = decide(o.model, champion, bundle, o.rows.get(from) ?? []);
      if (recs.length) await decisions.append(recs);
      await decisions.flush();
      const status = await monitorStatus(project, o.model, { window: 'month', since: from, until: to });
      const w = status.versions.find((v) => v.version === champion)?.windows[0] ?? null;
      // The drift trigger listens to the score: in a world that ages (history-based inputs grow with it)
      // some inputs drift every month, while the score's distribution moves when the mix of risk does.
      const scoreDrift = status.alerts.filter((a) => a.kind === 'score_drift');
      const critical = scoreDrift.filter((a) => a.severity === 'critical');
      const now = new Date(to);
      const events: TriggerEvent[] = [];
      let run: MonthRow['run'] = null;
      if (triggers) {
        // Schedule times in (from, to]: a time on a month boundary belongs to the month it ends.
        if (triggers.schedule) for (const at of cronTimes(parseCron(triggers.schedule), new Date(from + 1), new Date(to + 1))) events.push({ kind: 'schedule', at: at.toISOString() });
        if (scoreDrift.length) events.push({ kind: 'drift', at: now.toISOString(), alert: scoreDrift[0]!.message, severity: critical.length ? 'significant' : 'moderate' });
        if (triggers.onMaturedLabels !== undefined) {
          const matured = await maturedSince(project, challengerSpec(o.model, o.spec, o.loop, to), lastLabelCheck, to);
          lastLabelCheck = to;
          if (matured > 0) events.push({ kind: 'labels', at: now.toISOString(), newlyMatured: matured });
        }
        let start = false;
        for (const e of events) {
          const d = decideTrigger(triggers, { now, active: false, lastRunEndedAt: lastRunEnd, pendingEvents: pending }, e);
          if (d.action === 'start') start = true;
          else pending.push(e);
        }
        if (!start && pendingRunDue(triggers, { now, active: false, lastRunEndedAt: lastRunEnd, pendingEvents: pending })?.getTime() === now.getTime()) start = true;
        if (start) {
          const t0 = performance.now();
          const id = await runner.submit(def.name, { asOf: now.toISOString() }, { kind: events.map((e) => e.kind).join('+') || 'pending', detail: { events, pending } });
          const r = await runner.runToEnd(id);
          const out = (s: string): Record<string, unknown> => (r.steps.find((x) => x.name === s)?.output ?? {}) as Record<string, unknown>;
          run = {
            id, outcome: r.status === 'succeeded' ? r.outcome : `failed: ${r.error}`, challenger: (out('train').version as number | undefined) ?? null,
            summary: (out('gate').summary as string | undefined) ?? (out('train').reason as string | undefined) ?? null,
            split: (out('refresh').split as { validFrom: string; testFrom: string; testTo: string } | undefined) ?? null,
            seconds: (performance.now() - t0) / 1000,
          };
          pending = [];
          lastRunEnd = now;
          log(`${monthLabel(from)}: run ${id}: ${run.outcome}${run.summary ? ` (${run.summary})` : ''}`);
        }
      }
      const pds = recs.map((r) => r.score.calibrated ?? r.score.raw);
      timeline.push({
        month: monthLabel(from), decisions: recs.length, champion, scorePsi: w?.score.psi ?? null, significantInputs: w?.significant ?? 0,
        alerts: status.alerts.length, critical: critical.length, scoreDrift: scoreDrift.length, cbpeAuc: pds.length >= 30 ? cbpe(pds).auc : null, events: events.map((e) => e.kind), run,
      });
      progress.update(timeline.length, `${monthLabel(from)} champion v${champion}`);
    }
    progress.finish();
  } catch (e) {
    progress.abort();
    throw e;
  } finally {
    await decisions.close();
    await runner.close();
  }
  return timeline;
}
