/**
 * `kiln loop simulate`: the lifecycle on the simulated world, a month at a time, with no human step.
 * The world is generated once for its whole horizon (the generator is deterministic, so revealing it a
 * month at a time is the same as generating it so); a clock then walks the months from `fromMonth`:
 *   1. the month's applications are scored by the champion of that month into the decision log;
 *   2. monitoring reads the month's decisions (drift against the champion's reference, alerts);
 *   3. the triggers see the month's events (schedule, drift alerts, labels matured since the last run);
 *      a run of the retrain loop as of the month's end trains on what was known then, and the gates decide.
 * The outcome (outcome.ts) is measured afterwards on the labels matured within the horizon.
 */
import { rmSync } from 'node:fs';
import { KilnError } from '../../core/errors.js';
import { Progress } from '../../core/progress.js';
import { monitorStatus, cbpe } from '../../monitor/index.js';
import { trainModel, versionBundle } from '../../pipelines/index.js';
import { decisionLogDir, openDecisionLog } from '../../serve/index.js';
import { simulate, type SimOptionsInput } from '../../sim/index.js';
import type { Project } from '../../store/index.js';
import { retrainLoop } from '../retrain/index.js';
import { challengerSpec, loopSpecOf } from '../retrain/windows.js';
import { InProcessRunner, LoopStore } from '../runner/index.js';
import { cronTimes, decideTrigger, parseCron, parseTriggerSpec, pendingRunDue, type TriggerEvent, type TriggerSpecInput } from '../triggers/index.js';
import { applicationsByMonth, decide } from './applications.js';

export interface LoopSimOptions {
  readonly model: string;
  readonly sim: SimOptionsInput;
  /** Month index (from the world's start) at which the loop starts; the first champion is trained as of it. */
  readonly fromMonth: number;
  /** Months to walk (default: to the end of the horizon). */
  readonly months?: number;
  /** Triggers (default: the config's loop.<model>.triggers, else a quarterly schedule, drift, a 60-day cooldown). */
  readonly triggers?: TriggerSpecInput;
  readonly quiet?: boolean;
  readonly signal?: AbortSignal;
}

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
  /** The loop run of the month: its outcome, the challenger, the gates' summary, and its windows. */
  run: { id: string; outcome: string | null; challenger: number | null; summary: string | null; split: { validFrom: string; testFrom: string; testTo: string } | null } | null;
}

export interface LoopSimResult {
  readonly model: string;
  readonly start: string;
  readonly shockMonth: number | null;
  readonly shock: string | null;
  readonly fromMonth: number;
  readonly initialVersion: number;
  readonly timeline: MonthRow[];
  readonly seconds: number;
}

export const DEFAULT_SIM_TRIGGERS: TriggerSpecInput = { schedule: '0 0 1 */3 *', onDrift: { severity: 'significant' }, cooldown: '60d' };

const monthStart = (start: string, k: number): number => {
  const d = new Date(`${start}T00:00:00Z`);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + k, 1);
};
const label = (ms: number): string => new Date(ms).toISOString().slice(0, 7);

