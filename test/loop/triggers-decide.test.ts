import { describe, expect, it } from 'vitest';
import { isKilnError } from '../../src/core/errors.js';
import { decideTrigger, parseTriggerSpec, pendingRunDue, triggerEvents, type TriggerEvent, type TriggerState } from '../../src/loop/triggers/index.js';

const at = (iso: string): Date => new Date(iso);
const state = (s: Partial<TriggerState> = {}): TriggerState => ({ now: at('2025-03-10T06:00:00Z'), active: false, lastRunEndedAt: null, pendingEvents: [], ...s });
const sched: TriggerEvent = { kind: 'schedule', at: '2025-03-10T06:00:00Z' };
const drift = (severity?: 'moderate' | 'significant'): TriggerEvent => ({ kind: 'drift', at: '2025-03-10T06:00:00Z', alert: 'score psi', ...(severity ? { severity } : {}) });
const labels = (n: number): TriggerEvent => ({ kind: 'labels', at: '2025-03-10T06:00:00Z', newlyMatured: n });
const spec = { schedule: '0 6 1 * *', onDrift: { severity: 'significant' as const }, onMaturedLabels: 500, cooldown: '30d' };

describe('decideTrigger', () => {
  it('starts when idle and out of cooldown', () => {
    expect(decideTrigger(spec, state(), sched)).toMatchObject({ action: 'start' });
    expect(decideTrigger(spec, state(), drift()).reason).toMatch(/drift alert 'score psi' \(significant\) starts a run/);
  });

  it('coalesces into an active run', () => {
    const d = decideTrigger(spec, state({ active: true }), drift('significant'));
    expect(d).toMatchObject({ action: 'coalesce' });
    expect(d.reason).toMatch(/coalesces into the active run/);
  });

  it('defers during the cooldown, then coalesces later events into the deferred run; a manual event overrides', () => {
    const ended = at('2025-03-01T00:00:00Z');
    const d = decideTrigger(spec, state({ lastRunEndedAt: ended }), sched);
    expect(d.action).toBe('defer');
    expect(d.until!.toISOString()).toBe('2025-03-31T00:00:00.000Z');
    const next = decideTrigger(spec, state({ lastRunEndedAt: ended, pendingEvents: [sched] }), drift());
    expect(next).toMatchObject({ action: 'coalesce' });
    expect(next.until!.toISOString()).toBe('2025-03-31T00:00:00.000Z');
    expect(pendingRunDue(spec, state({ lastRunEndedAt: ended, pendingEvents: [sched] }))!.toISOString()).toBe('2025-03-31T00:00:00.000Z');
    expect(pendingRunDue(spec, state({ lastRunEndedAt: ended, pendingEvents: [] }))).toBeNull();
    expect(pendingRunDue(spec, state({ active: true, pendingEvents: [sched] }))).toBeNull();
    const manual = decideTrigger(spec, state({ lastRunEndedAt: ended }), { kind: 'manual', at: '2025-03-10T06:00:00Z', actor: 'ana' });
    expect(manual.action).toBe('start');
    expect(manual.reason).toMatch(/by ana starts a run; a manual trigger overrides the cooldown/);
    // after the cooldown: start, taking the pending events along
    const after = decideTrigger(spec, state({ now: at('2025-04-01T06:00:00Z'), lastRunEndedAt: ended, pendingEvents: [sched] }), drift());
    expect(after).toMatchObject({ action: 'start' });
    expect(after.reason).toMatch(/with 1 pending event/);
  });

  it('ignores matured labels below the threshold, counting pending label events toward it', () => {
    const low = decideTrigger(spec, state(), labels(200));
    expect(low.action).toBe('ignore');
    expect(low.reason).toMatch(/200 newly matured labels since the last run, below the threshold of 500/);
    expect(decideTrigger(spec, state({ pendingEvents: [labels(200)] }), labels(250)).action).toBe('ignore');
    expect(decideTrigger(spec, state({ pendingEvents: [labels(200), labels(250)] }), labels(50)).action).toBe('start');
    // below-threshold labels pending in a cooldown do not make a deferred run
    expect(decideTrigger(spec, state({ lastRunEndedAt: at('2025-03-09T00:00:00Z'), pendingEvents: [labels(100)] }), drift()).action).toBe('defer');
  });

  it('ignores what the spec does not act on', () => {
    expect(decideTrigger({ cooldown: '1d' }, state(), sched).reason).toMatch(/no schedule is configured/);
    expect(decideTrigger({}, state(), drift()).reason).toMatch(/onDrift is off/);
    expect(decideTrigger(spec, state(), drift('moderate'))).toMatchObject({ action: 'ignore', reason: expect.stringMatching(/moderate, below the configured severity 'significant'/) });
    expect(decideTrigger({ onDrift: true }, state(), drift('moderate')).action).toBe('start');
    expect(decideTrigger({ schedule: '@daily' }, state(), labels(10_000)).reason).toMatch(/onMaturedLabels is not set/);
    // ignore wins over coalesce: an irrelevant event does not join the active run
    expect(decideTrigger(spec, state({ active: true }), labels(1)).action).toBe('ignore');
  });

  it('is deterministic', () => {
    const s = state({ lastRunEndedAt: at('2025-03-01T00:00:00Z'), pendingEvents: [sched, labels(20)] });
    expect(JSON.stringify(decideTrigger(spec, s, drift()))).toBe(JSON.stringify(decideTrigger(spec, s, drift())));
  });
});

