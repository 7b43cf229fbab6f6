/**
 * `kiln loop tick`: the live triggers of a model's loop, evaluated now (run it from cron, or let `kiln
 * loop watch` run it every so often). Since the last tick: the schedule's times, the score-drift alerts
 * monitoring raises on the decisions (monitorStatus stores them de-duplicated: only new ones count),
 * and the labels that matured. Each event goes through `decideTrigger` (coalescing, cooldown); a start
 * submits a run of the retrain loop as of now, coalesced into a pending or running one. The state (the
 * last tick, the events deferred by a cooldown) is kept in `<data>/loop/<model>.triggers.json`, written
 * atomically; the last run's end comes from the loop's own runs.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KilnError } from '../../core/errors.js';
import { monitorStatus } from '../../monitor/index.js';
import type { Project } from '../../store/index.js';
import { LoopStore, type LoopRunner } from '../runner/index.js';
import { maturedSince } from './labels.js';
import { cronTimes, decideTrigger, parseCron, parseTriggerSpec, pendingRunDue, type TriggerEvent } from '../triggers/index.js';
import { retrainLoopName } from './loop.js';
import { challengerSpec, loopSpecOf } from './windows.js';

interface TickState { lastTick: string; pending: TriggerEvent[] }

export interface TickResult {
  readonly model: string;
  readonly now: string;
  readonly since: string;
  readonly events: { event: TriggerEvent; action: string; reason: string }[];
  /** The run submitted (or coalesced into), if any. */
  readonly runId: string | null;
  readonly pending: number;
}

function stateFile(project: Project, model: string): string {
  return join(project.paths.dataDir, 'loop', `${model}.triggers.json`);
}

function readState(file: string, now: Date): TickState {
  if (!existsSync(file)) return { lastTick: now.toISOString(), pending: [] };
  try {
    const s = JSON.parse(readFileSync(file, 'utf8')) as TickState;
    if (typeof s.lastTick !== 'string' || !Array.isArray(s.pending)) throw new Error('expected { lastTick, pending }');
    return s;
  } catch (e) {
    throw new KilnError('FILE_INVALID', `${file}: not a trigger state (${(e as Error).message}); delete it to start the triggers afresh from now`, { path: [file] });
  }
}

/** Evaluates the triggers of `model`'s loop at `now`; submits a run through `runner` when one starts. */
export async function tickLoop(project: Project, model: string, runner: LoopRunner, opts: { now?: Date } = {}): Promise<TickResult> {
  const spec = project.config.models[model];
  if (!spec) throw new KilnError('MODEL_NOT_FOUND', `no model '${model}' in the config`, { path: ['model'] });
  const loop = loopSpecOf(project.config, model);
  if (loop.triggers === undefined) throw new KilnError('CONFIG_INVALID', `loop.${model}.triggers is not set: say when the loop runs (schedule, onDrift, onMaturedLabels, cooldown)`, { path: ['loop', model, 'triggers'] });
  const triggers = parseTriggerSpec(loop.triggers, `loop.${model}.triggers`);
  const now = opts.now ?? new Date();
  const file = stateFile(project, model);
  const state = readState(file, now);
  const since = new Date(state.lastTick);
  const events: TriggerEvent[] = [];
  if (triggers.schedule) for (const at of cronTimes(parseCron(triggers.schedule), new Date(since.getTime() + 1), new Date(now.getTime() + 1))) events.push({ kind: 'schedule', at: at.toISOString() });
  if (triggers.onDrift) {
    // monitoring of the decisions since the last tick: new score-drift alerts are the drift events
    const status = await monitorStatus(project, model, { window: 'day', since: since.getTime(), until: now.getTime() });
    const drift = status.alerts.filter((a) => a.kind === 'score_drift');
    if (status.newAlerts > 0 && drift.length) {
      const critical = drift.some((a) => a.severity === 'critical');
      events.push({ kind: 'drift', at: now.toISOString(), alert: drift[drift.length - 1]!.message, severity: critical ? 'significant' : 'moderate' });
    }
  }
  if (triggers.onMaturedLabels !== undefined) {
    const n = await maturedSince(project, challengerSpec(model, spec, loop, now.getTime()), since.getTime(), now.getTime());
    if (n > 0) events.push({ kind: 'labels', at: now.toISOString(), newlyMatured: n });
  }
  const store = new LoopStore(project.meta.db);
  const runs = store.listRuns({ loop: retrainLoopName(model), limit: 20 });
  const active = runs.some((r) => r.status === 'pending' || r.status === 'running');
  // The last run's logical time (its as-of): the same clock as `now`, also when ticks replay the past.
  const last = runs.find((r) => r.endedAt);
  const lastAt = last ? (typeof last.input.asOf === 'string' ? last.input.asOf : last.endedAt) : null;
  const lastRunEndedAt = lastAt ? new Date(lastAt) : null;
  let pending = [...state.pending];
  let start = false;
  const decided: TickResult['events'] = [];
  for (const e of events) {
    const d = decideTrigger(triggers, { now, active, lastRunEndedAt, pendingEvents: pending }, e);
    decided.push({ event: e, action: d.action, reason: d.reason });
    if (d.action === 'start' || d.action === 'coalesce') start = start || d.action === 'start' || active;
    if (d.action !== 'start') pending.push(e);
  }
  if (!start && !active) {
    const due = pendingRunDue(triggers, { now, active, lastRunEndedAt, pendingEvents: pending });
    if (due && due.getTime() <= now.getTime()) start = true;
  }
  let runId: string | null = null;
  if (start) {
    runId = await runner.submit(retrainLoopName(model), { asOf: now.toISOString() }, { kind: [...new Set([...pending, ...events].map((e) => e.kind))].join('+') || 'pending', detail: { events, pending } }, { coalesce: true });
    pending = [];
  }
  mkdirSync(join(project.paths.dataDir, 'loop'), { recursive: true });
  writeFileSync(`${file}.tmp`, JSON.stringify({ lastTick: now.toISOString(), pending } satisfies TickState, null, 2));
  renameSync(`${file}.tmp`, file);
  return { model, now: now.toISOString(), since: since.toISOString(), events: decided, runId, pending: pending.length };
}
