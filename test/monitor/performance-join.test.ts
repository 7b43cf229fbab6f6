/** Decisions joined to outcomes: the rules by hand, and the fast merge against a naive O(n·m) reference. */
import { describe, expect, it } from 'vitest';
import { isKilnError } from '../../src/core/errors.js';
import { Rng } from '../../src/core/rng.js';
import { joinOutcomes, type Outcome, type ScoredDecision } from '../../src/monitor/performance/index.js';

const DAY = 24 * 3600 * 1000;
const T0 = Date.parse('2024-01-01T00:00:00Z');
const dec = (id: string, entityId: string, day: number, pd = 0.1): ScoredDecision => ({ id, entityId, time: T0 + day * DAY, pd, version: 1 });
const out = (entityId: string, day: number, label: 0 | 1 | null = 0): Outcome => ({
  entityId, originatedAt: T0 + day * DAY, label, labelAvailableAt: label === null ? null : T0 + (day + 365) * DAY, badAt: label === 1 ? T0 + (day + 100) * DAY : null,
});
const matched = (rows: ReturnType<typeof joinOutcomes>): Record<string, number | null> =>
  Object.fromEntries(rows.map((r) => [r.id, r.outcome === null ? null : Math.round((r.outcome.originatedAt - T0) / DAY)]));

/** Naive reference: each outcome to the latest (time, id) decision of its entity at or before it within the lag; each decision keeps its earliest. */
function naiveJoin(ds: readonly ScoredDecision[], os: readonly Outcome[], lag: number): Record<string, number | null> {
  const best = new Map<string, { o: Outcome; k: number }>();
  os.forEach((o, k) => {
    let latest: ScoredDecision | null = null;
    for (const d of ds) {
      if (d.entityId !== o.entityId || d.time > o.originatedAt) continue;
      if (latest === null || d.time > latest.time || (d.time === latest.time && d.id > latest.id)) latest = d;
    }
    if (latest === null || o.originatedAt - latest.time > lag) return;
    const cur = best.get(latest.id);
    if (!cur || o.originatedAt < cur.o.originatedAt || (o.originatedAt === cur.o.originatedAt && k < cur.k)) best.set(latest.id, { o, k });
  });
  return Object.fromEntries(ds.map((d) => { const b = best.get(d.id); return [d.id, b ? Math.round((b.o.originatedAt - T0) / DAY) : null]; }));
}

describe('joinOutcomes', () => {
  const decisions = [
    dec('a1', 'A', 0), dec('a2', 'A', 10), // two decisions, one loan after both: the later decision takes it
    dec('b1', 'B', 50), // its loans: one before the decision, one 100 days after (beyond 90)
    dec('c1', 'C', 0), dec('c2', 'C', 20), // a loan the same day as c1, another after c2
    dec('d7', 'D', 5), dec('d6', 'D', 5), // same time: the larger id counts as the later decision
    dec('e1', 'E', 0), // a loan exactly 90 days later: within the lag
    dec('f1', 'F', 0), // two loans after one decision: the first is used, the second by nobody
  ];
  const outcomes = [
    out('A', 12), out('B', 40), out('B', 150), out('C', 0), out('C', 30), out('D', 6, 1), out('E', 90), out('F', 3), out('F', 5),
    out('Z', 1), // no decision for this entity
  ];

  it('follows the rules on a hand-made example', () => {
    expect(matched(joinOutcomes(decisions, outcomes))).toEqual({
      a1: null, a2: 12, b1: null, c1: 0, c2: 30, d7: 6, d6: null, e1: 90, f1: 3,
    });
  });

  it('keeps input order, keeps the outcome object, and does not depend on row order', () => {
    const rows = joinOutcomes(decisions, outcomes);
    expect(rows.map((r) => r.id)).toEqual(decisions.map((d) => d.id));
    expect(rows.find((r) => r.id === 'd7')!.outcome).toBe(outcomes[5]);
    const shuffled = joinOutcomes([...decisions].reverse(), [...outcomes].reverse());
    expect(matched(shuffled)).toEqual(matched(rows));
  });

  it('honours maxLagMs', () => {
    expect(matched(joinOutcomes(decisions, outcomes, { maxLagMs: 89 * DAY })).e1).toBeNull();
    expect(matched(joinOutcomes(decisions, outcomes, { maxLagMs: 0 })).c1).toBe(0);
    expect(matched(joinOutcomes(decisions, outcomes, { maxLagMs: 0 })).a2).toBeNull();
  });

  it('agrees with a naive O(n·m) join on random data with many ties', () => {
    for (let seed = 1; seed <= 5; seed++) {
      const r = new Rng(seed);
      const ds = Array.from({ length: 300 }, (_, i) => dec(`d${r.int(1000)}-${i}`, `e${r.int(40)}`, r.int(60)));
      const os = Array.from({ length: 250 }, () => out(`e${r.int(45)}`, r.int(80)));
      const lag = (5 + r.int(20)) * DAY;
      const got = matched(joinOutcomes(ds, os, { maxLagMs: lag }));
      expect(got).toEqual(naiveJoin(ds, os, lag));
      const hits = Object.values(got).filter((v) => v !== null).length;
      expect(hits).toBeGreaterThan(30); // both matched and unmatched decisions are exercised
      expect(hits).toBeLessThan(270);
    }
  });

  it('refuses unusable rows with the field and what was expected', () => {
    const expectError = (f: () => unknown, code: string, text: string): void => {
      try { f(); expect.unreachable(); } catch (e) { expect(isKilnError(e) && e.code).toBe(code); expect((e as Error).message).toContain(text); }
    };
    expectError(() => joinOutcomes([dec('x', 'A', 0), dec('x', 'B', 0)], []), 'EVAL_INPUT_INVALID', "decisions[1].id 'x' repeats");
    expectError(() => joinOutcomes([{ ...dec('x', 'A', 0), time: NaN }], []), 'EVAL_INPUT_INVALID', 'decisions[0].time is NaN; expected a time in epoch milliseconds');
    expectError(() => joinOutcomes([{ ...dec('x', 'A', 0), pd: 1.5 }], []), 'EVAL_INPUT_INVALID', 'decisions[0].pd is 1.5; expected a probability of default in [0, 1]');
    expectError(() => joinOutcomes([], [{ ...out('A', 0, 1), labelAvailableAt: null }]), 'EVAL_INPUT_INVALID', 'outcomes[0].labelAvailableAt is null');
    expectError(() => joinOutcomes([], [{ ...out('A', 0, 0), badAt: T0 }]), 'EVAL_INPUT_INVALID', 'outcomes[0] has label 0 but a badAt time');
    expectError(() => joinOutcomes([], [{ ...out('A', 0), label: 2 as 0 }]), 'EVAL_INPUT_INVALID', 'outcomes[0].label is 2; expected 0, 1 or null');
    expectError(() => joinOutcomes([], [], { maxLagMs: -1 }), 'INVALID_ARGUMENT', 'maxLagMs is -1');
  });
});
