/**
 * When the loop starts a run. Events (a cron schedule firing, a drift alert, newly matured labels, a
 * person) go through one pure decision, used alike by the live loop and the backtest:
 *  1. an event the spec does not act on is ignored (no schedule configured, drift below the severity,
 *     fewer newly matured labels since the last run than `onMaturedLabels`, counting pending ones);
 *  2. while a run is active, the event coalesces into it;
 *  3. during the cooldown after the last run ended, the first event defers a run to the cooldown's end,
 *     and later ones coalesce into that pending run (a manual event overrides the cooldown);
 *  4. otherwise the run starts, taking every pending event with it.
 * The caller keeps `pendingEvents`: the events since the last run started that did not start one
 * (ignored label events included, so their counts add up); `pendingRunDue` says when a deferred run is due.
 */
import { z } from 'zod';
import { KilnError } from '../../core/errors.js';
import { parseUtc } from '../../core/time.js';
import { parseWindow } from '../../features/index.js';
import { cronTimes, parseCron } from './cron.js';

/** Severity of a drift alert, in increasing order (the PSI bands 0.1 and 0.25 of the monitoring stage). */
export const DRIFT_SEVERITIES = ['moderate', 'significant'] as const;
export type DriftSeverity = (typeof DRIFT_SEVERITIES)[number];

export type TriggerEvent =
  | { kind: 'schedule'; at: string }
  /** severity defaults to 'significant': an alert without one is taken at its word. */
  | { kind: 'drift'; at: string; alert: string; severity?: DriftSeverity; detail?: unknown }
  | { kind: 'labels'; at: string; newlyMatured: number }
  | { kind: 'manual'; at: string; actor?: string };

const cronText = z.string().superRefine((s, ctx) => {
  try { parseCron(s); } catch (e) { ctx.addIssue({ code: 'custom', message: (e as Error).message }); }
});
const durationText = z.string().superRefine((s, ctx) => {
  const w = parseWindow(s);
  if ('problem' in w) ctx.addIssue({ code: 'custom', message: w.problem.replace(/^window/, 'duration') });
  else if (w.seconds === null) ctx.addIssue({ code: 'custom', message: "a cooldown cannot be 'lifetime'; write it as <n><unit>, e.g. '30d'" });
});

/**
 * `loop.triggers` of the config.
 * @example { schedule: '0 6 1 * *', onDrift: { severity: 'significant' }, onMaturedLabels: 5000, cooldown: '30d' }
 */
export const TriggerSpecSchema = z.strictObject({
  schedule: cronText.optional().describe('cron expression (UTC) of scheduled runs'),
  onDrift: z.union([z.boolean(), z.strictObject({ severity: z.enum(DRIFT_SEVERITIES) })]).default(false).describe('start a run on drift alerts (true: any severity)'),
  onMaturedLabels: z.number().int().positive().optional().describe('start a run once at least this many labels matured since the last run'),
  cooldown: durationText.optional().describe("least time between the end of a run and the start of the next, e.g. '30d' (units s, m, h, d, w)"),
});
export type TriggerSpec = z.output<typeof TriggerSpecSchema>;
export type TriggerSpecInput = z.input<typeof TriggerSpecSchema>;

/** Validates `loop.triggers`; throws CONFIG_INVALID listing every problem with its path. */
export function parseTriggerSpec(input: unknown, where = 'loop.triggers'): TriggerSpec {
  const r = TriggerSpecSchema.safeParse(input);
  if (r.success) return r.data;
  const problems = r.error.issues.map((i) => `${[where, ...i.path.map(String)].join('.')}: ${i.message}`);
  throw new KilnError('CONFIG_INVALID', `${where} is invalid: ${problems.join('; ')}`, { path: [where, ...(r.error.issues[0]?.path ?? []).map(String)], details: { problems } });
}

export interface TriggerState {
  now: Date;
  /** A run is in progress. */
  active: boolean;
  lastRunEndedAt: Date | null;
  /** Events since the last run started that did not start one. */
  pendingEvents: TriggerEvent[];
}

export interface TriggerDecision {
  action: 'start' | 'coalesce' | 'defer' | 'ignore';
  /** For defer (and coalesce into a deferred run): when the cooldown ends. */
  until?: Date;
  reason: string;
}

function describe(e: TriggerEvent): string {
  switch (e.kind) {
    case 'schedule': return `the schedule at ${e.at}`;
    case 'drift': return `drift alert '${e.alert}' (${e.severity ?? 'significant'})`;
    case 'labels': return `${e.newlyMatured} newly matured labels`;
    case 'manual': return `a manual trigger${e.actor ? ` by ${e.actor}` : ''}`;
  }
}

const labelsIn = (events: readonly TriggerEvent[]): number => events.reduce((n, e) => n + (e.kind === 'labels' ? e.newlyMatured : 0), 0);

/** Whether the spec acts on the event at all (null) or why not. `pending` are the events before it. */
function whyNot(spec: TriggerSpec, e: TriggerEvent, pending: readonly TriggerEvent[]): string | null {
  switch (e.kind) {
    case 'manual': return null;
    case 'schedule': return spec.schedule ? null : 'no schedule is configured (loop.triggers.schedule)';
    case 'drift': {
      if (!spec.onDrift) return 'drift does not trigger runs (loop.triggers.onDrift is off)';
      const need = spec.onDrift === true ? 'moderate' : spec.onDrift.severity;
      const has = e.severity ?? 'significant';
      return DRIFT_SEVERITIES.indexOf(has) >= DRIFT_SEVERITIES.indexOf(need) ? null : `drift alert '${e.alert}' is ${has}, below the configured severity '${need}'`;
    }
    case 'labels': {
      if (spec.onMaturedLabels === undefined) return 'matured labels do not trigger runs (loop.triggers.onMaturedLabels is not set)';
      const total = labelsIn(pending) + e.newlyMatured;
      return total >= spec.onMaturedLabels ? null : `${total} newly matured labels since the last run, below the threshold of ${spec.onMaturedLabels}`;
    }
  }
}