describe('TriggerSpecSchema', () => {
  it('refuses a bad cron naming the field, a bad cooldown, an unknown key', () => {
    const bad = (s: unknown, re: RegExp): void => {
      let err: unknown;
      try { parseTriggerSpec(s); } catch (e) { err = e; }
      expect(isKilnError(err, 'CONFIG_INVALID')).toBe(true);
      expect((err as Error).message).toMatch(re);
    };
    bad({ schedule: '0 25 * * *' }, /loop\.triggers\.schedule: cron '0 25 \* \* \*': hour \(field 2 of 5\)/);
    bad({ cooldown: '1 month' }, /loop\.triggers\.cooldown: duration '1 month' does not parse/);
    bad({ cooldown: 'lifetime' }, /cannot be 'lifetime'/);
    bad({ onMaturedLabels: 0 }, /onMaturedLabels/);
    bad({ cron: '@daily' }, /cron/);
  });
});

describe('triggerEvents', () => {
  it('schedule times plus the signals the spec acts on, in time order, over [from, to)', () => {
    const ev = triggerEvents(spec, at('2025-01-01T00:00:00Z'), at('2025-03-01T06:00:00Z'), {
      drift: [{ at: at('2025-02-01T06:00:00Z'), alert: 'csi income', severity: 'significant' }, { at: at('2025-03-02T00:00:00Z'), alert: 'late' }],
      maturedLabels: [{ at: at('2025-01-15T00:00:00Z'), count: 300 }, { at: at('2024-12-31T00:00:00Z'), count: 900 }],
    });
    expect(ev).toEqual([
      { kind: 'schedule', at: '2025-01-01T06:00:00.000Z' },
      { kind: 'labels', at: '2025-01-15T00:00:00.000Z', newlyMatured: 300 },
      { kind: 'schedule', at: '2025-02-01T06:00:00.000Z' },
      { kind: 'drift', at: '2025-02-01T06:00:00.000Z', alert: 'csi income', severity: 'significant' },
    ]);
    expect(triggerEvents({ schedule: '@monthly' }, at('2025-01-01Z'), at('2025-04-01Z'), { drift: [{ at: at('2025-02-01Z'), alert: 'x' }] }).map((e) => e.kind)).toEqual(['schedule', 'schedule', 'schedule']);
  });

  it('a backtest: replaying the events through decideTrigger with a 30-day cooldown', () => {
    const s = { schedule: '0 0 * * 1', onMaturedLabels: 1000, cooldown: '30d' }; // weekly on Mondays
    const events = triggerEvents(s, at('2025-01-01Z'), at('2025-07-01Z'), { maturedLabels: [{ at: at('2025-02-10T12:00:00Z'), count: 1500 }] });
    let st: TriggerState = state({ now: at('2025-01-01Z') });
    const starts: string[] = [];
    for (const e of events) {
      st = { ...st, now: at(e.at) };
      const due = pendingRunDue(s, st);
      if (due && due.getTime() <= st.now.getTime()) { starts.push(st.now.toISOString()); st = { ...st, lastRunEndedAt: st.now, pendingEvents: [] }; }
      const d = decideTrigger(s, st, e);
      if (d.action === 'start') { starts.push(e.at); st = { ...st, lastRunEndedAt: at(e.at), pendingEvents: [] }; }
      else if (d.action !== 'coalesce' || d.until) st = { ...st, pendingEvents: d.action === 'ignore' && e.kind !== 'labels' ? st.pendingEvents : [...st.pendingEvents, e] };
    }
    // first Monday 2025-01-06 starts; the cooldown then defers the following Mondays to 30 days later
    expect(starts[0]).toBe('2025-01-06T00:00:00.000Z');
    for (let i = 1; i < starts.length; i++) expect(Date.parse(starts[i]!) - Date.parse(starts[i - 1]!)).toBeGreaterThanOrEqual(30 * 86_400_000);
    expect(starts.length).toBeGreaterThanOrEqual(5);
  });
});