export async function simulateLoop(project: Project, opts: LoopSimOptions): Promise<LoopSimResult> {
  const t0 = performance.now();
  const log = (line: string): void => { if (!opts.quiet) process.stderr.write(`loop simulate: ${line}\n`); };
  const spec = project.config.models[opts.model];
  if (!spec) throw new KilnError('MODEL_NOT_FOUND', `no model '${opts.model}' in the config`, { path: ['model'] });
  const loopSpec = loopSpecOf(project.config, opts.model);
  const triggers = parseTriggerSpec(opts.triggers ?? loopSpec.triggers ?? DEFAULT_SIM_TRIGGERS, `loop.${opts.model}.triggers`);
  const alias = loopSpec.alias ?? 'champion';

  // ---- the world, whole
  log('simulating the world');
  const sim = await simulate(project.offline, opts.sim);
  for (const t of sim.tables) project.meta.upsertTable({ name: t.name, timestampColumn: t.timestampColumn ?? null, keyColumn: t.keyColumn ?? null, source: 'sim', description: t.description });
  const o = sim.options;
  if (opts.fromMonth < 1 || opts.fromMonth >= o.months) throw new KilnError('USAGE', `--from-month ${opts.fromMonth}: expected 1 .. ${o.months - 1} (the world has ${o.months} months)`, { path: ['from-month'] });
  const end = Math.min(o.months, opts.fromMonth + (opts.months ?? o.months));
  const apps = await applicationsByMonth(project, opts.model, spec, monthStart(o.start, opts.fromMonth), monthStart(o.start, end));

  // ---- a fresh decision log; the first champion, trained as of the first month
  rmSync(decisionLogDir(project.paths.dataDir), { recursive: true, force: true });
  const first = new Date(monthStart(o.start, opts.fromMonth)).toISOString();
  log(`training the first champion as of ${first.slice(0, 10)}`);
  const v0 = await trainModel(project, opts.model, { asOf: first, spec: challengerSpec(opts.model, spec, loopSpec, Date.parse(first)), quiet: true, force: true, tags: { loop_simulate: 'initial' }, reason: `first champion of kiln loop simulate, as of ${first}` });
  project.registry.setAlias(opts.model, alias, v0.version, { reason: `kiln loop simulate: first champion as of ${first}`, actor: 'kiln-loop' });

  const def = retrainLoop(project, opts.model);
  const runner = new InProcessRunner(new LoopStore(project.meta.db), { [def.name]: def });
  const decisions = await openDecisionLog(decisionLogDir(project.paths.dataDir));
  const timeline: MonthRow[] = [];
  let pending: TriggerEvent[] = [];
  let lastRunEnd: Date | null = null;
  let lastLabelCheck = Date.parse(first);
  const progress = new Progress({ label: 'loop simulate', total: end - opts.fromMonth, unit: 'months', ...(opts.quiet ? { quiet: true } : {}) });
  try {
    for (let m = opts.fromMonth; m < end; m++) {
      opts.signal?.throwIfAborted();
      const from = monthStart(o.start, m);
      const to = monthStart(o.start, m + 1);
      const champion = project.registry.resolve(`${opts.model}@${alias}`).version;
      const bundle = versionBundle(project.registry.getVersion(opts.model, champion));
      const recs = decide(opts.model, champion, bundle, apps.get(from) ?? []);
      if (recs.length) await decisions.append(recs);
      await decisions.flush();
      const status = await monitorStatus(project, opts.model, { window: 'month', since: from, until: to });
      const w = status.versions.find((v) => v.version === champion)?.windows[0] ?? null;
      const monthAlerts = status.alerts;
      // The loop's drift trigger listens to the score: in a world that ages (history-based inputs grow with
      // it) some inputs drift every month, while the score's distribution moves when the mix of risk does.
      const scoreDrift = monthAlerts.filter((a) => a.kind === 'score_drift');
      const critical = scoreDrift.filter((a) => a.severity === 'critical');
      const now = new Date(to);
      // ---- the month's events, in time order
      const events: TriggerEvent[] = [];
      if (triggers.schedule) for (const at of cronTimes(parseCron(triggers.schedule), new Date(from), new Date(to + 1))) events.push({ kind: 'schedule', at: at.toISOString() });
      if (scoreDrift.length) events.push({ kind: 'drift', at: now.toISOString(), alert: scoreDrift[0]!.message, severity: critical.length ? 'significant' : 'moderate' });
      if (triggers.onMaturedLabels !== undefined) {
        const matured = await maturedSince(project, challengerSpec(opts.model, spec, loopSpec, to), lastLabelCheck, to);
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
      let run: MonthRow['run'] = null;
      if (start) {
        const id = await runner.submit(def.name, { asOf: now.toISOString() }, { kind: events.map((e) => e.kind).join('+') || 'pending', detail: { events, pending } });
        const r = await runner.runToEnd(id);
        const out = (s: string): Record<string, unknown> => (r.steps.find((x) => x.name === s)?.output ?? {}) as Record<string, unknown>;
        run = {
          id, outcome: r.status === 'succeeded' ? r.outcome : `failed: ${r.error}`, challenger: (out('train').version as number | undefined) ?? null,
          summary: (out('gate').summary as string | undefined) ?? (out('train').reason as string | undefined) ?? null,
          split: (out('refresh').split as { validFrom: string; testFrom: string; testTo: string } | undefined) ?? null,
        };
        pending = [];
        lastRunEnd = now;
        log(`${label(from)}: run ${id}: ${run.outcome}${run.summary ? ` (${run.summary})` : ''}`);
      }
      const pds = recs.map((r) => r.score.calibrated ?? r.score.raw);
      timeline.push({
        month: label(from), decisions: recs.length, champion, scorePsi: w?.score.psi ?? null, significantInputs: w?.significant ?? 0,
        alerts: monthAlerts.length, critical: critical.length, scoreDrift: scoreDrift.length, cbpeAuc: pds.length >= 30 ? cbpe(pds).auc : null, events: events.map((e) => e.kind), run,
      });
      progress.update(m - opts.fromMonth + 1, `${label(from)} champion v${champion}`);
    }
    progress.finish();
  } catch (e) {
    progress.abort();
    throw e;
  } finally {
    await decisions.close();
    await runner.close();
  }
  const shock = o.shockMonth === null ? null : label(monthStart(o.start, o.shockMonth));
  return { model: opts.model, start: o.start, shockMonth: o.shockMonth, shock, fromMonth: opts.fromMonth, initialVersion: v0.version, timeline, seconds: (performance.now() - t0) / 1000 };
}

/** Labels of the loop's spine that became known in (from, to]. */
async function maturedSince(project: Project, spec: { spine: { table: string }; label: { column: string; availableAt?: string | undefined } }, from: number, to: number): Promise<number> {
  if (!spec.label.availableAt) return 0;
  const ts = (ms: number): string => `TIMESTAMP '${new Date(ms).toISOString().replace('T', ' ').replace('Z', '')}'`;
  const [r] = await project.offline.all<{ n: number }>(`SELECT count(*)::BIGINT AS n FROM "${spec.spine.table}" WHERE "${spec.label.availableAt}" > ${ts(from)} AND "${spec.label.availableAt}" <= ${ts(to)} AND "${spec.label.column}" IS NOT NULL`);
  project.releaseOffline();
  return Number(r!.n);
}