/** Whether the pending events already call for a run (one was deferred). */
function pendingRun(spec: TriggerSpec, pending: readonly TriggerEvent[]): boolean {
  return pending.some((e, i) => whyNot(spec, e, pending.slice(0, i)) === null);
}

function cooldownEnd(spec: TriggerSpec, lastRunEndedAt: Date | null): Date | null {
  if (!spec.cooldown || !lastRunEndedAt) return null;
  const w = parseWindow(spec.cooldown) as { seconds: number };
  return new Date(lastRunEndedAt.getTime() + w.seconds * 1000);
}

/**
 * What to do with `event`: start a run, coalesce it into the active or pending run, defer a run until the
 * cooldown ends, or ignore it; with the reason. Deterministic: same inputs, same answer.
 * @example decideTrigger({ cooldown: '30d' }, { now, active: false, lastRunEndedAt: yesterday, pendingEvents: [] }, { kind: 'manual', at }) // { action: 'start', reason: '…overrides the cooldown…' }
 */
export function decideTrigger(spec: TriggerSpec | TriggerSpecInput, state: TriggerState, event: TriggerEvent): TriggerDecision {
  const s = parseTriggerSpec(spec);
  const what = describe(event);
  const no = whyNot(s, event, state.pendingEvents);
  if (no !== null) return { action: 'ignore', reason: `ignored ${what}: ${no}` };
  if (state.active) return { action: 'coalesce', reason: `${what} coalesces into the active run` };
  const until = cooldownEnd(s, state.lastRunEndedAt);
  const cooling = until !== null && state.now.getTime() < until.getTime();
  if (cooling && event.kind !== 'manual') {
    return pendingRun(s, state.pendingEvents)
      ? { action: 'coalesce', until, reason: `${what} coalesces into the run deferred until the cooldown ends at ${until.toISOString()}` }
      : { action: 'defer', until, reason: `${what} defers a run to ${until.toISOString()}: cooldown ${s.cooldown} after the last run ended at ${state.lastRunEndedAt!.toISOString()}` };
  }
  const joined = state.pendingEvents.length ? ` (with ${state.pendingEvents.length} pending event${state.pendingEvents.length > 1 ? 's' : ''})` : '';
  return { action: 'start', reason: `${what} starts a run${joined}${cooling ? `; a manual trigger overrides the cooldown until ${until!.toISOString()}` : ''}` };
}

/**
 * When a deferred run is due: the cooldown's end (or now, if it has passed) when no run is active and the
 * pending events call for a run; null otherwise.
 */
export function pendingRunDue(spec: TriggerSpec | TriggerSpecInput, state: TriggerState): Date | null {
  const s = parseTriggerSpec(spec);
  if (state.active || !pendingRun(s, state.pendingEvents)) return null;
  const until = cooldownEnd(s, state.lastRunEndedAt);
  return until && until.getTime() > state.now.getTime() ? until : state.now;
}

export interface TriggerSignals {
  drift?: { at: Date; alert: string; severity?: DriftSeverity; detail?: unknown }[];
  maturedLabels?: { at: Date; count: number }[];
}

const KIND_ORDER = { schedule: 0, drift: 1, labels: 2, manual: 3 } as const;

/**
 * The events a spec raises over [from, to), in time order (ties: schedule, drift, labels): the schedule's
 * times, and the given drift alerts and matured-label counts when the spec acts on them. For the backtest.
 */
export function triggerEvents(spec: TriggerSpec | TriggerSpecInput, from: Date, to: Date, signals: TriggerSignals = {}): TriggerEvent[] {
  const s = parseTriggerSpec(spec);
  const lo = from.getTime(), hi = to.getTime();
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) throw new KilnError('INVALID_ARGUMENT', 'triggerEvents: from and to must be valid Dates');
  const inRange = (d: Date): boolean => d.getTime() >= lo && d.getTime() < hi;
  const out: TriggerEvent[] = [];
  if (s.schedule) for (const t of cronTimes(parseCron(s.schedule), from, to)) out.push({ kind: 'schedule', at: t.toISOString() });
  if (s.onDrift) {
    for (const d of signals.drift ?? []) {
      if (!inRange(d.at)) continue;
      out.push({ kind: 'drift', at: d.at.toISOString(), alert: d.alert, ...(d.severity ? { severity: d.severity } : {}), ...(d.detail !== undefined ? { detail: d.detail } : {}) });
    }
  }
  if (s.onMaturedLabels !== undefined) {
    for (const l of signals.maturedLabels ?? []) if (inRange(l.at) && l.count > 0) out.push({ kind: 'labels', at: l.at.toISOString(), newlyMatured: l.count });
  }
  const time = (e: TriggerEvent): number => parseUtc(e.at, 'event.at');
  return out
    .map((e, i) => ({ e, i, t: time(e) }))
    .sort((a, b) => a.t - b.t || KIND_ORDER[a.e.kind] - KIND_ORDER[b.e.kind] || a.i - b.i)
    .map((x) => x.e);
}
